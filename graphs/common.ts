/** Pieces both models share: batch inputs, the loss dispatch, dropout set-up and the inference head. */
import { BATCH, CONTROL, DIM, OUTPUT } from '../src/contract/artifacts.js';
import { Graph, InitSpec, Tensor } from '../src/dsl/graph.js';
import * as op from '../src/dsl/index.js';
import { int64s } from '../src/dsl/ops/util.js';
import type { Dim } from '../src/dsl/types.js';
import { ConfigError, LlamaSasrecConfig, ModelConfig } from './config.js';
import { Dropout } from './dropout.js';
import { featureInputSpecs, needsTimes } from './features.js';
import { fullCe, itemVectors, officialBce, sampledSoftmax, seedBce, LossOutput } from './losses.js';
import { BuildOptions, InferenceGraph, InputSpec, LossName } from './types.js';

/** Float32's lowest value: the score of the padding column, so it never outranks an item. */
export const LOWEST_FLOAT32 = -3.4028234663852886e38;

/**
 * Batch inputs of a training graph: seq, ts_ext (HSTU, llama's time gaps), the loss's targets,
 * then the feature inputs (graphs/features.ts). The sequence length is the symbolic T (any
 * 1 ≤ T ≤ maxlen per batch; ts_ext is [batch, T+1]).
 */
export function batchInputSpecs(c: ModelConfig, loss: LossName): InputSpec[] {
  const T = DIM.seq;
  const B = DIM.batch;
  const specs: InputSpec[] = [{ name: BATCH.seq, dtype: 'int64', shape: [B, T] }];
  if (c.model === 'hstu' || needsTimes(c)) specs.push({ name: BATCH.tsExt, dtype: 'int64', shape: [B, DIM.seqNext] });
  specs.push({ name: BATCH.pos, dtype: 'int64', shape: [B, T] });
  switch (loss) {
    case 'bce':
      specs.push({ name: BATCH.neg, dtype: 'int64', shape: [B, T] });
      break;
    case 'sampled-softmax':
      specs.push({ name: BATCH.negs, dtype: 'int64', shape: c.shared_negatives ? [c.num_negatives] : [B, T, c.num_negatives] });
      break;
    case 'full-ce':
      break;
    default:
      throw new ConfigError(`unknown loss '${loss as string}'; known losses: bce, sampled-softmax, full-ce`);
  }
  return [...specs, ...featureInputSpecs(c, B)];
}

export function declareInputs(g: Graph, specs: InputSpec[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const s of specs) out[s.name] = g.input(s.name, s.dtype, s.shape);
  return out;
}

/**
 * Declares `seed` and `step` (and, with dropout, `row_offset`) on training graphs and returns the dropout to use: `rate` by
 * default; `siteRates` are other rates some sites use, which also make dropout active.
 */
export function trainingDropout(g: Graph, rate: number, opts: BuildOptions, siteRates: number[] = []): Dropout {
  if (!opts.training) return Dropout.none();
  const seed = g.input(CONTROL.seed, 'int64', []);
  const step = g.input(CONTROL.step, 'int64', []);
  if (!(rate > 0 || siteRates.some((r) => r > 0))) return Dropout.none();
  return Dropout.training(rate, seed, step, g.input(CONTROL.rowOffset, 'int64', []));
}

/** The configured loss on the encoder output `f` [batch, L, d]. */
export function buildLoss(c: ModelConfig, loss: LossName, f: Tensor, itemEmb: Tensor, inputs: Record<string, Tensor>): LossOutput {
  const g = f.graph;
  // Smoothing is defined over a full catalogue softmax; a sampled one would smooth over R negatives.
  if (c.label_smoothing !== undefined && loss !== 'full-ce') throw new ConfigError(`label_smoothing applies to --loss full-ce only (this model's loss: ${loss})`);
  return g.scope(`loss_${loss}`, () => {
    const items = itemVectors(itemEmb, c);
    switch (loss) {
      case 'bce':
        return c.bce_variant === 'official'
          ? officialBce(f, itemEmb, items, inputs.pos, inputs.neg, c.temperature)
          : seedBce(f, items, inputs.pos, inputs.neg, c.temperature);
      case 'sampled-softmax':
        return sampledSoftmax(f, items, inputs.pos, inputs.negs, c.temperature);
      case 'full-ce':
        return fullCe(f, items, inputs.pos, c.temperature, c.label_smoothing ?? 0);
    }
  });
}

