import { expect } from 'chai';
import { Rng, leaveOneOutSplit, type Dataset } from '../src/data/index.js';
import { NonFiniteScoreError, RankingAccumulator, SampledRankingAccumulator, SetRankingAccumulator, checkNegatives, metricsFromRanks, sampleEvalUsers, seenMask, targetRank } from '../src/eval/metrics.js';
import { evaluatePopularity, evaluatePopularitySampled, popularityCounts } from '../src/eval/popularity.js';
import { UsageError } from '../src/errors.js';

const close = (actual: Record<string, number>, expected: Record<string, number>) => {
  for (const [k, v] of Object.entries(expected)) expect(actual[k], k).to.be.closeTo(v, 1e-12);
};

describe('full-ranking metrics (ties count against the target)', () => {
  // V = 5; column 0 is padding (a huge score there must never count).
  const scores = Float32Array.from([
    [100, 0.5, 0.9, 0.5, 0.1, 0.7], // target 1: items 2 and 5 are greater, item 3 ties -> rank 3
    [100, 0.5, 0.9, 0.5, 0.1, 0.7], // target 3: items 2, 5 and the tie with item 1 -> rank 3
    [100, 1, 1, 1, 1, 1], // target 4: all tied -> last, rank 4
    [100, 0.2, 0.3, 0.4, 0.5, 0.6], // target 1: worst -> rank 4
    [100, 0.2, 0.3, 0.4, 0.5, 0.6], // target 5: best -> rank 0
  ].flat());
  const targets = Int32Array.from([1, 3, 4, 1, 5]);

  it('rank = other candidates scoring >= the target, ignoring padding', () => {
    expect([0, 1, 2, 3, 4].map((r) => targetRank(scores, r, 5, targets[r]))).to.deep.equal([3, 3, 4, 4, 0]);
  });

  it('computes HR@k, NDCG@k and MRR as hand-computed', () => {
    const acc = new RankingAccumulator(5);
    acc.add(scores, targets);
    expect(Array.from(acc.ranks)).to.deep.equal([3, 3, 4, 4, 0]);
    const m = acc.result([1, 4, 5]);
    expect(m.users).to.equal(5);
    close(m, {
      'hr@1': 0.2,
      'ndcg@1': 0.2,
      'hr@4': 0.6,
      'ndcg@4': (2 / Math.log2(5) + 1) / 5, // rank 3 twice: 1/log2(5); rank 0: 1
      'hr@5': 1,
      'ndcg@5': (2 / Math.log2(5) + 2 / Math.log2(6) + 1) / 5,
      mrr: (1 / 4 + 1 / 4 + 1 / 5 + 1 / 5 + 1) / 5,
    });
  });

  it('a score row where every item ties ranks the target last for every V', () => {
    for (const V of [1, 2, 7, 100]) {
      const row = new Float32Array(V + 1).fill(0.25);
      for (const t of [1, V]) expect(targetRank(row, 0, V, t)).to.equal(V - 1);
    }
  });

  it('gives models without ties the same ranks as counting strictly greater scores', () => {
    // Distinct scores (a permutation of 1..V scaled): the tie rule cannot matter, so ranks equal
    // the strict count. Random rows, several V, every target.
    const rng = new Rng(11);
    for (const V of [3, 17, 64]) {
      const perm = Array.from({ length: V }, (_, i) => i + 1);
      for (let i = V - 1; i > 0; i--) {
        const j = rng.nextInt(i + 1);
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      const row = Float32Array.from([1e9, ...perm.map((p) => p / V)]);
      for (let t = 1; t <= V; t++) {
        const strict = perm.filter((p) => p / V > row[t]).length;
        expect(targetRank(row, 0, V, t)).to.equal(strict);
      }
    }
  });

  it('accumulates over batches like one pass', () => {
    const acc = new RankingAccumulator(5);
    acc.add(scores.subarray(0, 12), targets.subarray(0, 2), 2);
    acc.add(scores.subarray(12), targets.subarray(2), 3);
    expect(acc.result([1, 4])).to.deep.equal(metricsFromRanks([3, 3, 4, 4, 0], [1, 4]));
  });

  it('stops on a NaN or infinite score of any item or the target, naming the row', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [1, 2]) {
        const s = Float32Array.from([0, 0.5, 0.25, 0.1]);
        s[at] = bad;
        expect(() => targetRank(s, 0, 3, 1, null, 'user "u7"')).to.throw(NonFiniteScoreError, `the model scored item ${at} of user "u7" as ${bad}`);
      }
    }
    // The padding column is never a candidate and never checked.
    expect(targetRank(Float32Array.from([NaN, 0.5, 0.25, 0.1]), 0, 3, 1)).to.equal(0);
    expect(() => new RankingAccumulator(3).add(Float32Array.from([0, 1, NaN, 2, 0, 1, 2, 3]), [1, 1], 2, null, (b) => `user ${['a', 'b'][b]}`)).to.throw(/item 2 of user a as NaN/);
    expect(() => new RankingAccumulator(3).add(Float32Array.from([0, 1, 2, 3]), [0])).to.throw(RangeError);
  });
});

