/**
 * Data-parallel training steps over a TrainingSession and a Collective, independent of the
 * training loop: every rank draws the same global batch, takes its own rows, computes
 * gradients, and the gradients are allreduced so that the update equals the one-process
 * update on the whole global batch (as PyTorch DDP does, with target-count weights instead
 * of DDP's equal 1/p weights). Gradient accumulation over M micro-batches is the same
 * computation inside one process.
 *
 * Weighting. Every loss of this project is a mean over the target positions M of its batch
 * (pos != 0): L = (1/|M|) Σ_M ℓ. For a global batch split into pieces k with target sets M_k,
 * L = Σ_k (|M_k| / |M|) L_k, so ∇L = Σ_k (|M_k| / |M|) ∇L_k: each piece's mean-loss gradient
 * is scaled by its target count over the global count before the sum. (A mean of rank means
 * would weight a target of a short slice more than one of a long slice.)
 */
import * as ort from 'onnxruntime-node';
import { createHash } from 'node:crypto';
import type { TrainBatch } from '../data/sampler.js';
import type { Feeds } from './feeds.js';
import type { TrainingSession } from './session.js';
import { type Collective, SingleProcessCollective } from '../dist/collective.js';
import { ReclmError } from '../errors.js';
import { CONTROL } from '../contract/artifacts.js';

/** One piece of a global batch: the graph's batch feeds and the number of target positions in them. */
export interface MicroBatch {
  feeds: Feeds;
  /** |M_k|: target positions (pos != 0) in this piece; > 0. */
  targets: number;
}

export interface DistributedStepResult {
  /** Loss of the whole global batch: Σ_k (|M_k| / |M|) L_k over every piece of every rank. */
  loss: number;
  /** Raw global gradient norm before clipping, as optimizerStep returns it. */
  gradNorm: number;
  /** |M|, as checked by the allreduce. */
  targets: number;
}

export interface DistributedStepOptions {
  /**
   * Gradients with fewer elements than this are packed into one buffer and reduced in one
   * call (with the loss and target count); larger ones are reduced in place, one call each.
   * Packing saves the per-call latency of many small tensors (norm weights, biases).
   */
  bucketElements?: number;
  /**
   * Rows to exchange, by parameter: only these rows of the parameter's gradient ([rows, ...]
   * row-major) are allreduced (packed with the small gradients); the other rows must be zero
   * on every rank and stay zero. Sorted or not, each row once. See touchedItemRows.
   */
  sparseRows?: ReadonlyMap<string, Int32Array>;
  /**
   * The AdamW step to take instead of session.optimizerStep: a ZeroOptimizer (zero.ts) for
   * ZeRO-1. Returns the raw global gradient norm.
   */
  optimizer?: { step(lr: number): Promise<number> };
}

export class DataParallelError extends ReclmError {}

const DEFAULT_BUCKET_ELEMENTS = 1 << 16;

function scale(buf: Float32Array, s: number): void {
  for (let i = 0; i < buf.length; i++) buf[i] *= s;
}

/**
 * One optimizer step of data-parallel training with gradient accumulation: runs
 * trainStep on each of this rank's `micro` batches, weights their gradients by
 * |M_k| / `globalTargets`, sums them over the micro-batches and (allreduce) over the ranks,
 * then applies one AdamW step (with its global-norm clipping) with learning rate `lr`. Every
 * rank ends with the same parameters and moments, equal to one process's step on the whole
 * global batch up to float summation order.
 *
 * Every rank calls it with the same `globalTargets` and `lr`, and the same number of
 * gradient tensors (the same artifacts). `globalTargets` is checked against the allreduced
 * sum of the ranks' targets; a mismatch (ranks drawing different batches) throws
 * DataParallelError on every rank, after the reduction, so no rank is left waiting.
 *
 * Accumulation keeps no second gradient buffer: the session adds each micro-batch's
 * gradient to its buffer, so before micro-batch k+1 the buffer is rescaled by
 * |M_k| / |M_{k+1}| (skipped when equal) and after the last one by |M_last| / |M|; the
 * buffer then holds Σ_k (|M_k| / |M|) ∇L_k.
 */