/** Sets `loss` and, when asked, the debug outputs (`seq_emb` and the loss's logits). */
export function setTrainingOutputs(g: Graph, f: Tensor, out: LossOutput, opts: BuildOptions): Tensor {
  g.output(OUTPUT.loss, out.loss);
  if (opts.debugOutputs) {
    g.output('seq_emb', f);
    for (const [name, t] of Object.entries(out.debug)) g.output(name, t);
  }
  return out.loss;
}

/**
 * Declares the inference graph's `seq` input [batch, T] int64 (any T ≤ maxlen) and returns it with every id < 0
 * read as padding (0). Without this, Gather's negative indexing would read id −1 as item V (the
 * last row of the item embedding) and a caller's "missing" marker would silently become a real
 * item. Ids above V still fail in Gather with onnxruntime's out-of-bounds error.
 */
export function inferenceSeq(g: Graph): Tensor {
  const seq = g.input('seq', 'int64', [DIM.batch, DIM.seq]);
  return g.scope('inference_input', () => op.max(seq, 0));
}

/**
 * The inference outputs from the encoder output `f` [batch, T, d]: the user embedding
 * (the last slot, T−1), scores over ids 0..V with the loss's item vectors and temperature (column 0
 * forced to the lowest float), and the top k items over ids 1..V with `k` an int64 [1] input
 * (see servingTopK: k is clamped to V, padding is never returned, 0 rows give empty outputs).
 */
export function inferenceHead(c: ModelConfig, f: Tensor, itemEmb: Tensor): InferenceGraph {
  const g = f.graph;
  const k = g.input('k', 'int64', [1]);
  return g.scope('inference', () => {
    const last = g.addNode('Slice', [f, int64s(g, [-1]), int64s(g, [SLICE_END]), int64s(g, [1])], {}, [{ dtype: f.dtype, shape: [f.shape[0], 1, f.shape[2]] }])[0];
    const userEmb = op.squeeze(last, [1]); // [batch, d]
    const items = itemVectors(itemEmb, c);
    const q = c.temperature === 1 ? userEmb : op.mul(userEmb, 1 / c.temperature);
    const raw = op.matmul(q, op.transpose(items, [1, 0])); // [batch, V+1]
    const isPad = new Uint8Array(c.num_items + 1);
    isPad[0] = 1;
    const scores = op.where(g.constant(isPad, 'bool', [c.num_items + 1]), op.scalar(g, LOWEST_FLOAT32), raw);
    const [topScores, topItems] = servingTopK(scores, k, c.num_items);
    g.output('user_emb', userEmb);
    g.output('scores', scores);
    g.output('top_items', topItems);
    g.output('top_scores', topScores);
    return { userEmb, scores, topItems, topScores };
  });
}

/**
 * TopK for serving, from scores [batch, V+1] (column = item id) and k int64 [1]:
 * - only the item columns 1..V are ranked, so the padding item 0 is never returned, whatever k
 *   and whatever the scores (NaN included);
 * - k is clamped to V (Min), so a k larger than the catalogue returns every item once instead of
 *   failing;
 * - onnxruntime's TopK divides by the row count and dies on 0 rows (SIGFPE in onnxruntime-node,
 *   "divide by zero" in onnxruntime-web), so one spare row is appended before it and sliced off
 *   after: a batch of 0 rows gives [0, k] outputs.
 * Returns [top scores float32 [batch, k], top item ids int64 [batch, k]]. Default-domain ops only.
 */
