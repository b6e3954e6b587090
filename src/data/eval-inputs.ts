/**
 * Evaluation rows (docs/evaluation.md, "Input row"), left padded like training rows:
 * - split 'test':  seq = last L of train + [valid], target = test,  ts_ext[L] = ts(test)
 * - split 'valid': seq = last L of train,           target = valid, ts_ext[L] = ts(valid)
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
 */
export function historyOf(split: Split, which: EvalSplit, u: number): { items: Int32Array; times: Float64Array | null } {
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
  for (let start = 0; start < users.length; start += batchSize) {
    const n = Math.min(batchSize, users.length - start);
    const rowUsers = users.slice(start, start + n);
    let longest = 0;
    for (const u of rowUsers) longest = Math.max(longest, historyOf(split, opts.split, u).items.length);
    const T = trimmedLength(longest, opts.trimMultiple ?? 0, L);
    const seq = new Int64Writer(n * T);
    const ts = opts.needTimestamps ? new Int64Writer(n * (T + 1)) : null;
    const targets = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const u = rowUsers[b];
      const { items, times } = historyOf(split, opts.split, u);
      const k = Math.min(items.length, T);
      const src = items.length - k;
      for (let j = 0; j < k; j++) seq.setSmall(b * T + T - k + j, items[src + j]);
      targets[b] = target[u];
      if (ts && times && targetTs) {
        const row = b * (T + 1);
        for (let j = 0; j < k; j++) ts.set(row + T - k + j, times[src + j]);
        ts.set(row + T, targetTs[u]);
      }
    }
    const batch: EvalBatch = { seq: seq.array, targets, users: rowUsers, n, maxlen: T };
    if (ts) batch.ts_ext = ts.array;
    yield batch;
  }
}
