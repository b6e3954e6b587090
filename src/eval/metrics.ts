/**
 * Ranking metrics for next-item prediction (MODELS.md §1).
 *
 * rank = number of items 1..V whose score is strictly greater than the target's (ties do not hurt;
 * column 0 is padding and never counted). HR@k = [rank < k], NDCG@k = [rank < k] / log2(rank + 2)
 * (one relevant item, so IDCG = 1), MRR = mean 1 / (rank + 1).
 *
 * A NaN target score gets the worst rank (V - 1): otherwise "nothing is greater than NaN" would make
 * a diverged model look perfect. NaN scores of other items never count as greater.
 */
import { Rng } from '../data/rng.js';

/** Keys: users, mrr, and hr@k / ndcg@k for each requested k. */
export interface RankingMetrics {
  users: number;
  mrr: number;
  [metric: string]: number;
}

export const DEFAULT_KS = [10, 50, 200];

/** Rank of column `target` within row `row` of a [n, V+1] score matrix. */
export function targetRank(scores: Float32Array, row: number, numItems: number, target: number): number {
  const off = row * (numItems + 1);
  const t = scores[off + target];
  if (Number.isNaN(t)) return numItems - 1;
  let rank = 0;
  for (let i = off + 1, end = off + numItems + 1; i < end; i++) if (scores[i] > t) rank++;
  return rank;
}

/**
 * Meta's HSTU evaluation (generative-recommenders `eval_metrics_v2_from_tensors`, filter_invalid_ids
 * on by default) and the SASRec papers rank the target only among items the user has not already
 * interacted with: the ids in the model's input window are removed from the candidates. Sets those
 * columns of each [n, V+1] score row to -Infinity so nothing ranks them above the target. The target
 * itself is never removed, even when it also occurs in the window (data with repeats).
 */
export function excludeSeen(scores: Float32Array, seq: BigInt64Array, maxlen: number, targets: ArrayLike<number>, n: number, numItems: number): void {
  for (let b = 0; b < n; b++) {
    const off = b * (numItems + 1);
    for (let j = b * maxlen, end = j + maxlen; j < end; j++) {
      const item = Number(seq[j]);
      if (item !== 0 && item !== targets[b]) scores[off + item] = -Infinity;
    }
  }
}

/** Metric averages from a list of ranks. */
export function metricsFromRanks(ranks: ArrayLike<number>, ks: number[] = DEFAULT_KS): RankingMetrics {
  const n = ranks.length;
  const out: RankingMetrics = { users: n, mrr: 0 };
  const hr = new Float64Array(ks.length);
  const ndcg = new Float64Array(ks.length);
  let rr = 0;
  for (let j = 0; j < n; j++) {
    const r = ranks[j];
    rr += 1 / (r + 1);
    const gain = 1 / Math.log2(r + 2);
    for (let q = 0; q < ks.length; q++) {
      if (r < ks[q]) {
        hr[q]++;
        ndcg[q] += gain;
      }
    }
  }
  for (let q = 0; q < ks.length; q++) {
    out[`hr@${ks[q]}`] = n ? hr[q] / n : 0;
    out[`ndcg@${ks[q]}`] = n ? ndcg[q] / n : 0;
  }
  out.mrr = n ? rr / n : 0;
  return out;
}

/** Collects ranks over batches; ranks are kept (4 bytes per user) so result() can use any k. */
export class RankingAccumulator {
  private buf = new Int32Array(1024);
  private count = 0;

  constructor(readonly numItems: number) {
    if (!Number.isInteger(numItems) || numItems < 1) throw new RangeError(`numItems must be a positive integer, got ${numItems}`);
  }

  /** scores: [n, V+1] row-major, column = item id; targets: item ids 1..V. */
  add(scores: Float32Array, targets: ArrayLike<number>, n: number = targets.length): void {
    const V = this.numItems;
    if (scores.length < n * (V + 1)) throw new RangeError(`scores has ${scores.length} values, expected at least ${n} x ${V + 1}`);
    for (let b = 0; b < n; b++) {
      const t = targets[b];
      if (!(t >= 1 && t <= V)) throw new RangeError(`target item ${t} (row ${b}) is outside 1..${V}`);
      this.push(targetRank(scores, b, V, t));
    }
  }

