import { expect } from 'chai';
import { Rng, TrainSampler, leaveOneOutSplit, type Dataset, type SamplerState, type Split } from '../src/data/index.js';
import { SamplerError } from '../src/data/sampler.js';

function dataset(sequences: number[][], numItems: number, withTime = false): Dataset {
  const seqs = sequences.map((s) => Int32Array.from(s));
  return {
    name: 't',
    numItems,
    users: seqs.map((_, u) => String(u + 1)),
    sequences: seqs,
    timestamps: withTime ? seqs.map((s, u) => Float64Array.from(s, (_, j) => 100 * (u + 1) + j)) : null,
    itemIds: ['', ...Array.from({ length: numItems }, (_, i) => String(i + 1))],
    remapped: false,
  };
}

const rows = (a: BigInt64Array, width: number) => {
  const out: number[][] = [];
  for (let i = 0; i < a.length; i += width) out.push(Array.from(a.subarray(i, i + width), Number));
  return out;
};

describe('Rng (xoshiro128**)', () => {
  it('matches the reference stream from state [1, 2, 3, 4]', () => {
    const r = new Rng({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4] });
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).to.deep.equal([11520, 0, 5927040]);
  });

  it('is reproducible from a seed and from an exported state (JSON round trip)', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).to.deep.equal(xs);
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const next = Array.from({ length: 5 }, () => a.nextInt(1000));
    const c = new Rng(saved);
    expect(Array.from({ length: 5 }, () => c.nextInt(1000))).to.deep.equal(next);
    expect(new Rng(43).nextUint32()).to.not.equal(new Rng(42).nextUint32());
    expect(new Rng(42, 1).nextUint32()).to.not.equal(new Rng(42).nextUint32());
  });

  it('draws nextInt uniformly in range and nextFloat in [0, 1)', () => {
    const r = new Rng(7);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[r.nextInt(6)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).to.be.below(400); // ~4.4 sigma
    for (let i = 0; i < 1000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).to.equal(true);
    }
    expect(r.nextInt(1)).to.equal(0);
    expect(() => r.nextInt(0)).to.throw(RangeError);
  });
});

