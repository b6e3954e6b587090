/**
 * hstu (docs/models.md §3; the § numbers below are its sections): Meta's HSTU encoder
 * (SequentialTransductionUnitJagged, rel_bias normalisation) on left-padded batches: fused
 * uvqk projection with SiLU, pointwise silu(qk + rab)/n attention without softmax,
 * u ⊙ LayerNorm(attention), relative position and time-bucket biases per layer,
 * L2-normalised outputs.
 */
import { Graph, Tensor } from '../src/dsl/graph.js';
import * as op from '../src/dsl/index.js';
import { HstuConfig, resolveHstuConfig } from './config.js';
import { DIM } from '../src/contract/artifacts.js';
import type { Dim } from '../src/dsl/types.js';
import { batchInputSpecs, buildLoss, causalMask, declareInputs, embedWithPositions, inferenceHead, inferenceSeq, int64Const, lastRows, mergeHeads, seqLength, setTrainingOutputs, sliceToSeq, splitHeads, trainingDropout } from './common.js';
import { Dropout } from './dropout.js';
import { encodeEvents, inferenceFeatureInputs, sequenceConfig } from './features.js';
import { ModelDefinition } from './types.js';

export interface HstuLayerParams {
  uvqk: Tensor;
  wo: Tensor;
  bo: Tensor;
  rab_pos: Tensor;
  /** Absent with time_bias = false. */
  rab_ts: Tensor | null;
}

export interface HstuParams {
  item_emb: Tensor;
  pos_emb: Tensor;
  layers: HstuLayerParams[];
}

/** Declares the parameters in the reference's order, with the official initialisation (§3.2). */
export function declareHstuParams(g: Graph, c: HstuConfig): HstuParams {
  const { dim: d, maxlen: L, n_heads: H, dv } = c;
  const item_emb = g.param('item_emb', [c.num_items + 1, d], { kind: 'truncated_normal', std: 0.02 }, { zeroGradRows: [0] });
  const pos_emb = g.param('pos_emb', [L, d], { kind: 'normal', std: Math.sqrt(2 / (L + d)) }); // xavier normal
  const layers: HstuLayerParams[] = [];
  for (let i = 0; i < c.n_layers; i++) {
    const p = `layers.${i}.`;
    layers.push({
      uvqk: g.param(`${p}uvqk`, [d, c.uvqk_width], { kind: 'normal', std: 0.02 }),
      wo: g.param(`${p}wo`, [H * dv, d], { kind: 'uniform', bound: Math.sqrt(6 / (H * dv + d)) }), // xavier uniform
      bo: g.param(`${p}bo`, [d], { kind: 'uniform', bound: 1 / Math.sqrt(H * dv) }), // torch Linear bias
      rab_pos: g.param(`${p}rab_pos`, [2 * L - 1], { kind: 'normal', std: 0.02 }),
      rab_ts: c.time_bias ? g.param(`${p}rab_ts`, [c.num_buckets + 1], { kind: 'normal', std: 0.02 }) : null,
    });
  }
  return { item_emb, pos_emb, layers };
}

/**
 * Time buckets (§3.3) from ts_ext [batch, T+1] int64: [batch, T, T] int64 with
 * bucket[b,t,j] = clamp(floor(ln(max(|ts[t+1] − ts[j]|, 1)) / bucket_div), 0, num_buckets),
 * the log taken in float32 as the official code does. `dim` names T (the encoder's length: the
 * batch's T, or P + T with a profile prefix, graphs/features.ts).
 */
export function timeBuckets(tsExt: Tensor, c: HstuConfig, dim: Dim = DIM.seq): Tensor {
  const next = op.unsqueeze(sliceToSeq(tsExt, 1, Number.MAX_SAFE_INTEGER, dim), [2]); // query side: the next item's time
  const own = op.unsqueeze(sliceToSeq(tsExt, 0, -1, dim), [1]);
  const dt = op.max(op.abs(op.sub(next, own)), 1);
  const b = op.floor(op.div(op.log(op.cast(dt, 'float32')), c.bucket_div));
  // ln(1) = 0 keeps b >= 0; the upper clamp happens before the cast so huge gaps stay in range.
  return op.cast(op.min(b, c.num_buckets), 'int64');
}

