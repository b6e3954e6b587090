/**
 * Leave-one-out split (docs/models.md §1, seed `data_partition`): for a history h with |h| >= 3,
 * train = h[:-2], valid = h[-2], test = h[-1]; shorter histories are all train and have no
 * valid/test item (they still feed training when |train| >= 2, but are not evaluated).
 *
 * Positive-only protocol (a dataset with a positive rule, docs/evaluation.md): with p_1 < … < p_k
 * the positions of h's positive events and k >= 3, test = h[p_k], valid = h[p_{k-1}],
 * train = h[:p_{k-1}] (negatives included); the test input is h[:p_k], i.e. train, valid and the
 * events between the two targets. Events after the test target are not used. Users with fewer
 * than 3 positives are all train and not evaluated, as short users above.
 */
import { DataFormatError } from './errors.js';
import { evalUsers, type EvalSplit } from './eval-inputs.js';
import type { Dataset } from './types.js';
import { userLabel } from './user-label.js';

export interface SplitSummary {
  users: number;
  /** Users with a valid and a test item (pre-split files: with training items and a test item, or a validation item without a test file). */
  evalUsers: number;
  /** users − evalUsers (leave-one-out: users with fewer than 3 interactions, who have no valid/test item). */
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
  /**
   * Present when the dataset has actions, a positive rule or user features (features.ts): each
   * user's whole history and where its targets are. train[u] is always events.items[u][:validAt]
   * (or the whole history when the user has no target), so per-event arrays line up with it.
   */
  events?: SplitEvents;
}

/** Per-user histories beside the split, for actions, the positive mask and the user profile. */
export interface SplitEvents {
  /** Per user: every event's item, chronological (the dataset's sequences). */
  items: Int32Array[];
  /** Per user: the dataset's timestamps, or null. */
  times: Float64Array[] | null;
  /** Per user: action tokens parallel to items (ActionLog.actions), or null without actions. */
  actions: Int32Array[] | null;
  /** Per user: 1 where the event is positive, or null when every event is (no rule). */
  positive: Uint8Array[] | null;
  /** Per user: index in items[u] of the validation / test target, -1 when none. */
  validAt: Int32Array;
  testAt: Int32Array;
  /** [numUsers * P] profile tokens, one per user field (UserFeatures.columns interleaved), or null. */
  profile: Int32Array | null;
  /** P: user fields (0 without user features). */
  profileWidth: number;
}

/**
 * Splits every history as the file comment says (leave-one-out, or positive-only when ds.positive
 * is set). `train` holds views into ds.sequences; `valid`/`test` are Int32Array [users], 0 for a user
 * not evaluated. Adds `events` when the dataset has actions, a positive rule or user features.
 * Throws nothing: requireEvaluableUsers checks that some user can be evaluated.
 */
export function leaveOneOutSplit(ds: Dataset): Split {
  const positive = ds.positive ?? null;
  const { split, validAt, testAt } = splitAtTargets(ds, positive);
  if (positive || ds.actions || ds.userFeatures) split.events = eventsOf(ds, positive, validAt, testAt);
  return split;
}

function eventsOf(ds: Dataset, positive: Uint8Array[] | null, validAt: Int32Array, testAt: Int32Array): SplitEvents {
  const n = ds.sequences.length;
  const uf = ds.userFeatures;
  const P = uf ? uf.fields.length : 0;
  let profile: Int32Array | null = null;
  if (uf) {
    profile = new Int32Array(n * P);
    for (let u = 0; u < n; u++) for (let f = 0; f < P; f++) profile[u * P + f] = uf.columns[f][u];
  }
  return { items: ds.sequences, times: ds.timestamps, actions: ds.actions ? ds.actions.actions : null, positive, validAt, testAt, profile, profileWidth: P };
}

/**
 * Positions of a history's validation and test targets (see the file comment): the last two
 * events, or with a positive mask the last two positive events; null when there are fewer than 3
 * (positive) events, i.e. the user is not evaluated.
 */
function targetPositions(length: number, positive: Uint8Array | null): [number, number] | null {
  if (!positive) return length >= 3 ? [length - 2, length - 1] : null;
  let last = -1, before = -1, count = 0;
  for (let j = 0; j < length; j++) {
    if (!positive[j]) continue;
    before = last;
    last = j;
    count++;
  }
  return count >= 3 ? [before, last] : null;
}