export function servingTopK(scores: Tensor, k: Tensor, V: number): [Tensor, Tensor] {
  const g = scores.graph;
  const batch = scores.shape[0];
  const itemScores = op.slice(scores, [1], [1], [V + 1]); // [batch, V]: column j is item j + 1
  const kClamped = op.min(k, int64s(g, [V]));
  const spare = op.constantOfShape(int64s(g, [1, V]), 0, 'float32', [1, V]);
  const [values, indices] = op.topK(op.concat([itemScores, spare], 0), kClamped, -1, 'k');
  // Drop the spare row; the output keeps the input's batch dim (Slice cannot express it).
  const dropSpare = (t: Tensor) => g.addNode('Slice', [t, int64s(g, [0]), int64s(g, [-1]), int64s(g, [0])], {}, [{ dtype: t.dtype, shape: [batch, values.shape[1]] }])[0];
  return [dropSpare(values), op.add(dropSpare(indices), 1)];
}

/** int64 constant of `shape` filled by `fn(flat index)`. */
export function int64Const(g: Graph, shape: number[], fn: (i: number) => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return g.constant(BigInt64Array.from({ length: n }, (_, i) => BigInt(fn(i))), 'int64', shape);
}

/** An `ends` value of Slice meaning "to the end of the axis" (ONNX clamps it). */
const SLICE_END = Number.MAX_SAFE_INTEGER;

/** Causal mask [L, L] (bool): allowed[t, j] = j <= t. */
export function causalMask(g: Graph, L: number): Tensor {
  const data = new Uint8Array(L * L);
  for (let t = 0; t < L; t++) for (let j = 0; j <= t; j++) data[t * L + j] = 1;
  return g.constant(data, 'bool', [L, L]);
}

/**
 * p[b, t] = max(t − (T − n_b), 0) for valid [batch, T] (bool, left-padded rows of n_b items):
 * the position counted from the oldest kept item (docs/models.md §3.4), whatever the padding before it.
 */
export function positionIndex(valid: Tensor): Tensor {
  const g = valid.graph;
  const n = op.reduceSum(op.cast(valid, 'int64'), [1], true); // [batch, 1]
  const T = seqLength(valid);
  const t = op.range(op.scalar(g, 0, 'int64'), T, op.scalar(g, 1, 'int64'), valid.shape[1]); // [T]
  return op.max(op.add(op.sub(t, T), n), op.scalar(g, 0, 'int64'));
}

/**
 * The input of an encoder with learned absolute positions (HSTU, the SASRec block):
 * (tokens · sqrt(d) + posEmb[p]) through dropout, zeroed at padding, with p counted from the
 * oldest kept item (positionIndex).
 * @param tokens [batch, T, d] float32 token embeddings
 * @param posEmb [L, d] float32 position table (L ≥ T)
 * @param valid [batch, T] bool, false at padding
 * @param keep [batch, T, 1] float32, valid as 1/0
 * @returns [batch, T, d] float32
 */
export function embedWithPositions(tokens: Tensor, posEmb: Tensor, valid: Tensor, keep: Tensor, drop: Dropout): Tensor {
  const e = op.add(op.mul(tokens, Math.sqrt(tokens.shape[2] as number)), op.gather(posEmb, positionIndex(valid), 0));
  return op.mul(drop.apply(e), keep);
}

/** T, the batch's sequence length, as an int64 scalar read from the shape of `seq` [batch, T] at run time. */
export function seqLength(seq: Tensor): Tensor {
  const g = seq.graph;
  return op.gather(op.shapeOf(seq), op.scalar(g, 1, 'int64'), 0);
}

