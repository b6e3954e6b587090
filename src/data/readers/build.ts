/**
 * Interactions → Dataset: k-core filtering, user order, per-user chronological order, item remapping.
 *
 * Rules (documented here because artifacts depend on them):
 * - Users are ordered by numeric id when every user id is a non-negative integer, otherwise by first
 *   appearance in the file.
 * - A user's interactions keep file order, or, for formats with time, are sorted by time with ties
 *   kept in file order (stable). The users so reordered, the backward steps in file order and the
 *   exact duplicate rows (same user, item and time) are counted for the read report.
 * - Item ids are kept (remapped = false) when no filtering was requested and the ids are integers that
 *   form exactly 1..V. Otherwise they are renumbered 1..V in order of first appearance when walking the
 *   users in order and each user's sequence chronologically; `itemIds` maps back.
 */
import { DataFormatError } from '../errors.js';
import type { Dataset, KCoreReport } from '../types.js';
import type { IdInterner, Interactions } from './interactions.js';
import { kCoreRows } from './kcore.js';
import { count } from '../../util/plural.js';

const PAD_VOCAB = '<pad>';

export interface BuildOptions {
  name: string;
  minItemCount?: number;
  minUserCount?: number;
}

export interface Built {
  dataset: Dataset;
  /** With k-core filtering: the thresholds and the sizes before it. */
  kCore?: KCoreReport;
  reorderedUsers: number;
  outOfOrderPairs: number;
  duplicateRows: number | null;
}

/**
 * Turns a reader's Interactions into a Dataset by the rules of the file comment (k-core filtering
 * when a minimum count > 1 is given) and returns the counts for the read report. Throws
 * DataFormatError when the file has no interactions or none survive the filtering.
 */
export function buildDataset(inter: Interactions, opts: BuildOptions): Built {
  const minItem = opts.minItemCount ?? 0;
  const minUser = opts.minUserCount ?? 0;
  const filtering = minItem > 1 || minUser > 1;
  const userOf = inter.user.view();
  const itemOf = inter.item.view();
  const time = inter.time ? inter.time.view() : null;
  if (userOf.length === 0 && !inter.keepEmptyUsers) throw new DataFormatError(inter.file, null, 'the file has no interactions');

  const rows = filtering ? kCoreRows(userOf, itemOf, { minItemCount: minItem, minUserCount: minUser }) : null;
  const nRows = rows ? rows.length : userOf.length;
  if (nRows === 0) {
    // Only the thresholds that were given: the flags' minimum is 1, so a 0 would read as a typo.
    const given = [...(opts.minItemCount !== undefined ? [`--min-item-count ${minItem}`] : []), ...(opts.minUserCount !== undefined ? [`--min-user-count ${minUser}`] : [])];
    throw new DataFormatError(inter.file, null, `no interactions left after k-core filtering (${given.join(', ')}); ${given.length === 1 ? 'lower it' : 'lower them'} (${sizesBefore(userOf, itemOf, inter.users.size, inter.items.size)})`);
  }

  // Group rows per user key (CSR), keeping file order inside each user.
  const nUserKeys = inter.users.size;
  const counts = new Int32Array(nUserKeys + 1);
  for (let j = 0; j < nRows; j++) counts[userOf[rows ? rows[j] : j] + 1]++;
  const start = new Int32Array(nUserKeys + 1);
  for (let k = 0; k < nUserKeys; k++) start[k + 1] = start[k] + counts[k + 1];
  const fill = start.slice(0, nUserKeys);
  const order = new Int32Array(nRows);
  for (let j = 0; j < nRows; j++) {
    const r = rows ? rows[j] : j;
    order[fill[userOf[r]]++] = r;
  }
  const timeOrder = time ? sortSegmentsByTime(order, start, time, inter.sortByTime) : { reorderedUsers: 0, outOfOrderPairs: 0 };
  const duplicateRows = time ? countDuplicates(order, start, time, itemOf) : null;

  const userKeys = orderedUserKeys(inter, start, filtering);
  const { numItems, internal, itemIds, remapped } = mapItems(inter, order, start, userKeys, filtering);

  const act = inter.action ? actionTokens(inter.action.values, inter.action.firstLine) : null;
  const actKey = inter.action ? inter.action.key.view() : null;
  const actions: Int32Array[] | null = act ? [] : null;
  const users: string[] = [];
  const sequences: Int32Array[] = [];
  const timestamps: Float64Array[] | null = time ? [] : null;
  for (const k of userKeys) {
    const s = start[k], e = start[k + 1];
    const seq = new Int32Array(e - s);
    const ts = time ? new Float64Array(e - s) : null;
    for (let j = s; j < e; j++) {
      seq[j - s] = internal[itemOf[order[j]]];
      if (ts && time) ts[j - s] = time[order[j]];
    }
    if (actions && act && actKey) {
      const a = new Int32Array(e - s);
      for (let j = s; j < e; j++) a[j - s] = act.token[actKey[order[j]]];
      actions.push(a);
    }
    users.push(String(inter.users.ids[k]));
    sequences.push(seq);
    if (timestamps && ts) timestamps.push(ts);
  }
  const dataset: Dataset = { name: opts.name, numItems, users, sequences, timestamps, itemIds, remapped };
  if (actions && act) dataset.actions = { vocab: act.vocab, actions, ...(act.firstLine ? { firstLine: act.firstLine } : {}) };
  const kCore = filtering ? { minItemCount: Math.max(1, minItem), minUserCount: Math.max(1, minUser), before: { users: inter.users.size, items: inter.items.size, interactions: userOf.length } } : undefined;
  return { dataset, ...timeOrder, duplicateRows, ...(kCore ? { kCore } : {}) };
}