/**
 * HSTU's relative attention bias for one layer (RelativeBucketedTimeAndPositionBasedBias in
 * Meta's generative-recommenders): rab[t, j] = rab_pos[(L−1) + j − t] + rab_ts[bucket[t, j]].
 *
 * @param relIdx [T, T] int64, (L−1) + j − t (L = maxlen).
 * @param timeBias [batch, T, T] float32, this layer's rab_ts[bucket] (layerTimeBiases), or null without the time bias.
 * @returns [batch, 1, T, T] with the time bias; [T, T] (broadcast over batch and heads) without.
 */
export function relativeAttentionBias(p: HstuLayerParams, relIdx: Tensor, timeBias: Tensor | null): Tensor {
  const relPos = op.gather(p.rab_pos, relIdx, 0);
  return timeBias ? op.unsqueeze(op.add(relPos, timeBias), [1]) : relPos;
}

/**
 * Every layer's time bias rab_ts[bucket], [batch, T, T] float32 each, from one Gather of the
 * layers' tables side by side ([num_buckets+1, n_layers]) instead of one Gather per layer: the
 * same values and gradients. Why: a Gather's gradient is a ScatterND-add of its batch·T²
 * cotangents, and onnxruntime's CPU kernel pays per index, not per float, so one scatter of
 * n_layers-wide rows costs little more than one scalar scatter (HSTU-large, batch 128,
 * T = 200, one thread, alone: ScatterND 198 against 1192 ms a step, bench/results/throughput.md).
 *
 * @param layers the layers' parameters, each with its rab_ts [num_buckets+1].
 * @param bucket [batch, T, T] int64 time buckets (timeBuckets).
 * @throws Error when a layer has no rab_ts (a model without the time bias).
 */
export function layerTimeBiases(layers: readonly HstuLayerParams[], bucket: Tensor): Tensor[] {
  const tables = layers.map((p, i) => {
    if (!p.rab_ts) throw new Error(`layerTimeBiases: layer ${i} has no rab_ts (time_bias is off)`);
    return op.unsqueeze(p.rab_ts, [1]);
  });
  const all = op.gather(op.concat(tables, 1), bucket, 0); // [batch, T, T, n_layers]
  return op.split(all, -1, layers.map(() => 1)).map((t) => op.squeeze(t, [3]));
}

/**
 * HSTU's pointwise attention: silu(q·kᵀ + rab) scaled by `attnScale` (the allowed keys
 * with the 1/n divisor, no softmax), then · v.
 *
 * @param q [batch, T, H·dqk]; k the same; v [batch, T, H·dv].
 * @param rab [T, T] or [batch, 1, T, T], from relativeAttentionBias.
 * @param attnScale [batch, 1, T, T] float32.
 * @returns [batch, T, H·dv].
 */
function attention(q: Tensor, k: Tensor, v: Tensor, rab: Tensor, attnScale: Tensor, c: HstuConfig): Tensor {
  const { n_heads: H, dqk, dv } = c;
  const L = q.shape[1];
  const qk = op.matmul(splitHeads(q, L, H, dqk), splitHeads(k, L, H, dqk, true)); // [batch, H, L, L]
  const a = op.mul(op.silu(op.add(qk, rab)), attnScale);
  return mergeHeads(op.matmul(a, splitHeads(v, L, H, dv)), L, H, dv);
}

/**
 * The encoder (docs/models.md, "HSTU"): one sequential transduction unit per layer,
 * x + (u ⊙ LayerNorm(attention))·wo + bo, on left-padded batches.
 *
 * @param seq [batch, T] int64 (T ≤ maxlen), left-padded item ids (0 = padding), most recent last.
 * @param tsExt [batch, T+1] int64: the times of seq's items, then the target's time.
 * @param tok [batch, T, d] token embeddings replacing item_emb[seq] (graphs/features.ts).
 * @returns F [batch, T, d] float32, L2-normalised per row, 0 at padding. Trimming left
 *   padding (a smaller T) leaves the rows of real items unchanged: positions count from the
 *   oldest kept item, the relative bias reads (L−1) + j − t, padding keys are masked and the
 *   1/n divisor is the constant attn_divisor.
 */
