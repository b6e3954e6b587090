// Real-world data files: the faults users of SASRec, HSTU and RecBole report (timestamps out of
// order, Latin-1 names, string ids, toolkit headers, one user per line, zip downloads, time bias
// without timestamps, messages naming internal user indices, duplicates), each with the case
// from the report and inputs of the same kind written here.
import { expect } from 'chai';
import { strToU8, zipSync } from 'fflate';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseColumns } from '../src/cli/data-flags.js';
import { UsageError } from '../src/cli/errors.js';
import { sniffDelimiter } from '../src/data/readers/csv.js';
import {
  DataFormatError,
  checkTimeBiasData,
  datasetStats,
  leaveOneOutSplit,
  openDataset,
  readDataset,
  SamplerError,
  TrainSampler,
  userLabel,
  type Dataset,
} from '../src/data/index.js';
import { readError } from './helpers/read-error.js';

const originalSeqs = (ds: Dataset) => ds.sequences.map((s) => Array.from(s, (i) => ds.itemIds[i]));
const times = (ds: Dataset) => ds.timestamps?.map((s) => Array.from(s)) ?? null;

describe('data: real-world files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'reclm-rw-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, content: string | Buffer | Uint8Array): string {
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, content);
    return p;
  }

  describe('timestamps out of order', () => {
    it('SASRec "user item ts" running backwards: the newest item becomes the test item', () => {
      // The reported case: times run backwards within user 1, so file order makes item 10 (the oldest) the test item.
      const notes: string[] = [];
      const ds = readDataset(file('back.txt', '1 30 300\n1 20 200\n1 10 100\n2 5 1\n2 6 2\n2 7 3\n'), { onNote: (n) => notes.push(n) });
      expect(originalSeqs(ds)).to.deep.equal([['10', '20', '30'], ['5', '6', '7']]);
      expect(times(ds)).to.deep.equal([[100, 200, 300], [1, 2, 3]]);
      const split = leaveOneOutSplit(ds);
      expect(ds.itemIds[split.test[0]]).to.equal('30');
      expect(ds.itemIds[split.valid[0]]).to.equal('20');
      expect(ds.read?.reorderedUsers).to.equal(1);
      expect(ds.read?.outOfOrderPairs).to.equal(2);
      expect(notes).to.have.length(1);
      expect(notes[0]).to.include('1 of 2 users had events out of time order').and.include('sorted by time (stable');
    });

    it('sorts stably: equal times keep file order; in-order files are not reported', () => {
      const ds = readDataset(file('ties.txt', 'u a 5\nu b 3\nu c 5\nu d 3\nv x 1\nv y 1\n'));
      expect(originalSeqs(ds)).to.deep.equal([['b', 'd', 'a', 'c'], ['x', 'y']]);
      expect(ds.read?.reorderedUsers).to.equal(1);
      expect(ds.read?.outOfOrderPairs).to.equal(2); // a(5)→b(3) and c(5)→d(3)
      const inOrder = readDataset(file('inorder.txt', '1 1 1\n1 2 2\n2 1 5\n'));
      expect(inOrder.read?.reorderedUsers).to.equal(0);
      expect(inOrder.notes).to.deep.equal([]);
    });

    it('every format with time does the same: ratings.dat, u.data, CSV, RecBole .inter', () => {
      const want = [['30', '10', '20']];
      const cases: [string, string][] = [
        ['r.dat', '7::10::5::200\n7::20::4::300\n7::30::3::100\n'],
        ['u.data', '7\t10\t5\t200\n7\t20\t4\t300\n7\t30\t3\t100\n'],
        ['r.csv', 'user_id,item_id,timestamp\n7,10,200\n7,20,300\n7,30,100\n'],
        ['r.inter', 'user_id:token\titem_id:token\trating:float\ttimestamp:float\n7\t10\t5\t200\n7\t20\t4\t300\n7\t30\t3\t100\n'],
        ['dates.csv', 'user,item,date\n7,10,2021-03-02\n7,20,2021-03-03\n7,30,2021-03-01\n'],
      ];
      for (const [name, text] of cases) {
        const ds = readDataset(file(name, text));
        expect(originalSeqs(ds), name).to.deep.equal(want);
        expect(ds.read?.reorderedUsers, name).to.equal(1);
        expect(datasetStats(ds).outOfOrder, name).to.deep.equal({ users: 1, pairs: 1 });
      }
    });
  });

  describe('encoding', () => {
    it('a Latin-1 CSV keeps Misérables and Misèrables apart and says it read Latin-1', () => {
      const bytes = Buffer.concat([Buffer.from('user_id,item_id\n1,Les Mis'), Buffer.from([0xe9]), Buffer.from('rables\n1,Les Mis'), Buffer.from([0xe8]), Buffer.from('rables\n1,Other\n')]);
      const notes: string[] = [];
      const ds = readDataset(file('latin1.csv', bytes), { onNote: (n) => notes.push(n) });
      expect(ds.numItems).to.equal(3);
      expect(originalSeqs(ds)).to.deep.equal([['Les Misérables', 'Les Misèrables', 'Other']]);
      expect(ds.read?.encoding).to.equal('latin-1');
      expect(notes.join('\n')).to.include('latin1.csv is not valid UTF-8 (first at line 2): read as Latin-1');
    });

    it('UTF-8 and Latin-1 spellings of one name in one file stay distinct; valid UTF-8 stays UTF-8', () => {
      // "é" as UTF-8 (c3 a9) and as Latin-1 (e9): a lossy UTF-8 decode would give "é" and "\ufffd", and
      // two different invalid bytes (e9, e8) would both become "\ufffd" and merge.
      const mixed = Buffer.concat([Buffer.from('u caf\u00e9\nu caf'), Buffer.from([0xe9]), Buffer.from('\nu caf'), Buffer.from([0xe8]), Buffer.from('\n')]);
      const ds = readDataset(file('mixed.txt', mixed));
      expect(ds.numItems).to.equal(3);
      expect(new Set(ds.itemIds.slice(1)).size).to.equal(3);
      expect(ds.read?.encoding).to.equal('latin-1');
      const utf8 = readDataset(file('utf8.csv', 'user,item\nü,café\nü,cafè\n'));
      expect(utf8.read?.encoding).to.equal('utf-8');
      expect(utf8.users).to.deep.equal(['ü']);
      expect(originalSeqs(utf8)).to.deep.equal([['café', 'cafè']]);
      expect(utf8.notes).to.deep.equal([]);
    });
  });

  describe('ids are opaque tokens', () => {
    it('string ids, hashes, 17-digit numbers, negative-looking and zero-padded ids are keys', () => {
      const text = ['alice 5f4dcc3b5aa765d61d8327deb882cf99', 'alice 12345678901234567', 'alice 12345678901234568', 'alice -3', 'alice 007', 'alice 7', 'bob 007'].join('\n');
      const ds = readDataset(file('tokens.txt', text));
      expect(ds.users).to.deep.equal(['alice', 'bob']);
      // 12345678901234567 and ...568 are the same double: read as numbers they would merge.
      expect(originalSeqs(ds)).to.deep.equal([['5f4dcc3b5aa765d61d8327deb882cf99', '12345678901234567', '12345678901234568', '-3', '007', '7'], ['007']]);
      expect(ds.numItems).to.equal(6);
      const st = datasetStats(ds);
      expect(st.ids).to.deep.include({ users: 'tokens', items: 'tokens', remapped: true });
      expect(st.ids.summary).to.match(/^ids read as opaque tokens .*items remapped to 1\.\.6/);
    });

    it('no reader says "expected non-negative integer" any more; ratings.dat and u.data take tokens too', () => {
      const dat = readDataset(file('tok.dat', 'u1::m-1::5::10\nu1::m2::4::20\n'));
      expect(originalSeqs(dat)).to.deep.equal([['m-1', 'm2']]);
      const udata = readDataset(file('tok.u.data', 'a\t0042\t5\t1\n'));
      expect(originalSeqs(udata)).to.deep.equal([['0042']]);
      const bad = readError(file('badts.txt', '-1 -2 x\n'));
      expect(bad.message).to.include('a numeric timestamp').and.not.include('non-negative integer');
      const ints = datasetStats(readDataset(file('ints.txt', '1 1\n1 2\n')));
      expect(ints.ids).to.deep.include({ users: 'integers', items: 'integers', remapped: false });
      expect(ints.ids.summary).to.include('item ids kept as they are (they form 1..2)');
    });

    it('messages escape characters that print as nothing or as a space, so an id that only looks like another shows its difference', () => {
      // A zero-width space and a no-break space inside ids, a byte-order mark before a time.
      const e = readError(file('invisible.csv', 'user,item,time\nu\u200b1,i\u00a01,\ufeff100x\n'));
      expect(e.message).to.include(String.raw`in the line "u\u200b1,i\u00a01,\ufeff100x"`);
      expect(e.message).not.to.match(/[\u200b\u00a0\ufeff]/);
      // Plain spaces stay spaces.
      expect(readError(file('spaces.txt', '-1 -2 x\n')).message).to.include('"-1 -2 x"');
    });

    it('notes ids holding invisible characters in data that otherwise reads, and says when one looks like another id', () => {
      // "i1" with a zero-width space after it is read as a third item beside i1 and i2.
      const heard: string[] = [];
      const ds = readDataset(file('zw.csv', 'user,item,time\nu1,i1,1\nu1,i2,2\nu1,i1\u200b,3\nu 2,i2,1\n'), { onNote: (n) => heard.push(n) });
      expect(ds.numItems).to.equal(3);
      const item = ds.notes!.find((n) => n.includes('item id'));
      expect(item).to.equal(
        `${join(dir, 'zw.csv')}: 1 item id holds invisible or control characters (zero-width or no-break spaces, byte-order marks, control codes), for example "i1\\u200b"; it looks like another item id without them, so the events of one item are split over two ids; remove them from the file if they are not meant`,
      );
      expect(heard).to.include(item);
      // A user id with a plain space is an ordinary id: no note for the users.
      expect(ds.notes!.filter((n) => n.includes('user id'))).to.deep.equal([]);
      // A no-break space without a visible twin: noted, without the twin clause.
      const nb = readDataset(file('nbsp.csv', 'user,item\nu\u00a01,i1\nu2,i2\n'));
      const user = nb.notes!.find((n) => n.includes('user id'))!;
      expect(user).to.include('1 user id holds invisible or control characters').and.include(String.raw`"u\u00a01"`).and.not.include('looks like');
      // Two such item ids, one with a visible twin: both counted, the twin named by count.
      const two = readDataset(file('two.csv', 'user,item\nu1,i1\nu1,i1\u2060\nu1,i9\u200b\n'));
      expect(two.notes!.find((n) => n.includes('item id'))).to.include('2 item ids hold invisible or control characters').and.include('; 1 of them looks like another item id without them');
      // Two twins: the events of two items are each split.
      const twins = readDataset(file('twins.csv', 'user,item\nu1,i1\nu1,i1\u2060\nu1,i2\nu1,i2\u200b\n'));
      expect(twins.notes!.find((n) => n.includes('item id'))).to.include('2 of them look like another item id without them, so the events of 2 items are each split over two ids');
      // A no-break space or byte-order mark at the edge of an unquoted CSV field stays in the id (CSV trims ASCII blanks only), as in JSON Lines.
      const edges = readDataset(file('edges.csv', 'user,item\nu1,i1\nu1\u00a0,i2\nu2, \ufeffi1 \n'));
      expect(edges.users).to.deep.equal(['u1', 'u1\u00a0', 'u2']);
      expect(originalSeqs(edges)).to.deep.equal([['i1'], ['i2'], ['\ufeffi1']]);
      // A control character (a bell) in a user id, beside the same id without it.
      const bel = readDataset(file('bel.csv', 'user,item\nb,i1\nb\u0007,i2\n'));
      expect(bel.notes!.find((n) => n.includes('user id'))).to.include(String.raw`for example "b\u0007"; it looks like another user id without them`);
    });
  });

  describe('column names', () => {
    it('reads MovieLens-latest ratings.csv (userId,movieId,rating,timestamp) and names the ignored column', () => {
      const notes: string[] = [];
      const ds = readDataset(file('ml-latest/ratings.csv', 'userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n2,10,4.0,835355493\n'), { onNote: (n) => notes.push(n) });
      expect(originalSeqs(ds)).to.deep.equal([['31', '1029'], ['10']]);
      expect(ds.read?.columns).to.deep.equal({ user: 'userId', item: 'movieId', time: 'timestamp' });
      expect(ds.read?.ignoredColumns).to.deep.equal(['rating']);
      expect(notes).to.deep.equal([`${join(dir, 'ml-latest/ratings.csv')}: columns ignored: rating`]);
    });

    it('reads RecBole atomic .inter files (tab separated, name:type headers)', () => {
      const ds = readDataset(file('ml-100k.inter', 'user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t51\t2\t881250940\n'));
      expect(ds.users).to.deep.equal(['186', '196']);
      expect(originalSeqs(ds)).to.deep.equal([['302'], ['51', '242']]);
      expect(ds.read?.columns).to.deep.equal({ user: 'user_id:token', item: 'item_id:token', time: 'timestamp:float' });
      // Detected by content too, when the name says nothing.
      expect(readDataset(file('noext-inter', 'user_id:token\titem_id:token\n1\t2\n')).read?.format).to.equal('csv');
    });

    it('the separator is the most frequent of comma, tab and semicolon outside quotes on the first line', () => {
      // A European export: semicolons between fields, decimal commas in the rating. Before, any comma made it comma-separated.
      const eu = readDataset(file('eu.csv', '1;10;4,5;100\n1;11;3,0;200\n2;10;5,0;50\n'), { userCol: '1', itemCol: '2', timeCol: '4', actionCol: '3', actions: true });
      expect(originalSeqs(eu)).to.deep.equal([['10', '11'], ['10']]);
      expect(eu.actions!.vocab.slice(1).sort()).to.deep.equal(['3,0', '4,5', '5,0']);
      // A TSV whose header names a column with a comma in it stays tab-separated.
      const tsv = readDataset(file('titles.tsv', 'user_id\titem_id\tTitle, The\ttimestamp\n1\t5\tx, y\t20\n1\t6\tz\t10\n'));
      expect(originalSeqs(tsv)).to.deep.equal([['6', '5']]);
      // Quoted separators do not count: two commas outside the quotes beat the semicolons inside.
      expect(sniffDelimiter('"a;b;c",item,time')).to.equal(',');
      expect(sniffDelimiter('user')).to.equal(',');
    });

    it('messages name a column by position as "column 4", by header name as column "time"', () => {
      expect(readError(file('pos.csv', '1,10,5,yesterday\n'), { userCol: '1', itemCol: '2', timeCol: '4' }).message).to.include('expected a time in column 4 (');
      expect(readError(file('named.csv', 'user,item,time\n1,10,yesterday\n')).message).to.include('expected a time in column "time" (');
      // The bad value is quoted first, then its line.
      expect(readError(file('named.csv', 'user,item,time\n1,10,yesterday\n')).message).to.match(/, got "yesterday" in the line "1,10,yesterday"$/);
      expect(readError(file('empty.csv', 'user,item\n1,\n')).message).to.include('expected non-empty values in column "user" and column "item"');
    });

    it('a header that names a column it reads twice is refused at line 1 unless --columns gives one exact name; a repeated unread column is not', () => {
      expect(readError(file('dup.csv', 'user,item,user,timestamp\n1,2,3,4\n')).message).to.equal(
        `${join(dir, 'dup.csv')}:1: expected a header that names the column "user" once (rename the other copies, or give its exact name with --columns), got "user,item,user,timestamp"`,
      );
      // The copies match as column names match: case and separators aside.
      expect(readError(file('dup-item.csv', 'user_id,item_id,Item-ID\n1,2,3\n')).message).to.include('names the column "item_id" once');
      // Named exactly with --columns, a spelling the header has once is no guess; an exact twin still is.
      expect(readDataset(file('dup-item2.csv', 'user_id,item_id,Item-ID\n1,2,3\n'), { itemCol: 'Item-ID' }).itemIds.slice(1)).to.deep.equal(['3']);
      expect(readError(file('dup-twin.csv', 'user,item,item\n1,2,3\n'), { itemCol: 'item' }).message).to.include('names the column "item" once');
      expect(readDataset(file('dup-unread.csv', 'user,item,note,note\n1,2,a,b\n1,3,c,d\n')).numItems).to.equal(2);
    });

    it('two columns that both look like one role: the one read is named in a note, and --columns chooses', () => {
      const p = file('two-users.csv', 'user,item,User_ID,date,timestamp\n1,a,x,5,1\n2,b,x,6,2\n');
      const ds = readDataset(p);
      // Synonym order: user_id before user, timestamp before date.
      expect(ds.users).to.deep.equal(['x']);
      expect(ds.notes).to.include(`${p}: "user" also looks like the user column; read "User_ID" (choose with --columns user=NAME)`);
      expect(ds.notes).to.include(`${p}: "date" also looks like the time column; read "timestamp" (choose with --columns time=NAME)`);
      const chosen = readDataset(p, { userCol: 'user', timeCol: 'timestamp' });
      expect(chosen.users).to.deep.equal(['1', '2']);
      expect((chosen.notes ?? []).join()).to.not.include('also looks like');
    });

    it('finds the usual time-column synonyms', () => {
      for (const col of ['time', 'ts', 'datetime', 'date', 'unix_time', 'event_time', 'Timestamp', 'unixReviewTime']) {
        const ds = readDataset(file(`syn-${col}.csv`, `user,item,${col}\nu,a,20\nu,b,10\n`));
        expect(ds.read?.columns?.time, col).to.equal(col);
        expect(originalSeqs(ds), col).to.deep.equal([['b', 'a']]);
      }
      // Amazon review dumps: reviewerID, asin, unixReviewTime.
      const amazon = readDataset(file('amazon.csv', 'reviewerID,asin,overall,unixReviewTime\nA1,B01,5,2\nA1,B02,4,1\n'));
      expect(originalSeqs(amazon)).to.deep.equal([['B02', 'B01']]);
      expect(amazon.read?.ignoredColumns).to.deep.equal(['overall']);
    });

    it('--columns overrides the names; time=none ignores a time column; a missing name is refused with the header', () => {
      const p = file('events.csv', 'visitor,thing,when,kind\nv1,a,20,view\nv1,b,10,buy\n');
      const ds = readDataset(p, parseColumns('user=visitor,item=thing,time=when'));
      expect(originalSeqs(ds)).to.deep.equal([['b', 'a']]);
      expect(ds.read?.ignoredColumns).to.deep.equal(['kind']);
      const noTime = readDataset(file('ml.csv', 'userId,movieId,timestamp\n1,5,20\n1,6,10\n'), parseColumns('time=none'));
      expect(noTime.timestamps).to.equal(null);
      expect(originalSeqs(noTime)).to.deep.equal([['5', '6']]);
      expect(noTime.read?.ignoredColumns).to.deep.equal(['timestamp']);
      const missing = readError(p, parseColumns('user=visitor,item=product'));
      expect(missing.message).to.include(':1:').and.include('item column named "product"').and.include('visitor,thing,when,kind');
      const spaced = readError(file('spaced.txt', 'user_id item_id timestamp\n1 2 3\n'));
      expect(spaced.message).to.include(':1:').and.include('looks like a header separated by spaces');
      const none = readError(file('nouser.csv', 'person,item_id\n1,2\n'));
      expect(none.message).to.include('--columns user=NAME,item=NAME,time=NAME');
    });

    it('--columns is refused for formats without a header, and bad --columns values name the part', () => {
      expect(readError(file('plain.txt', '1 2\n'), { userCol: 'x' }).message).to.include('columns (--columns) apply to CSV/TSV and RecBole .inter files (and, by name, to JSON Lines keys), but this file is read as sasrec');
      expect(() => parseColumns('usr=a')).to.throw(/--columns expects user=NAME,item=NAME,time=NAME,action=NAME, got 'usr=a'/);
      expect(() => parseColumns('user=')).to.throw(/user= needs a column name/);
      expect(parseColumns('user=a,item=b,time=c')).to.deep.equal({ userCol: 'a', itemCol: 'b', timeCol: 'c' });
    });

    it('--columns reads a quoted name that holds a comma', () => {
      const p = file('titled.csv', 'user,"Title, The",when\nu1,a,20\nu1,b,10\n');
      expect(originalSeqs(readDataset(p, parseColumns('user=user, item="Title, The",time=when')))).to.deep.equal([['b', 'a']]);
      // Unquoted, the comma splits the value: 'The' is no key=value part.
      expect(() => parseColumns('user=user,item=Title, The')).to.throw(UsageError, /got 'The'/);
      expect(() => parseColumns('user=user,item="Title, The')).to.throw(UsageError, /a quote is left open/);
      expect(() => parseColumns('user=user,item="Title, The"x')).to.throw(UsageError, /is not one quoted name/);
    });
  });

  describe('one user per line', () => {
    it('reads S3Rec-style "user item1 … itemN" files, chronological order kept', () => {
      // Beauty.txt of S3Rec / CL4SRec / ICLRec / DuoRec / BSARec: the first user has 3 items (4 fields).
      const ds = readDataset(file('Beauty.txt', '1 1 2 3\n2 4 5 6 7 8 1\n3 2 9 4 4\n'));
      expect(ds.read?.format).to.equal('user-seq');
      expect(originalSeqs(ds)).to.deep.equal([['1', '2', '3'], ['4', '5', '6', '7', '8', '1'], ['2', '9', '4', '4']]);
      expect(ds.timestamps).to.equal(null);
      expect(ds.remapped).to.equal(false);
    });

    it('detection: a line with more than 3 fields anywhere in the first 1,000 lines; else SASRec', () => {
      // First line has 3 fields (would look like "user item ts"); a later line has 5.
      const late = readDataset(file('late.txt', 'a x y\nb x y z w\n'));
      expect(late.read?.format).to.equal('user-seq');
      expect(originalSeqs(late)).to.deep.equal([['x', 'y'], ['x', 'y', 'z', 'w']]);
      // Every line with 3 fields: SASRec with timestamps.
      expect(readDataset(file('three.txt', 'a x 1\na y 2\n')).read?.format).to.equal('sasrec');
      // Users with at most 2 items: name the format.
      const named = readDataset(file('short.txt', 'a x y\nb z\n'), { format: 'user-seq' });
      expect(originalSeqs(named)).to.deep.equal([['x', 'y'], ['z']]);
      // "user item rating" (a LibRec/FilmTrust-style file) reads as SASRec with the ratings as times, sorting each
      // history by rating: documented, and now said in a note once the column looks like ratings (100 events, 5 values).
      const rated = readDataset(file('rated.txt', Array.from({ length: 100 }, (_, i) => `u${i % 10} i${i} ${1 + (i % 5)}`).join('\n') + '\n'));
      expect(rated.notes!.filter((n) => n.includes('ratings rather than times'))).to.have.length(1);
      expect(rated.notes!.find((n) => n.includes('ratings rather than times'))).to.include('holds only 5 distinct values from 1 to 5 over 100 events');
      expect(readDataset(file('timed.txt', Array.from({ length: 100 }, (_, i) => `u${i % 10} i${i} ${1000 + i}`).join('\n') + '\n')).notes!.join('\n')).to.not.include('ratings rather than times');
      // Dates written as numbers (20170611) are read as seconds (documented), and said so in a note; real seconds are not.
      const compact = readDataset(file('compact.txt', 'a x 20170611\na y 20170612\nb x 20171231\n'));
      const dateNotes = compact.notes!.filter((n) => n.includes('YYYYMMDD'));
      expect(dateNotes).to.have.length(1);
      expect(dateNotes[0]).to.match(/compact\.txt: every time is a date written as a number \(20170611 to 20171231, YYYYMMDD\): it is read as unix seconds, not as the date it spells, .* write dates as ISO \(2017-06-11, or 2017-06-11T08:30:00 with the time of day\)$/);
      // Date-times with the hour (YYYYMMDDhhmmss) are large enough to pass for milliseconds: still named as dates.
      const long = readDataset(file('datetime.txt', 'a x 19971204083000\na y 19971205101500\n'));
      expect(long.notes!.join('\n')).to.match(/every time is a date written as a number \(19971204083000 to 19971205101500, YYYYMMDDhhmmss\): it is read as unix milliseconds/);
      // 20171332 has no month 13: not a date, no note.
      expect(readDataset(file('notdate.txt', 'a x 20170611\na y 20171332\n')).notes!.join('\n')).to.not.include('YYYYMMDD');
      expect(readDataset(file('secs.txt', 'a x 1497139200\na y 1497225600\n')).notes!.join('\n')).to.not.include('YYYYMMDD');
      // A SASRec file with a mixed width points at user-seq.
      expect(readError(file('mixed-width.txt', 'a x 1\nb z\n')).message).to.include(':2:').and.include('use --format user-seq');
    });

    it('refuses a user on two lines and a line without items, naming the line', () => {
      const twice = readError(file('twice.txt', '1 5 6 7\n2 5 6 7\n1 8 9 10\n'));
      expect(twice.message).to.include(':3:').and.include('this user already has line 1');
      // "user item rating timestamp" with spaces (u.data's columns): both messages point at the reader that takes it
      // (before, each pointed at the other: user-seq at sasrec, sasrec at user-seq).
      const spaced = file('spaced-udata.txt', '1 5 4 100\n1 6 3 200\n1 7 5 300\n');
      expect(readError(spaced).message).to.include(':2:').and.include('use --format ml100k');
      expect(readError(spaced, { format: 'sasrec' }).message).to.include(':1:').and.include('use --format ml100k');
      expect(originalSeqs(readDataset(spaced, { format: 'ml100k' }))).to.deep.equal([['5', '6', '7']]);
      const empty = readError(file('empty-user.txt', '1 5 6 7\n2\n'), { format: 'user-seq' });
      expect(empty.message).to.include(':2:').and.include('a user id followed by at least one item id');
    });
  });

  describe('zip archives', () => {
    const zip = (files: Record<string, string>) => zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])));

    it('reads ratings.dat from a MovieLens-1M-shaped zip and names the member', () => {
      const notes: string[] = [];
      const p = file('ml-1m.zip', zip({ 'ml-1m/README': 'MovieLens', 'ml-1m/movies.dat': '1::Toy Story (1995)::Animation\n', 'ml-1m/ratings.dat': '1::1193::5::978300760\n1::661::3::978302109\n2::1357::5::978298709\n' }));
      const ds = readDataset(p, { onNote: (n) => notes.push(n) });
      expect(ds.name).to.equal('ml-1m');
      expect(ds.read?.format).to.equal('movielens');
      expect(ds.read?.archiveMember).to.equal('ml-1m/ratings.dat');
      expect(originalSeqs(ds)).to.deep.equal([['1193', '661'], ['1357']]);
      expect(notes[0]).to.equal(`${p} is a zip archive: read its member ml-1m/ratings.dat`);
      expect(datasetStats(ds).format).to.equal('movielens (zip member ml-1m/ratings.dat)');
    });

    it('picks u.data in ML-100K and ratings.csv in ML-latest; a single-file zip reads that file', () => {
      const k100 = readDataset(file('ml-100k.zip', zip({ 'ml-100k/u.data': '1\t2\t3\t10\n1\t1\t3\t5\n', 'ml-100k/u1.base': '9\t9\t9\t9\n', 'ml-100k/u.item': 'x' })));
      expect(k100.read?.archiveMember).to.equal('ml-100k/u.data');
      expect(originalSeqs(k100)).to.deep.equal([['1', '2']]);
      const latest = readDataset(file('ml-latest-small.zip', zip({ 'ml-latest-small/movies.csv': 'movieId,title\n1,Toy Story\n', 'ml-latest-small/ratings.csv': 'userId,movieId,rating,timestamp\n1,1,4.0,964982703\n', 'ml-latest-small/tags.csv': 'userId,movieId,tag,timestamp\n' })));
      expect(latest.read?.archiveMember).to.equal('ml-latest-small/ratings.csv');
      expect(latest.users).to.deep.equal(['1']);
      const single = readDataset(file('one.zip', zip({ 'Beauty.txt': '1 1 2 3 4\n' })));
      expect(single.read?.format).to.equal('user-seq');
    });

    it('says which members exist when none or several fit, without binary garbage', () => {
      const none = readError(file('movies-only.zip', zip({ 'ml/movies.dat': 'x', 'ml/users.dat': 'y' })));
      expect(none.message).to.include('zip archive without an interaction file named ratings.dat, u.data, ratings.csv or *.inter (it holds ml/movies.dat, ml/users.dat)');
      expect(none.message).to.include('unzip -p');
      const two = readError(file('two.zip', zip({ 'a/ratings.csv': 'x', 'b/ratings.csv': 'y' })));
      expect(two.message).to.include('several interaction files (a/ratings.csv, b/ratings.csv)');
      const binary = readError(file('image.bin', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d])));
      expect(binary.message).to.equal(`${join(dir, 'image.bin')}: this is a binary file (it starts with bytes 89 50 4e 47 0d 0a 1a 0a), not a text interaction file`);
      // A NUL after whole lines of text is a damaged line of a text file: its line is named, not "binary".
      const damaged = readError(file('nul.csv', Buffer.from('user_id,item_id,timestamp\nu1,i1,100\nu1,i\u00002,200\n')));
      expect(damaged.line).to.equal(3);
      expect(damaged.message).to.equal(`${join(dir, 'nul.csv')}:3: expected text, got a NUL byte (0x00) in this line; a text interaction file holds none`);
      // Past the first 8 KiB too, where it would otherwise end up inside an item id.
      const rows = Array.from({ length: 1000 }, (_, k) => `u${k % 50},i${k % 70},${100 + k}`).join('\n');
      expect(readError(file('nul-far.csv', Buffer.from(`user_id,item_id,timestamp\n${rows}\nu1,i\u00002,5000\n`))).line).to.equal(1002);
      expect(readError(file('x.tar.bz2', Buffer.from('BZh91AY&SY'))).message).to.include('a bzip2 archive');
      // A gzip of a zip is unwrapped too.
      expect(readDataset(file('double.zip.gz', gzipSync(zip({ 'u.data': '1\t1\t1\t1\n' })))).read?.archiveMember).to.equal('u.data');
    });

    it('reads a .gz file that is not gzip as it is, with a note saying so', () => {
      const notes: string[] = [];
      const p = file('plain.txt.gz', '1 5\n1 6\n2 7\n');
      expect(originalSeqs(readDataset(p, { onNote: (n) => notes.push(n) }))).to.deep.equal([['5', '6'], ['7']]);
      expect(notes).to.deep.equal([`${p} ends in .gz but is not gzip-compressed: read as it is`]);
      const real: string[] = [];
      readDataset(file('real.txt.gz', gzipSync('1 5\n1 6\n')), { onNote: (n) => real.push(n) });
      expect(real).to.deep.equal([]);
    });
  });

  describe('a time-bias model without timestamps', () => {
    it('checkTimeBiasData refuses time_bias=true on data without timestamps, in one line naming the file', () => {
      const noTs = readDataset(file('nots.txt', '1 1\n1 2\n'));
      let err: unknown;
      try {
        checkTimeBiasData({ time_bias: true }, noTs, 'train');
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(DataFormatError);
      expect((err as Error).message).to.equal(
        `${join(dir, 'nots.txt')}: cannot train an HSTU model with time_bias=true on data without timestamps: every time bucket would be 0 and the numbers would silently differ; use data with timestamps, or compile with --set time_bias=false`,
      );
      // The inference graph's metadata holds the config as JSON text.
      expect(() => checkTimeBiasData('{"time_bias":true,"dim":50}', noTs, 'evaluate')).to.throw(DataFormatError, /cannot evaluate an HSTU model/);
      // Everything else passes: the bias off, a model without the field, data with timestamps.
      const withTs = readDataset(file('ts.txt', '1 1 5\n1 2 6\n'));
      expect(() => checkTimeBiasData({ time_bias: false }, noTs, 'train')).to.not.throw();
      expect(() => checkTimeBiasData({ dim: 64 }, noTs, 'train')).to.not.throw();
      expect(() => checkTimeBiasData({ time_bias: true }, withTs, 'train')).to.not.throw();
    });
  });

  describe('user ids in messages', () => {
    it('the sampler names the user id from the file, not the user index', () => {
      // User "zoe" (index 0) has seen every item in train: no negative exists.
      const ds = readDataset(file('all.txt', 'zoe a\nzoe b\nzoe c\nzoe a\nzoe b\nyann a\nyann b\n'));
      const split = leaveOneOutSplit(ds);
      expect(() => new TrainSampler(split, { maxlen: 4, batchSize: 2, needNeg: true, userIds: ds.users }, 1)).to.throw(SamplerError, /^user zoe has interacted with all 3 items in train/);
    });

    it('userLabel quotes ids with spaces and falls back to the index without ids', () => {
      expect(userLabel(['42', 'a b', ''], 0)).to.equal('user 42');
      expect(userLabel(['42', 'a b', ''], 1)).to.equal('user "a b"');
      expect(userLabel(['42', 'a b', ''], 2)).to.equal('user ""');
      expect(userLabel(undefined, 3)).to.equal('user index 3');
    });
  });

  describe('duplicates and the built-in dataset name', () => {
    it('counts exact duplicate rows (same user, item and time), not repeats at other times', () => {
      const ds = readDataset(file('dups.dat', ['1::10::5::100', '1::10::4::100', '1::20::5::100', '1::10::5::100', '1::10::5::200', '2::10::5::100'].join('\n')));
      // Rows 2 and 4 repeat row 1 (user 1, item 10, time 100); row 5 is another time, row 6 another user.
      expect(ds.read?.duplicateRows).to.equal(2);
      expect(datasetStats(ds).duplicateRows).to.equal(2);
      const csv = readDataset(file('dups.csv', 'user,item,time\nu,a,1\nu,b,1\nu,a,1\nu,a,1\nv,a,1\n'));
      expect(csv.read?.duplicateRows).to.equal(2);
      // Without time, duplicates are not defined (repeat consumption is normal): null.
      expect(datasetStats(readDataset(file('nodup.txt', '1 1\n1 1\n'))).duplicateRows).to.equal(null);
    });

    it('--data builtin with a file named builtin in the working folder says which one it uses', () => {
      const cwd = process.cwd();
      const here = mkdtempSync(join(dir, 'cwd-'));
      const notes: string[] = [];
      try {
        process.chdir(here);
        expect(openDataset('builtin', { onNote: (n) => notes.push(n) }).notes ?? []).to.deep.equal([]);
        writeFileSync('builtin', '1 1\n1 2\n');
        const ds = openDataset('builtin', { onNote: (n) => notes.push(n) });
        expect(ds.numItems).to.equal(500);
        expect(notes).to.deep.equal([`--data builtin: using the built-in synthetic dataset, not the file ${join(process.cwd(), 'builtin')}; pass ./builtin to read the file`]);
        expect(openDataset('./builtin').numItems).to.equal(2);
        expect(datasetStats(ds).ids.summary).to.equal('generated ids (built-in dataset): items 1..500, not remapped');
      } finally {
        process.chdir(cwd);
      }
    });
  });
});
