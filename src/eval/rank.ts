import { EvalBatch, EvalSplit, evalBatches, evalUsers, historyOf } from '../data/eval-inputs.js';
import { Rng } from '../data/rng.js';
import { Split, splitUserLabel } from '../data/split.js';
import {
  DEFAULT_KS, RankingAccumulator, RankingMetrics, SampledRankingAccumulator, SetRankingAccumulator, checkNegatives, sampleEvalUsers, seenMask,
} from './metrics.js';
import { Scorer } from './scorer.js';
import { UsageError } from '../errors.js';
import { GrowableInt32 } from '../data/readers/interactions.js';

/** One target per user: the user indices of the split and their ranks (tie rule of metrics.ts), in scoring order. */
export interface UserRanks {
  users: Int32Array;
  ranks: Int32Array;
}

export interface RankOptions {
  split: EvalSplit;
  ks?: number[];
  batchSize?: number;
  /** SASRec sampled protocol with this many negatives; 0/undefined = full ranking over the catalogue. */
  negatives?: number;
  seed?: number;
  /** Sampled protocol: the random stream to draw users and negatives from (default Rng(seed, 7)). */
  rng?: Rng;
  /** Sampled protocol: evaluate at most this many users (default 10000, as the seed). */
  maxUsers?: number;
  /**
   * Full ranking only: also rank the items the user has already interacted with. Default false:
   * they are excluded (leave-one-out: the input window, as the published SASRec/HSTU numbers are
   * computed; pre-split files: the whole history, as LightGCN-style all-ranking evaluation does).
   */
  keepSeen?: boolean;
  /**
   * Leave-one-out full ranking: exclude only the items of the last N input items (default: the
   * whole input row of `maxlen`), so that models of different maxlen rank the same candidates.
   */
  excludeLast?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Ranks score rows of one split under one protocol; shared by the model (rankSplit) and the
 * most-popular baseline so both use the same candidates, tie rule and user sample.
 * - leave-one-out, full ranking: candidates = 1..V minus the items of the input window (seenMask);
 * - pre-split files (split.targetSets), full ranking: every item of the user's target list is ranked
 *   (SetRankingAccumulator) against 1..V minus the whole history the model reads;
 * - sampled (`negatives` > 0, leave-one-out only): the SASRec protocol (SampledRankingAccumulator).
 * Errors: UsageError for --negatives larger than a user's candidate pool or with pre-split files.
 */
export class SplitRanker {
  /** The user indices to score, ascending. */
  readonly users: Int32Array;
  private readonly full: RankingAccumulator | null = null;
  private readonly sets: SetRankingAccumulator | null = null;
  private readonly sampled: SampledRankingAccumulator | null = null;
  private mask: Uint8Array | undefined;
  /** Single-target protocols: the user index of every ranked row, in the order the ranks were pushed. */
  private readonly ranked = new GrowableInt32();

  constructor(private readonly split: Split, private readonly opts: RankOptions) {
    const V = split.numItems;
    const negatives = opts.negatives ?? 0;
    const eligible = evalUsers(split, opts.split);
    if (negatives > 0) {
      if (split.targetSets) throw new UsageError('--negatives: the sampled protocol is defined for one target per user (leave-one-out); pre-split files are ranked against the whole catalogue');
      const rng = opts.rng ?? new Rng(opts.seed ?? 0, 7);
      this.users = sampleEvalUsers(eligible, rng, opts.maxUsers ?? 10000);
      const history = sampledExclusions(split, opts.split);
      checkNegatives(history, this.users, V, negatives, (u) => splitUserLabel(split, u));
      this.sampled = new SampledRankingAccumulator(history, V, rng, negatives);
    } else {
      this.users = eligible;
      if (split.targetSets) this.sets = new SetRankingAccumulator(V);
      else this.full = new RankingAccumulator(V);
    }
  }