export async function distributedStep(
  session: TrainingSession,
  collective: Collective,
  micro: readonly MicroBatch[],
  globalTargets: number,
  lr: number,
  options: DistributedStepOptions = {},
): Promise<DistributedStepResult> {
  if (micro.length === 0) throw new RangeError('distributedStep: no micro-batch given');
  if (!(Number.isInteger(globalTargets) && globalTargets > 0)) throw new RangeError(`distributedStep: globalTargets must be a positive integer, got ${globalTargets}`);
  for (const m of micro) {
    if (!(Number.isInteger(m.targets) && m.targets > 0)) throw new RangeError(`distributedStep: every micro-batch needs at least one target position, got ${m.targets}`);
  }
  session.lazyResetGrad();
  let weightedLoss = 0;
  let localTargets = 0;
  for (let k = 0; k < micro.length; k++) {
    if (k > 0 && micro[k].targets !== micro[k - 1].targets) {
      for (const g of session.gradientBuffers().values()) scale(g, micro[k - 1].targets / micro[k].targets);
    }
    const loss = await session.trainStep(micro[k].feeds);
    weightedLoss += (micro[k].targets / globalTargets) * loss;
    localTargets += micro[k].targets;
  }
  const last = micro[micro.length - 1].targets;
  const grads = session.gradientBuffers();
  if (last !== globalTargets) for (const g of grads.values()) scale(g, last / globalTargets);
  let targets = localTargets;
  let loss = weightedLoss;
  if (collective.size > 1) {
    ({ loss, targets } = allreduceGradients(collective, grads, weightedLoss, localTargets, options.bucketElements ?? DEFAULT_BUCKET_ELEMENTS, sparseBlocks(session, options.sparseRows)));
  }
  if (targets !== globalTargets) {
    throw new DataParallelError(`the ranks' batches hold ${targets} target positions in all, but the step was weighted for ${globalTargets}; every rank must draw the same global batch and take a disjoint slice of it`);
  }
  const gradNorm = options.optimizer ? await options.optimizer.step(lr) : await session.optimizerStep(lr);
  return { loss, gradNorm, targets };
}

/**
 * `--grad-accum M` in one process: one AdamW step on the mean loss over all target
 * positions of the M micro-batches, as if they were one batch (see distributedStep).
 */
export async function accumulatedStep(session: TrainingSession, micro: readonly MicroBatch[], lr: number): Promise<DistributedStepResult> {
  const total = micro.reduce((a, m) => a + m.targets, 0);
  return distributedStep(session, new SingleProcessCollective(), micro, total, lr);
}

/** Rows of a parameter's gradient to exchange, with the row width in elements. */
interface SparseBlock {
  rows: Int32Array;
  width: number;
}

function sparseBlocks(session: TrainingSession, rows: ReadonlyMap<string, Int32Array> | undefined): Map<string, SparseBlock> {
  const out = new Map<string, SparseBlock>();
  for (const [name, r] of rows ?? []) {
    const p = session.manifest.params.find((x) => x.name === name);
    if (!p || p.shape.length < 1) throw new RangeError(`sparse exchange: no parameter '${name}' with rows in the artifacts`);
    const width = p.shape.slice(1).reduce((a, b) => a * b, 1);
    for (const i of r) if (!(i >= 0 && i < p.shape[0])) throw new RangeError(`sparse exchange: row ${i} of '${name}' is outside [0, ${p.shape[0]})`);
    out.set(name, { rows: r, width });
  }
  return out;
}

/**
 * Sums the gradients over the ranks, in place: small ones and the listed rows of sparse
 * ones packed into one buffer with the loss and target count, large dense ones one call each.
 */
