/**
 * Paired comparison of two models ranked on the same users (per-user ranks from
 * `reclm eval --ranks`). Two models' metrics over the same users are strongly correlated (both
 * find the easy users easy), so the standard error of their difference is far smaller than the
 * unpaired √2 × binomial bound; pairing is the usual remedy (a paired t statistic over users).
 */
import type { PerUserRank } from './evaluate.js';

/** One metric of a paired comparison: means over the common users, and the difference B − A with its standard error. */
export interface PairedMetric {
  metric: string;
  a: number;
  b: number;
  /** mean over users of m_B(u) − m_A(u) */
  diff: number;
  /** sample standard deviation of the per-user differences (n − 1 in the denominator) divided by √n */
  se: number;
}

export interface PairedComparison {
  /** users ranked by both models (only these are compared) */
  users: number;
  onlyA: number;
  onlyB: number;
  metrics: PairedMetric[];
}

/**
 * A user's value of `metric` from its rank (the definitions of metrics.ts): `hr@k` = [rank < k],
 * `ndcg@k` = [rank < k] / log2(rank + 2), `mrr` = 1 / (rank + 1). Throws RangeError for another name.
 */
export function userMetric(metric: string, rank: number): number {
  if (metric === 'mrr') return 1 / (rank + 1);
  const m = /^(hr|ndcg)@(\d+)$/.exec(metric);
  if (!m || Number(m[2]) < 1) throw new RangeError(`unknown metric '${metric}' (expected hr@K, ndcg@K or mrr)`);
  const k = Number(m[2]);
  if (rank >= k) return 0;
  return m[1] === 'hr' ? 1 : 1 / Math.log2(rank + 2);
}

/**
 * Compares model B with model A over the users both ranked. Throws Error when a common user has
 * different targets in the two files (then they were not ranked on the same split, and a paired
 * difference means nothing) or when no user is common.
 */
export function pairedDifference(a: readonly PerUserRank[], b: readonly PerUserRank[], metrics: string[]): PairedComparison {
  const byUser = new Map(a.map((r) => [r.user, r]));
  const pairs: [number, number][] = [];
  for (const rb of b) {
    const ra = byUser.get(rb.user);
    if (!ra) continue;
    if (ra.target !== rb.target) throw new Error(`user ${rb.user} has target ${ra.target} in one file and ${rb.target} in the other: the two rankings are not of the same split`);
    pairs.push([ra.rank, rb.rank]);
  }
  const n = pairs.length;
  if (n === 0) throw new Error('the two rankings have no user in common');
  const out: PairedMetric[] = metrics.map((metric) => {
    let sa = 0;
    let sb = 0;
    const d = new Float64Array(n);
    pairs.forEach(([ra, rb], i) => {
      const va = userMetric(metric, ra);
      const vb = userMetric(metric, rb);
      sa += va;
      sb += vb;
      d[i] = vb - va;
    });
    const mean = (sb - sa) / n;
    let ss = 0;
    for (const x of d) ss += (x - mean) * (x - mean);
    const se = n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN;
    return { metric, a: sa / n, b: sb / n, diff: mean, se };
  });
  return { users: n, onlyA: a.length - n, onlyB: b.length - n, metrics: out };
}
