/**
 * Ranking metrics for next-item prediction.
 *
 * Tie rule (pessimistic): rank = number of OTHER candidate items whose score is >= the target's.
 * A tie counts against the target, so a model that gives every item the same score ranks every
 * target last instead of first. Candidates are the items 1..V (column 0 is padding and never a
 * candidate) minus those excluded by the protocol (a mask, see seenMask); the target itself is
 * never a competitor. For models whose scores are all distinct this is the usual rank (number of
 * items scoring strictly higher), so trained models get the same numbers as under any tie rule.
 *
 * HR@k = [rank < k], NDCG@k = [rank < k] / log2(rank + 2) (one relevant item, so IDCG = 1),
 * MRR = mean 1 / (rank + 1) (Kang & McAuley 2018, SASRec; Zhai et al. 2024, HSTU).
 *
 * Several relevant items per user (pre-split files, see SetRankingAccumulator) follow the
 * all-ranking convention of LightGCN (He et al. 2020, `utils.py` RecallPrecision_ATk / NDCGatK_r)
 * and the BARS matching benchmark: Recall@k = hits in the top k / |T|, HR@k = [any hit in the
 * top k], NDCG@k = DCG@k / IDCG@k with IDCG over min(|T|, k) relevant items; each relevant item's
 * rank follows the same tie rule.
 *
 * A NaN or ±Infinity score of any item 1..V in a row stops the ranking with NonFiniteScoreError
 * naming the user: such a model has no meaningful ranking, and any tie rule would invent one.
 */
import { Rng } from '../data/rng.js';
import { ReclmError, UsageError } from '../errors.js';
import { GrowableInt32 } from '../data/readers/interactions.js';

/** Keys: users, mrr, and hr@k / ndcg@k (and recall@k for several targets) for each requested k. */
export interface RankingMetrics {
  users: number;
  mrr: number;
  [metric: string]: number;
}

export const DEFAULT_KS = [10, 50, 200];

/** Names a row in messages: the user id from the data file when known. */
export type RowLabel = (row: number) => string;

const rowLabel: RowLabel = (row) => `row ${row}`;

/** A score that is NaN or infinite: the ranking of that user means nothing. User-facing (no stack). */
export class NonFiniteScoreError extends ReclmError {
  constructor(readonly who: string, readonly item: number, readonly value: number) {
    super(`the model scored item ${item} of ${who} as ${value}; a ranking of non-finite scores means nothing (the model has diverged or its weights are broken)`);
  }
}

/** Throws NonFiniteScoreError for the first non-finite score among items 1..V of row `row`. */
export function checkFiniteRow(scores: Float32Array, row: number, numItems: number, who: string = rowLabel(row)): void {
  const off = row * (numItems + 1);
  for (let i = 1; i <= numItems; i++) {
    const s = scores[off + i];
    if (s - s !== 0) throw new NonFiniteScoreError(who, i, s); // NaN and ±Infinity give NaN here
  }
}

/**
 * Rank of column `target` within row `row` of a [n, V+1] score matrix (tie rule above).
 * `exclude`: an optional [n, V+1] mask (1 = not a candidate), same layout as `scores`.
 * Throws NonFiniteScoreError when any score of items 1..V in the row is not finite.
 */
export function targetRank(scores: Float32Array, row: number, numItems: number, target: number, exclude: Uint8Array | null = null, who?: string): number {
  checkFiniteRow(scores, row, numItems, who ?? rowLabel(row));
  const off = row * (numItems + 1);
  const t = scores[off + target];
  let rank = 0;
  if (exclude) {
    for (let i = 1; i <= numItems; i++) if (i !== target && scores[off + i] >= t && exclude[off + i] === 0) rank++;
  } else {
    for (let i = 1; i <= numItems; i++) if (i !== target && scores[off + i] >= t) rank++;
  }
  return rank;
}

/**
 * Meta's HSTU evaluation (generative-recommenders `eval_metrics_v2_from_tensors`, filter_invalid_ids
 * on by default) and the SASRec papers rank the target only among items the user has not already
 * interacted with: the ids in the model's input window are removed from the candidates. Returns an
 * [n, V+1] mask (1 = excluded) of each row's input items; a row's target is never excluded, even
 * when it also occurs in the window (data with repeats). Scores are left untouched, so the
 * non-finite check stays exact. `out` is reused when large enough.
 * @param seq [n, maxlen] int64 input rows, left padded (the newest item last)
 * @param last only the items of each row's last `last` positions are excluded (default: the whole
 *   row), so that models with different maxlen rank the same candidates (`reclm eval --exclude-last`)
 */