  push(rank: number): void {
    if (this.count === this.buf.length) {
      const next = new Int32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.count++] = rank;
  }

  get ranks(): Int32Array {
    return this.buf.slice(0, this.count);
  }

  result(ks: number[] = DEFAULT_KS): RankingMetrics {
    return metricsFromRanks(this.buf.subarray(0, this.count), ks);
  }
}

/** Up to `max` users drawn without replacement (the seed evaluates 10000 random users when there are more), ascending. */
export function sampleEvalUsers(users: Int32Array, rng: Rng, max = 10000): Int32Array {
  if (users.length <= max) return users.slice();
  const a = users.slice();
  for (let i = 0; i < max; i++) {
    const j = i + rng.nextInt(a.length - i);
    const tmp = a[i];
    a[i] = a[j];
    a[j] = tmp;
  }
  return a.subarray(0, max).sort();
}

/**
 * SASRec-style sampled protocol (seed `utils.evaluate`): candidates are the target plus R = 100 ids
 * drawn uniformly from 1..V \ set(train[u]) with replacement. They may include the validation item
 * and even the target (a tie, which does not hurt). rank = #negatives scoring strictly greater.
 */
export class SampledRankingAccumulator {
  private readonly acc: RankingAccumulator;
  private readonly marks: Uint8Array;
  private readonly cand: Int32Array;

  /**
   * @param train per user index, the items excluded from the negatives (train[u] of the split).
   * @param rng the draws follow the order rows are added, so a fixed seed and batch order reproduce results.
   */
  constructor(
    private readonly train: Int32Array[],
    readonly numItems: number,
    private readonly rng: Rng,
    readonly numNegatives = 100,
  ) {
    this.acc = new RankingAccumulator(numItems);
    this.marks = new Uint8Array(numItems + 1);
    this.cand = new Int32Array(numNegatives + 1);
  }

  /** Candidate ids for one user: [target, neg_1..neg_R]. Returns a reused buffer; copy it to keep it. */
  drawCandidates(user: number, target: number): Int32Array {
    const { marks, cand, rng } = this;
    const V = this.numItems;
    const s = this.train[user];
    let distinct = 0;
    for (const v of s) {
      if (marks[v] === 0) {
        marks[v] = 1;
        distinct++;
      }
    }
    try {
      if (distinct >= V) throw new Error(`user index ${user} has interacted with all ${V} items; no sampled negatives exist`);
      cand[0] = target;
      for (let r = 1; r <= this.numNegatives; r++) {
        let c: number;
        do c = 1 + rng.nextInt(V);
        while (marks[c] === 1);
        cand[r] = c;
      }
    } finally {
      for (const v of s) marks[v] = 0;
    }
    return cand;
  }

  /** Full score rows [n, V+1]: the candidates are drawn here and looked up in each row. */
  add(scores: Float32Array, targets: ArrayLike<number>, users: ArrayLike<number>, n: number = targets.length): void {
    const V = this.numItems;
    if (scores.length < n * (V + 1)) throw new RangeError(`scores has ${scores.length} values, expected at least ${n} x ${V + 1}`);
    for (let b = 0; b < n; b++) {
      const t = targets[b];
      if (!(t >= 1 && t <= V)) throw new RangeError(`target item ${t} (row ${b}) is outside 1..${V}`);
      const cand = this.drawCandidates(users[b], t);
      const off = b * (V + 1);
      this.acc.push(rankAmongCandidates(scores[off + t], (r) => scores[off + cand[r]], this.numNegatives));
    }
  }

  /** Scores already computed per candidate: [n, 1 + R], column 0 = the target (as drawCandidates orders them). */
  addCandidateScores(candScores: Float32Array, n: number): void {
    const w = this.numNegatives + 1;
    for (let b = 0; b < n; b++) this.acc.push(rankAmongCandidates(candScores[b * w], (r) => candScores[b * w + r], this.numNegatives));
  }

  result(ks: number[] = [10]): RankingMetrics {
    return this.acc.result(ks);
  }
}

function rankAmongCandidates(target: number, negScore: (r: number) => number, R: number): number {
  if (Number.isNaN(target)) return R;
  let rank = 0;
  for (let r = 1; r <= R; r++) if (negScore(r) > target) rank++;
  return rank;
}
