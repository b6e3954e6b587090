// JSON Lines files as the public logs ship them: Amazon reviews (2014/2018 and 2023) and Yelp.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readDataset, type Dataset } from '../src/data/index.js';
import { readError } from './helpers/read-error.js';

const ML100K = fileURLToPath(new URL('../../shared/data/ml-100k.u.data.gz', import.meta.url));

/** Original item ids per user, which do not depend on remapping. */
const originalSeqs = (ds: Dataset) => ds.sequences.map((s) => Array.from(s, (i) => ds.itemIds[i]));

describe('data readers: JSON Lines', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'reclm-jsonl-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, content: string | Buffer): string {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  }
  const lines = (records: object[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

  // The 2018 5-core dump's shape (reviews_Beauty_5.json): a .json name holding one review per line.
  const amazon2018 = lines([
    { overall: 5.0, verified: true, reviewTime: '01 5, 2016', reviewerID: 'A1', asin: 'B03', unixReviewTime: 1451952200, summary: 'ok, "fine"' },
    { overall: 4.0, reviewerID: 'A1', asin: 'B01', unixReviewTime: 1451952000 },
    { overall: 3.0, reviewerID: 'A2', asin: 'B01', unixReviewTime: 1451952100 },
    { overall: 4.5, reviewerID: 'A1', asin: 'B02', unixReviewTime: 1451952100 },
  ]);

  it('Amazon 2018 reviews: a .json file of objects is JSON Lines, read by its keys and sorted by time', () => {
    const notes: string[] = [];
    const ds = readDataset(file('reviews_Beauty_5.json', amazon2018), { onNote: (n) => notes.push(n) });
    expect(ds.read).to.include({ format: 'jsonl' });
    expect(ds.read?.columns).to.deep.equal({ user: 'reviewerID', item: 'asin', time: 'unixReviewTime' });
    expect(ds.read?.ignoredColumns).to.deep.equal(['overall', 'verified', 'reviewTime', 'summary']);
    expect(originalSeqs(ds)).to.deep.equal([['B01', 'B02', 'B03'], ['B01']]);
    expect(ds.timestamps?.map((t) => Array.from(t))).to.deep.equal([[1451952000, 1451952100, 1451952200], [1451952100]]);
    expect(notes.join('\n')).to.include('1 of 2 users had events out of time order').and.include('columns ignored: overall, verified, reviewTime, summary');
    // The same bytes gzipped, as they are downloaded.
    expect(originalSeqs(readDataset(file('reviews_Beauty_5.json.gz', gzipSync(amazon2018))))).to.deep.equal([['B01', 'B02', 'B03'], ['B01']]);
  });

  it('Amazon 2018 reviews with --actions: the "overall" rating is the action, numbers read as JSON writes them', () => {
    const ds = readDataset(file('actions.jsonl', amazon2018), { actions: true });
    expect(ds.read?.columns).to.deep.equal({ user: 'reviewerID', item: 'asin', time: 'unixReviewTime', action: 'overall' });
    const a = ds.actions!;
    expect(ds.users.length).to.equal(2);
    expect(Array.from(a.actions[0], (k) => a.vocab[k])).to.deep.equal(['4', '4.5', '5']);
    // Each value's first line (vocabulary in sorted order: 3, 4, 4.5, 5), for a positive rule that cannot read it.
    expect(a.vocab).to.deep.equal(['<pad>', '3', '4', '4.5', '5']);
    expect(a.firstLine).to.deep.equal([0, 3, 2, 4, 1]);
  });

  it('Amazon Reviews 2023: parent_asin is the item, millisecond timestamps become seconds, both with a note', () => {
    const notes: string[] = [];
    const ds = readDataset(
      file('All_Beauty.jsonl', lines([
        { rating: 5.0, title: 'x', user_id: 'U1', asin: 'V1', parent_asin: 'P1', timestamp: 1588687728923, helpful_vote: 0 },
        { rating: 4.0, title: 'y', user_id: 'U1', asin: 'V2', parent_asin: 'P1', timestamp: 1588615855070, helpful_vote: 1 },
        { rating: 3.0, title: 'z', user_id: 'U2', asin: 'V3', parent_asin: 'P2', timestamp: 1588615855070, helpful_vote: 1 },
      ])),
      { onNote: (n) => notes.push(n) },
    );
    expect(ds.read?.columns).to.deep.equal({ user: 'user_id', item: 'parent_asin', time: 'timestamp' });
    expect(originalSeqs(ds)).to.deep.equal([['P1', 'P1'], ['P2']]);
    expect(ds.timestamps![0][0]).to.equal(1588615855.07);
    expect(notes.join('\n')).to.include('times read as milliseconds').and.include('"asin" also looks like the item column; read "parent_asin" (choose with --columns item=NAME)');
    // --columns names keys as it names CSV columns.
    expect(originalSeqs(readDataset(file('All_Beauty2.jsonl', lines([{ user_id: 'U1', asin: 'V1', parent_asin: 'P1', timestamp: 1 }])), { itemCol: 'asin' }))).to.deep.equal([['V1']]);
  });

  it('Yelp reviews: business_id items, "YYYY-MM-DD hh:mm:ss" dates, stars as the action', () => {
    const ds = readDataset(
      file('yelp_academic_dataset_review.json', lines([
        { review_id: 'r1', user_id: 'u1', business_id: 'b2', stars: 4.0, date: '2016-03-09 00:44:42', text: 'Good.\nVery.' },
        { review_id: 'r2', user_id: 'u1', business_id: 'b1', stars: 1.0, date: '2015-01-01 10:00:00', text: '' },
      ])),
      { actions: true },
    );
    expect(ds.read?.columns).to.deep.equal({ user: 'user_id', item: 'business_id', time: 'date', action: 'stars' });
    expect(originalSeqs(ds)).to.deep.equal([['b1', 'b2']]);
    expect(ds.timestamps![0][1]).to.equal(Date.UTC(2016, 2, 9, 0, 44, 42) / 1000);
  });

  it('ML-100K written as Amazon-style reviews reads as u.data does: same users, histories, times and ratings', () => {
    const udata = readDataset(ML100K, { actions: true });
    const rows = gunzipSync(readFileSync(ML100K)).toString('utf8').trim().split('\n').map((l) => l.split('\t'));
    const json = rows.map(([u, i, r, t]) => JSON.stringify({ overall: Number(r), reviewerID: `U${u}`, asin: `I${i}`, unixReviewTime: Number(t), reviewText: 'x' })).join('\n');
    const ds = readDataset(file('ml100k_reviews.json.gz', gzipSync(json)), { actions: true });
    const ratings = (d: Dataset) => d.actions!.actions.map((a) => Array.from(a, (k) => d.actions!.vocab[k]));
    // Integer user ids are kept in numeric order, string ones in order of first appearance: match them by id.
    const at = udata.users.map((u) => ds.users.indexOf(`U${u}`));
    expect(ds.users.length).to.equal(udata.users.length);
    expect(at).to.not.include(-1);
    const seqs = originalSeqs(ds);
    const actions = ratings(ds);
    expect(at.map((j) => seqs[j])).to.deep.equal(originalSeqs(udata).map((s) => s.map((i) => `I${i}`)));
    expect(at.map((j) => ds.timestamps![j])).to.deep.equal(udata.timestamps);
    expect(at.map((j) => actions[j])).to.deep.equal(ratings(udata));
  });

  it('numeric ids read as their text; integers past 2^53 are refused with the line, not rounded', () => {
    const ds = readDataset(file('num.jsonl', '{"user": 7, "item": 12}\n{"user": 7, "item": 3}\n'));
    expect(ds.read?.columns).to.deep.equal({ user: 'user', item: 'item', time: null });
    expect(originalSeqs(ds)).to.deep.equal([['12', '3']]);
    expect(ds.read).to.include({ integerUserIds: true, integerItemIds: true });
    // 12345678901234567 and 12345678901234568 parse to the same double.
    const big = readError(file('big.jsonl', '{"user": 1, "item": 5}\n{"user": 1, "item": 12345678901234567}\n'));
    expect(big.line).to.equal(2);
    expect(big.message).to.include('expected "item" as a JSON string: the number 12345678901234567 is past 2^53');
  });

  it('bad lines are refused with file, line and what was expected', () => {
    const good = '{"user_id": "a", "item_id": "x", "timestamp": 5}\n';
    const notJson = readError(file('bad1.jsonl', good + '{"user_id": "a", "item_id": "y", \n'));
    expect(notJson.line).to.equal(2);
    expect(notJson.message).to.include('expected one JSON object per line (JSON Lines)');
    const python = readError(file('bad2.jsonl', "{'reviewerID': 'A1', 'asin': 'B1'}\n"));
    expect(python.message).to.include('Python dict literal (single quotes)');
    const array = readError(file('bad3.jsonl', good + '[1, 2]\n'));
    expect(array.line).to.equal(2);
    const missing = readError(file('bad4.jsonl', good + '{"user_id": "b", "timestamp": 6}\n'));
    expect(missing.message).to.include('expected a non-empty string or a number in "item_id" (the key is missing)');
    const nullId = readError(file('bad5.jsonl', good + '{"user_id": null, "item_id": "y", "timestamp": 6}\n'));
    expect(nullId.message).to.include('expected a non-empty string or a number in "user_id", got');
    const time = readError(file('bad6.jsonl', good + '{"user_id": "b", "item_id": "y", "timestamp": "06/11/2017"}\n'));
    expect(time.message).to.include('expected a time in "timestamp" (unix seconds or an ISO 8601 date').and.include('got "06/11/2017" in the line');
    const noUser = readError(file('bad7.jsonl', '{"who": "a", "item_id": "x"}\n'));
    expect(noUser.message).to.include('expected a first object with a user key named one of userid, user');
    const twice = readError(file('bad8.jsonl', '{"userId": "a", "user_id": "b", "item": "x"}\n'));
    expect(twice.message).to.include('one key spelled like "userId"');
    // Named exactly, the key is no guess.
    expect(readDataset(file('bad8c.jsonl', '{"userId": "a", "user_id": "b", "item": "x"}\n'), { userCol: 'user_id' }).users).to.deep.equal(['b']);
    const noAction = readError(file('bad9.jsonl', good), { actions: true });
    expect(noAction.message).to.include('expected an action key (');
  });

  it('keys first met past the first object are named among the ignored; a time key there is refused', () => {
    const extra = readDataset(file('extra.jsonl', '{"user_id": "a", "item_id": "x", "timestamp": 5}\n{"user_id": "a", "item_id": "y", "timestamp": 6, "rating": 4}\n{"user_id": "b", "item_id": "y", "timestamp": 7, "rating": 2, "summary": "ok"}\n'));
    expect(extra.read?.ignoredColumns).to.deep.equal(['rating', 'summary']);
    expect(extra.notes?.some((n) => n.endsWith('columns ignored: rating, summary'))).to.equal(true);
    // Without the refusal the file would read as having no times at all, its histories in file order.
    const late = '{"user_id": "a", "item_id": "x"}\n{"user_id": "a", "item_id": "y", "timestamp": 5}\n';
    const lateTime = readError(file('late-time.jsonl', late));
    expect(lateTime.line).to.equal(2);
    expect(lateTime.message).to.include('expected a time key in every object or in none; the first object (line 1) has none and this line has "timestamp"');
    // Said on purpose, the key is ignored like any other.
    const noTime = readDataset(file('late-time2.jsonl', late), { timeCol: null });
    expect(noTime.read?.ignoredColumns).to.deep.equal(['timestamp']);
    expect(originalSeqs(noTime)).to.deep.equal([['x', 'y']]);
  });

  it('an object that holds a key it reads twice is refused: JSON.parse would keep only the last value', () => {
    const good = '{"user_id": "a", "item_id": "x", "timestamp": 5}\n';
    const twice = readError(file('twice.jsonl', good + '{"user_id": "a", "item_id": "c", "item_id": "d", "timestamp": 6}\n'));
    expect(twice.line).to.equal(2);
    expect(twice.message).to.include('expected one "item_id" per object; this one has it twice, and only the last would be read');
    // A key repeated in a nested object, or a repeated key that is not read, is no repeat (a quoted name inside a value is escaped, so it never matches).
    const fine = readDataset(file('fine.jsonl', good + '{"user_id": "a", "item_id": "y", "timestamp": 6, "text": "\\"item_id\\": z", "meta": {"item_id": 1}, "tag": 1, "tag": 2}\n'));
    expect(originalSeqs(fine)).to.deep.equal([['x', 'y']]);
    const missingTime = readError(file('no-time.jsonl', good + '{"user_id": "a", "item_id": "y"}\n'));
    expect(missingTime.message).to.include('expected a time in "timestamp" (unix seconds or an ISO 8601 date').and.include(`; the key is missing, got '{"user_id": "a", "item_id": "y"}'`);
    // The line is quoted as the file has it: its JSON escapes keep one backslash, and an escaped quote stays escaped.
    const escapes = String.raw`{"user_id": "a\u0007", "item_id": "say \"hi\"\\"}`;
    expect(readError(file('escapes.jsonl', `${good}${escapes}\n`)).message).to.include(`got '${escapes}'`);
  });

  it('a .json array is still reczoo JSON, and positions in --columns do not apply to keys', () => {
    expect(readDataset(file('train_data.json', '[[1, 2], [3]]\n')).read?.format).to.equal('reczoo');
    // An array of event objects is pointed to JSON Lines.
    expect(readError(file('events.json', '[{"user": 1, "item": 2},\n {"user": 1, "item": 3}]\n')).message).to.include("this is an array of objects, one per event: write them one per line as JSON Lines (jq -c '.[]' FILE > events.jsonl)");
    // One object among per-user lists is a bad element, not an array of events: no JSON Lines advice.
    const oneBad = readError(file('mixed.json', '[[1,2,3],[2,"a"],{}]'));
    expect(oneBad.message).to.include('expected a list of item ids for user 2 ("[...]")').and.not.include('JSON Lines');
    // A .json file that is neither keeps reczoo's error.
    expect(readError(file('odd.json', '1 2 3\n')).message).to.include('a JSON array of per-user item lists');
    expect(readError(file('pos.jsonl', '{"user": 1, "item": 2}\n'), { format: 'jsonl', userCol: '1', itemCol: '2' }).message).to.include(
      'columns (--columns) apply to CSV/TSV and RecBole .inter files (and, by name, to JSON Lines keys), but this file is read as jsonl',
    );
  });
});