describe('seenMask', () => {
  it('masks the items of each input row except the target, and leaves the scores alone', () => {
    // V = 4, two rows of maxlen 3: row 0 read [0 2 3] with target 3 (a repeat), row 1 read [1 1 4] with target 2.
    const mask = seenMask(BigInt64Array.from([0n, 2n, 3n, 1n, 1n, 4n]), 3, [3, 2], 2, 4);
    expect(Array.from(mask)).to.deep.equal([0, 0, 1, 0, 0, 0, 1, 0, 0, 1]);
    const scores = Float32Array.from([9, 1, 2, 3, 4, 9, 5, 6, 7, 8]);
    const acc = new RankingAccumulator(4);
    acc.add(scores, [3, 2], 2, mask);
    // Row 0: target 3 (3); item 2 masked; item 4 (4) >= 3 -> 1. Row 1: target 2 (6); items 1 and 4 masked; item 3 (7) -> 1.
    expect(Array.from(acc.ranks)).to.deep.equal([1, 1]);
    expect(Array.from(scores)).to.deep.equal([9, 1, 2, 3, 4, 9, 5, 6, 7, 8]);
  });

  it('a masked NaN still stops the ranking (the row is broken), an unmasked row ranks normally', () => {
    const mask = seenMask(BigInt64Array.from([2n]), 1, [1], 1, 3);
    expect(() => new RankingAccumulator(3).add(Float32Array.from([0, 1, NaN, 0]), [1], 1, mask)).to.throw(NonFiniteScoreError);
    const ok = new RankingAccumulator(3);
    ok.add(Float32Array.from([0, 1, 5, 1]), [1], 1, mask);
    expect(Array.from(ok.ranks)).to.deep.equal([1]); // item 2 masked, item 3 ties
  });
});

describe('several relevant items per user (pre-split files)', () => {
  it('ranks each relevant item with the tie rule and averages HR, Recall and NDCG over users', () => {
    // V = 6. User 0: targets {2, 5}; scores 6 > 5 > 4 > 3 > 2 > 1 for items 1..6 -> ranks 1 and 4.
    // User 1: target {3}; item 1 masked (history); items 2 and 3 tie at 0.5 -> rank 1 (item 2 counts).
    const scores = Float32Array.from([0, 6, 5, 4, 3, 2, 1, 0, 0.9, 0.5, 0.5, 0.1, 0.1, 0.1]);
    const mask = new Uint8Array(14);
    mask[7 + 1] = 1;
    const acc = new SetRankingAccumulator(6);
    acc.add(scores, [Int32Array.of(2, 5, 5), Int32Array.of(3)], 2, mask);
    const g = (r: number) => 1 / Math.log2(r + 2);
    close(acc.result([1, 2, 5]), {
      users: 2,
      'hr@1': 0, 'recall@1': 0, 'ndcg@1': 0,
      'hr@2': 1, 'recall@2': (1 / 2 + 1) / 2, 'ndcg@2': (g(1) / (g(0) + g(1)) + g(1) / g(0)) / 2,
      'hr@5': 1, 'recall@5': 1, 'ndcg@5': ((g(1) + g(4)) / (g(0) + g(1)) + g(1)) / 2,
      mrr: (1 / 2 + 1 / 2) / 2,
    });
  });

  it('with one relevant item per user equals the single-target metrics', () => {
    const scores = Float32Array.from([0, 0.3, 0.1, 0.2, 0, 0.2, 0.2, 0.2]);
    const one = new RankingAccumulator(3);
    one.add(scores, [2, 3], 2);
    const set = new SetRankingAccumulator(3);
    set.add(scores, [[2], [3]], 2);
    const m = set.result([1, 2]);
    expect(m['recall@1']).to.equal(m['hr@1']);
    for (const [k, v] of Object.entries(one.result([1, 2]))) expect(m[k], k).to.be.closeTo(v, 1e-12);
  });

  it('stops on a non-finite score naming the row', () => {
    expect(() => new SetRankingAccumulator(2).add(Float32Array.from([0, Infinity, 1]), [[2]], 1, null, () => 'user "x"')).to.throw(/item 1 of user "x" as Infinity/);
  });
});

