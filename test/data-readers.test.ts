import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  DataFormatError,
  builtinDataset,
  datasetStats,
  loadItemMap,
  readDataset,
  saveItemMap,
  writeBuiltinDataset,
  type Dataset,
  type ReadOptions,
} from '../src/data/index.js';
import { MALFORMED_QUOTES } from '../src/data/readers/csv.js';
import { parseSideFile } from '../src/data/readers/side.js';

const seqs = (ds: Dataset) => ds.sequences.map((s) => Array.from(s));
const times = (ds: Dataset) => ds.timestamps?.map((s) => Array.from(s)) ?? null;
/** Original item ids per user, which do not depend on remapping. */
const originalSeqs = (ds: Dataset) => ds.sequences.map((s) => Array.from(s, (i) => ds.itemIds[i]));

describe('data readers', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'reclm-data-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, content: string | Buffer): string {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  }

  function expectFormatError(path: string, line: number, text: string, opts: ReadOptions = {}): DataFormatError {
    let err: unknown;
    try {
      readDataset(path, opts);
    } catch (e) {
      err = e;
    }
    expect(err, 'expected a DataFormatError').to.be.instanceOf(DataFormatError);
    const e = err as DataFormatError;
    expect(e.message).to.include(path);
    expect(e.message).to.include(`:${line}:`);
    // The text is quoted as a JSON string, or between single quotes when it holds double quotes and no single quote.
    expect(e.message).to.include(text.includes('"') && !text.includes("'") ? `'${text}'` : JSON.stringify(text));
    expect(e.message).to.include('expected');
    expect(e.line).to.equal(line);
    return e;
  }

  describe('SASRec text', () => {
    it('keeps file order per user, skips blank lines, keeps ids that form 1..V', () => {
      const p = file('a.txt', '2 3\n1 2\n\n1 1\n  \n2 1\r\n1 3\n');
      const ds = readDataset(p);
      expect(ds.users).to.deep.equal(['1', '2']);
      expect(seqs(ds)).to.deep.equal([[2, 1, 3], [3, 1]]);
      expect(ds.numItems).to.equal(3);
      expect(ds.remapped).to.equal(false);
      expect(ds.itemIds).to.deep.equal(['', '1', '2', '3']);
      expect(ds.timestamps).to.equal(null);
      expect(ds.name).to.equal('a');
    });

    it('orders each user by its timestamp column (stable) and counts the users reordered', () => {
      const ds = readDataset(file('t.txt', '1 1 100\n1 2 50\n2 2 7.5\n'));
      expect(times(ds)).to.deep.equal([[50, 100], [7.5]]);
      expect(seqs(ds)).to.deep.equal([[2, 1], [2]]);
      expect(ds.read?.reorderedUsers).to.equal(1);
    });

    it('remaps ids with gaps in order of first appearance (users in order, then chronologically)', () => {
      const ds = readDataset(file('gap.txt', '2 50\n1 10\n1 30\n2 10\n'));
      expect(ds.remapped).to.equal(true);
      expect(ds.numItems).to.equal(3);
      expect(ds.itemIds).to.deep.equal(['', '10', '30', '50']);
      expect(seqs(ds)).to.deep.equal([[1, 2], [3, 1]]);
    });

    it('remaps when item 0 occurs (0 is padding internally)', () => {
      const ds = readDataset(file('zero.txt', '1 0\n1 1\n'));
      expect(ds.remapped).to.equal(true);
      expect(originalSeqs(ds)).to.deep.equal([['0', '1']]);
    });

    it('reads gzip by magic bytes, whatever the name', () => {
      const text = '1 2 10\n1 1 20\n2 3 5\n';
      const a = readDataset(file('plain.txt', text));
      const b = readDataset(file('packed.txt.gz', gzipSync(text)));
      const c = readDataset(file('noext', gzipSync(text)));
      expect(seqs(b)).to.deep.equal(seqs(a));
      expect(times(b)).to.deep.equal(times(a));
      expect(seqs(c)).to.deep.equal(seqs(a));
      expect(b.name).to.equal('packed');
    });

    it('rejects malformed lines naming file, line and text', () => {
      expectFormatError(file('m1.txt', '1 2\n1 3\n17\n'), 3, '17');
      expectFormatError(file('m2.txt', '1 2\n1 3 4 5\n'), 2, '1 3 4 5');
      expectFormatError(file('m3.txt', '1 2\n\nx\n'), 3, 'x');
      expectFormatError(file('m4.txt', '1 2 100\n1 3\n'), 2, '1 3');
      expectFormatError(file('m5.txt', '1 2 100\n1 3 soon\n'), 2, '1 3 soon');
      expectFormatError(file('m6.txt.gz', gzipSync('1 2 5\n1 -3 x\n')), 2, '1 -3 x');
    });

    it('rejects empty files clearly', () => {
      for (const [name, content] of [['e1.txt', ''], ['e2.txt', '\n  \n\n'], ['e3.txt.gz', gzipSync('')]] as const) {
        expect(() => readDataset(file(name, content), { format: 'sasrec' })).to.throw(DataFormatError, /empty/);
      }
      expect(() => readDataset(file('e4', ''))).to.throw(DataFormatError, /empty/);
    });
  });

  describe('MovieLens ratings.dat', () => {
    it('sorts each user by timestamp, ties in file order', () => {
      const p = file('ratings.dat', ['1::20::5::300', '1::10::3::100', '2::10::4::50', '1::30::4::100', '1::40::1::50'].join('\n'));
      const ds = readDataset(p);
      expect(originalSeqs(ds)).to.deep.equal([['40', '10', '30', '20'], ['10']]);
      expect(times(ds)).to.deep.equal([[50, 100, 100, 300], [50]]);
      expect(ds.remapped).to.equal(true);
    });

    it('rejects malformed lines', () => {
      expectFormatError(file('bad.dat', '1::20::5::300\n1::10::3\n'), 2, '1::10::3');
      expectFormatError(file('bad2.dat', '1::20::5::300\n1::10::x::100\n'), 2, '1::10::x::100');
      expectFormatError(file('bad3.dat', '1::20::5::300\n1 10 3 100\n'), 2, '1 10 3 100');
    });
  });

  describe('ML-100K u.data', () => {
    it('reads tab-separated ratings and sorts by time', () => {
      const p = file('u.data', '2\t1\t3\t20\n1\t2\t5\t9\n2\t2\t1\t10\n1\t1\t4\t9\n');
      const ds = readDataset(p);
      expect(ds.users).to.deep.equal(['1', '2']);
      expect(seqs(ds)).to.deep.equal([[2, 1], [2, 1]]);
      expect(times(ds)).to.deep.equal([[9, 9], [10, 20]]);
      expect(ds.remapped).to.equal(false);
    });

    it('rejects malformed lines', () => {
      expectFormatError(file('bad.u.data', '1\t2\t5\t9\n1\t2\t5\n'), 2, '1\t2\t5');
    });
  });

  describe('CSV', () => {
    it('uses user_id/item_id/timestamp and sorts by time', () => {
      const p = file('a.csv', 'item_id,user_id,timestamp\nb,u1,5\na,u1,2\nb,u2,1\n');
      const ds = readDataset(p);
      expect(ds.users).to.deep.equal(['u1', 'u2']);
      expect(originalSeqs(ds)).to.deep.equal([['a', 'b'], ['b']]);
      expect(ds.itemIds).to.deep.equal(['', 'a', 'b']);
      expect(ds.remapped).to.equal(true);
    });

    it('accepts user/item, keeps file order without a time column, handles quotes', () => {
      const ds = readDataset(file('b.csv', 'user,item,rating\n"x, y",z,1\nq,"say ""hi""",2\n"x, y",w,3\n'));
      expect(ds.users).to.deep.equal(['x, y', 'q']);
      expect(originalSeqs(ds)).to.deep.equal([['z', 'w'], ['say "hi"']]);
      expect(ds.timestamps).to.equal(null);
      // A quoted field with a line break (RFC 4180 allows it; reclm reads a record per line): said, not "expected 3 fields".
      const spanning = file('span.csv', 'user,item,time\n1,"Multi\nline",1\n1,b,2\n');
      expect(() => readDataset(spanning)).to.throw(DataFormatError, `${spanning}:2: expected ${MALFORMED_QUOTES}, got '1,"Multi'`);
      expect(() => parseSideFile('items.csv', 'item_id,title\n1,"Two\nlines"\n', 'item')).to.throw(DataFormatError, `items.csv:2: expected ${MALFORMED_QUOTES}`);
    });

    it('takes column names from options and parses ISO dates', () => {
      const p = file('c.csv', 'who,what,when\n1,1,2020-01-02T00:00:00Z\n1,2,2020-01-01T00:00:00Z\n');
      const ds = readDataset(p, { userCol: 'who', itemCol: 'what', timeCol: 'when' });
      expect(seqs(ds)).to.deep.equal([[2, 1]]);
      expect(times(ds)).to.deep.equal([[1577836800, 1577923200]]);
      expect(ds.remapped).to.equal(false);
    });

    it('reads ISO 8601 dates as UTC whatever the zone of the machine, and refuses dates whose day and month order is ambiguous, and non-decimal numbers', () => {
      // 2017-06-11T08:30:00Z is 1497169800 s; the same instant written five ways.
      const forms = ['2017-06-11T08:30:00Z', '2017-06-11 08:30:00', '2017-06-11T10:30:00+02:00', '2017-06-11T03:30-0500', '2017-06-11T08:30:00.000Z'];
      const rows = forms.map((f, i) => `u,${i + 1},${f}`).join('\n');
      expect(times(readDataset(file('iso.csv', `user,item,time\n${rows}\nu,9,2017-06-11\n`)))).to.deep.equal([[1497139200, ...forms.map(() => 1497169800)]]);
      const us = expectFormatError(file('us.csv', 'user,item,time\nu,1,2017-06-11\nu,2,11/06/2017\n'), 3, 'u,2,11/06/2017');
      expect(us.message).to.include('slash and dot dates such as "11/06/2017" are not read, as their form does not say whether the day or the month comes first: write YYYY-MM-DD');
      // Only decimal numbers are seconds: Number() would read 0x10 as 16.
      expectFormatError(file('hex.csv', 'user,item,time\nu,1,0x10\n'), 2, 'u,1,0x10');
      // The whitespace and MovieLens readers too, and a number too large to be finite.
      expectFormatError(file('hex.txt', 'u 1 100\nu 2 0x10\n'), 2, 'u 2 0x10');
      expectFormatError(file('hex-ratings.dat', '1::2::5::100\n1::3::5::0x10\n'), 2, '1::3::5::0x10');
      expectFormatError(file('huge.csv', 'user,item,time\nu,1,1e400\n'), 2, 'u,1,1e400');
      expect(times(readDataset(file('exp.csv', 'user,item,time\nu,1,1.49717e9\n')))).to.deep.equal([[1497170000]]);
      // A date that does not exist (Date.UTC would roll it over to March 2).
      // The message names the part at fault: the day, the time of day or the zone.
      expect(expectFormatError(file('feb30.csv', 'user,item,time\nu,1,2017-02-30\n'), 2, 'u,1,2017-02-30').message).to.include('; 2017-02-30 is not a day of the calendar');
      expect(expectFormatError(file('h24.csv', 'user,item,time\nu,1,2017-06-11T24:10:00Z\n'), 2, 'u,1,2017-06-11T24:10:00Z').message).to.include('; 24:10:00 is not a time of day');
      // A zone offset no zone has (past ±14:00, or 60 minutes and more) would shift the time silently.
      const zone = (e: DataFormatError, offset: string) => expect(e.message).to.include(`; its zone offset ${offset} is one no place uses (offsets lie within ±14:00, minutes below 60)`);
      zone(expectFormatError(file('zone25.csv', 'user,item,time\nu,1,2017-06-11T08:30:00+25:00\n'), 2, 'u,1,2017-06-11T08:30:00+25:00'), '+25:00');
      zone(expectFormatError(file('zone99.csv', 'user,item,time\nu,1,2017-06-11T08:30:00-0099\n'), 2, 'u,1,2017-06-11T08:30:00-0099'), '-0099');
      zone(expectFormatError(file('zone1430.csv', 'user,item,time\nu,1,2017-06-11T08:30:00+14:30\n'), 2, 'u,1,2017-06-11T08:30:00+14:30'), '+14:30');
      // JSON Lines gives the same reasons.
      const jsonZone = '{"user":"u","item":"1","time":"2017-06-11T08:30:00+25:00"}';
      zone(expectFormatError(file('zone25.jsonl', `${jsonZone}\n`), 1, jsonZone), '+25:00');
      const jsonSlash = '{"user":"u","item":"1","time":"11/06/2017"}';
      expect(expectFormatError(file('us.jsonl', `${jsonSlash}\n`), 1, jsonSlash).message).to.include('write YYYY-MM-DD');
      // The widest real offsets still read: 2017-06-11T22:30+14:00 and 2017-06-10T20:30-12:00 are 08:30Z.
      expect(times(readDataset(file('zone14.csv', 'user,item,time\nu,1,2017-06-11T22:30+14:00\nu,2,2017-06-10T20:30-12:00\n')))).to.deep.equal([[1497169800, 1497169800]]);
    });

    it('converts a time column in milliseconds or microseconds to seconds, with a note', () => {
      const ms = readDataset(file('ms.csv', 'user,item,time\nu,1,1497169800123\nu,2,1497169801000\n'));
      expect(times(ms)).to.deep.equal([[1497169800.123, 1497169801]]);
      expect(ms.notes?.join('\n')).to.include('times read as milliseconds');
      const us = readDataset(file('us.txt', 'u 1 1497169800000000\nu 2 1497169801000000\n'));
      expect(times(us)).to.deep.equal([[1497169800, 1497169801]]);
      expect(us.notes?.join('\n')).to.include('times read as microseconds');
      // A column mixing the two units is refused: one scale for all would misorder the events.
      expect(() => readDataset(file('mixed-units.csv', 'user,item,time\nu,10,1497170000\nu,11,1497160000000\n'))).to.throw(DataFormatError, /its times mix units: some are unix seconds \(as small as 1497170000\), others milliseconds/);
      // Seconds stay as they are, without a note.
      const s = readDataset(file('s.csv', 'user,item,time\nu,1,1497169800\n'));
      expect([times(s), s.notes?.some((n) => n.includes('times read as'))]).to.deep.equal([[[1497169800]], false]);
    });

    it('rejects rows with the wrong number of fields, missing columns and bad times', () => {
      expectFormatError(file('d.csv', 'user_id,item_id\n1,2\n1,2,3\n'), 3, '1,2,3');
      expectFormatError(file('e.csv', 'person,item_id\n1,2\n'), 1, 'person,item_id');
      expectFormatError(file('f.csv', 'user_id,item_id,timestamp\n1,2,3\n1,2,later\n'), 3, '1,2,later');
      expect(() => readDataset(file('g.csv', 'user_id,item_id\n'))).to.throw(DataFormatError, /no data rows/);
    });
  });

  describe('reczoo JSON', () => {
    it('gives user index = position, keeps empty users, accepts string ids', () => {
      const ds = readDataset(file('r.json', '[\n  [3, 1, 2],\n  [],\n  ["2", 3]\n]\n'));
      expect(ds.users).to.deep.equal(['0', '1', '2']);
      expect(seqs(ds)).to.deep.equal([[3, 1, 2], [], [2, 3]]);
      expect(ds.remapped).to.equal(false);
      expect(ds.timestamps).to.equal(null);
    });

    it('names the line of a syntax error', () => {
      expectFormatError(file('bad.json', '[\n  [1, 2],\n  [3, }\n]\n'), 3, '  [3, }');
      expectFormatError(file('bad2.json', '[\n  [1, 2]\n  [3]\n]\n'), 3, '  [3]');
      expectFormatError(file('bad3.json', '{"a": 1}'), 1, '{"a": 1}');
      // Both kinds of quote: JSON quoting, with its escapes, as for any other text.
      expect(expectFormatError(file('bad4.json', `{"a": "it's"}`), 1, `{"a": "it's"}`).message).to.include(`got "{\\"a\\": \\"it's\\"}"`);
      // A whole array on one line: the text around the fault is quoted, and its place in the line given.
      const lists = Array.from({ length: 100 }, (_, u) => `[${u + 1}, ${u + 2}]`);
      lists[70] = '[7, x]';
      const line = `[${lists.join(', ')}]`;
      const at = line.indexOf('x') + 1;
      const e = expectFormatError(file('one-line.json', `${line}\n`), 1, `…${line.slice(at - 61, at + 59)}…`);
      expect(e.message).to.include(`expected an item id (a number or a string) in the list of user 70 (element 70 of the array, counting from 0) at character ${at} of the line, got "…`);
      // A missing comma between two lists names the user whose list came before it.
      const twoLists = `[${[...lists.slice(0, 70), '[7, 8] [9]'].join(', ')}]`;
      const fault = twoLists.indexOf('[9]');
      expect(expectFormatError(file('no-comma.json', `${twoLists}\n`), 1, `…${twoLists.slice(fault - 60)}`).message).to.include(
        `expected "," or "]" after the list of user 70 at character ${fault + 1} of the line`,
      );
    });
  });

  describe('format detection', () => {
    it('detects by content when the name is not conclusive', () => {
      expect(seqs(readDataset(file('x1', '1::2::5::1\n')))).to.deep.equal([[1]]);
      expect(readDataset(file('x2', '[[1,2]]')).users).to.deep.equal(['0']);
      expect(readDataset(file('x3', '1\t1\t5\t100\n')).timestamps).to.not.equal(null);
      expect(readDataset(file('x4', 'user_id,item_id\na,b\n')).users).to.deep.equal(['a']);
      expect(seqs(readDataset(file('x5.gz', gzipSync('1 1\n1 2\n'))))).to.deep.equal([[1, 2]]);
    });

    it('reads u.data with one malformed line in 30 as u.data, naming that line, not as one user per line', () => {
      const lines = Array.from({ length: 30 }, (_, i) => `${1 + (i % 5)}\t${10 + i}\t3\t${874000000 + i}`);
      for (const [name, bad] of [['short', '291\t118'], ['long', '291\t118\t2\t874833878\t9']]) {
        const withBad = [...lines.slice(0, 23), bad, ...lines.slice(23)];
        const e = expectFormatError(file(`u-${name}`, withBad.join('\n') + '\n'), 24, bad);
        expect(e.message).to.include('4 fields "user item rating timestamp" (tab separated)');
        expect(e.message).to.include('detected from the content as u.data');
      }
      // One user per line whose users nearly all have three items reads as u.data too: the error says how to name it.
      const threeItems = [...Array.from({ length: 11 }, (_, u) => `${u + 1}\t1\t2\t3`), '12\t4\t5\t6\t7\t8'];
      expect(expectFormatError(file('useq3', threeItems.join('\n') + '\n'), 12, '12\t4\t5\t6\t7\t8').message).to.match(/give --format user-seq$/);
      expect(seqs(readDataset(file('useq3b', threeItems.join('\n') + '\n'), { format: 'user-seq' })).at(-1)).to.have.length(5);
      // Two lines in twelve with other counts: one user per line, as before.
      const userSeq = [...Array.from({ length: 10 }, (_, u) => `${u + 1}\t1\t2\t3`), '11\t1\t2\t3\t4\t5', '12\t4\t5\t6\t7\t8'];
      expect(seqs(readDataset(file('useq', userSeq.join('\n') + '\n'))).at(-1)).to.have.length(5);
    });

    it('a .tsv without a header row says to name its format (the name chose the CSV reader)', () => {
      const e = expectFormatError(file('u30.tsv', '196\t242\t3\t881250949\n186\t302\t3\t891717742\n'), 1, '196\t242\t3\t881250949');
      expect(e.message).to.include('a file without a header row, give their 1-based positions: --columns user=1,item=2,time=4');
      expect(e.message).to.include('a file without a header row needs its format named with --format (ml100k');
      expect(readDataset(file('u30b.tsv', '196\t242\t3\t881250949\n186\t302\t3\t891717742\n'), { format: 'ml100k' }).users).to.have.members(['196', '186']);
      // A first row of names gets the column advice (names, or positions if it is data), not the
      // other formats' (those are for numeric rows).
      const named = expectFormatError(file('h.tsv', 'who\twhat\n1\t2\n'), 1, 'who\twhat').message;
      expect(named).to.include('--columns user=1,item=2,time=4');
      expect(named).to.not.include('needs its format named with --format');
    });

    it('reads a file without a header row when its columns are given by position', () => {
      // Amazon's ratings-only layout: user,item,rating,time, no header; the first line is data.
      const amazon = 'A39,0205616461,5.0,1369699200\nA3J,0558925278,3.0,1355443200\nA39,0558925278,4.0,1369600000\n';
      const ds = readDataset(file('ratings_Beauty.csv', amazon), { userCol: '1', itemCol: '2', timeCol: '4' });
      expect(ds.users).to.deep.equal(['A39', 'A3J']);
      // A39's two events are sorted by time: 1369600000 before 1369699200.
      expect(originalSeqs(ds)).to.deep.equal([['0558925278', '0205616461'], ['0558925278']]);
      expect(ds.read?.columns).to.deep.equal({ user: 'column 1', item: 'column 2', time: 'column 4' });
      expect(ds.read?.ignoredColumns).to.deep.equal(['column 3']);
      // A header's trailing separator leaves an empty last name: the ignored column is named by position.
      expect(readDataset(file('trail.csv', 'user_id,item_id,timestamp,\nu1,i1,100,\nu1,i2,200,\n')).read?.ignoredColumns).to.deep.equal(['column 4']);
      // The rows without that trailing comma: the message names the empty header name as the cause.
      const e = expectFormatError(file('trail-header.csv', 'user_id,item_id,timestamp,\nu1,i1,100\n'), 2, 'u1,i1,100');
      expect(e.message).to.include('4 comma-separated fields matching the header; the header ends with an empty name (column 4), a trailing comma this line does not have');
      // A row short by another count is not blamed on the header.
      expect(expectFormatError(file('trail-short.csv', 'user_id,item_id,timestamp,\nu1,i1\n'), 2, 'u1,i1').message).not.to.include('trailing');
      // Without time=N file order is kept; the rating is an action by position; a name without an
      // extension and tabs still read as delimited (u.data's layout would otherwise be detected).
      const tsv = readDataset(file('plain-u', '196\t242\t3\t881250949\n196\t302\t4\t881250000\n'), { userCol: '1', itemCol: '2', actionCol: '3', actions: true });
      expect(tsv.read?.format).to.equal('csv');
      expect(originalSeqs(tsv)).to.deep.equal([['242', '302']]);
      expect(tsv.timestamps).to.equal(null);
      expect(tsv.read?.columns).to.deep.equal({ user: 'column 1', item: 'column 2', time: null, action: 'column 3' });
      // Named but not asked for, the action column is not read, and a note says how to read it.
      const unread = readDataset(file('plain-u2', '196\t242\t3\t881250949\n'), { userCol: '1', itemCol: '2', actionCol: '3' });
      expect(unread.notes?.some((n) => n.endsWith('plain-u2: the action column (--columns action=3) is read only with --actions or --positive')), unread.notes?.join('\n')).to.equal(true);
    });

    it('names the line and column when a positional column is missing, and refuses names mixed with positions', () => {
      expect(expectFormatError(file('short.csv', '1,2\n'), 1, '1,2', { userCol: '1', itemCol: '3' }).message).to.include('at least 3 comma-separated fields (--columns item=3)');
      expect(expectFormatError(file('ragged.csv', '1,2,3\n1,2\n'), 2, '1,2', { userCol: '1', itemCol: '2' }).message).to.include('3 comma-separated fields as on the first line');
      expect(expectFormatError(file('noact.csv', '1,2,3\n'), 1, '1,2,3', { userCol: '1', itemCol: '2', actions: true }).message).to.include("the action column's position");
      expect(() => readDataset(file('mixed.csv', 'u,i\n1,2\n'), { userCol: '1', itemCol: 'i' })).to.throw(DataFormatError, /some columns by position and some by name/);
      for (const bad of ['0', '-1', '1.5']) {
        expect(() => readDataset(file('zero.csv', '1,2\n'), { userCol: bad, itemCol: '2' }), bad).to.throw(DataFormatError, `--columns: column positions are 1-based whole numbers (1 is the first column), got '${bad}'`);
      }
      // Positions mean no header: a header row would otherwise become one more event.
      expect(expectFormatError(file('hdr.csv', 'user_id,item_id\n1,2\n'), 1, 'user_id,item_id', { userCol: '1', itemCol: '2' }).message).to.include('data on the first line, as --columns gives positions');
      // A position for one column only (user=1, item by synonym) is refused too: without a header no synonym can be found.
      expect(() => readDataset(file('onlyuser.csv', '1,2\n'), { userCol: '1' })).to.throw(DataFormatError, /leaves user or item out/);
    });

    it('lets an explicit format win over the name', () => {
      expect(seqs(readDataset(file('looks.csv', '1 1\n1 2\n'), { format: 'sasrec' }))).to.deep.equal([[1, 2]]);
    });

    it('a file past the 2 GiB a read can take says to keep only the columns reclm reads', () => {
      // Sparse: the size is there, the disk blocks are not (Node refuses the read from the size alone).
      const big = file('big.jsonl', '');
      truncateSync(big, 2 ** 31 + 1);
      expect(() => readDataset(big)).to.throw(DataFormatError, /big\.jsonl: cannot read the data file: File size \(2147483649\) is greater than 2 GiB; a data file is read whole, so keep only the columns reclm reads/);
    });
  });

  describe('k-core filtering', () => {
    it('iterates item and user thresholds until stable and then remaps', () => {
      // Item 9 is rare (1 occurrence): dropping it leaves user 3 with one item, below minUserCount=2,
      // and dropping user 3 makes item 4 rare: only a second round finds that.
      const lines = ['1 1', '1 2', '1 3', '2 1', '2 2', '2 3', '3 4', '3 9', '4 4', '4 1', '4 2'];
      const p = file('core.txt', lines.join('\n'));
      const ds = readDataset(p, { minItemCount: 2, minUserCount: 2 });
      expect(ds.users).to.deep.equal(['1', '2', '4']);
      expect(originalSeqs(ds)).to.deep.equal([['1', '2', '3'], ['1', '2', '3'], ['1', '2']]);
      expect(ds.remapped).to.equal(true);
      // No filtering requested: the same ids are kept as they are only when they form 1..V.
      expect(readDataset(file('core2.txt', '1 1\n1 2\n')).remapped).to.equal(false);
      expect(readDataset(file('core3.txt', '1 1\n1 2\n2 1\n2 2\n'), { minItemCount: 2 }).remapped).to.equal(true);
    });

    it('fails clearly when nothing survives', () => {
      expect(() => readDataset(file('core4.txt', '1 1\n2 2\n'), { minItemCount: 2 })).to.throw(DataFormatError, /no interactions left/);
    });
  });

  describe('item map and stats', () => {
    it('saves and loads the item map', () => {
      const ds = readDataset(file('map.txt', '1 30\n1 10\n2 20\n'));
      const p = join(dir, 'items.json');
      saveItemMap(p, ds);
      const m = loadItemMap(p);
      expect(m.itemIds).to.deep.equal(['', '30', '10', '20']);
      expect(m.numItems).to.equal(3);
      expect(m.remapped).to.equal(true);
      expect(() => loadItemMap(file('notmap.json', '{"x":1}'))).to.throw(/not a reclm item map/);
    });

    it('computes sequence-length statistics', () => {
      const ds = readDataset(file('st.txt', ['1 1', '1 2', '2 1', '2 2', '2 3', '2 4', '3 1', '3 2', '3 3', '4 5'].join('\n')));
      const st = datasetStats(ds);
      expect(st).to.deep.include({ users: 4, items: 5, interactions: 10, hasTimestamps: false });
      expect(st.seqLen).to.deep.equal({ min: 1, median: 2.5, mean: 2.5, p90: 4, max: 4 });
    });
  });

  describe('built-in dataset', () => {
    it('is deterministic, in range, and survives a write/read round trip', () => {
      const a = builtinDataset();
      const b = builtinDataset();
      expect(seqs(a)).to.deep.equal(seqs(b));
      const st = datasetStats(a);
      expect(st.users).to.equal(2000);
      expect(st.items).to.equal(500);
      expect(st.seqLen.min).to.be.at.least(20);
      expect(st.seqLen.max).to.be.at.most(120);
      for (const t of a.timestamps!) for (let j = 1; j < t.length; j++) expect(t[j]).to.be.greaterThan(t[j - 1]);
      const p = join(dir, 'builtin.txt');
      writeBuiltinDataset(p, a);
      const r = readDataset(p);
      expect(r.remapped).to.equal(false);
      expect(r.numItems).to.equal(500);
      expect(r.users).to.deep.equal(a.users);
      expect(seqs(r)).to.deep.equal(seqs(a));
      expect(times(r)).to.deep.equal(times(a));
    });
  });

  describe('real MovieLens files (../shared/data)', function () {
    this.timeout(20000);
    const data = (name: string) => fileURLToPath(new URL(`../../shared/data/${name}`, import.meta.url));

    it('ml-1m.seq.txt.gz: 6040 users, 3706 items, 1,000,209 interactions', function () {
      const p = data('ml-1m.seq.txt.gz');
      expect(existsSync(p), `${p} (the shared data folder beside the checkout)`).to.equal(true);
      const ds = readDataset(p);
      const st = datasetStats(ds);
      expect(st.users).to.equal(6040);
      expect(st.items).to.equal(3706);
      expect(st.interactions).to.equal(1000209);
      expect(ds.users[0]).to.equal('1');
      expect(ds.itemIds[ds.sequences[0][0]]).to.equal('3186');
    });

    it('5-core of ml-1m.seq equals the reconstructed SASRec file, numbering included', function () {
      const a = data('ml-1m.seq.txt.gz');
      const b = data('ml-1m.sasrec-5core.reconstructed.txt.gz');
      for (const f of [a, b]) expect(existsSync(f), `${f} (the shared data folder beside the checkout)`).to.equal(true);
      const core = readDataset(a, { minItemCount: 5 });
      const ref = readDataset(b);
      expect(ref.remapped).to.equal(false);
      expect(core.numItems).to.equal(3416);
      expect(ref.numItems).to.equal(3416);
      const same = core.sequences.length === ref.sequences.length && core.sequences.every((s, u) => Buffer.compare(Buffer.from(s.buffer, s.byteOffset, s.byteLength), Buffer.from(ref.sequences[u].buffer, ref.sequences[u].byteOffset, ref.sequences[u].byteLength)) === 0);
      expect(same).to.equal(true);
    });
  });
});
