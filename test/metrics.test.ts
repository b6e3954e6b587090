import { expect } from 'chai';
import { Rng, leaveOneOutSplit, type Dataset } from '../src/data/index.js';
import { RankingAccumulator, SampledRankingAccumulator, excludeSeen, metricsFromRanks, sampleEvalUsers, targetRank } from '../src/eval/metrics.js';
import { evaluatePopularity, evaluatePopularitySampled, popularityCounts } from '../src/eval/popularity.js';

const close = (actual: Record<string, number>, expected: Record<string, number>) => {
  for (const [k, v] of Object.entries(expected)) expect(actual[k], k).to.be.closeTo(v, 1e-12);
};

describe('full-ranking metrics', () => {
  // V = 5; column 0 is padding (a huge score there must never count).
  const scores = Float32Array.from([
    [100, 0.5, 0.9, 0.5, 0.1, 0.7], // target 1: items 2 and 5 are greater, item 3 ties -> rank 2
    [100, 0.5, 0.9, 0.5, 0.1, 0.7], // target 3: same, the tie with item 1 does not hurt -> rank 2
    [100, 1, 1, 1, 1, 1], // target 4: all tied -> rank 0
    [100, 0.2, 0.3, 0.4, 0.5, 0.6], // target 1: worst -> rank 4
  ].flat());
  const targets = Int32Array.from([1, 3, 4, 1]);

  it('ranks by strictly greater scores, ignoring padding', () => {
    expect([0, 1, 2, 3].map((r) => targetRank(scores, r, 5, targets[r]))).to.deep.equal([2, 2, 0, 4]);
  });

  it('computes HR@k, NDCG@k and MRR as hand-computed', () => {
    const acc = new RankingAccumulator(5);
    acc.add(scores, targets);
    expect(Array.from(acc.ranks)).to.deep.equal([2, 2, 0, 4]);
    const m = acc.result([1, 3, 5]);
    expect(m.users).to.equal(4);
    close(m, {
      'hr@1': 0.25,
      'ndcg@1': 0.25,
      'hr@3': 0.75,
      'ndcg@3': (0.5 + 0.5 + 1) / 4, // 1/log2(2+2) = 0.5 twice, 1/log2(0+2) = 1
      'hr@5': 1,
      'ndcg@5': (0.5 + 0.5 + 1 + 1 / Math.log2(6)) / 4,
      mrr: (1 / 3 + 1 / 3 + 1 + 1 / 5) / 4,
    });
  });

  it('accumulates over batches like one pass', () => {
    const acc = new RankingAccumulator(5);
    acc.add(scores.subarray(0, 12), targets.subarray(0, 2), 2);
    acc.add(scores.subarray(12), targets.subarray(2), 2);
    expect(acc.result([1, 3])).to.deep.equal(metricsFromRanks([2, 2, 0, 4], [1, 3]));
  });

  it('gives a NaN target score the worst rank and rejects out-of-range targets', () => {
    const s = Float32Array.from([0, NaN, 1, 2]);
    expect(targetRank(s, 0, 3, 1)).to.equal(2);
    expect(targetRank(Float32Array.from([0, 0.5, NaN, 0.1]), 0, 3, 1)).to.equal(0);
    expect(() => new RankingAccumulator(3).add(s, [0])).to.throw(RangeError);
  });
});

describe('excludeSeen', () => {
  it('removes the items of each input row except the target, and nothing else', () => {
    // V = 4, two rows of maxlen 3: row 0 read [0 2 3] with target 3 (a repeat), row 1 read [1 1 4] with target 2.
    const scores = Float32Array.from([9, 1, 2, 3, 4, 9, 5, 6, 7, 8]);
    excludeSeen(scores, BigInt64Array.from([0n, 2n, 3n, 1n, 1n, 4n]), 3, [3, 2], 2, 4);
    expect(Array.from(scores)).to.deep.equal([9, 1, -Infinity, 3, 4, 9, -Infinity, 6, 7, -Infinity]);
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

  it('ranks the target by negatives with strictly greater scores', () => {
    const acc = new SampledRankingAccumulator(train, 10, new Rng(3));
    acc.add(row, [2], [0]);
    const nines = Array.from(new SampledRankingAccumulator(train, 10, new Rng(3)).drawCandidates(0, 2)).slice(1).filter((c) => c === 9).length;
    const m = acc.result([10, 100]);
    expect(m['hr@100']).to.equal(nines < 100 ? 1 : 0);
    expect(m.mrr).to.be.closeTo(1 / (nines + 1), 1e-12);
    // The target itself can be drawn (a tie): with target 9 only the 10s could outrank it, and they score lower.
    const tie = new SampledRankingAccumulator(train, 10, new Rng(4));
    tie.add(row, [9], [0]);
    expect(tie.result([1])['hr@1']).to.equal(1);
  });

  it('accepts scores computed per candidate', () => {
    const acc = new SampledRankingAccumulator(train, 10, new Rng(1), 3);
    acc.addCandidateScores(Float32Array.from([0.5, 0.9, 0.5, 0.1, 0.2, 0.3, 0.4, 0.1]), 2);
    // Row 0: 0.9 beats 0.5, the other 0.5 ties -> rank 1. Row 1: 0.3 and 0.4 beat 0.2 -> rank 2.
    close(acc.result([2]), { users: 2, 'hr@2': 0.5, mrr: (1 / 2 + 1 / 3) / 2 });
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

  it('ranks targets against those counts', () => {
    // valid: user a target 2 (count 2, item 1 greater, item 4 ties) -> rank 1; user b target 3 (0) -> rank 3.
    close(evaluatePopularity(sp, 'valid', [1, 2], { maxlen: 200, keepSeen: true }), { users: 2, 'hr@1': 0, 'hr@2': 0.5, 'ndcg@2': 0.5 / Math.log2(3), mrr: (1 / 2 + 1 / 4) / 2 });
    // test: user a target 3 (count 1) -> rank 3; user b target 2 (count 3) -> rank 1.
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
    const a = evaluatePopularitySampled(sp, 'test', new Rng(9), [10]);
    const b = evaluatePopularitySampled(sp, 'test', new Rng(9), [10]);
    expect(a).to.deep.equal(b);
    expect(a.users).to.equal(2);
  });
});
