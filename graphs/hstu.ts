/**
 * hstu (MODELS.md §3): Meta's HSTU encoder (SequentialTransductionUnitJagged, rel_bias
 * normalisation) on left-padded batches: fused uvqk projection with SiLU, pointwise
 * silu(qk + rab)/n attention without softmax, u ⊙ LayerNorm(attention), relative position
 * and time-bucket biases per layer, L2-normalised outputs.
 */
import { Graph, Tensor } from '../src/dsl/graph.js';
import * as F from '../src/dsl/index.js';
import { HstuConfig, resolveHstuConfig } from './config.js';
import { batchInputSpecs, buildLoss, causalMask, declareInputs, inferenceHead, inferenceSeq, int64Const, mergeHeads, setTrainingOutputs, splitHeads, trainingDropout } from './common.js';
import { Dropout } from './dropout.js';
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
 * Time buckets (§3.3) from ts_ext [batch, L+1] int64: [batch, L, L] int64 with
 * bucket[b,t,j] = clamp(floor(ln(max(|ts[t+1] − ts[j]|, 1)) / bucket_div), 0, num_buckets),
 * the log taken in float32 as the official code does.
 */
export function timeBuckets(tsExt: Tensor, c: HstuConfig): Tensor {
  const L = c.maxlen;
  const next = F.unsqueeze(F.slice(tsExt, [1], [1], [L + 1]), [2]); // query side: the next item's time
  const own = F.unsqueeze(F.slice(tsExt, [1], [0], [L]), [1]);
  const dt = F.max(F.abs(F.sub(next, own)), 1);
  const b = F.floor(F.div(F.log(F.cast(dt, 'float32')), c.bucket_div));
  // ln(1) = 0 keeps b >= 0; the upper clamp happens before the cast so huge gaps stay in range.
  return F.cast(F.min(b, c.num_buckets), 'int64');
}

/** p[b, t] = max(t − (L − n_b), 0): the position counted from the oldest kept item (§3.4). */
export function positionIndex(valid: Tensor, L: number): Tensor {
  const g = valid.graph;
  const n = F.reduceSum(F.cast(valid, 'int64'), [1], true); // [batch, 1]
  return F.max(F.add(int64Const(g, [L], (t) => t - L), n), F.scalar(g, 0, 'int64'));
}

/** The encoder (§3.4): seq [batch, L], ts_ext [batch, L+1] → F [batch, L, d], L2-normalised, 0 at padding. */
export function hstuEncoder(c: HstuConfig, P: HstuParams, seq: Tensor, tsExt: Tensor, drop: Dropout): Tensor {
  const g = seq.graph;
  const { maxlen: L, n_heads: H, dqk, dv, dim: d } = c;
  const valid = F.not(F.equal(seq, 0)); // [batch, L]
  const vf = F.unsqueeze(F.cast(valid, 'float32'), [2]); // [batch, L, 1]
  let x = g.scope('embed', () => {
    const e = F.add(F.mul(F.gather(P.item_emb, seq, 0), Math.sqrt(d)), F.gather(P.pos_emb, positionIndex(valid, L), 0));
    return F.mul(drop.apply(e), vf);
  });
  const { relIdx, bucket, attnScale } = g.scope('attn_bias', () => {
    const relIdx = int64Const(g, [L, L], (i) => L - 1 + (i % L) - Math.floor(i / L)); // (L−1) + j − t
    const bucket = c.time_bias ? timeBuckets(tsExt, c) : null;
    // allow[b,t,j] = (j <= t) and valid[b,j], with the 1/n divisor folded in: [batch, 1, L, L]
    const allow = F.and(causalMask(g, L), F.unsqueeze(valid, [1]));
    const attnScale = F.unsqueeze(F.mul(F.cast(allow, 'float32'), 1 / c.attn_divisor), [1]);
    return { relIdx, bucket, attnScale };
  });
  const onesD = g.constant(new Float32Array(d).fill(1), 'float32', [d]);
  const onesV = g.constant(new Float32Array(H * dv).fill(1), 'float32', [H * dv]);
  const ln = (t: Tensor, ones: Tensor) => F.layerNormalization(t, ones, null, -1, c.ln_eps)[0];
  P.layers.forEach((p, i) => {
    x = g.scope(`layers.${i}`, () => {
      const h = F.silu(F.matmul(ln(x, onesD), p.uvqk));
      const [u, v, q, k] = F.split(h, -1, [H * dv, H * dv, H * dqk, H * dqk]);
      const qk = F.matmul(splitHeads(q, L, H, dqk), splitHeads(k, L, H, dqk, true)); // [batch, H, L, L]
      const relPos = F.gather(p.rab_pos, relIdx, 0); // [L, L]
      // [batch, 1, L, L] with the time bias; [L, L] (broadcast over batch and heads) without.
      const rab = p.rab_ts && bucket ? F.unsqueeze(F.add(relPos, F.gather(p.rab_ts, bucket, 0)), [1]) : relPos;
      const a = F.mul(F.silu(F.add(qk, rab)), attnScale);
      const o = mergeHeads(F.matmul(a, splitHeads(v, L, H, dv)), L, H, dv); // [batch, L, H·dv]
      const y = drop.apply(F.mul(u, ln(o, onesV)));
      return F.add(F.add(F.matmul(y, p.wo), p.bo), x);
    });
  });
  return F.l2Normalize(F.mul(x, vf), c.l2_eps);
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
  buildTraining(g, c, loss, opts) {
    const P = declareHstuParams(g, c);
    const inputs = declareInputs(g, batchInputSpecs(c, loss));
    const drop = trainingDropout(g, c.dropout, opts);
    const f = hstuEncoder(c, P, inputs.seq, inputs.ts_ext, drop);
    return { loss: setTrainingOutputs(g, f, buildLoss(c, loss, f, P.item_emb, inputs), opts) };
  },
  buildInference(g, c) {
    const P = declareHstuParams(g, c);
    const seq = inferenceSeq(g, c);
    const tsExt = g.input('ts_ext', 'int64', ['batch', c.maxlen + 1]);
    return inferenceHead(c, hstuEncoder(c, P, seq, tsExt, Dropout.none()), P.item_emb);
  },
};