export function hstuEncoder(c: HstuConfig, P: HstuParams, seq: Tensor, tsExt: Tensor, drop: Dropout, tok?: Tensor): Tensor {
  const g = seq.graph;
  const { maxlen: L, n_heads: H, dqk, dv, dim: d } = c;
  const valid = op.not(op.equal(seq, 0)); // [batch, T]
  const vf = op.unsqueeze(op.cast(valid, 'float32'), [2]); // [batch, T, 1]
  const T = seqLength(seq);
  let x = g.scope('embed', () => embedWithPositions(tok ?? op.gather(P.item_emb, seq, 0), P.pos_emb, valid, vf, drop));
  const { relIdx, timeBias, attnScale } = g.scope('attn_bias', () => {
    const relIdx = lastRows(int64Const(g, [L, L], (i) => L - 1 + (i % L) - Math.floor(i / L)), [0, 1], T, seq.shape[1]); // (L−1) + j − t
    const bucket = c.time_bias ? timeBuckets(tsExt, c, seq.shape[1]) : null;
    // allow[b,t,j] = (j <= t) and valid[b,j], with the 1/n divisor folded in: [batch, 1, T, T]
    const allow = op.and(lastRows(causalMask(g, L), [0, 1], T, seq.shape[1]), op.unsqueeze(valid, [1]));
    const attnScale = op.unsqueeze(op.mul(op.cast(allow, 'float32'), 1 / c.attn_divisor), [1]);
    return { relIdx, timeBias: bucket ? layerTimeBiases(P.layers, bucket) : null, attnScale };
  });
  const onesD = g.constant(new Float32Array(d).fill(1), 'float32', [d]);
  const onesV = g.constant(new Float32Array(H * dv).fill(1), 'float32', [H * dv]);
  const ln = (t: Tensor, ones: Tensor) => op.layerNormalization(t, ones, null, -1, c.ln_eps)[0];
  P.layers.forEach((p, i) => {
    x = g.scope(`layers.${i}`, () => {
      const [u, v, q, k] = op.split(op.silu(op.matmul(ln(x, onesD), p.uvqk)), -1, [H * dv, H * dv, H * dqk, H * dqk]);
      const o = attention(q, k, v, relativeAttentionBias(p, relIdx, timeBias?.[i] ?? null), attnScale, c);
      return op.add(op.add(op.matmul(drop.apply(op.mul(u, ln(o, onesV))), p.wo), p.bo), x);
    });
  });
  return op.l2Normalize(op.mul(x, vf), c.l2_eps);
}

export const hstu: ModelDefinition<HstuConfig> = {
  name: 'hstu',
  resolveConfig: resolveHstuConfig,
  adaptToData(raw, data) {
    // Without timestamps every time bucket is 0: rab_ts would be one constant per layer,
    // paid for with a [batch, L, L] gather and scatter per layer. Turn it off unless asked.
    if (data.hasTimestamps || raw.time_bias !== undefined) return { config: raw, notes: [] };
    return { config: { ...raw, time_bias: false }, notes: ['the data has no timestamps: the HSTU time bias is disabled (time_bias=false)'] };
  },
  batchInputs: (c, loss) => batchInputSpecs(c, loss),
  // Padding keys are masked, positions count from the oldest kept item, n is a constant; a
  // profile prefix sits right before the first event whatever T (graphs/features.ts).
  paddingInvariant: () => true,
  buildTraining(g, c, loss, opts) {
    // With a profile prefix, pos_emb and rab_pos cover its P slots too (sequenceConfig).
    const P = declareHstuParams(g, sequenceConfig(c));
    const inputs = declareInputs(g, batchInputSpecs(c, loss));
    const drop = trainingDropout(g, c.dropout, opts);
    const { f, items } = encodeEvents(c, P.item_emb, inputs, opts.itemFeatures, (cc, seq, ts, tok) => hstuEncoder(cc, P, seq, ts!, drop, tok));
    return { loss: setTrainingOutputs(g, f, buildLoss(c, loss, f, items, inputs), opts) };
  },
  buildInference(g, c, baked = {}) {
    const P = declareHstuParams(g, sequenceConfig(c));
    const seq = inferenceSeq(g);
    const tsExt = g.input('ts_ext', 'int64', [DIM.batch, DIM.seqNext]);
    const inputs = { seq, ts_ext: tsExt, ...inferenceFeatureInputs(g, c) };
    const { f, items } = encodeEvents(c, P.item_emb, inputs, baked.itemFeatures, (cc, s, ts, tok) => hstuEncoder(cc, P, s, ts!, Dropout.none(), tok));
    return inferenceHead(c, f, items);
  },
};