/**
 * The last T entries of `table` along each of `axes` (each of static size L = maxlen): a
 * constant built once at maxlen, cut at run time to the batch's sequence length T (an int64
 * scalar, T ≤ L). Rows [L−T, L) are the slots a left-padded row of length L puts its last
 * T items in, so a trimmed batch reads exactly the values the untrimmed one reads at the
 * same items: the causal mask's and the (L−1) + j − t index table's bottom-right block, the
 * RoPE angles of the same slot indices. The result's sliced dims are named `dim` (T); a
 * static `dim` equal to the table's size (a fixed-length graph, e.g. a model with feature
 * inputs) returns the table itself. Throws for an axis whose size is not static.
 */
export function lastRows(table: Tensor, axes: number[], T: Tensor, dim: Dim = DIM.seq): Tensor {
  const g = table.graph;
  // A static sequence dim is the table's own size (a fixed-length graph): nothing to cut.
  if (typeof dim === 'number' && axes.every((a) => table.shape[a] === dim)) return table;
  const sizes = axes.map((a) => {
    const d = table.shape[a];
    if (typeof d !== 'number') throw new Error(`lastRows: axis ${a} of ${table.name} must be static`);
    return d;
  });
  const starts = op.sub(int64s(g, sizes), T); // [n]: L − T per axis
  const shape = table.shape.map((d, i) => (axes.includes(i) ? dim : d));
  return g.addNode('Slice', [table, starts, int64s(g, sizes), int64s(g, axes)], {}, [{ dtype: table.dtype, shape }])[0];
}

/**
 * x[:, start : end] along axis 1 of a [batch, T + k, ...] tensor whose result is known to
 * have T entries there (e.g. ts_ext [batch, T+1] without its first or last column), named
 * `dim` (default the batch's T; a profile model's encoder runs on P + T, graphs/features.ts).
 * `end` may be negative (counted from the end, as ONNX's Slice does). A static axis 1 (a
 * fixed-length graph) gives a static slice.
 */
export function sliceToSeq(x: Tensor, start: number, end: number, dim: Dim = DIM.seq): Tensor {
  const g = x.graph;
  const n = x.shape[1];
  if (typeof n === 'number') return op.slice(x, [1], [start], [end < 0 ? n + end : Math.min(end, n)]);
  const shape = x.shape.map((d, i) => (i === 1 ? dim : d));
  return g.addNode('Slice', [x, int64s(g, [start]), int64s(g, [end]), int64s(g, [1])], {}, [{ dtype: x.dtype, shape }])[0];
}

/** [batch, T, H·w] → [batch, H, T, w] (or [batch, H, w, T] with `keysT`); `L` is the dim of x's axis 1. */
export function splitHeads(x: Tensor, L: Dim, H: number, w: number, keysT = false): Tensor {
  return op.transpose(op.reshape(x, [x.shape[0], L, H, w]), keysT ? [0, 2, 3, 1] : [0, 2, 1, 3]);
}

/** [batch, H, T, w] → [batch, T, H·w] (head-major columns). */
export function mergeHeads(x: Tensor, L: Dim, H: number, w: number): Tensor {
  return op.reshape(op.transpose(x, [0, 2, 1, 3]), [x.shape[0], L, H * w]);
}

/**
 * The initialisation of wq, wk, wv [d, d] (docs/models.md §2.2): N(0, 0.02²) by default, or with
 * `qkv_init: 'xavier'` U(±sqrt(6 / 4d)), the xavier-uniform bound of torch.nn.MultiheadAttention's
 * fused in-projection [3d, d] (fan_in d + fan_out 3d), which SASRec+ (Klenitskiy and Vasilev,
 * RecSys 2023) keeps. Each parameter has its own seeded stream, so the others' values do not change.
 */
export function qkvInit(c: LlamaSasrecConfig): InitSpec {
  return c.qkv_init === 'xavier' ? { kind: 'uniform', bound: Math.sqrt(6 / (4 * c.dim)) } : { kind: 'normal', std: 0.02 };
}