describe('TrainSampler (docs/models.md §1)', () => {
  // Only user 0 has |train| >= 2 (train = [1, 2, 3, 4, 5]); user 1 (2 items, train = [2, 6]) is also
  // eligible in the second test; users with 1 item never are.
  it('builds seq/pos/neg/ts_ext for one user as specified', () => {
    const sp = leaveOneOutSplit(dataset([[1, 2, 3, 4, 5, 6, 7], [7]], 8, true));
    const s = new TrainSampler(sp, { maxlen: 6, batchSize: 3, needNeg: true, needTimestamps: true }, 1);
    expect(s.batchesPerEpoch).to.equal(1); // ceil(2 users / 3)
    const b = s.nextBatch();
    expect(b.batchSize).to.equal(3);
    expect(rows(b.seq, 6)).to.deep.equal(Array(3).fill([0, 0, 1, 2, 3, 4]));
    expect(rows(b.pos, 6)).to.deep.equal(Array(3).fill([0, 0, 2, 3, 4, 5]));
    // ts of user 0 are 100..106; seq items are train[0..3] (ts 100..103), ts_ext[L] = ts of pos[L-1] = 104.
    expect(rows(b.ts_ext!, 7)).to.deep.equal(Array(3).fill([0, 0, 100, 101, 102, 103, 104]));
    for (const row of rows(b.neg!, 6)) {
      expect(row.slice(0, 2)).to.deep.equal([0, 0]);
      for (const v of row.slice(2)) expect([6, 7, 8]).to.include(v); // rejects set(train) = {1..5} only
    }
    expect(b.realTokens).to.equal(12);
    expect(b.negs).to.equal(undefined);
  });

  it('keeps only the last L items, draws negs without rejection and zero ts without timestamps', () => {
    const sp = leaveOneOutSplit(dataset([[1, 2, 3, 4, 5, 6, 7], [2, 6], [3]], 6));
    const s = new TrainSampler(sp, { maxlen: 3, batchSize: 64, numNegatives: 4, needTimestamps: true }, 5);
    const b = s.nextBatch();
    const seen = new Set<string>();
    const seqRows = rows(b.seq, 3), posRows = rows(b.pos, 3), negsRows = rows(b.negs!, 12);
    let tokens = 0;
    for (let r = 0; r < 64; r++) {
      const key = `${seqRows[r]}|${posRows[r]}`;
      seen.add(key);
      expect(['2,3,4|3,4,5', '0,0,2|0,0,6']).to.include(key);
      const real = posRows[r].filter((v) => v !== 0).length;
      tokens += real;
      const negs = negsRows[r];
      expect(negs.slice(0, (3 - real) * 4).every((v) => v === 0)).to.equal(true);
      expect(negs.slice((3 - real) * 4).every((v) => v >= 1 && v <= 6)).to.equal(true);
    }
    expect(seen.size).to.equal(2); // both eligible users drawn, never user 2
    expect(b.realTokens).to.equal(tokens);
    expect(b.neg).to.equal(undefined);
    expect(rows(b.ts_ext!, 4).every((r) => r.every((v) => v === 0))).to.equal(true);
    expect(s.batchesPerEpoch).to.equal(1);
  });

  it('rejects every train item for neg (only item 6 is allowed here)', () => {
    const sp = leaveOneOutSplit(dataset([[1, 2, 3, 4, 5, 1, 2]], 6));
    const s = new TrainSampler(sp, { maxlen: 8, batchSize: 16, needNeg: true }, 3);
    const neg = Array.from(s.nextBatch().neg!, Number);
    expect(neg.filter((v) => v !== 0).every((v) => v === 6)).to.equal(true);
    expect(neg.filter((v) => v !== 0).length).to.equal(16 * 4);
  });

  it('refuses users whose train set covers the whole catalogue', () => {
    const sp = leaveOneOutSplit(dataset([[1, 2, 3, 1, 2]], 3));
    expect(() => new TrainSampler(sp, { maxlen: 4, batchSize: 2, needNeg: true })).to.throw(/all 3 items/);
  });

  it('is deterministic per seed and resumes exactly from an exported state', () => {
    const seqs = Array.from({ length: 40 }, (_, u) => Array.from({ length: 3 + (u % 9) }, (_, j) => 1 + ((u * 7 + j * 3) % 30)));
    const sp = leaveOneOutSplit(dataset(seqs, 30, true));
    const opts = { maxlen: 5, batchSize: 8, needNeg: true, numNegatives: 2, needTimestamps: true };
    const a = new TrainSampler(sp, opts, 99);
    const b = new TrainSampler(sp, opts, 99);
    expect(a.batchesPerEpoch).to.equal(5);
    const ea = [...a.epoch()], eb = [...b.epoch()];
    expect(ea.length).to.equal(5);
    expect(ea).to.deep.equal(eb);
    const state: SamplerState = JSON.parse(JSON.stringify(a.getState()));
    const more = [a.nextBatch(), a.nextBatch()];
    const c = new TrainSampler(sp, opts, 0);
    c.setState(state);
    expect([c.nextBatch(), c.nextBatch()]).to.deep.equal(more);
    expect(c.drawn).to.equal(7);
    expect(new TrainSampler(sp, opts, 100).nextBatch()).to.not.deep.equal(ea[0]);
  });
});

