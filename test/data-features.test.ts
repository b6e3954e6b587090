// Actions, the positive rule, user/item side files, and what they do to the split, the training
// batches and the evaluation rows (src/data/features.ts is the contract).
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { featureReadOptions, parseFieldSpecs } from '../src/cli/data-flags.js';
import { featureSchemaOf } from '../src/data/attach.js';
import { DataFormatError } from '../src/data/errors.js';
import { evalBatches, historyOf } from '../src/data/eval-inputs.js';
import { UNK_TOKEN } from '../src/data/features.js';
import { openDataset } from '../src/data/open.js';
import { PositiveRuleError, applyPositiveRule, formatPositiveRule, parsePositiveRule, ratingValue, samePositiveRule } from '../src/data/positive.js';
import { parseSideFile } from '../src/data/readers/side.js';
import { TrainSampler } from '../src/data/sampler.js';
import { bucketOf, buildItemFeatures, buildUserFeatures, quantileEdges } from '../src/data/side-features.js';
import { leaveOneOutSplit, trainThroughValid } from '../src/data/split.js';
import type { Dataset } from '../src/data/types.js';
import { UsageError } from '../src/errors.js';
import { SplitRanker, rankSplit } from '../src/eval/rank.js';
import type { Scorer } from '../src/eval/scorer.js';

const rows = (a: BigInt64Array, width: number) => {
  const out: number[][] = [];
  for (let i = 0; i < a.length; i += width) out.push(Array.from(a.subarray(i, i + width), Number));
  return out;
};

/** A dataset with per-event ratings as actions (tokens = rating, vocab '1'..'5'). */
function rated(histories: [number, number][][], numItems: number): Dataset {
  const seqs = histories.map((h) => Int32Array.from(h, ([i]) => i));
  return {
    name: 't',
    numItems,
    users: seqs.map((_, u) => String(u + 1)),
    sequences: seqs,
    timestamps: seqs.map((s, u) => Float64Array.from(s, (_, j) => 1000 * (u + 1) + j)),
    itemIds: ['', ...Array.from({ length: numItems }, (_, i) => String(i + 1))],
    remapped: false,
    actions: { vocab: ['<pad>', '1', '2', '3', '4', '5'], actions: histories.map((h) => Int32Array.from(h, ([, r]) => r)) },
  };
}

