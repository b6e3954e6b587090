/** Pieces both models share: batch inputs, the loss dispatch, dropout set-up and the inference head. */
import { BATCH, CONTROL, DIM, OUTPUT } from '../src/contract/artifacts.js';
import { Graph, Tensor } from '../src/dsl/graph.js';
import * as op from '../src/dsl/index.js';
import { ConfigError, ModelConfig } from './config.js';
import { Dropout } from './dropout.js';
import { fullCe, itemVectors, officialBce, sampledSoftmax, seedBce, LossOutput } from './losses.js';
import { BuildOptions, InferenceGraph, InputSpec, LossName } from './types.js';

/** Float32's lowest value: the score of the padding column, so it never outranks an item. */
export const LOWEST_FLOAT32 = -3.4028234663852886e38;

/** Batch inputs of a training graph: seq, ts_ext (HSTU), then the loss's targets. */
export function batchInputSpecs(c: ModelConfig, loss: LossName): InputSpec[] {
  const L = c.maxlen;
  const B = DIM.batch;
  const specs: InputSpec[] = [{ name: BATCH.seq, dtype: 'int64', shape: [B, L] }];
  if (c.model === 'hstu') specs.push({ name: BATCH.tsExt, dtype: 'int64', shape: [B, L + 1] });
  specs.push({ name: BATCH.pos, dtype: 'int64', shape: [B, L] });
  switch (loss) {
    case 'bce':
      specs.push({ name: BATCH.neg, dtype: 'int64', shape: [B, L] });
      break;
    case 'sampled-softmax':
      specs.push({ name: BATCH.negs, dtype: 'int64', shape: c.shared_negatives ? [c.num_negatives] : [B, L, c.num_negatives] });
      break;
    case 'full-ce':
      break;
    default:
      throw new ConfigError(`unknown loss '${loss as string}'; known losses: bce, sampled-softmax, full-ce`);
  }
  return specs;
}

export function declareInputs(g: Graph, specs: InputSpec[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const s of specs) out[s.name] = g.input(s.name, s.dtype, s.shape);
  return out;
}

/**
 * Declares `seed` and `step` on training graphs and returns the dropout to use: `rate` by
 * default; `siteRates` are other rates some sites use, which also make dropout active.
 */
export function trainingDropout(g: Graph, rate: number, opts: BuildOptions, siteRates: number[] = []): Dropout {
  if (!opts.training) return Dropout.none();
  const seed = g.input(CONTROL.seed, 'int64', []);
  const step = g.input(CONTROL.step, 'int64', []);
  return rate > 0 || siteRates.some((r) => r > 0) ? Dropout.training(rate, seed, step) : Dropout.none();
}

/** The configured loss on the encoder output `f` [batch, L, d]. */
export function buildLoss(c: ModelConfig, loss: LossName, f: Tensor, itemEmb: Tensor, inputs: Record<string, Tensor>): LossOutput {
  const g = f.graph;
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
        return fullCe(f, items, inputs.pos, c.temperature);
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
 * The inference outputs from the encoder output `f` [batch, L, d]: the user embedding
 * (slot L−1), scores over ids 0..V with the loss's item vectors and temperature (column 0
 * forced to the lowest float), and TopK over them with `k` an int64 [1] input.
 */
export function inferenceHead(c: ModelConfig, f: Tensor, itemEmb: Tensor): InferenceGraph {
  const g = f.graph;
  const k = g.input('k', 'int64', [1]);
  return g.scope('inference', () => {
    const L = c.maxlen;
    const userEmb = op.squeeze(op.slice(f, [1], [L - 1], [L]), [1]); // [batch, d]
    const items = itemVectors(itemEmb, c);
    const q = c.temperature === 1 ? userEmb : op.mul(userEmb, 1 / c.temperature);
    const raw = op.matmul(q, op.transpose(items, [1, 0])); // [batch, V+1]
    const isPad = new Uint8Array(c.num_items + 1);
    isPad[0] = 1;
    const scores = op.where(g.constant(isPad, 'bool', [c.num_items + 1]), op.scalar(g, LOWEST_FLOAT32), raw);
    const [topScores, topItems] = op.topK(scores, k, -1, 'k');
    g.output('user_emb', userEmb);
    g.output('scores', scores);
    g.output('top_items', topItems);
    g.output('top_scores', topScores);
    return { userEmb, scores, topItems, topScores };
  });
}

/** int64 constant of `shape` filled by `fn(flat index)`. */
export function int64Const(g: Graph, shape: number[], fn: (i: number) => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return g.constant(BigInt64Array.from({ length: n }, (_, i) => BigInt(fn(i))), 'int64', shape);
}

/** Causal mask [L, L] (bool): allowed[t, j] = j <= t. */
export function causalMask(g: Graph, L: number): Tensor {
  const data = new Uint8Array(L * L);
  for (let t = 0; t < L; t++) for (let j = 0; j <= t; j++) data[t * L + j] = 1;
  return g.constant(data, 'bool', [L, L]);
}

/** [batch, L, H·w] → [batch, H, L, w] (or [batch, H, w, L] with `keysT`). */
export function splitHeads(x: Tensor, L: number, H: number, w: number, keysT = false): Tensor {
  return op.transpose(op.reshape(x, [x.shape[0], L, H, w]), keysT ? [0, 2, 3, 1] : [0, 2, 1, 3]);
}

/** [batch, H, L, w] → [batch, L, H·w] (head-major columns). */
export function mergeHeads(x: Tensor, L: number, H: number, w: number): Tensor {
  return op.reshape(op.transpose(x, [0, 2, 1, 3]), [x.shape[0], L, H * w]);
}
