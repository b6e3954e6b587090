/**
 * Most-popular baseline: every user gets the same scores, the number of times each item occurs in
 * the histories the model sees for this split (train for 'valid', train + valid for 'test'). It goes
 * through the same ranker as a model (SplitRanker), so its numbers are directly comparable. Counts
 * tie often, and ties count against the target (metrics.ts), so items with equal counts do not
 * flatter the baseline.
 */
import { evalBatches, historyOf, type EvalSplit } from '../data/eval-inputs.js';
import type { Rng } from '../data/rng.js';
import type { Split } from '../data/split.js';
import type { RankingMetrics } from './metrics.js';
import { SplitRanker } from './rank.js';

/** Item counts [V+1] (index = item id; index 0 is padding, 0 and never a candidate) over every user's history for this split. */
export function popularityCounts(split: Split, which: EvalSplit): Float32Array {
  const counts = new Float32Array(split.numItems + 1);
  for (let u = 0; u < split.train.length; u++) {
    for (const v of historyOf(split, which, u).items) counts[v]++;
  }
  return counts;
}

const ROWS = 256;

/**
 * Full-ranking metrics of the popularity baseline over the users a model would be evaluated on.
 * Unless `keepSeen`, the items the user has interacted with are excluded exactly as for the model
 * (the input window of the last `maxlen` items for leave-one-out, or of the last `excludeLast`;
 * see SplitRanker).
 */
export function evaluatePopularity(split: Split, which: EvalSplit, ks: number[], seen: { maxlen: number; keepSeen: boolean; excludeLast?: number }): RankingMetrics {
  const ranker = new SplitRanker(split, { split: which, ks, keepSeen: seen.keepSeen, excludeLast: seen.excludeLast });
  const counts = repeatedRows(popularityCounts(split, which), ROWS);
  for (const b of evalBatches(split, { split: which, maxlen: seen.maxlen, batchSize: ROWS, users: ranker.users })) ranker.add(counts, b);
  return ranker.result(ks);
}

/**
 * Sampled-protocol metrics (target + `numNegatives` negatives, at most `maxUsers` users). `rng`
 * must be a fresh Rng(seed, 7) for the same users and negatives as rankSplit with that seed.
 */
export function evaluatePopularitySampled(split: Split, which: EvalSplit, rng: Rng, ks: number[] = [10], maxUsers = 10000, numNegatives = 100): RankingMetrics {
  const ranker = new SplitRanker(split, { split: which, ks, negatives: numNegatives, maxUsers, rng });
  const scores = repeatedRows(popularityCounts(split, which), ROWS);
  for (const b of evalBatches(split, { split: which, maxlen: 1, batchSize: ROWS, users: ranker.users })) ranker.add(scores, b);
  return ranker.result(ks);
}

function repeatedRows(row: Float32Array, n: number): Float32Array {
  const out = new Float32Array(row.length * n);
  for (let i = 0; i < n; i++) out.set(row, i * row.length);
  return out;
}