describe('data features: actions, positive rule, side files', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'reclm-features-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  describe('reading actions', () => {
    // u1 rows out of time order: the actions must follow their events through the sort.
    const ratings = '1::10::5::300\n1::20::2::100\n1::30::4::200\n2::10::3::50\n';

    it('ratings.dat: the rating becomes each event\'s action only when asked for', () => {
      const p = write('ratings.dat', ratings);
      const plain = openDataset(p);
      expect(plain.actions).to.equal(undefined);
      expect(plain.read!.ignoredColumns).to.deep.equal(['rating']);
      const ds = openDataset(p, { actions: true });
      expect(ds.actions!.vocab).to.deep.equal(['<pad>', '2', '3', '4', '5']);
      // u1 by time: item 20 (rating 2), 30 (4), 10 (5); u2: item 10 (3).
      expect(ds.sequences.map((s) => Array.from(s, (i) => ds.itemIds[i]))).to.deep.equal([['20', '30', '10'], ['10']]);
      expect(ds.actions!.actions.map((a) => Array.from(a, (t) => ds.actions!.vocab[t]))).to.deep.equal([['2', '4', '5'], ['3']]);
    });

    it('u.data and CSV with a named action column (--columns action=NAME)', () => {
      const u = openDataset(write('u.data', '1\t5\t4\t10\n1\t6\t1\t20\n'), { actions: true });
      expect(Array.from(u.actions!.actions[0], (t) => u.actions!.vocab[t])).to.deep.equal(['4', '1']);
      const csv = write('events.csv', 'visitor,item,ts,kind\na,x,1,view\na,y,2,buy\nb,x,3,click\n');
      const ds = openDataset(csv, { userCol: 'visitor', actionCol: 'kind', actions: true });
      // Named actions: code-unit order, independent of the file's row order.
      expect(ds.actions!.vocab).to.deep.equal(['<pad>', 'buy', 'click', 'view']);
      expect(ds.read!.columns).to.deep.equal({ user: 'visitor', item: 'item', time: 'ts', action: 'kind' });
      expect(ds.read!.ignoredColumns).to.deep.equal([]);
      expect(() => openDataset(csv, { userCol: 'visitor', actions: true })).to.throw(DataFormatError, /an action column/);
      expect(() => openDataset(write('seq.txt', '1 2\n1 3\n'), { actions: true })).to.throw(DataFormatError, /item ids only/);
      // ratings.dat's one action column is the rating: --columns action=rating names it, nothing else does.
      const dat = write('r1.dat', '1::10::5::300\n');
      expect(openDataset(dat, { actionCol: 'rating', actions: true }).actions!.vocab).to.deep.equal(['<pad>', '5']);
      expect(() => openDataset(dat, { actionCol: 'stars', actions: true })).to.throw(DataFormatError, /columns \(--columns\) apply to CSV/);
    });
  });

  describe('the positive rule', () => {
    it('parses all, rating>=N and action=V1,V2 and refuses anything else in one line', () => {
      expect(parsePositiveRule('all')).to.deep.equal({ kind: 'all' });
      expect(parsePositiveRule('rating>=4')).to.deep.equal({ kind: 'rating', min: 4 });
      expect(parsePositiveRule('rating >= 3.5')).to.deep.equal({ kind: 'rating', min: 3.5 });
      // A decimal comma, as the ratings themselves may be written (ratingValue).
      expect(parsePositiveRule('rating>=3,5')).to.deep.equal({ kind: 'rating', min: 3.5 });
      expect(parsePositiveRule('action=click,buy')).to.deep.equal({ kind: 'actions', values: ['click', 'buy'] });
      for (const bad of ['rating>4', 'rating>=', 'action=', 'action=a,,b', 'likes', 'action=click,"add to cart']) expect(() => parsePositiveRule(bad), bad).to.throw(PositiveRuleError);
    });

    it('reads a quoted action value that holds a comma, and spells it back quoted', () => {
      const rule = parsePositiveRule('action=click, "add to cart, later" ,"say ""hi"""');
      expect(rule).to.deep.equal({ kind: 'actions', values: ['click', 'add to cart, later', 'say "hi"'] });
      // The spelling is what a stored model's rule is compared by (cli/data-flags.ts), so it must read back the same.
      expect(formatPositiveRule(rule)).to.equal('action=click,"add to cart, later","say ""hi"""');
      expect(parsePositiveRule(formatPositiveRule(rule))).to.deep.equal(rule);
      // Order does not change the rule (a stored model's rule is compared with samePositiveRule).
      expect(samePositiveRule(parsePositiveRule('action=buy,"add to cart, later"'), parsePositiveRule('action="add to cart, later",buy'))).to.equal(true);
      expect(samePositiveRule(parsePositiveRule('action=buy'), parsePositiveRule('action=buy,click'))).to.equal(false);
      // Values compare one by one: no separator can make two lists equal (joined with '\n', these were).
      expect(samePositiveRule({ kind: 'actions', values: ['a\nb'] }, { kind: 'actions', values: ['a', 'b'] })).to.equal(false);
      // Text after a closing quote is no value: refused rather than read with the quotes kept.
      expect(() => parsePositiveRule('action="add to cart, later"x')).to.throw(PositiveRuleError, /is not one quoted value/);
    });

    it('marks events, needs actions, and refuses a rule that matches nothing or a non-numeric rating', () => {
      const ds = rated([[[1, 5], [2, 1], [3, 4]]], 3);
      applyPositiveRule(ds, { kind: 'rating', min: 4 }, 'f');
      expect(Array.from(ds.positive![0])).to.deep.equal([1, 0, 1]);
      const none = rated([[[1, 1]]], 1);
      expect(() => applyPositiveRule(none, { kind: 'rating', min: 4 }, 'f')).to.throw(DataFormatError, /matches no event/);
      const named = { ...rated([[[1, 1]]], 1), actions: { vocab: ['<pad>', 'buy'], actions: [Int32Array.of(1)] } };
      expect(() => applyPositiveRule(named, { kind: 'rating', min: 4 }, 'f')).to.throw(DataFormatError, /numeric ratings/);
      // Decimal commas (a semicolon-separated European export) are ratings; hexadecimal and empty text are not.
      expect([' 4,5', '4.5', '3,0', '-1', '0x10', '', '4,5,6', '1e1'].map(ratingValue)).to.deep.equal([4.5, 4.5, 3, -1, NaN, NaN, NaN, 10]);
      const comma = { ...rated([[[1, 1], [2, 1]]], 2), actions: { vocab: ['<pad>', '4,5', '3,0'], actions: [Int32Array.of(1, 2)] } };
      applyPositiveRule(comma, { kind: 'rating', min: 4 }, 'f');
      expect(Array.from(comma.positive![0])).to.deep.equal([1, 0]);
      const hex = { ...rated([[[1, 1]]], 1), actions: { vocab: ['<pad>', '0x10'], actions: [Int32Array.of(1)] } };
      expect(() => applyPositiveRule(hex, { kind: 'rating', min: 4 }, 'f')).to.throw(DataFormatError, /numeric ratings/);
      // In a file, the error names the line where the first non-numeric value appears (the vocabulary is sorted:
      // 'n/a' sorts before 'x' but comes later in the file), and how many others there are.
      const csv = write('bad-ratings.csv', 'user,item,rating\n1,10,5\n1,20,x\n2,10,4\n2,30,n/a\n3,10,4\n');
      expect(() => openDataset(csv, { actionCol: 'rating', positive: { kind: 'rating', min: 4 } })).to.throw(
        DataFormatError,
        new RegExp(`^${csv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: --positive rating>=4 needs numeric ratings, but the action column has 'x' \\(and 1 other non-numeric value\\); use action=V1,V2,… for named actions$`),
      );
      const noActions = { ...rated([[[1, 5]]], 1), actions: undefined };
      expect(() => applyPositiveRule(noActions, { kind: 'rating', min: 4 }, 'f')).to.throw(DataFormatError, /needs an action column/);
    });

    it('openDataset reads the ratings for the rule but keeps them as input only with --actions', () => {
      const p = write('r2.dat', '1::1::5::1\n1::2::1::2\n1::3::4::3\n1::4::5::4\n');
      const ds = openDataset(p, { positive: { kind: 'rating', min: 4 } });
      expect(ds.actions).to.equal(undefined);
      expect(Array.from(ds.positive![0])).to.deep.equal([1, 0, 1, 1]);
      expect(featureSchemaOf(ds)).to.deep.equal({ positive: { kind: 'rating', min: 4 } });
      const withActions = openDataset(p, { positive: { kind: 'rating', min: 4 }, actions: true });
      expect(featureSchemaOf(withActions)!.actions).to.deep.equal(['<pad>', '1', '4', '5']);
      // No flag: exactly the plain dataset.
      const plain = openDataset(p);
      expect(plain.positive).to.equal(undefined);
      expect(featureSchemaOf(plain)).to.equal(undefined);
    });
  });

  describe('the positive-only split', () => {
    // Ratings >= 4 are positive. u1: + - + - + - + -  → test = item 7, valid = item 5.
    const ds = rated(
      [
        [[1, 5], [2, 1], [3, 4], [4, 2], [5, 5], [6, 1], [7, 4], [8, 1]],
        [[1, 5], [2, 1], [3, 5]], // 2 positives: all train, not evaluated
        [[4, 1], [5, 5], [6, 5], [7, 5]],
      ],
      8,
    );
    applyPositiveRule(ds, { kind: 'rating', min: 4 }, 'f');
    const split = leaveOneOutSplit(ds);

    it('test = last positive, valid = the positive before, context = everything before, negatives included', () => {
      expect(Array.from(split.test)).to.deep.equal([7, 0, 7]);
      expect(Array.from(split.valid)).to.deep.equal([5, 0, 6]);
      expect(Array.from(split.train[0])).to.deep.equal([1, 2, 3, 4]);
      expect(Array.from(split.train[1])).to.deep.equal([1, 2, 3]);
      expect(Array.from(split.train[2])).to.deep.equal([4, 5]);
      expect(Array.from(historyOf(split, 'valid', 0).items)).to.deep.equal([1, 2, 3, 4]);
      // The negative between the two targets (item 6) is context for the test target; item 8 after it is not used.
      expect(Array.from(historyOf(split, 'test', 0).items)).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(split.testTs![0]).to.equal(1006);
      expect(split.summary).to.include({ evalUsers: 2, excludedFromEval: 1 });
    });

    it('--negatives: the sampled test candidates never include the negatives between the targets (the user interacted with them)', async () => {
      // u1 (index 0): train 1 2 3 4, valid 5, context 6, test 7; excluded for 'test' = {1, 2, 3, 4, 6}: 3 candidates left of V = 8.
      expect(() => new SplitRanker(split, { split: 'test', negatives: 4 })).to.throw(UsageError, 'larger than the candidate pool of user 1 (8 items minus 5 in its history = 3)');
      expect(() => new SplitRanker(split, { split: 'valid', negatives: 4 })).not.to.throw(); // validation: the train prefix only, as before
      // Item 6 scores above the target for user 1: any draw of it would push the rank above 0.
      const scorer: Scorer = {
        maxlen: 8, numItems: 8, needsTimestamps: false,
        async score(b) {
          const out = new Float32Array(b.n * 9);
          for (let r = 0; r < b.n; r++) {
            if (b.users[r] !== 0) continue;
            out[r * 9 + 6] = 10;
            out[r * 9 + 7] = 5;
          }
          return out;
        },
        async release() {},
      };
      for (let seed = 0; seed < 20; seed++) {
        const ranker = new SplitRanker(split, { split: 'test', negatives: 3, seed });
        await rankSplit(scorer, split, { split: 'test', negatives: 3, seed }, ranker);
        const r = ranker.userRanks()!;
        expect(r.ranks[Array.from(r.users).indexOf(0)], `seed ${seed}`).to.equal(0);
      }
    });

    it('evaluation rows carry the context, its actions and the target time', () => {
      const [b] = [...evalBatches(split, { split: 'test', maxlen: 7, batchSize: 8, needTimestamps: true, needActions: true })];
      expect(Array.from(b.users)).to.deep.equal([0, 2]);
      expect(rows(b.seq, 7)).to.deep.equal([[0, 1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 4, 5, 6]]);
      expect(rows(b.action!, 7)).to.deep.equal([[0, 5, 1, 4, 2, 5, 1], [0, 0, 0, 0, 1, 5, 5]]);
      expect(Array.from(b.targets)).to.deep.equal([7, 7]);
      expect(Number(b.ts_ext![7])).to.equal(1006);
    });

    it('training: a negative event is never a target (pos 0) and stays in seq', () => {
      const sampler = new TrainSampler(split, { maxlen: 4, batchSize: 64, needActions: true }, 1);
      const b = sampler.nextBatch();
      const seq = rows(b.seq, 4), pos = rows(b.pos, 4), act = rows(b.action!, 4);
      let targets = 0;
      for (let r = 0; r < 64; r++) {
        if (seq[r][1] === 1) {
          // u1's train [1-,2,3,4]: seq 1 2 3, next events 2 (neg) 3 (pos) 4 (neg).
          expect(seq[r]).to.deep.equal([0, 1, 2, 3]);
          expect(pos[r]).to.deep.equal([0, 0, 3, 0]);
          expect(act[r]).to.deep.equal([0, 5, 1, 4]);
        } else {
          // u2 (all train: 1 2 3, next 2 neg, 3 pos) or u3 (train 4 5: next 5 pos).
          expect(JSON.stringify([seq[r], pos[r]])).to.be.oneOf([JSON.stringify([[0, 0, 1, 2], [0, 0, 0, 3]]), JSON.stringify([[0, 0, 0, 4], [0, 0, 0, 5]])]);
        }
        targets += pos[r].filter((v) => v !== 0).length;
      }
      expect(b.realTokens).to.equal(targets);
    });

    it('users whose kept window has no positive target are not drawn; trainThroughValid keeps the mask aligned', () => {
      // u1's train is [1,2,3,4]; with L = 1 its only kept target is 4 (negative): never drawn.
      const s = new TrainSampler(split, { maxlen: 1, batchSize: 32 }, 3);
      expect(s.numTrainableUsers).to.equal(2);
      const through = trainThroughValid(split);
      expect(Array.from(through.train[0])).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(Array.from(through.train[1])).to.deep.equal([1, 2, 3]);
      const b = new TrainSampler(through, { maxlen: 5, batchSize: 32 }, 3).nextBatch();
      const pos = rows(b.pos, 5), seq = rows(b.seq, 5);
      for (let r = 0; r < 32; r++) if (seq[r][0] === 1) expect(pos[r]).to.deep.equal([0, 3, 0, 5, 0]);
    });
  });

  describe('side files', () => {
    let users = '', movies = '';
    before(() => {
      users = write('users.dat', '1::F::1::10::48067\n2::M::56::16::70072\n');
      movies = write('movies.dat', Buffer.from('1::Toy Story (1995)::Animation|Children\'s|Comedy\n2::Mis\xe9rables (1935)::Drama\n', 'latin1'));
    });

    it('ML-1M users.dat and movies.dat (Latin-1): fields, tokens, unknown users and items', () => {
      const ds = openDataset(write('r.dat', '1::1::5::1\n1::2::3::2\n3::1::4::3\n3::9::4::4\n'), { userFeatures: users, itemFeatures: movies });
      const uf = ds.userFeatures!;
      expect(uf.fields.map((f) => f.name)).to.deep.equal(['gender', 'age', 'occupation', 'zip_prefix']);
      expect(uf.fields[0].vocab).to.deep.equal(['<pad>', '<unk>', 'F']); // user 2 is not in the data
      expect(Array.from(uf.columns[3], (t) => uf.fields[3].vocab[t])).to.deep.equal(['48', '<unk>']);
      expect(uf.unknownUsers).to.equal(1); // user 3
      const it = ds.itemFeatures!;
      expect(it.fields.map((f) => [f.name, f.kind, f.width])).to.deep.equal([['genres', 'multi', 3], ['year', 'bucketed', 1]]);
      const genres = it.fields[0];
      const row = (i: number) => Array.from(it.tables[0].subarray(i * 3, i * 3 + 3), (t) => genres.vocab[t]);
      expect(ds.itemIds.slice(1)).to.deep.equal(['1', '2', '9']);
      expect(row(0)).to.deep.equal(['<pad>', '<pad>', '<pad>']); // the padding item
      expect(row(1)).to.deep.equal(['Animation', "Children's", 'Comedy']);
      expect(row(2)).to.deep.equal(['Drama', '<pad>', '<pad>']);
      expect(row(3)).to.deep.equal(['<unk>', '<pad>', '<pad>']); // item 9 is not in movies.dat
      expect(it.unknownItems).to.equal(1);
      expect(Array.from(it.tables[1], (t) => it.fields[1].vocab[t])).to.deep.equal(['<pad>', '[1990,2000)', '[1930,1940)', '<unk>']);
      expect(ds.notes!.some((n) => n.includes('1 of 3 items not in the file'))).to.equal(true);
      // One value, one user: singular nouns.
      expect(ds.notes!.find((n) => n.includes('user fields'))).to.match(/user fields gender \(1 value\), age \(1 value\), occupation \(1 value\), zip_prefix \(1 value\); 1 of 2 users not in the file \('<unk>'\), 0 values unseen/);
    });

    it('ML-100K u.user and u.item (genre flags, release year); a file of the other side is refused', () => {
      const flags = (on: number[]) => Array.from({ length: 19 }, (_, i) => (on.includes(i) ? '1' : '0')).join('|');
      const uUser = parseSideFile('u.user', '1|24|M|technician|85711\n2|60|F|other|T8H1N\n', 'user');
      expect(uUser.columns.map((c) => [c.name, c.kind])).to.deep.equal([['age', 'bucketed'], ['gender', 'categorical'], ['occupation', 'categorical'], ['zip_prefix', 'categorical']]);
      const uItem = parseSideFile('u.item', `1|Toy Story (1995)|01-Jan-1995||http://x|${flags([3, 4, 5])}\n267|unknown||||${flags([0])}\n`, 'item');
      expect(uItem.rows.get('1')).to.deep.equal([['Animation', "Children's", 'Comedy'], ['1995']]);
      expect(uItem.rows.get('267')).to.deep.equal([['unknown'], ['']]);
      expect(() => parseSideFile('u.user', '1|24|M|technician|85711\n', 'item')).to.throw(DataFormatError, /user-feature file/);
      expect(() => parseSideFile('u.item', `1|Toy Story (1995)|01-Jan-1995||http://x|${flags([3])}\n`, 'user')).to.throw(DataFormatError, /this is ML-100K u\.item, an item-feature file, but it was given as user features/);
      expect(() => parseSideFile('u.item', '1|Toy Story\n', 'item')).to.throw(DataFormatError, /u.item:1: expected 24 fields/);
      // A numeric field with text in it is a broken line, named, not a missing value; an empty one is missing.
      expect(() => parseSideFile('u.user', '1|24|M|technician|85711\n2|abc|F|other|T8H1N\n', 'user')).to.throw(DataFormatError, 'u.user:2: expected a number (or nothing) in the numeric field "age", not "abc"');
      expect(parseSideFile('u.user', '1||M|technician|85711\n', 'user').rows.get('1')![0]).to.deep.equal(['']);
      const ds = { ...rated([[[1, 5]], [[267, 1]]], 267), users: ['1', '2'] };
      const uf = buildUserFeatures(ds, uUser);
      // Ages 24 and 60 in ML-1M's age groups.
      expect(Array.from(uf.columns[0], (t) => uf.fields[0].vocab[t])).to.deep.equal(['[18,25)', '>=56']);
      const itf = buildItemFeatures(ds, uItem);
      expect(itf.unknownItems).to.equal(265); // items 2..266 are not in the file
      expect(itf.unseenValues).to.equal(1); // item 267's empty release date
      expect(itf.tables[1][267]).to.equal(UNK_TOKEN);
    });

    it('CSV side files: key column, multi-valued and numeric (quantile) fields, ignore', () => {
      const t = parseSideFile('items.csv', 'item_id,tags,price,brand,note\na,x;y,1,acme,z\nb,y,2,,z\nc,,30,zeta,z\n', 'item', parseFieldSpecs(['tags=multi:;', 'price=numeric:2', 'note=ignore']));
      expect(t.columns.map((c) => [c.name, c.kind])).to.deep.equal([['tags', 'multi'], ['price', 'bucketed'], ['brand', 'categorical']]);
      const ds: Dataset = { name: 't', numItems: 3, users: ['u'], sequences: [Int32Array.of(1, 2, 3)], timestamps: null, itemIds: ['', 'a', 'b', 'c'], remapped: true };
      const f = buildItemFeatures(ds, t);
      expect(f.fields[0]).to.deep.include({ vocab: ['<pad>', '<unk>', 'x', 'y'], width: 2 });
      // Two quantile buckets over prices 1, 2, 30: one edge at the median, 2.
      expect(f.fields[1].edges).to.deep.equal([2]);
      expect(Array.from(f.tables[1])).to.deep.equal([0, 2, 3, 3]);
      // c has no tags and b no brand: '<unk>' (counted).
      expect(Array.from(f.tables[0])).to.deep.equal([0, 0, 2, 3, 3, 0, UNK_TOKEN, 0]);
      expect(f.unseenValues).to.equal(2);
      expect(() => parseSideFile('u.csv', 'user_id,tags\n1,a|b\n', 'user', parseFieldSpecs(['tags=multi']))).to.throw(DataFormatError, /user fields are single-valued/);
      // Named as the flag was given, without quoting the header as a bad line; a scoped flag gets no scoping hint.
      expect(() => parseSideFile('u.csv', 'user_id,tags\n1,a|b\n', 'user', parseFieldSpecs(['user:tags=multi']))).to.throw(DataFormatError, /^u\.csv: --field user:tags=multi: user fields are single-valued \(one profile token per field\), so "tags" of this user file cannot be multi-valued$/);
      // A --field naming the id column changes nothing (the id stays each row's key): said, not silent.
      const keyed = parseSideFile('u2.csv', 'user_id,age\n1,20\n', 'user', parseFieldSpecs(['user_id=ignore']));
      expect(keyed.columns.map((c) => c.name)).to.deep.equal(['age']);
      expect(keyed.notes).to.deep.equal(['u2.csv: --field user_id=ignore has no effect: "user_id" is the user id column (each row\'s key), not a feature']);
      expect(() => parseSideFile('i.csv', 'item_id,tags\na,1\na,2\n', 'item')).to.throw(DataFormatError, /i.csv:3: .*listed before/);
      // A user file given as item features (or the reverse) is refused: before, its user ids were read as item ids.
      expect(() => parseSideFile('users.csv', 'user_id,age\n1,20\n', 'item')).to.throw(DataFormatError, 'users.csv: has a user id column ("user_id") and no item id column: a user-feature file given as --item-features? (give it as --user-features)');
      expect(() => parseSideFile('items.csv', 'movieId,genres\n1,x\n', 'user')).to.throw(DataFormatError, 'items.csv: has an item id column ("movieId") and no user id column: an item-feature file given as --user-features? (give it as --item-features)');
      // A numeric CSV column takes decimal numbers only, as the fixed layouts do: 0x10 is no price.
      expect(() => parseSideFile('p.csv', 'item_id,price\na,1.5\nb,0x10\n', 'item', parseFieldSpecs(['price=numeric']))).to.throw(DataFormatError, 'p.csv:3: expected a number (or nothing) in the numeric field "price", not "0x10"');
      expect(() => parseFieldSpecs(['tags=list'])).to.throw(UsageError, /--field expects/);
      // A --field for a column no side file has is refused; one for the other side file is not.
      const r = write('r7.dat', '1::1::5::1\n');
      const csv = write('items.csv', 'item_id,brand\n1,acme\n');
      expect(() => openDataset(r, { itemFeatures: csv, fieldSpecs: parseFieldSpecs(['colour=ignore']) })).to.throw(DataFormatError, /no side file has a column named "colour"/);
      // A side file that cannot be read is named by its flag, not called "the data file".
      expect(() => openDataset(r, { itemFeatures: join(dir, 'no-items.csv') })).to.throw(DataFormatError, `${join(dir, 'no-items.csv')}: cannot read the item-feature file (--item-features): no such file`);
      // A column both files have is read per file with user:NAME / item:NAME (unscoped, one spec applies to both:
      // here the user file's single-valued category would be refused as multi-valued).
      const userCats = write('users-cat.csv', 'user_id,category\n1,gold\n');
      const itemCats = write('items-cat.csv', 'item_id,category\n1,a;b\n');
      expect(() => openDataset(r, { userFeatures: userCats, itemFeatures: itemCats, fieldSpecs: parseFieldSpecs(['category=multi:;']) })).to.throw(DataFormatError, /--field category=multi: user fields are single-valued .*; for the item file's column of that name only, scope it: --field item:category=multi$/);
      const scoped = openDataset(r, { userFeatures: userCats, itemFeatures: itemCats, fieldSpecs: parseFieldSpecs(['user:category=categorical', 'item:category=multi:;']) });
      expect([scoped.userFeatures!.fields[0].kind, scoped.itemFeatures!.fields[0].kind, scoped.itemFeatures!.fields[0].width]).to.deep.equal(['categorical', 'multi', 2]);
      expect(parseFieldSpecs(['item:category=multi:;'])).to.deep.equal([{ name: 'category', kind: 'multi', separator: ';', side: 'item' }]);
      // Scoped to a file that lacks the column, or to a side with no file: refused, naming that side.
      expect(() => openDataset(r, { userFeatures: userCats, itemFeatures: csv, fieldSpecs: parseFieldSpecs(['item:category=ignore']) })).to.throw(DataFormatError, /--field item:category=ignore: no item-feature file has a column named "category"/);
      expect(() => openDataset(r, { userFeatures: userCats, fieldSpecs: parseFieldSpecs(['item:category=ignore']) })).to.throw(DataFormatError, '--field item:category=ignore: no item-feature file (--item-features) was given to have a column named "category"');
      // One column twice for one file (unscoped meets both) is refused; once per file is not.
      expect(() => parseFieldSpecs(['category=ignore', 'user:category=numeric'])).to.throw(UsageError, '--field category: the column is given twice (category=ignore, user:category=numeric)');
      expect(() => parseFieldSpecs(['user:category=ignore', 'item:category=ignore'])).to.not.throw();
      // Both scoped to one file: scoping cannot help, so it is not suggested.
      expect(() => parseFieldSpecs(['user:age=numeric', 'user:age=categorical'])).to.throw(UsageError, /^--field age: the column is given twice \(user:age=numeric, user:age=categorical\); give one$/);
      expect(() => openDataset(r, { userFeatures: users, itemFeatures: csv, fieldSpecs: parseFieldSpecs(['zip_prefix=ignore', 'brand=categorical']) })).to.not.throw();
      expect(openDataset(r, { userFeatures: users, fieldSpecs: parseFieldSpecs(['zip_prefix=ignore']) }).userFeatures!.fields.map((f) => f.name)).to.deep.equal(['gender', 'age', 'occupation']);
      expect(() => openDataset(r, { userFeatures: users, fieldSpecs: parseFieldSpecs(['age=numeric']) })).to.throw(DataFormatError, /fixed kinds/);
    });

    it('values unseen in training map to <unk> under the stored vocabularies, and are counted', () => {
      const train = openDataset(write('r3.dat', '1::1::5::1\n2::1::4::2\n'), { userFeatures: users });
      const schema = featureSchemaOf(train)!;
      expect(schema.userFields![1].vocab).to.deep.equal(['<pad>', '<unk>', '1', '56']);
      const later = write('users2.dat', '1::F::25::10::48067\n2::M::56::16::70072\n');
      const ds = openDataset(write('r4.dat', '1::1::5::1\n2::1::4::2\n'), { userFeatures: later, schema });
      expect(Array.from(ds.userFeatures!.columns[1], (t) => schema.userFields![1].vocab[t])).to.deep.equal(['<unk>', '56']);
      expect(ds.userFeatures!.unseenValues).to.equal(1);
    });

    it('the profile reaches training and evaluation rows, one token per user field', () => {
      const ds = openDataset(write('r5.dat', '1::1::5::1\n1::2::5::2\n1::3::5::3\n1::4::5::4\n2::1::4::2\n2::2::4::3\n'), { userFeatures: users });
      const split = leaveOneOutSplit(ds);
      expect(split.events!.profileWidth).to.equal(4);
      const b = new TrainSampler(split, { maxlen: 3, batchSize: 4, needProfile: true }, 0).nextBatch();
      const uf = ds.userFeatures!;
      const expected = [0, 1].map((u) => uf.columns.map((c) => c[u]));
      for (const r of rows(b.profile!, 4)) expect(JSON.stringify(r)).to.be.oneOf(expected.map((e) => JSON.stringify(e)));
      const [e] = [...evalBatches(split, { split: 'test', maxlen: 3, batchSize: 4, needProfile: true })];
      expect(rows(e.profile!, 4)).to.deep.equal([expected[0]]); // only user 1 has 3+ events
    });

    it('real ML-1M side files: every user of the timestamped half is in users.dat', () => {
      const ds = openDataset('../shared/data/ml-1m.ratings.users0001-2999.dat.gz', { positive: { kind: 'rating', min: 4 }, userFeatures: '../shared/data/ml-1m.users.dat.gz', itemFeatures: '../shared/data/ml-1m.movies.dat.gz' });
      expect(ds.userFeatures!.unknownUsers).to.equal(0);
      expect(ds.itemFeatures!.unknownItems).to.equal(0);
      // users.dat line 1: 1::F::1::10::48067
      expect(ds.userFeatures!.fields.map((f, i) => f.vocab[ds.userFeatures!.columns[i][0]])).to.deep.equal(['F', '1', '10', '48']);
      // 279,124 of the 487,650 ratings are >= 4 (counted with zcat | awk -F:: '$3 >= 4').
      expect(ds.positive!.reduce((a, p) => a + p.reduce((x, y) => x + y, 0), 0)).to.equal(279124);
    });
  });

  describe('flags', () => {
    it('stored features decide train/eval reading; a contradicting --positive and a missing side file are refused', () => {
      const stored = { positive: { kind: 'rating' as const, min: 4 }, actions: ['<pad>', '1'] };
      expect(featureReadOptions({}, stored)).to.deep.include({ positive: { kind: 'rating', min: 4 }, actions: true });
      expect(() => featureReadOptions({ positive: 'rating>=3' }, stored)).to.throw(UsageError, /contradicts the model/);
      expect(() => featureReadOptions({ positive: 'x' })).to.throw(UsageError, /--positive expects/);
      expect(() => featureReadOptions({}, { positive: { kind: 'all' }, userFields: [{ name: 'age', kind: 'categorical', vocab: ['<pad>', '<unk>'], width: 1 }] })).to.throw(UsageError, /give --user-features/);
      expect(featureReadOptions({})).to.deep.equal({});
      // Item tables are graph constants: train and eval do not need the item-feature file.
      const itemOnly = { positive: { kind: 'all' as const }, itemFields: [{ name: 'genres', kind: 'multi' as const, vocab: ['<pad>', '<unk>', 'Drama'], width: 1 }] };
      expect(featureReadOptions({}, itemOnly)).to.deep.equal({ positive: { kind: 'all' }, schema: itemOnly });
    });

    it('quantile edges and buckets', () => {
      expect(quantileEdges([1, 2, 3, 4], 4)).to.deep.equal([2, 3, 4]);
      expect(quantileEdges([5, 5, 5], 3)).to.deep.equal([]);
      expect([0, 2, 2.5, 9].map((x) => bucketOf(x, [2, 3]))).to.deep.equal([0, 1, 1, 2]);
    });

    it('side files may be gzip-compressed', () => {
      const p = write('users.dat.gz', gzipSync('1::F::1::10::48067\n'));
      const ds = openDataset(write('r6.dat', '1::1::5::1\n'), { userFeatures: p });
      expect(ds.userFeatures!.unknownUsers).to.equal(0);
    });
  });
});