describe('SASRec sampled protocol', () => {
  // V = 10 and train[0] = {1..8}: negatives can only be 9 or 10.
  const train = [Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8])];
  const row = Float32Array.from([0, 0.1, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9, 0.2]);

  it('draws 100 negatives outside set(train[u]), with replacement, target first', () => {
    const acc = new SampledRankingAccumulator(train, 10, new Rng(3));
    const cand = Array.from(acc.drawCandidates(0, 2));
    expect(cand.length).to.equal(101);
    expect(cand[0]).to.equal(2);
    expect(cand.slice(1).every((c) => c === 9 || c === 10)).to.equal(true);
    expect(new Set(cand.slice(1)).size).to.equal(2);
  });

  it('ranks the target by the negatives scoring >= it; a draw of the target itself is not another candidate', () => {
    const acc = new SampledRankingAccumulator(train, 10, new Rng(3));
    acc.add(row, [2], [0]);
    const nines = Array.from(new SampledRankingAccumulator(train, 10, new Rng(3)).drawCandidates(0, 2)).slice(1).filter((c) => c === 9).length;
    const m = acc.result([10, 100]);
    expect(m['hr@100']).to.equal(nines < 100 ? 1 : 0);
    expect(m.mrr).to.be.closeTo(1 / (nines + 1), 1e-12);
    // The target itself can be drawn: with target 9 only the 10s could outrank it, and they score lower.
    const self = new SampledRankingAccumulator(train, 10, new Rng(4));
    self.add(row, [9], [0]);
    expect(self.result([1])['hr@1']).to.equal(1);
    // Another item with the target's score is a tie and counts: item 10 scores 0.9 like target 9.
    const tied = Float32Array.from(row);
    tied[10] = 0.9;
    const tens = Array.from(new SampledRankingAccumulator(train, 10, new Rng(4)).drawCandidates(0, 9)).slice(1).filter((c) => c === 10).length;
    const acc2 = new SampledRankingAccumulator(train, 10, new Rng(4));
    acc2.add(tied, [9], [0]);
    expect(tens).to.be.above(0);
    expect(acc2.result([1]).mrr).to.be.closeTo(1 / (tens + 1), 1e-12); // one float64 division, as computed
  });

  it('refuses more negatives than the smallest candidate pool, naming the user', () => {
    const tr = [Int32Array.of(1, 2, 2), Int32Array.of(1, 2, 3, 4, 5, 6)];
    expect(() => checkNegatives(tr, [0, 1], 10, 4, (u) => `user "u${u}"`)).to.not.throw();
    expect(() => checkNegatives(tr, [0, 1], 10, 5, (u) => `user "u${u}"`)).to.throw(UsageError, '--negatives 5 is larger than the candidate pool of user "u1" (10 items minus 6 in its history = 4); use at most 4, or full ranking (--negatives 0)');
    expect(() => checkNegatives(tr, [0], 10, 8, String)).to.not.throw();
    expect(() => checkNegatives(tr, [0], 10, 9, String)).to.throw(/pool of 0 \(10 items minus 2 in its history = 8\)/);
  });

  it('accepts scores computed per candidate', () => {
    const acc = new SampledRankingAccumulator(train, 10, new Rng(1), 3);
    acc.addCandidateScores(Float32Array.from([0.5, 0.9, 0.5, 0.1, 0.2, 0.3, 0.4, 0.1]), 2);
    // Row 0: 0.9 beats 0.5 and the other 0.5 ties -> rank 2. Row 1: 0.3 and 0.4 beat 0.2 -> rank 2.
    close(acc.result([2, 3]), { users: 2, 'hr@2': 0, 'hr@3': 1, mrr: 1 / 3 });
  });

  it('samples at most 10000 users, distinct and sorted', () => {
    const users = Int32Array.from({ length: 25000 }, (_, i) => i);
    const picked = sampleEvalUsers(users, new Rng(1));
    expect(picked.length).to.equal(10000);
    expect(new Set(picked).size).to.equal(10000);
    expect(Array.from(picked).every((v, i) => i === 0 || v > picked[i - 1])).to.equal(true);
    expect(Array.from(sampleEvalUsers(Int32Array.from([5, 3]), new Rng(1)))).to.deep.equal([5, 3]);
  });
});