function allreduceGradients(collective: Collective, grads: Map<string, Float32Array>, loss: number, targets: number, bucketElements: number, sparse: Map<string, SparseBlock>): { loss: number; targets: number } {
  const names = [...grads.keys()];
  const small = names.filter((n) => !sparse.has(n) && grads.get(n)!.length < bucketElements);
  const packed = [...sparse].filter(([n]) => grads.has(n));
  const length = small.reduce((a, n) => a + grads.get(n)!.length, 2) + packed.reduce((a, [, b]) => a + b.rows.length * b.width, 0);
  const bucket = new Float32Array(length);
  let o = 0;
  for (const n of small) {
    bucket.set(grads.get(n)!, o);
    o += grads.get(n)!.length;
  }
  for (const [n, { rows, width }] of packed) {
    const g = grads.get(n)!;
    for (const r of rows) {
      bucket.set(g.subarray(r * width, (r + 1) * width), o);
      o += width;
    }
  }
  bucket[o] = loss;
  // Target counts stay exact in float32 up to 2^24 per step, far above any batch here.
  bucket[o + 1] = targets;
  collective.allreduceSum(bucket);
  o = 0;
  for (const n of small) {
    grads.get(n)!.set(bucket.subarray(o, o + grads.get(n)!.length));
    o += grads.get(n)!.length;
  }
  for (const [n, { rows, width }] of packed) {
    const g = grads.get(n)!;
    for (const r of rows) {
      g.set(bucket.subarray(o, o + width), r * width);
      o += width;
    }
  }
  // Map order is the manifest's parameter order, the same on every rank.
  for (const n of names) if (!sparse.has(n) && grads.get(n)!.length >= bucketElements) collective.allreduceSum(grads.get(n)!);
  return { loss: bucket[o], targets: bucket[o + 1] };
}

/** The item embedding parameter of every model of this project: [V+1, d], row 0 the padding id. */
export const ITEM_EMBEDDING = 'item_emb';

/**
 * Whether the item-embedding gradient of these artifacts is zero outside the rows a batch
 * touches, so that only those rows need exchanging: true for the losses that score only
 * the batch's own items (bce: pos and neg; sampled-softmax: pos and negs), false for
 * full-ce, whose softmax over the whole catalogue gives every row a non-zero gradient.
 * The inputs read the embedding by row (gather of seq) in both models.
 */
export function sparseItemExchange(manifest: { loss: string; params: readonly { name: string; shape: readonly number[] }[] }): boolean {
  return manifest.loss !== 'full-ce' && manifest.params.some((p) => p.name === ITEM_EMBEDDING && p.shape.length === 2);
}

/**
 * The item-embedding rows a global batch touches: every id in seq, pos, neg and negs (the
 * padding id 0 included when present), sorted, each once. Every rank draws the same global
 * batch, so every rank computes the same rows without communication. `rows` is V+1.
 */
export function touchedItemRows(batch: TrainBatch, rows: number): Int32Array {
  const seen = new Uint8Array(rows);
  for (const a of [batch.seq, batch.pos, batch.neg, batch.negs]) {
    if (!a) continue;
    for (let i = 0; i < a.length; i++) {
      const id = Number(a[i]);
      if (!(id >= 0 && id < rows)) throw new RangeError(`item id ${id} is outside the item embedding's ${rows} rows`);
      seen[id] = 1;
    }
  }
  let n = 0;
  for (let i = 0; i < rows; i++) n += seen[i];
  const out = new Int32Array(n);
  for (let i = 0, k = 0; i < rows; i++) if (seen[i]) out[k++] = i;
  return out;
}

/**
 * distributedStep's `sparseRows` for a global batch: the item-embedding rows it touches
 * when sparseItemExchange holds for the session's artifacts, else undefined (dense exchange).
 */
export function sparseRowsFor(session: TrainingSession, batch: TrainBatch): Map<string, Int32Array> | undefined {
  if (!sparseItemExchange(session.manifest)) return undefined;
  const rows = session.manifest.params.find((p) => p.name === ITEM_EMBEDDING)!.shape[0];
  return new Map([[ITEM_EMBEDDING, touchedItemRows(batch, rows)]]);
}

/** Number of target positions (pos != 0) in a `pos` array: the loss denominator |M|. */
export function countTargets(pos: BigInt64Array): number {
  let n = 0;
  for (let i = 0; i < pos.length; i++) if (pos[i] !== 0n) n++;
  return n;
}

/**
 * Rows [start, end) of a batch, with its target count recomputed. Shared negatives
 * (`negs` [R], one block for the whole batch) are kept whole: every slice of the global
 * batch scores against the same block, as the one-process batch does.
 */