describe('TrainSampler random windows (window: random)', () => {
  // User 0: train = [1..9], 8 next-item pairs, L = 3, so windows start at s[0..5] (seq a, a+1, a+2
  // with a in 1..6). User 1: train = [2, 6], one pair, shorter than L: the same row as with 'last'.
  const sp = leaveOneOutSplit(dataset([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [2, 6, 7, 8]], 11, true));

  it('gives a long history a run of L consecutive pairs drawn uniformly, with its timestamps, and a short one its whole prefix', () => {
    const B = 1200;
    const b = new TrainSampler(sp, { maxlen: 3, batchSize: B, needNeg: true, needTimestamps: true, window: 'random' }, 7).nextBatch();
    const seqRows = rows(b.seq, 3), posRows = rows(b.pos, 3), tsRows = rows(b.ts_ext!, 4);
    const starts = new Map<number, number>();
    let short = 0;
    for (let r = 0; r < B; r++) {
      const [x, , z] = seqRows[r];
      if (x === 0) {
        expect([seqRows[r], posRows[r]]).to.deep.equal([[0, 0, 2], [0, 0, 6]]);
        short++;
        continue;
      }
      expect(seqRows[r]).to.deep.equal([x, x + 1, x + 2]);
      expect(posRows[r]).to.deep.equal([x + 1, x + 2, x + 3]);
      // Item k of user 0 has time 100 + (k - 1); ts_ext[L] is the time of pos[L-1].
      expect(tsRows[r]).to.deep.equal([99 + x, 100 + x, 101 + x, 102 + x]);
      expect(z).to.be.at.most(8);
      starts.set(x, (starts.get(x) ?? 0) + 1);
    }
    expect([...starts.keys()].sort()).to.deep.equal([1, 2, 3, 4, 5, 6]);
    // Each of the 6 starts has probability 1/6 among user 0's ~600 rows: ~100 each with a
    // binomial sd of ~9, so ±40 is over 4 sd; a bias towards the last window would break it.
    for (const n of starts.values()) expect(n).to.be.within(B / 12 - 40, B / 12 + 40);
    expect(short).to.be.within(B / 2 - 80, B / 2 + 80); // the user draw is unchanged: ~600 rows each, sd ~17
    expect(b.realTokens).to.equal((B - short) * 3 + short);
  });

  it("draws nothing extra with window 'last', so a default run's batches are those of every earlier reclm", () => {
    const a = new TrainSampler(sp, { maxlen: 3, batchSize: 16, needNeg: true }, 3).nextBatch();
    const b = new TrainSampler(sp, { maxlen: 3, batchSize: 16, needNeg: true, window: 'last' }, 3).nextBatch();
    expect(b).to.deep.equal(a);
    expect(rows(a.seq, 3).filter((r) => r[0] !== 0).every((r) => r.join() === '6,7,8')).to.equal(true);
    const c = new TrainSampler(sp, { maxlen: 3, batchSize: 16, needNeg: true, window: 'random' }, 3).nextBatch();
    expect(rows(c.seq, 3).some((r) => r[0] !== 0 && r.join() !== '6,7,8')).to.equal(true);
  });

  it('is deterministic per seed and resumes exactly, with length buckets too', () => {
    const seqs = Array.from({ length: 40 }, (_, u) => Array.from({ length: 3 + (u % 13) }, (_, j) => 1 + ((u * 7 + j * 3) % 30)));
    const split = leaveOneOutSplit(dataset(seqs, 30, true));
    for (const bucket of [0, 2]) {
      const opts = { maxlen: 5, batchSize: 8, needNeg: true, numNegatives: 2, needTimestamps: true, window: 'random' as const, bucket };
      const a = new TrainSampler(split, opts, 99);
      const ea = [...a.epoch()];
      expect(ea).to.deep.equal([...new TrainSampler(split, opts, 99).epoch()]);
      const state: SamplerState = JSON.parse(JSON.stringify(a.getState()));
      const more = [a.nextBatch(), a.nextBatch(), a.nextBatch()];
      const c = new TrainSampler(split, opts, 0);
      c.setState(state);
      expect([c.nextBatch(), c.nextBatch(), c.nextBatch()]).to.deep.equal(more);
    }
  });

  it('refuses a positive rule, whose random windows could hold no target, and an unknown window', () => {
    const withRule = { ...sp, events: { positive: sp.train.map((s) => new Uint8Array(s.length).fill(1)) } } as unknown as Split;
    expect(() => new TrainSampler(withRule, { maxlen: 3, batchSize: 4, window: 'random' })).to.throw(SamplerError, 'do not combine with a positive rule');
    expect(() => new TrainSampler(sp, { maxlen: 3, batchSize: 4, window: 'first' as never })).to.throw(RangeError, 'window must be one of last, random');
  });
});

