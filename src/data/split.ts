/**
 * Leave-one-out split (docs/models.md §1, seed `data_partition`): for a history h with |h| >= 3,
 * train = h[:-2], valid = h[-2], test = h[-1]; shorter histories are all train and have no
 * valid/test item (they still feed training when |train| >= 2, but are not evaluated).
 */
import { DataFormatError } from './errors.js';
import { evalUsers, type EvalSplit } from './eval-inputs.js';
import type { Dataset } from './types.js';
import { userLabel } from './user-label.js';

export interface SplitSummary {
  users: number;
  /** Users with a valid and a test item. */
  evalUsers: number;
  /** Users with fewer than 3 interactions: no valid/test item. */
  excludedFromEval: number;
  /** Users with |train| >= 2, i.e. those the training sampler draws from. */
  trainableUsers: number;
  trainInteractions: number;
}

export interface Split {
  numItems: number;
  /** Per user: train prefix (views into the dataset's sequences, not copies). */
  train: Int32Array[];
  /** Per user: timestamps of train, or null when the dataset has none. */
  trainTs: Float64Array[] | null;
  /** Per user: valid / test item, 0 when the user has none. */
  valid: Int32Array;
  test: Int32Array;
  /** Per user: timestamps of valid / test (0 when none), or null without timestamps. */
  validTs: Float64Array | null;
  testTs: Float64Array | null;
  summary: SplitSummary;
  /** Per user index: the user id from the data file, so messages can name the user. */
  users?: string[];
  /**
   * Pre-split files (presplit.ts): per user, every item of its validation / test list (empty
   * when none); `valid[u]` / `test[u]` then hold the list's first item (0 when empty). Absent
   * for leave-one-out, where each user has exactly one target per split.
   */
  targetSets?: { valid: Int32Array[]; test: Int32Array[] };
}

export function leaveOneOutSplit(ds: Dataset): Split {
  const n = ds.sequences.length;
  const train: Int32Array[] = new Array(n);
  const trainTs: Float64Array[] | null = ds.timestamps ? new Array(n) : null;
  const valid = new Int32Array(n);
  const test = new Int32Array(n);
  const validTs = ds.timestamps ? new Float64Array(n) : null;
  const testTs = ds.timestamps ? new Float64Array(n) : null;
  let evalUsers = 0, trainable = 0, trainInteractions = 0;
  for (let u = 0; u < n; u++) {
    const h = ds.sequences[u];
    const ts = ds.timestamps ? ds.timestamps[u] : null;
    const m = h.length;
    if (m < 3) {
      train[u] = h;
      if (trainTs && ts) trainTs[u] = ts;
    } else {
      train[u] = h.subarray(0, m - 2);
      valid[u] = h[m - 2];
      test[u] = h[m - 1];
      if (trainTs && ts && validTs && testTs) {
        trainTs[u] = ts.subarray(0, m - 2);
        validTs[u] = ts[m - 2];
        testTs[u] = ts[m - 1];
      }
      evalUsers++;
    }
    if (train[u].length >= 2) trainable++;
    trainInteractions += train[u].length;
  }
  return {
    numItems: ds.numItems,
    train,
    trainTs,
    valid,
    test,
    validTs,
    testTs,
    summary: { users: n, evalUsers, excludedFromEval: n - evalUsers, trainableUsers: trainable, trainInteractions },
    users: ds.users,
  };
}

/** The user id of user index `u` for messages: the id from the file when the split knows it. */
export function splitUserLabel(split: Split, u: number): string {
  return userLabel(split.users, u);
}

/**
 * Stops when no user of `split` can be evaluated on `which` (a target and at least one history
 * item): metrics over zero users are not numbers, and a model trained without validation on such
 * data can never be checked. Used by `reclm eval` and, before the first step, by `reclm train`.
 * Throws DataFormatError naming `source` (the data file).
 */
export function requireEvaluableUsers(split: Split, which: EvalSplit, source: string): void {
  if (evalUsers(split, which).length > 0) return;
  const n = split.train.length;
  if (split.targetSets) {
    const hint = which === 'valid' ? '; validation needs a validation file (--valid-data), or train without it (--eval-every 0)' : '';
    throw new DataFormatError(source, null, `no user has both training items and a ${which === 'test' ? 'test' : 'validation'} item (${n} users), so nothing can be evaluated${hint}`);
  }
  const longest = split.train.reduce((a, s, u) => Math.max(a, s.length + (split.valid[u] ? 1 : 0) + (split.test[u] ? 1 : 0)), 0);
  throw new DataFormatError(
    source,
    null,
    `no user has 3 or more interactions (${n} users, at most ${longest} each); the leave-one-out split needs a history, a validation item and a test item per user, so nothing can be evaluated`,
  );
}

/**
 * The split with each evaluated user's validation item appended to its train prefix: training
 * then sees every item but the test item, as Meta's HSTU training does (`ignore_last_n=1`). Only
 * for training; validation on such a model measures items it was trained on.
 */
export function trainThroughValid(split: Split): Split {
  const sets = split.targetSets;
  const train = split.train.map((s, u) => (split.valid[u] === 0 ? s : sets ? concat(s, sets.valid[u]) : appended(s, split.valid[u])));
  const trainTs = split.trainTs && split.validTs ? split.trainTs.map((s, u) => (split.valid[u] === 0 ? s : appended(s, split.validTs![u]))) : split.trainTs;
  const trainableUsers = train.filter((s) => s.length >= 2).length;
  const trainInteractions = train.reduce((a, s) => a + s.length, 0);
  return { ...split, train, trainTs, summary: { ...split.summary, trainableUsers, trainInteractions } };
}

function concat(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function appended<T extends Int32Array | Float64Array>(s: T, last: number): T {
  const out = new (s.constructor as new (n: number) => T)(s.length + 1);
  out.set(s);
  out[s.length] = last;
  return out;
}
