// Inputs at the edges of the serving contract, shared by the node (export.test.ts) and web
// (web-serving.test.ts) checks of inference.onnx: an empty batch, ids < 0 in `seq`, and a `k`
// larger than the catalogue.
import { TINY_CONFIGS } from './tiny-run.js';
import { fixedBatch, type FeedSpec, type TinyModel } from './trained.js';

export const EDGE_V = 60; // tinyData() items

/** A batch of 0 rows (seq [0, L], ts_ext [0, L+1] for hstu) with k = 5. */
export function emptyBatch(model: TinyModel): Record<string, FeedSpec> {
  const L = TINY_CONFIGS[model].maxlen;
  const feeds: Record<string, FeedSpec> = { seq: { type: 'int64', dims: [0, L], data: [] } };
  if (model === 'hstu') feeds.ts_ext = { type: 'int64', dims: [0, L + 1], data: [] };
  feeds.k = { type: 'int64', dims: [1], data: [5] };
  return feeds;
}

/** The fixed 4-row batch with slots 0 and 1 of every row set to `a` and `b`. */
export function withIds(model: TinyModel, a: number, b: number): Record<string, FeedSpec> {
  const feeds = fixedBatch(model, 4, 5);
  const L = TINY_CONFIGS[model].maxlen;
  const data = [...feeds.seq.data];
  for (let r = 0; r < 4; r++) {
    data[r * L] = a;
    data[r * L + 1] = b;
  }
  return { ...feeds, seq: { ...feeds.seq, data } };
}

/** Three rows with k = V + 7. */
export function oversizedK(model: TinyModel): Record<string, FeedSpec> {
  return fixedBatch(model, 3, EDGE_V + 7);
}
