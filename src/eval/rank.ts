import { EvalSplit, evalBatches, evalUsers } from '../data/eval-inputs.js';
import { Rng } from '../data/rng.js';
import { Split } from '../data/split.js';
import { DEFAULT_KS, RankingAccumulator, excludeSeen, RankingMetrics, SampledRankingAccumulator, sampleEvalUsers } from './metrics.js';
import { Scorer } from './scorer.js';

export interface RankOptions {
  split: EvalSplit;
  ks?: number[];
  batchSize?: number;
  /** SASRec sampled protocol with this many negatives; 0/undefined = full ranking over the catalogue. */
  negatives?: number;
  seed?: number;
  /**
   * Full ranking only: also rank the items of the user's input sequence (MODELS.md §1 "exclude
   * nothing"). Default false: they are excluded, as the published SASRec/HSTU numbers are computed.
   */
  keepSeen?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/**
 * The ranking step: scores every evaluable user of the split with `scorer` and computes
 * HR@k, NDCG@k and MRR. Full ranking: rank = number of candidate items scoring strictly higher
 * than the target, where the candidates are the whole catalogue minus the items of the user's
 * input sequence (see excludeSeen), or the whole catalogue with `keepSeen`.
 */
export async function rankSplit(scorer: Scorer, split: Split, opts: RankOptions): Promise<RankingMetrics> {
  if (split.numItems !== scorer.numItems) {
    throw new Error(`the model scores ${scorer.numItems} items but the data has ${split.numItems}; evaluate with the data the model was trained on`);
  }
  const ks = opts.ks ?? DEFAULT_KS;
  const sampled = (opts.negatives ?? 0) > 0;
  const rng = new Rng(opts.seed ?? 0, 7);
  const users = sampled ? sampleEvalUsers(evalUsers(split, opts.split), rng) : evalUsers(split, opts.split);
  const full = new RankingAccumulator(split.numItems);
  const sampledAcc = sampled ? new SampledRankingAccumulator(split.train, split.numItems, rng, opts.negatives) : null;
  let done = 0;
  for (const batch of evalBatches(split, { split: opts.split, maxlen: scorer.maxlen, batchSize: opts.batchSize ?? 256, needTimestamps: scorer.needsTimestamps, users })) {
    const scores = await scorer.score(batch);
    if (sampledAcc) sampledAcc.add(scores, batch.targets, batch.users, batch.n);
    else {
      if (!opts.keepSeen) excludeSeen(scores, batch.seq, batch.maxlen, batch.targets, batch.n, split.numItems);
      full.add(scores, batch.targets, batch.n);
    }
    done += batch.n;
    opts.onProgress?.(done, users.length);
  }
  return (sampledAcc ?? full).result(ks);
}