describe('most-popular baseline', () => {
  const ds: Dataset = {
    name: 'pop',
    numItems: 5,
    users: ['a', 'b', 'c'],
    sequences: [[1, 1, 1, 2, 3], [1, 2, 2, 3, 2], [4, 4]].map((s) => Int32Array.from(s)),
    timestamps: null,
    itemIds: ['', '1', '2', '3', '4', '5'],
    remapped: false,
  };
  const sp = leaveOneOutSplit(ds);

  it('counts train for valid and train + valid for test', () => {
    expect(Array.from(popularityCounts(sp, 'valid')).slice(1)).to.deep.equal([4, 2, 0, 2, 0]);
    expect(Array.from(popularityCounts(sp, 'test')).slice(1)).to.deep.equal([4, 3, 1, 2, 0]);
  });

  it('ranks targets against those counts, equal counts counting against the target', () => {
    // valid: user a target 2 (count 2, item 1 greater, item 4 ties) -> rank 2; user b target 3 (0): items 1, 2, 4 greater, 5 ties -> 4.
    close(evaluatePopularity(sp, 'valid', [1, 3], { maxlen: 200, keepSeen: true }), { users: 2, 'hr@1': 0, 'ndcg@1': 0, 'hr@3': 0.5, 'ndcg@3': 0.5 / Math.log2(4), mrr: (1 / 3 + 1 / 5) / 2 });
    // test: user a target 3 (count 1): items 1, 2, 4 -> rank 3; user b target 2 (count 3) -> rank 1.
    close(evaluatePopularity(sp, 'test', [2], { maxlen: 200, keepSeen: true }), { users: 2, 'hr@2': 0.5, mrr: (1 / 4 + 1 / 2) / 2 });
  });

  it('excludes the input window from the candidates by default, as the model ranking does', () => {
    // test, maxlen 200: user a reads [1 1 1 2], target 3 -> candidates 3 (1), 4 (2), 5 (0) -> rank 1.
    // user b reads [1 2 2 3], target 2 is in the window but stays a candidate: 2 (3), 4, 5 -> rank 0.
    close(evaluatePopularity(sp, 'test', [1], { maxlen: 200, keepSeen: false }), { users: 2, 'hr@1': 0.5, 'ndcg@1': 0.5, mrr: (1 / 2 + 1) / 2 });
    // maxlen 1: only the last item read is excluded. a reads [2] -> items 1 (4) and 4 (2) beat 3 (1) -> rank 2;
    // b reads [3] -> item 1 (4) beats 2 (3) -> rank 1.
    close(evaluatePopularity(sp, 'test', [1], { maxlen: 1, keepSeen: false }), { users: 2, 'hr@1': 0, 'ndcg@1': 0, mrr: (1 / 3 + 1 / 2) / 2 });
  });

  it('runs the sampled protocol reproducibly', () => {
    const a = evaluatePopularitySampled(sp, 'test', new Rng(9), [10], 100, 3);
    const b = evaluatePopularitySampled(sp, 'test', new Rng(9), [10], 100, 3);
    expect(a).to.deep.equal(b);
    expect(a.users).to.equal(2);
    expect(() => evaluatePopularitySampled(sp, 'test', new Rng(9), [10], 100, 4)).to.throw(UsageError, /--negatives 4 is larger than the candidate pool of user b/);
  });
});