export function seenMask(seq: BigInt64Array, maxlen: number, targets: ArrayLike<number>, n: number, numItems: number, out?: Uint8Array, last = maxlen): Uint8Array {
  const mask = out && out.length >= n * (numItems + 1) ? out.subarray(0, n * (numItems + 1)) : new Uint8Array(n * (numItems + 1));
  mask.fill(0);
  const skip = Math.max(0, maxlen - last);
  for (let b = 0; b < n; b++) {
    const off = b * (numItems + 1);
    for (let j = b * maxlen + skip, end = b * maxlen + maxlen; j < end; j++) {
      const item = Number(seq[j]);
      if (item > 0 && item <= numItems && item !== targets[b]) mask[off + item] = 1;
    }
  }
  return mask;
}

/**
 * Metric averages from a list of ranks. The sums run over the ranks in ascending order, so the
 * result does not depend on the order users were scored in (e.g. sorted by input length).
 */
export function metricsFromRanks(unordered: ArrayLike<number>, ks: number[] = DEFAULT_KS): RankingMetrics {
  const ranks = Int32Array.from(unordered).sort();
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
  private readonly list = new GrowableInt32();

  constructor(readonly numItems: number) {
    if (!Number.isInteger(numItems) || numItems < 1) throw new RangeError(`numItems must be a positive integer, got ${numItems}`);
  }

  /**
   * scores: [n, V+1] row-major, column = item id; targets: item ids 1..V; exclude: optional
   * [n, V+1] mask of non-candidates (seenMask); who: names row b in errors (the user id).
   */
  add(scores: Float32Array, targets: ArrayLike<number>, n: number = targets.length, exclude: Uint8Array | null = null, who: RowLabel = rowLabel): void {
    const V = this.numItems;
    if (scores.length < n * (V + 1)) throw new RangeError(`scores has ${scores.length} values, expected at least ${n} x ${V + 1}`);
    for (let b = 0; b < n; b++) {
      const t = targets[b];
      if (!(t >= 1 && t <= V)) throw new RangeError(`target item ${t} (row ${b}) is outside 1..${V}`);
      this.push(targetRank(scores, b, V, t, exclude, who(b)));
    }
  }

  push(rank: number): void {
    this.list.push(rank);
  }

  get ranks(): Int32Array {
    return this.list.view().slice();
  }

  result(ks: number[] = DEFAULT_KS): RankingMetrics {
    return metricsFromRanks(this.list.view(), ks);
  }
}

/**
 * Several relevant items per user (pre-split files: a user's test list may hold many items).
 * Each relevant item t gets rank_t = number of other candidates (other relevant items included)
 * with score >= its own; the user's metrics follow LightGCN's all-ranking evaluation:
 * HR@k = [min rank < k], Recall@k = #{t : rank_t < k} / |T|,
 * NDCG@k = Σ_{rank_t < k} 1/log2(rank_t + 2) / Σ_{i < min(|T|, k)} 1/log2(i + 2),
 * MRR = 1 / (min rank + 1); each averaged over users. With one relevant item these are exactly
 * the single-target metrics (Recall@k = HR@k).
 */
export class SetRankingAccumulator {
  private readonly ranks = new GrowableInt32();
  private readonly sizes = new GrowableInt32();
  private cand = new Float32Array(0);

  constructor(readonly numItems: number) {
    if (!Number.isInteger(numItems) || numItems < 1) throw new RangeError(`numItems must be a positive integer, got ${numItems}`);
  }

  /** scores [n, V+1]; targets[b]: the relevant items of row b (ids 1..V, repeats count once); exclude as in RankingAccumulator. */
  add(scores: Float32Array, targets: ArrayLike<ArrayLike<number>>, n: number = targets.length, exclude: Uint8Array | null = null, who: RowLabel = rowLabel): void {
    const V = this.numItems;
    if (scores.length < n * (V + 1)) throw new RangeError(`scores has ${scores.length} values, expected at least ${n} x ${V + 1}`);
    if (this.cand.length < V) this.cand = new Float32Array(V);
    for (let b = 0; b < n; b++) {
      const set = [...new Set(Array.from(targets[b]))];
      if (set.length === 0) throw new RangeError(`row ${b} has no relevant item`);
      for (const t of set) if (!(t >= 1 && t <= V)) throw new RangeError(`target item ${t} (row ${b}) is outside 1..${V}`);
      checkFiniteRow(scores, b, V, who(b));
      const off = b * (V + 1);
      const isTarget = new Set(set);
      let m = 0;
      for (let i = 1; i <= V; i++) if (isTarget.has(i) || !exclude || exclude[off + i] === 0) this.cand[m++] = scores[off + i];
      const sorted = this.cand.subarray(0, m).sort();
      for (const t of set) this.ranks.push(m - lowerBound(sorted, scores[off + t]) - 1); // minus the item itself
      this.sizes.push(set.length);
    }
  }