/**
 * Action tokens 1..A in a fixed order that does not depend on the file's row order: numeric
 * order when every value is a number (ratings 1..5 become tokens 1..5), otherwise code-unit order.
 * `firstLine` (per value key, where it first appears) is carried over per token.
 */
function actionTokens(values: IdInterner, firstLine?: number[]): { vocab: string[]; token: Int32Array; firstLine?: number[] } {
  const names = values.ids.map(String);
  const keys = names.map((_, k) => k);
  const numeric = names.every((n) => n.trim() !== '' && Number.isFinite(Number(n)));
  keys.sort(numeric ? (a, b) => Number(names[a]) - Number(names[b]) || (names[a] < names[b] ? -1 : 1) : (a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
  const token = new Int32Array(names.length);
  keys.forEach((k, i) => (token[k] = i + 1));
  return { vocab: [PAD_VOCAB, ...keys.map((k) => names[k])], token, ...(firstLine ? { firstLine: [0, ...keys.map((k) => firstLine[k])] } : {}) };
}

/**
 * Sorts each user's rows by time (when `sort`); a row index tie-break makes the sort stable.
 * Returns how many users were out of time order and how many adjacent pairs went backwards.
 */
function sortSegmentsByTime(order: Int32Array, start: Int32Array, time: Float64Array, sort: boolean): { reorderedUsers: number; outOfOrderPairs: number } {
  const cmp = (a: number, b: number) => time[a] - time[b] || a - b;
  let reorderedUsers = 0, outOfOrderPairs = 0;
  for (let k = 0; k + 1 < start.length; k++) {
    const s = start[k], e = start[k + 1];
    let backward = 0;
    for (let j = s + 1; j < e; j++) if (time[order[j]] < time[order[j - 1]]) backward++;
    if (backward === 0) continue;
    reorderedUsers++;
    outOfOrderPairs += backward;
    if (sort) order.subarray(s, e).sort(cmp);
  }
  return { reorderedUsers, outOfOrderPairs };
}

/** Rows equal to an earlier row of the same user in item and time; `order` must be time-sorted per user. */
function countDuplicates(order: Int32Array, start: Int32Array, time: Float64Array, itemOf: Int32Array): number {
  let dup = 0;
  const seen = new Set<number>();
  for (let k = 0; k + 1 < start.length; k++) {
    let j = start[k];
    const e = start[k + 1];
    while (j < e) {
      // One run of equal times: duplicates are repeated items inside it.
      const t = time[order[j]];
      let r = j + 1;
      while (r < e && time[order[r]] === t) r++;
      if (r - j > 1) {
        seen.clear();
        for (let q = j; q < r; q++) {
          const it = itemOf[order[q]];
          if (seen.has(it)) dup++;
          else seen.add(it);
        }
      }
      j = r;
    }
  }
  return dup;
}

function orderedUserKeys(inter: Interactions, start: Int32Array, filtering: boolean): number[] {
  const keepEmpty = inter.keepEmptyUsers === true && !filtering;
  const keys: number[] = [];
  for (let k = 0; k < inter.users.size; k++) if (keepEmpty || start[k + 1] > start[k]) keys.push(k);
  if (inter.users.allIntegers) {
    const ids = inter.users.ids as number[];
    keys.sort((a, b) => ids[a] - ids[b]);
  }
  return keys;
}

function mapItems(inter: Interactions, order: Int32Array, start: Int32Array, userKeys: number[], filtering: boolean) {
  const nKeys = inter.items.size;
  const ids = inter.items.ids;
  const itemOf = inter.item.view();
  if (!filtering && inter.items.allIntegers) {
    // Distinct integers ≥ 1 whose maximum equals their count are exactly 1..V.
    let max = 0, min = Infinity;
    for (const v of ids as number[]) {
      if (v > max) max = v;
      if (v < min) min = v;
    }
    if (min >= 1 && max === nKeys) {
      const internal = new Int32Array(nKeys);
      for (let k = 0; k < nKeys; k++) internal[k] = ids[k] as number;
      const itemIds = new Array<string>(max + 1);
      itemIds[0] = '';
      for (let v = 1; v <= max; v++) itemIds[v] = String(v);
      return { numItems: max, internal, itemIds, remapped: false };
    }
  }
  const internal = new Int32Array(nKeys); // 0 = not seen (filtered out)
  const itemIds = [''];
  for (const u of userKeys) {
    for (let j = start[u]; j < start[u + 1]; j++) {
      const key = itemOf[order[j]];
      if (internal[key] === 0) {
        internal[key] = itemIds.length;
        itemIds.push(String(ids[key]));
      }
    }
  }
  return { numItems: itemIds.length - 1, internal, itemIds, remapped: true };
}

/**
 * The file's sizes before k-core filtering and its most active user's and most frequent item's
 * event counts, which bound the thresholds that leave anything: for the refusal of filters that
 * leave nothing. `userOf` / `itemOf`: per row, keys below `nUsers` / `nItems`.
 */
function sizesBefore(userOf: Int32Array, itemOf: Int32Array, nUsers: number, nItems: number): string {
  const most = (keys: Int32Array, n: number): number => {
    const counts = new Int32Array(n);
    let top = 0;
    for (const k of keys) top = Math.max(top, ++counts[k]);
    return top;
  };
  const sizes = `${count(nUsers, 'user')}, ${count(nItems, 'item')} and ${count(userOf.length, 'interaction')}`;
  return `the file holds ${sizes}; its most active user has ${count(most(userOf, nUsers), 'event')}, its most frequent item ${count(most(itemOf, nItems), 'event')}`;
}
