import { Dataset } from '../data/types.js';
import { ItemMap } from '../data/item-map.js';

export interface AlignReport {
  /** Interactions whose item the model has never seen (dropped). */
  unknownInteractions: number;
  unknownItems: number;
}

/**
 * Re-expresses a dataset in a model's internal item ids (from the item map saved at
 * compile time), so an evaluation file read on its own lines up with the scores' columns.
 * Items the model has never seen are dropped and counted.
 */
export function alignToItemMap(ds: Dataset, map: ItemMap): { data: Dataset; report: AlignReport } {
  const sameIds = ds.numItems === map.numItems && ds.itemIds.every((id, i) => id === map.itemIds[i]);
  if (sameIds) return { data: ds, report: { unknownInteractions: 0, unknownItems: 0 } };
  const index = new Map<string, number>();
  map.itemIds.forEach((id, i) => i > 0 && index.set(id, i));
  const translate = new Int32Array(ds.numItems + 1);
  let unknownItems = 0;
  for (let i = 1; i <= ds.numItems; i++) {
    translate[i] = index.get(ds.itemIds[i]) ?? 0;
    if (!translate[i]) unknownItems++;
  }
  let unknownInteractions = 0;
  const sequences: Int32Array[] = [];
  const timestamps: Float64Array[] | null = ds.timestamps ? [] : null;
  ds.sequences.forEach((seq, u) => {
    const keep: number[] = [];
    for (let j = 0; j < seq.length; j++) {
      if (translate[seq[j]]) keep.push(j);
      else unknownInteractions++;
    }
    sequences.push(Int32Array.from(keep, (j) => translate[seq[j]]));
    if (timestamps) timestamps.push(Float64Array.from(keep, (j) => ds.timestamps![u][j]));
  });
  return {
    data: { ...ds, numItems: map.numItems, itemIds: map.itemIds, sequences, timestamps, remapped: map.remapped },
    report: { unknownInteractions, unknownItems },
  };
}