  result(ks: number[] = DEFAULT_KS): RankingMetrics {
    const sizes = this.sizes.view();
    const ranks = this.ranks.view();
    const n = sizes.length;
    const hr = new Float64Array(ks.length);
    const recall = new Float64Array(ks.length);
    const ndcg = new Float64Array(ks.length);
    let rr = 0;
    for (let u = 0, at = 0; u < n; at += sizes[u], u++) {
      const r = Array.from(ranks.subarray(at, at + sizes[u])).sort((a, b) => a - b);
      rr += 1 / (r[0] + 1);
      for (let q = 0; q < ks.length; q++) {
        const k = ks[q];
        let hits = 0, dcg = 0, idcg = 0;
        for (const x of r) {
          if (x < k) {
            hits++;
            dcg += 1 / Math.log2(x + 2);
          }
        }
        for (let i = 0; i < Math.min(r.length, k); i++) idcg += 1 / Math.log2(i + 2);
        if (hits) hr[q]++;
        recall[q] += hits / r.length;
        ndcg[q] += dcg / idcg;
      }
    }
    const out: RankingMetrics = { users: n, mrr: n ? rr / n : 0 };
    for (let q = 0; q < ks.length; q++) {
      out[`hr@${ks[q]}`] = n ? hr[q] / n : 0;
      out[`recall@${ks[q]}`] = n ? recall[q] / n : 0;
      out[`ndcg@${ks[q]}`] = n ? ndcg[q] / n : 0;
    }
    return out;
  }
}

/** First index of `sorted` (ascending) whose value is >= x. */
function lowerBound(sorted: Float32Array, x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
 * The sampled protocol's candidate pool of each user is the catalogue minus the user's train items
 * (what SampledRankingAccumulator draws from). Asking for more negatives than the smallest pool
 * would repeat items to fill the quota, so it is refused up front with a UsageError naming the user.
 * `who(u)` names user index u.
 */
export function checkNegatives(train: Int32Array[], users: ArrayLike<number>, numItems: number, negatives: number, who: (u: number) => string): void {
  const marks = new Uint8Array(numItems + 1);
  let worst = -1, worstPool = Infinity;
  for (let j = 0; j < users.length; j++) {
    const u = users[j];
    let distinct = 0;
    for (const v of train[u]) {
      if (marks[v] === 0) {
        marks[v] = 1;
        distinct++;
      }
    }
    for (const v of train[u]) marks[v] = 0;
    if (numItems - distinct < worstPool) {
      worstPool = numItems - distinct;
      worst = u;
    }
  }
  if (worst >= 0 && negatives > worstPool) {
    throw new UsageError(`--negatives ${negatives} is larger than the candidate pool of ${who(worst)} (${numItems} items minus ${numItems - worstPool} in its history = ${worstPool}); use at most ${worstPool}, or full ranking (--negatives 0)`);
  }
}

/**
 * SASRec-style sampled protocol (seed `utils.evaluate`): candidates are the target plus R = 100 ids
 * drawn uniformly from 1..V \ set(train[u]) with replacement. A draw may be the validation item or
 * the target itself; a draw of the target is the same item, not another candidate, so it never
 * counts. rank = number of drawn negatives (other than the target) scoring >= the target (tie rule
 * in the module docstring).
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
  drawCandidates(user: number, target: number, who = `user index ${user}`): Int32Array {
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
      if (distinct >= V) throw new RangeError(`${who} has interacted with all ${V} items; no sampled negatives exist`);
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

  /** Full score rows [n, V+1]: the candidates are drawn here and looked up in each row. `who(b)` names row b. */
  add(scores: Float32Array, targets: ArrayLike<number>, users: ArrayLike<number>, n: number = targets.length, who: RowLabel = rowLabel): void {
    const V = this.numItems;
    if (scores.length < n * (V + 1)) throw new RangeError(`scores has ${scores.length} values, expected at least ${n} x ${V + 1}`);
    for (let b = 0; b < n; b++) {
      const t = targets[b];
      if (!(t >= 1 && t <= V)) throw new RangeError(`target item ${t} (row ${b}) is outside 1..${V}`);
      checkFiniteRow(scores, b, V, who(b));
      const cand = this.drawCandidates(users[b], t, who(b));
      const off = b * (V + 1);
      const ts = scores[off + t];
      let rank = 0;
      for (let r = 1; r <= this.numNegatives; r++) if (cand[r] !== t && scores[off + cand[r]] >= ts) rank++;
      this.acc.push(rank);
    }
  }

  /**
   * Scores already computed per candidate: [n, 1 + R], column 0 = the target (as drawCandidates
   * orders them). The columns are taken to be other items than the target.
   */
  addCandidateScores(candScores: Float32Array, n: number, who: RowLabel = rowLabel): void {
    const w = this.numNegatives + 1;
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < w; r++) {
        const s = candScores[b * w + r];
        if (s - s !== 0) throw new NonFiniteScoreError(who(b), r, s);
      }
      const ts = candScores[b * w];
      let rank = 0;
      for (let r = 1; r < w; r++) if (candScores[b * w + r] >= ts) rank++;
      this.acc.push(rank);
    }
  }

  /** Each added row's rank, in the order the rows were added. */
  get ranks(): Int32Array {
    return this.acc.ranks;
  }

  result(ks: number[] = [10]): RankingMetrics {
    return this.acc.result(ks);
  }
}