  /** Adds a batch's score rows [batch.n, V+1] (column = item id). */
  add(scores: Float32Array, batch: EvalBatch): void {
    const { split } = this;
    const V = split.numItems;
    const who = (b: number) => splitUserLabel(split, batch.users[b]);
    if (!this.sets) for (let b = 0; b < batch.n; b++) this.ranked.push(batch.users[b]);
    if (this.sampled) return this.sampled.add(scores, batch.targets, batch.users, batch.n, who);
    if (this.sets) {
      const lists = split.targetSets![this.opts.split];
      const targets = Array.from(batch.users, (u) => lists[u]);
      let mask: Uint8Array | null = null;
      if (!this.opts.keepSeen) {
        mask = this.maskOf(batch.n);
        for (let b = 0; b < batch.n; b++) {
          const off = b * (V + 1);
          for (const v of historyOf(split, this.opts.split, batch.users[b]).items) mask[off + v] = 1;
        }
      }
      return this.sets.add(scores, targets, batch.n, mask, who);
    }
    const mask = this.opts.keepSeen ? null : (this.mask = seenMask(batch.seq, batch.maxlen, batch.targets, batch.n, V, this.mask, this.opts.excludeLast));
    this.full!.add(scores, batch.targets, batch.n, mask, who);
  }

  result(ks: number[] = this.opts.ks ?? DEFAULT_KS): RankingMetrics {
    return (this.sampled ?? this.sets ?? this.full)!.result(ks);
  }

  /**
   * Every ranked user's rank (0 = the target scored above every candidate), for paired comparisons
   * of two models over the same users; null for pre-split files (several targets per user).
   */
  userRanks(): UserRanks | null {
    const acc = this.sampled ?? this.full;
    return acc ? { users: this.ranked.view().slice(), ranks: acc.ranks } : null;
  }

  private maskOf(n: number): Uint8Array {
    const size = n * (this.split.numItems + 1);
    if (!this.mask || this.mask.length < size) this.mask = new Uint8Array(size);
    const m = this.mask.subarray(0, size);
    m.fill(0);
    return m;
  }
}

/**
 * Per user, the items the sampled protocol never draws as negatives: the train prefix (the seed's
 * rule; the validation item may be drawn, as in the seed). Under a positive rule the test input
 * also holds the negative-feedback events between the two targets; the user interacted with
 * those items, so they are excluded too (docs/evaluation.md).
 */
function sampledExclusions(split: Split, which: EvalSplit): Int32Array[] {
  const ev = split.events;
  if (which !== 'test' || !ev?.positive) return split.train;
  return split.train.map((train, u) => {
    const validAt = ev.validAt[u];
    const testAt = ev.testAt[u];
    if (validAt < 0 || testAt <= validAt + 1) return train;
    const between = ev.items[u].subarray(validAt + 1, testAt);
    const out = new Int32Array(train.length + between.length);
    out.set(train);
    out.set(between, train.length);
    return out;
  });
}

/**
 * The ranking step: scores every evaluable user of the split with `scorer` and computes
 * HR@k, NDCG@k and MRR (and Recall@k for pre-split files) under the protocol SplitRanker
 * describes. A scorer with a trimMultiple gets batches trimmed to their longest row (and, for the
 * full leave-one-out ranking, users sorted by input length): the same metrics, less padding. rank = number of other candidates scoring >= the target (ties count against it).
 * Throws NonFiniteScoreError naming the user when a score is NaN or infinite. `ranker` is one
 * built beforehand for the same split and options (its checks then ran before any scoring set-up).
 */
export async function rankSplit(scorer: Scorer, split: Split, opts: RankOptions, ranker = new SplitRanker(split, opts)): Promise<RankingMetrics> {
  await scoreSplit(scorer, split, opts, ranker);
  return ranker.result();
}

/** rankSplit's scoring loop: adds every batch of the split to `ranker` (read its result or userRanks afterwards). */
export async function scoreSplit(scorer: Scorer, split: Split, opts: RankOptions, ranker: SplitRanker): Promise<void> {
  if (split.numItems !== scorer.numItems) {
    throw new Error(`the model scores ${scorer.numItems} items but the data has ${split.numItems}; evaluate with the data the model was trained on`);
  }
  const users = ranker.users;
  let done = 0;
  const trimMultiple = scorer.trimMultiple ?? 0;
  // Sorting by length makes trimming pay; only the full leave-one-out ranking is order-free
  // (the sampled protocol draws each user's negatives in scoring order).
  const sortByLength = trimMultiple > 0 && !split.targetSets && !(opts.negatives! > 0);
  for (const batch of evalBatches(split, { split: opts.split, maxlen: scorer.maxlen, batchSize: opts.batchSize ?? 256, needTimestamps: scorer.needsTimestamps, needActions: scorer.needsActions, needProfile: scorer.needsProfile, users, trimMultiple, sortByLength })) {
    ranker.add(await scorer.score(batch), batch);
    done += batch.n;
    opts.onProgress?.(done, users.length);
  }
}