/**
 * Both protocols of the file comment in one pass; `positive` is ds.positive (null: every event
 * is positive, the plain leave-one-out split). Also returns each user's target positions
 * (-1 when the user is not evaluated), for SplitEvents.
 */
function splitAtTargets(ds: Dataset, positive: Uint8Array[] | null): { split: Split; validAt: Int32Array; testAt: Int32Array } {
  const n = ds.sequences.length;
  const train: Int32Array[] = new Array(n);
  const trainTs: Float64Array[] | null = ds.timestamps ? new Array(n) : null;
  const valid = new Int32Array(n);
  const test = new Int32Array(n);
  const validTs = ds.timestamps ? new Float64Array(n) : null;
  const testTs = ds.timestamps ? new Float64Array(n) : null;
  const validAt = new Int32Array(n).fill(-1);
  const testAt = new Int32Array(n).fill(-1);
  let evaluated = 0, trainable = 0, trainInteractions = 0;
  for (let u = 0; u < n; u++) {
    const h = ds.sequences[u];
    const p = positive ? positive[u] : null;
    const ts = ds.timestamps ? ds.timestamps[u] : null;
    const at = targetPositions(h.length, p);
    if (!at) {
      train[u] = h;
      if (trainTs && ts) trainTs[u] = ts;
    } else {
      const [before, last] = at;
      train[u] = h.subarray(0, before);
      valid[u] = h[before];
      test[u] = h[last];
      validAt[u] = before;
      testAt[u] = last;
      if (trainTs && ts && validTs && testTs) {
        trainTs[u] = ts.subarray(0, before);
        validTs[u] = ts[before];
        testTs[u] = ts[last];
      }
      evaluated++;
    }
    if (trainableRow(train[u], p)) trainable++;
    trainInteractions += train[u].length;
  }
  const split: Split = {
    numItems: ds.numItems,
    train,
    trainTs,
    valid,
    test,
    validTs,
    testTs,
    summary: { users: n, evalUsers: evaluated, excludedFromEval: n - evaluated, trainableUsers: trainable, trainInteractions },
    users: ds.users,
  };
  return { split, validAt, testAt };
}

/** A train prefix yields a training row with a target: a (positive) event after its first. */
function trainableRow(train: Int32Array, positive: Uint8Array | null): boolean {
  if (!positive) return train.length >= 2;
  for (let j = 1; j < train.length; j++) if (positive[j]) return true;
  return false;
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
  if (split.events?.positive) {
    throw new DataFormatError(source, null, `no user has 3 or more positive events (${n} users); the positive-only split needs a history, a validation and a test target per user, so nothing can be evaluated`);
  }
  const longest = split.train.reduce((a, s, u) => Math.max(a, s.length + (split.valid[u] ? 1 : 0) + (split.test[u] ? 1 : 0)), 0);
  throw new DataFormatError(
    source,
    null,
    `no user has 3 or more interactions (${n} users, at most ${longest} each); the leave-one-out split needs a history, a validation item and a test item per user, so nothing can be evaluated`,
  );
}

/**
 * True when no user of `split` has a training example but training through the validation item
 * (--train-on-valid, trainThroughValid) would give some user one: the hint train's and compile's
 * refusals of such data give.
 */
export function onlyTrainOnValidTrains(split: Split): boolean {
  return split.summary.trainableUsers === 0 && trainThroughValid(split).summary.trainableUsers > 0;
}

/**
 * The split with each evaluated user's validation item appended to its train prefix: training
 * then sees every item but the test item, as Meta's HSTU training does (`ignore_last_n=1`). Only
 * for training; validation on such a model measures items it was trained on.
 */
export function trainThroughValid(split: Split): Split {
  const ev = split.events;
  if (ev) {
    // Everything before the test target: train, the validation target and what lies between.
    const train = split.train.map((s, u) => (ev.testAt[u] < 0 ? s : ev.items[u].subarray(0, ev.testAt[u])));
    const trainTs = split.trainTs && ev.times ? split.trainTs.map((s, u) => (ev.testAt[u] < 0 ? s : ev.times![u].subarray(0, ev.testAt[u]))) : split.trainTs;
    const trainableUsers = train.filter((s, u) => (ev.positive ? trainableRow(s, ev.positive[u]) : s.length >= 2)).length;
    const trainInteractions = train.reduce((a, s) => a + s.length, 0);
    return { ...split, train, trainTs, summary: { ...split.summary, trainableUsers, trainInteractions } };
  }
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
