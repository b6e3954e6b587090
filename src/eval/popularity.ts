/**
 * Most-popular baseline: every user gets the same scores, the number of times each item occurs in
 * the histories the model sees for this split (train for 'valid', train + valid for 'test'). It goes
 * through the same accumulators as a model, so its numbers are directly comparable.
 */
import { evalBatches, historyOf, evalUsers, type EvalSplit } from '../data/eval-inputs.js';
import type { Rng } from '../data/rng.js';
import type { Split } from '../data/split.js';
import { RankingAccumulator, excludeSeen, SampledRankingAccumulator, sampleEvalUsers, type RankingMetrics } from './metrics.js';

/** Item counts [V+1] (index = item id, index 0 unused) over every user's history for this split. */
export function popularityCounts(split: Split, which: EvalSplit): Float32Array {
  const counts = new Float32Array(split.numItems + 1);
  for (let u = 0; u < split.train.length; u++) {
    for (const v of historyOf(split, which, u).items) counts[v]++;
  }
  counts[0] = -Infinity; // padding is never a candidate; keep it out of any ranking by construction
  return counts;
}

const ROWS = 256;

/**
 * Full-ranking metrics of the popularity baseline over the users a model would be evaluated on.
 * Unless `keepSeen`, the items of the model's input window (the last `maxlen` of the history) are
 * excluded exactly as for the model (rank.ts), so both numbers use the same candidates.
 */
export function evaluatePopularity(split: Split, which: EvalSplit, ks: number[], seen: { maxlen: number; keepSeen: boolean }): RankingMetrics {
  const V = split.numItems;
  const acc = new RankingAccumulator(V);
  const counts = repeatedRows(popularityCounts(split, which), ROWS);
  for (const b of evalBatches(split, { split: which, maxlen: seen.maxlen, batchSize: ROWS })) {
    const scores = seen.keepSeen ? counts : counts.slice(0, b.n * (V + 1));
    if (!seen.keepSeen) excludeSeen(scores, b.seq, b.maxlen, b.targets, b.n, V);
    acc.add(scores, b.targets, b.n);
  }
  return acc.result(ks);
}

/** Sampled-protocol metrics (target + `numNegatives` negatives, at most `maxUsers` users). */
export function evaluatePopularitySampled(split: Split, which: EvalSplit, rng: Rng, ks: number[] = [10], maxUsers = 10000, numNegatives = 100): RankingMetrics {
  const V = split.numItems;
  const acc = new SampledRankingAccumulator(split.train, V, rng, numNegatives);
  const scores = repeatedRows(popularityCounts(split, which), ROWS);
  const users = sampleEvalUsers(evalUsers(split, which), rng, maxUsers);
  for (const b of evalBatches(split, { split: which, maxlen: 1, batchSize: ROWS, users })) acc.add(scores, b.targets, b.users, b.n);
  return acc.result(ks);
}

function repeatedRows(row: Float32Array, n: number): Float32Array {
  const out = new Float32Array(row.length * n);
  for (let i = 0; i < n; i++) out.set(row, i * row.length);
  return out;
}