export function sliceRows(batch: TrainBatch, start: number, end: number): TrainBatch {
  const { batchSize: B, maxlen: L, numNegatives: R } = batch;
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= B)) throw new RangeError(`sliceRows: rows [${start}, ${end}) are not inside a batch of ${B}`);
  const rows = (a: BigInt64Array, width: number) => a.slice(start * width, end * width);
  const out: TrainBatch = { ...batch, seq: rows(batch.seq, L), pos: rows(batch.pos, L), batchSize: end - start, realTokens: 0 };
  if (batch.neg) out.neg = rows(batch.neg, L);
  if (batch.negs) out.negs = batch.sharedNegatives ? batch.negs : rows(batch.negs, L * R);
  if (batch.ts_ext) out.ts_ext = rows(batch.ts_ext, L + 1);
  if (batch.action) out.action = rows(batch.action, L);
  if (batch.profile) out.profile = rows(batch.profile, batch.profile.length / B);
  out.realTokens = countTargets(out.pos);
  return out;
}

/**
 * This rank's share of a global batch of B rows, as `gradAccum` micro-batches: rank r takes
 * the contiguous rows [⌊rB/p⌋, ⌊(r+1)B/p⌋) and splits them the same way into M pieces.
 * Needs B >= p·M so that no piece is empty. Returns the pieces in order.
 */
export function shardBatch(batch: TrainBatch, rank: number, size: number, gradAccum = 1): TrainBatch[] {
  return shardRows(batch.batchSize, rank, size, gradAccum).map(([lo, hi]) => sliceRows(batch, lo, hi));
}

/**
 * The row ranges [start, end) of shardBatch: this rank's `gradAccum` pieces of a global
 * batch of B rows. Throws RangeError when B < size·gradAccum (an empty piece).
 */
export function shardRows(B: number, rank: number, size: number, gradAccum = 1): [number, number][] {
  if (!(Number.isInteger(rank) && Number.isInteger(size) && 0 <= rank && rank < size)) throw new RangeError(`shardBatch: rank ${rank} of ${size}`);
  if (!(Number.isInteger(gradAccum) && gradAccum >= 1)) throw new RangeError(`shardBatch: gradient accumulation must be a positive integer, got ${gradAccum}`);
  if (B < size * gradAccum) {
    throw new RangeError(`a global batch of ${B} rows cannot be split over ${size} ranks × ${gradAccum} micro-batches; use a batch size of at least ${size * gradAccum}`);
  }
  const lo = Math.floor((rank * B) / size);
  const hi = Math.floor(((rank + 1) * B) / size);
  const n = hi - lo;
  return Array.from({ length: gradAccum }, (_, m) => [lo + Math.floor((m * n) / gradAccum), lo + Math.floor(((m + 1) * n) / gradAccum)]);
}

/**
 * The training graph's batch feeds for a batch: int64 tensors seq/pos/neg [b, L],
 * negs [b, L, R] (or [R] shared) and ts_ext [b, L+1], for each name in `inputs` (the
 * graph's input names; names the graph does not take are left out).
 */
export function batchFeeds(batch: TrainBatch, inputs: readonly string[]): Feeds {
  const { batchSize: b, maxlen: L, numNegatives: R } = batch;
  const want = new Set(inputs);
  const feeds: Feeds = {};
  const add = (name: string, data: BigInt64Array | undefined, dims: number[]) => {
    if (want.has(name) && data) feeds[name] = new ort.Tensor('int64', data, dims);
  };
  add('seq', batch.seq, [b, L]);
  add('pos', batch.pos, [b, L]);
  add('neg', batch.neg, [b, L]);
  add('negs', batch.negs, batch.sharedNegatives ? [R] : [b, L, R]);
  add('ts_ext', batch.ts_ext, [b, L + 1]);
  add('action', batch.action, [b, L]);
  if (batch.profile) add('profile', batch.profile, [b, batch.profile.length / b]);
  return feeds;
}

/**
 * This rank's micro-batches of a global batch, ready for distributedStep (see shardBatch).
 * A training graph with dropout also gets `row_offset`, the global index of the piece's first
 * row, so each row draws the dropout mask it has in the one-process run of the whole batch.
 */