describe("TrainSampler shuffled epochs (users: 'shuffle')", () => {
  // Users 0-36 have train prefixes of 2-6 items (rows of 1-5 items) whose oldest item, u + 1, names
  // the user; users 37-39 have one train item, so no row: 37 trainable users. B = 8 gives
  // ceil(40 / 8) = 5 batches, 40 rows an epoch: the 37 users once, and 3 rows from a second shuffle.
  const seqs = Array.from({ length: 40 }, (_, u) => (u < 37 ? [u + 1, ...Array.from({ length: 3 + (u % 5) }, (_, j) => 41 + j)] : [u + 1, 41, 42]));
  const split = leaveOneOutSplit(dataset(seqs, 47, true));
  const userOfRow = (row: number[]) => row.find((x) => x !== 0)! - 1;
  const epochUsers = (batches: { seq: BigInt64Array; maxlen: number }[]) => batches.flatMap((b) => rows(b.seq, b.maxlen).map(userOfRow));

  it('serves every trainable user once in the first 37 rows of an epoch, in shuffled order, and fills the last batch from a second shuffle', () => {
    const s = new TrainSampler(split, { maxlen: 6, batchSize: 8, users: 'shuffle' }, 5);
    expect(s.batchesPerEpoch).to.equal(5);
    const orders: number[][] = [];
    for (let e = 0; e < 3; e++) {
      const users = epochUsers([...s.epoch()]);
      expect(users).to.have.length(40);
      expect([...users.slice(0, 37)].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 37 }, (_, u) => u));
      expect(new Set(users.slice(37)).size).to.equal(3);
      orders.push(users);
    }
    // The order is drawn anew each epoch (three equal permutations of 37 would be a broken shuffle).
    expect(new Set(orders.map((o) => o.join())).size).to.equal(3);
  });

  it('with length buckets serves each trainable user once or twice per epoch (the 3 extra rows once each)', () => {
    const s = new TrainSampler(split, { maxlen: 6, batchSize: 8, users: 'shuffle', bucket: 2 }, 5);
    for (let e = 0; e < 3; e++) {
      const counts = new Map<number, number>();
      for (const u of epochUsers([...s.epoch()])) counts.set(u, (counts.get(u) ?? 0) + 1);
      expect([...counts.keys()].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 37 }, (_, u) => u));
      expect([...counts.values()].filter((c) => c === 2)).to.have.length(3);
      expect(Math.max(...counts.values())).to.equal(2);
    }
  });

  it('with few trainable users, an epoch is several whole shuffles (each user once in each)', () => {
    // 5 of 40 users have a training row: 40 rows are 8 shuffles of the 5.
    const few = leaveOneOutSplit(dataset(seqs.map((s, u) => (u < 5 ? s : [u + 1, 41, 42])), 47, true));
    const s = new TrainSampler(few, { maxlen: 6, batchSize: 8, users: 'shuffle' }, 3);
    const users = epochUsers([...s.epoch()]);
    expect(users).to.have.length(40);
    for (let k = 0; k < 8; k++) expect([...users.slice(5 * k, 5 * k + 5)].sort((a, b) => a - b), `shuffle ${k}`).to.deep.equal([0, 1, 2, 3, 4]);
    expect(new Set(Array.from({ length: 8 }, (_, k) => users.slice(5 * k, 5 * k + 5).join())).size).to.be.above(1);
  });

  it('differs from draws with replacement, which stay the default, and is refused by name when unknown', () => {
    const opts = { maxlen: 6, batchSize: 8, needNeg: true };
    const plain = [...new TrainSampler(split, opts, 5).epoch()];
    expect([...new TrainSampler(split, { ...opts, users: 'replacement' }, 5).epoch()]).to.deep.equal(plain);
    // With replacement, 40 draws among 37 users repeat about 15 times on average (40 − 37·(1 − (36/37)^40));
    // a shuffled epoch repeats exactly its 3 extra rows. Both epochs are fixed by seed 5.
    const repeats = (users: number[]) => users.length - new Set(users).size;
    expect(repeats(epochUsers(plain))).to.be.above(3);
    expect(repeats(epochUsers([...new TrainSampler(split, { ...opts, users: 'shuffle' }, 5).epoch()]))).to.equal(3);
    expect(() => new TrainSampler(split, { ...opts, users: 'all' as never })).to.throw(RangeError, 'users must be one of replacement, shuffle');
  });

  it('is deterministic per seed and resumes exactly mid-epoch and across the epoch boundary, with and without length buckets', () => {
    for (const bucket of [0, 2]) {
      const opts = { maxlen: 6, batchSize: 8, needNeg: true, numNegatives: 2, needTimestamps: true, users: 'shuffle' as const, bucket };
      const a = new TrainSampler(split, opts, 99);
      expect([a.nextBatch(), a.nextBatch()]).to.deep.equal([...new TrainSampler(split, opts, 99).epoch()].slice(0, 2));
      const state: SamplerState = JSON.parse(JSON.stringify(a.getState()));
      const more = Array.from({ length: 7 }, () => a.nextBatch());
      const c = new TrainSampler(split, opts, 0);
      c.setState(state);
      expect(Array.from({ length: 7 }, () => c.nextBatch())).to.deep.equal(more);
    }
    // A state with a pool does not restore into a sampler that draws with replacement and has no buckets.
    const shuffled = new TrainSampler(split, { maxlen: 6, batchSize: 8, users: 'shuffle' }, 1);
    shuffled.nextBatch();
    expect(() => new TrainSampler(split, { maxlen: 6, batchSize: 8 }, 1).setState(shuffled.getState())).to.throw(SamplerError, 'holds a pool of batches');
  });
});
