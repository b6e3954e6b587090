/**
 * Evaluation rows (docs/evaluation.md, "Input row"), left padded like training rows:
 * - split 'test':  seq = last L of train + [valid], target = test,  ts_ext[L] = ts(test)
 * - split 'valid': seq = last L of train,           target = valid, ts_ext[L] = ts(valid)
 * With Split.events (actions, positive rule, profile), the input is every event before the
 * target (so for 'test' also the events between the two targets, negatives included), `action`
 * is parallel to seq and `profile` holds the user's P profile tokens.
 * Only users with a target and |train| >= 1 are evaluated. Only slot L-1 of the model output is used.
 * The last batch may be short (evaluation has no fixed-shape requirement worth padding for).
 * With `trimMultiple`, each batch is T = its longest row rounded up to that multiple (≤ L) wide
 * instead of L: the same rows without the leading padding columns.
 */
import { Int64Writer } from './int64.js';
import { splitUserLabel, type Split } from './split.js';

export type EvalSplit = 'valid' | 'test';

export interface EvalOptions {
  split: EvalSplit;
  maxlen: number;
  batchSize: number;
  /** Produce ts_ext [n, L+1] (zeros when the data has no timestamps). */
  needTimestamps?: boolean;
  /** Produce action [n, L] (needs Split.events with actions). */
  needActions?: boolean;
  /** Produce profile [n, P] (needs Split.events with a profile). */
  needProfile?: boolean;
  /** Evaluate only these user indices (e.g. the sampled-protocol subset); default: every eligible user. */
  users?: Int32Array;
  /** Trim each batch to its longest row rounded up to this multiple (see trimmedLength); 0 or absent: L wide. */
  trimMultiple?: number;
  /** Score the users in order of input length (stable), so batches hold rows of similar length. */
  sortByLength?: boolean;
}

/** The multiple evaluation batches are trimmed to, for models that allow it (README, "Length buckets"). */
export const EVAL_TRIM_MULTIPLE = 16;

/**
 * The sequence length of a batch whose longest row holds `longest` items: `longest` rounded up
 * to a multiple of `multiple`, at least 1 and at most `maxlen` (multiple 0: always maxlen).
 * Fewer distinct lengths mean fewer shapes for onnxruntime to plan; a multiple of 8 or 16
 * also keeps the matrix products' inner dims vector-aligned.
 */
export function trimmedLength(longest: number, multiple: number, maxlen: number): number {
  if (!(multiple > 0)) return maxlen;
  return Math.min(maxlen, Math.max(multiple, Math.ceil(longest / multiple) * multiple));
}

export interface EvalBatch {
  seq: BigInt64Array; // [n, T]
  ts_ext?: BigInt64Array; // [n, T+1]
  action?: BigInt64Array; // [n, T], 0 at padding
  profile?: BigInt64Array; // [n, P] (not trimmed)
  targets: Int32Array; // [n]
  users: Int32Array; // [n] user indices
  n: number;
  /** T: the width of this batch's rows (the model's maxlen unless trimmed). */
  maxlen: number;
}

/** User indices that have a target in this split and at least one train item, ascending. */
export function evalUsers(split: Split, which: EvalSplit): Int32Array {
  const target = which === 'test' ? split.test : split.valid;
  const out: number[] = [];
  for (let u = 0; u < split.train.length; u++) if (target[u] !== 0 && split.train[u].length >= 1) out.push(u);
  return Int32Array.from(out);
}

/**
 * The history the model sees for this split (train for 'valid', train + [valid] for 'test'), with
 * its timestamps. Shared with the popularity baseline so both count the same interactions.
 * With Split.events: every event before the target (views, no copies), and their actions.
 */
export function historyOf(split: Split, which: EvalSplit, u: number): { items: Int32Array; times: Float64Array | null; actions?: Int32Array } {
  const ev = split.events;
  if (ev) {
    const at = which === 'test' ? ev.testAt[u] : ev.validAt[u];
    const end = at < 0 ? split.train[u].length : at;
    return { items: ev.items[u].subarray(0, end), times: ev.times ? ev.times[u].subarray(0, end) : null, ...(ev.actions ? { actions: ev.actions[u].subarray(0, end) } : {}) };
  }
  const tr = split.train[u];
  const trTs = split.trainTs ? split.trainTs[u] : null;
  if (which === 'valid' || split.valid[u] === 0) return { items: tr, times: trTs };
  if (split.targetSets) {
    // Pre-split files: the whole validation list follows the train list (no timestamps).
    const v = split.targetSets.valid[u];
    const items = new Int32Array(tr.length + v.length);
    items.set(tr);
    items.set(v, tr.length);
    return { items, times: null };
  }
  const items = new Int32Array(tr.length + 1);
  items.set(tr);
  items[tr.length] = split.valid[u];
  let times: Float64Array | null = null;
  if (trTs && split.validTs) {
    times = new Float64Array(tr.length + 1);
    times.set(trTs);
    times[tr.length] = split.validTs[u];
  }
  return { items, times };
}