export function microBatches(batch: TrainBatch, session: TrainingSession, collective: Collective, gradAccum = 1): MicroBatch[] {
  const inputs = session.manifest.graphs.training.inputs.map((i) => i.name);
  const offsets = inputs.includes(CONTROL.rowOffset);
  return shardRows(batch.batchSize, collective.rank, collective.size, gradAccum)
    .map(([lo, hi]) => ({ lo, b: sliceRows(batch, lo, hi) }))
    .map(({ lo, b }) => ({ feeds: { ...batchFeeds(b, inputs), ...(offsets ? { [CONTROL.rowOffset]: new ort.Tensor('int64', BigInt64Array.of(BigInt(lo)), []) } : {}) }, targets: b.realTokens }));
}

/**
 * Makes every rank start from rank 0's state: broadcasts the parameters (and, with
 * `optimizerState`, the AdamW moments m and v, the step counter and the dropout seed) in
 * manifest order, in place. Call it on every rank after loading the same artifacts.
 */
export function broadcastParameters(session: TrainingSession, collective: Collective, options: { optimizerState?: boolean } = {}): void {
  if (collective.size === 1) return;
  for (const name of session.paramNames) {
    collective.broadcast(session.params.get(name)!.current.data as Float32Array, 0);
    // A session without moments (ZeRO-1): the ZeroOptimizer distributes its shards itself.
    if (options.optimizerState && session.m.size > 0) {
      collective.broadcast(session.m.get(name)!.current.data as Float32Array, 0);
      collective.broadcast(session.v.get(name)!.current.data as Float32Array, 0);
    }
  }
  if (options.optimizerState) {
    const counters = Float64Array.of(session.step, session.seed);
    collective.broadcast(new Uint8Array(counters.buffer), 0);
    [session.step, session.seed] = [counters[0], counters[1]];
  }
}

/**
 * `root`'s JSON-serialisable `value` on every rank (two broadcasts: the UTF-8 length as a
 * float64, then the bytes). Other ranks pass any value of the same type; it is ignored.
 */
export function broadcastJson<T>(collective: Collective, value: T, root = 0): T {
  if (collective.size === 1) return value;
  const mine = collective.rank === root ? new TextEncoder().encode(JSON.stringify(value)) : null;
  const len = Float64Array.of(mine?.length ?? 0);
  collective.broadcast(new Uint8Array(len.buffer), root);
  const buf = mine ?? new Uint8Array(len[0]);
  collective.broadcast(buf, root);
  return mine ? value : (JSON.parse(new TextDecoder().decode(buf)) as T);
}

/** sha256 (hex) of the parameters: names, shapes and float32 bytes, in manifest order. */
export function parameterChecksum(session: TrainingSession): string {
  const h = createHash('sha256');
  const values = session.parameterValues();
  for (const p of session.manifest.params) {
    const v = values.get(p.name)!;
    h.update(`${p.name}[${p.shape.join(',')}]`);
    h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return h.digest('hex');
}

/**
 * Checks that every rank holds the same parameters (at checkpoints: ranks that drifted
 * apart would each save a different model). Rank 0's checksum is broadcast, each rank
 * compares its own, and the verdicts are allreduced, so every rank returns or throws
 * together. Returns the checksum; throws DataParallelError naming the ranks that differ.
 */
export function verifyParametersAgree(session: TrainingSession, collective: Collective): string {
  const mine = parameterChecksum(session);
  if (collective.size === 1) return mine;
  const root = new Uint8Array(Buffer.from(mine, 'hex'));
  collective.broadcast(root, 0);
  const differs = new Float32Array(collective.size);
  differs[collective.rank] = Buffer.from(root).toString('hex') === mine ? 0 : 1;
  collective.allreduceSum(differs);
  const bad = [...differs.keys()].filter((r) => differs[r] !== 0);
  if (bad.length) {
    throw new DataParallelError(`parameters differ across ranks at step ${session.step}: rank${bad.length > 1 ? 's' : ''} ${bad.join(', ')} disagree${bad.length > 1 ? '' : 's'} with rank 0 (checksum ${Buffer.from(root).toString('hex').slice(0, 12)}…); stopping`);
  }
  return mine;
}
