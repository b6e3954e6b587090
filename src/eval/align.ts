import { evalUsers, type EvalSplit } from '../data/eval-inputs.js';
import type { ItemMap } from '../data/item-map.js';
import type { Split, SplitEvents } from '../data/split.js';

export interface AlignReport {
  /** Interactions whose item the model has never seen (dropped). */
  unknownInteractions: number;
  unknownItems: number;
  /** Users evaluable in the file on the chosen split. */
  evaluable: number;
  /** Of those, users no longer evaluable: their target (or whole history) is unknown to the model. */
  lostTargets: number;
}

/**
 * More than this share of evaluable users losing their target to the item map stops `reclm eval`.
 * Past half, the metrics describe a minority of users selected by which of their items the model
 * happens to know, and the file is almost surely not the data the model was trained on (another
 * dataset, another id column, ids renumbered). Below it, a later snapshot of the same data with some
 * new items is a legitimate input; those users are skipped with a warning.
 */
export const MAX_LOST_TARGET_SHARE = 0.5;

/**
 * Re-expresses a split made on a file's own item ids (`itemIds[i]`: the file id of item i) in the
 * model's ids (the item map saved at compile time), so an evaluation file read on its own lines up
 * with the scores' columns. The split is made first, so the targets stay the file's held-out items:
 * a target the model has never seen removes that user from the evaluation instead of promoting an
 * earlier item to target. Unknown history items are dropped and counted.
 */
export function alignSplit(split: Split, itemIds: string[], map: ItemMap, which: EvalSplit): { split: Split; report: AlignReport } {
  const evaluable = evalUsers(split, which).length;
  const sameIds = itemIds.length === map.itemIds.length && itemIds.every((id, i) => id === map.itemIds[i]);
  if (sameIds) return { split, report: { unknownInteractions: 0, unknownItems: 0, evaluable, lostTargets: 0 } };
  const index = new Map<string, number>();
  map.itemIds.forEach((id, i) => i > 0 && index.set(id, i));
  const V = itemIds.length - 1;
  const translate = new Int32Array(V + 1);
  let unknownItems = 0;
  for (let i = 1; i <= V; i++) {
    translate[i] = index.get(itemIds[i]) ?? 0;
    if (!translate[i]) unknownItems++;
  }
  let unknownInteractions = 0;
  const keepOf = (seq: Int32Array): number[] => {
    const keep: number[] = [];
    for (let j = 0; j < seq.length; j++) {
      if (translate[seq[j]]) keep.push(j);
      else unknownInteractions++;
    }
    return keep;
  };
  const trainTs: Float64Array[] | null = split.trainTs ? [] : null;
  const train = split.train.map((seq, u) => {
    const keep = keepOf(seq);
    if (trainTs) trainTs.push(Float64Array.from(keep, (j) => split.trainTs![u][j]));
    return Int32Array.from(keep, (j) => translate[seq[j]]);
  });
  const one = (a: Int32Array) => a.map((v) => {
    if (v && !translate[v]) unknownInteractions++;
    return translate[v];
  });
  const sets = split.targetSets;
  const mapSets = (lists: Int32Array[]) => lists.map((seq) => Int32Array.from(keepOf(seq), (j) => translate[seq[j]]));
  const targetSets = sets ? { valid: mapSets(sets.valid), test: mapSets(sets.test) } : undefined;
  const valid = targetSets ? Int32Array.from(targetSets.valid, (s) => (s.length ? s[0] : 0)) : one(split.valid);
  const test = targetSets ? Int32Array.from(targetSets.test, (s) => (s.length ? s[0] : 0)) : one(split.test);
  const aligned: Split = { ...split, numItems: map.numItems, train, trainTs, valid, test, targetSets };
  if (split.events) aligned.events = alignEvents(split.events, translate);
  const lostTargets = evaluable - evalUsers(aligned, which).length;
  return { split: aligned, report: { unknownInteractions, unknownItems, evaluable, lostTargets } };
}

/**
 * The per-user histories of Split.events in the model's ids: events with an unknown item are
 * dropped (with their time, action and positive flag) and the target positions move with them,
 * so events.items[u][:validAt] stays equal to the aligned train prefix.
 */
function alignEvents(ev: SplitEvents, translate: Int32Array): SplitEvents {
  const n = ev.items.length;
  const validAt = new Int32Array(n).fill(-1);
  const testAt = new Int32Array(n).fill(-1);
  const items: Int32Array[] = [];
  const times: Float64Array[] | null = ev.times ? [] : null;
  const actions: Int32Array[] | null = ev.actions ? [] : null;
  const positive: Uint8Array[] | null = ev.positive ? [] : null;
  for (let u = 0; u < n; u++) {
    const h = ev.items[u];
    const keep: number[] = [];
    for (let j = 0; j < h.length; j++) {
      if (j === ev.validAt[u]) validAt[u] = keep.length;
      if (j === ev.testAt[u]) testAt[u] = keep.length;
      if (translate[h[j]]) keep.push(j);
    }
    items.push(Int32Array.from(keep, (j) => translate[h[j]]));
    if (times && ev.times) times.push(Float64Array.from(keep, (j) => ev.times![u][j]));
    if (actions && ev.actions) actions.push(Int32Array.from(keep, (j) => ev.actions![u][j]));
    if (positive && ev.positive) positive.push(Uint8Array.from(keep, (j) => ev.positive![u][j]));
  }
  return { ...ev, items, times, actions, positive, validAt, testAt };
}