export function* evalBatches(split: Split, opts: EvalOptions): Generator<EvalBatch> {
  const { maxlen: L, batchSize } = opts;
  if (!Number.isInteger(L) || L < 1) throw new RangeError(`maxlen must be a positive integer, got ${L}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const eligible = evalUsers(split, opts.split);
  let users = eligible;
  if (opts.users) {
    const ok = new Uint8Array(split.train.length);
    for (const u of eligible) ok[u] = 1;
    for (const u of opts.users) if (!ok[u]) throw new Error(`${splitUserLabel(split, u)} has no ${opts.split} target or no train items and cannot be evaluated`);
    users = opts.users;
  }
  if (opts.sortByLength) {
    const len = (u: number) => Math.min(historyOf(split, opts.split, u).items.length, L);
    const lens = new Map<number, number>(Array.from(users, (u) => [u, len(u)]));
    users = Int32Array.from([...users].map((u, i) => [u, i]).sort((a, b) => lens.get(a[0])! - lens.get(b[0])! || a[1] - b[1]).map((p) => p[0]));
  }
  const target = opts.split === 'test' ? split.test : split.valid;
  const targetTs = opts.split === 'test' ? split.testTs : split.validTs;
  const ev = split.events;
  if (opts.needActions && !ev?.actions) throw new Error('evalBatches: action inputs need a dataset read with actions');
  if (opts.needProfile && !ev?.profile) throw new Error('evalBatches: profile inputs need a dataset with user features');
  const P = ev ? ev.profileWidth : 0;
  for (let start = 0; start < users.length; start += batchSize) {
    const n = Math.min(batchSize, users.length - start);
    const rowUsers = users.slice(start, start + n);
    let longest = 0;
    for (const u of rowUsers) longest = Math.max(longest, historyOf(split, opts.split, u).items.length);
    const T = trimmedLength(longest, opts.trimMultiple ?? 0, L);
    const seq = new Int64Writer(n * T);
    const ts = opts.needTimestamps ? new Int64Writer(n * (T + 1)) : null;
    const targets = new Int32Array(n);
    const act = opts.needActions ? new Int64Writer(n * T) : null;
    const prof = opts.needProfile ? new Int64Writer(n * P) : null;
    for (let b = 0; b < n; b++) {
      const u = rowUsers[b];
      const { items, times, actions } = historyOf(split, opts.split, u);
      const k = Math.min(items.length, T);
      const src = items.length - k;
      for (let j = 0; j < k; j++) seq.setSmall(b * T + T - k + j, items[src + j]);
      targets[b] = target[u];
      if (act && actions) for (let j = 0; j < k; j++) act.setSmall(b * T + T - k + j, actions[src + j]);
      if (prof && ev?.profile) for (let f = 0; f < P; f++) prof.setSmall(b * P + f, ev.profile[u * P + f]);
      if (ts && times && targetTs) {
        const row = b * (T + 1);
        for (let j = 0; j < k; j++) ts.set(row + T - k + j, times[src + j]);
        ts.set(row + T, targetTs[u]);
      }
    }
    const batch: EvalBatch = { seq: seq.array, targets, users: rowUsers, n, maxlen: T };
    if (ts) batch.ts_ext = ts.array;
    if (act) batch.action = act.array;
    if (prof) batch.profile = prof.array;
    yield batch;
  }
}

/**
 * Pre-split files: how many of the `which` split's targets (every item of each user's list)
 * are items of the history the model reads for that user, and how many targets there are
 * (0 and 0 for a split without target lists). A target file that repeats training events
 * inflates the metrics (eval warns, data stats reports it).
 */
export function targetsInHistory(split: Split, which: EvalSplit): { inHistory: number; targets: number } {
  let inHistory = 0;
  let targets = 0;
  const sets = split.targetSets?.[which] ?? [];
  sets.forEach((set, u) => {
    if (!set.length) return;
    const seen = new Set(historyOf(split, which, u).items);
    targets += set.length;
    for (const v of set) if (seen.has(v)) inHistory++;
  });
  return { inHistory, targets };
}
