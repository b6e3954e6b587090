/** Summary numbers for `reclm data stats` and the artifact manifest. */
import type { Dataset } from './types.js';

export interface DatasetStats {
  name: string;
  users: number;
  items: number;
  interactions: number;
  /** Sequence length per user: median averages the two middle values; p90 is nearest-rank. */
  seqLen: { min: number; median: number; mean: number; p90: number; max: number };
  hasTimestamps: boolean;
  remapped: boolean;
}

export function datasetStats(ds: Dataset): DatasetStats {
  const lens = Float64Array.from(ds.sequences, (s) => s.length).sort();
  const n = lens.length;
  let total = 0;
  for (const l of lens) total += l;
  const median = n === 0 ? 0 : n % 2 === 1 ? lens[(n - 1) / 2] : (lens[n / 2 - 1] + lens[n / 2]) / 2;
  return {
    name: ds.name,
    users: n,
    items: ds.numItems,
    interactions: total,
    seqLen: {
      min: n ? lens[0] : 0,
      median,
      mean: n ? total / n : 0,
      p90: n ? lens[Math.max(0, Math.ceil(0.9 * n) - 1)] : 0,
      max: n ? lens[n - 1] : 0,
    },
    hasTimestamps: ds.timestamps !== null,
    remapped: ds.remapped,
  };
}
