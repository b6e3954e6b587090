// Tiny trained models shared by the export, serving and evaluation tests: compiled with
// compileTiny() and trained for a few fused steps, so inference.onnx holds non-initial weights.
// Memoised per process, so mocha running several files trains each model once.
import * as ort from 'onnxruntime-node';
import { leaveOneOutSplit } from '../../src/data/split.js';
import { evalBatches } from '../../src/data/eval-inputs.js';
import { Dataset } from '../../src/data/types.js';
import { train } from '../../src/runtime/trainer.js';
import { compileTiny, tinyData, TINY_CONFIGS } from './tiny-run.js';

export type TinyModel = keyof typeof TINY_CONFIGS;
export const TINY_MODELS = Object.keys(TINY_CONFIGS) as TinyModel[];

const cache = new Map<TinyModel, Promise<string>>();

/** Artifact folder of a tiny model trained for 6 steps (lr 1e-2, fixed seeds); holds inference.onnx. */
export function trainedTiny(model: TinyModel): Promise<string> {
  let p = cache.get(model);
  if (!p) {
    p = trainTinyOn(model, tinyData());
    cache.set(model, p);
  }
  return p;
}

/** Compiles a tiny model for `data` and trains it for a few steps; returns the artifact folder. */
export async function trainTinyOn(model: TinyModel, data: Dataset, maxSteps = 6): Promise<string> {
  const dir = compileTiny(model, 'bce', {}, data);
  await train({
    dir, data, epochs: 1, batchSize: 16, seed: 4, fusedSteps: 3, evalEvery: 0, patience: 0, checkpointEvery: 0,
    resume: false, json: true, schedule: { kind: 'constant', lr: 1e-2 }, maxSteps,
  });
  return dir;
}

/** Plain description of a feed, so it can cross a process boundary as JSON. */
export interface FeedSpec {
  type: 'int64';
  dims: number[];
  data: number[];
}

/** A fixed batch of `n` test-split rows of the tiny data (seq, ts_ext for hstu) plus k. */
export function fixedBatch(model: TinyModel, n: number, k: number): Record<string, FeedSpec> {
  const L = TINY_CONFIGS[model].maxlen;
  const split = leaveOneOutSplit(tinyData());
  const batch = evalBatches(split, { split: 'test', maxlen: L, batchSize: n, needTimestamps: model === 'hstu' }).next().value!;
  if (batch.n !== n) throw new Error(`tiny data has only ${batch.n} evaluable users`);
  const feeds: Record<string, FeedSpec> = { seq: { type: 'int64', dims: [n, L], data: Array.from(batch.seq, Number) } };
  if (model === 'hstu') feeds.ts_ext = { type: 'int64', dims: [n, L + 1], data: Array.from(batch.ts_ext!, Number) };
  feeds.k = { type: 'int64', dims: [1], data: [k] };
  return feeds;
}

export function toOrtFeeds(specs: Record<string, FeedSpec>): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, new ort.Tensor('int64', BigInt64Array.from(s.data, (v) => BigInt(v)), s.dims)]));
}

export interface PlainOutput {
  dims: number[];
  data: number[];
}

/** Runs a model with onnxruntime-node (1 thread) and returns its outputs as plain numbers. */
export async function runNode(model: string | Uint8Array, feeds: Record<string, FeedSpec>): Promise<Record<string, PlainOutput>> {
  const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts);
  try {
    const out = await session.run(toOrtFeeds(feeds));
    return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, { dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) }]));
  } finally {
    await session.release();
  }
}
