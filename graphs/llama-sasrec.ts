/**
 * llama_sasrec (docs/models.md §2; the § numbers below are its sections): the seed's
 * LLaMA2-SASRec, a pre-norm causal transformer with RMSNorm, interleaved RoPE on the
 * absolute slot index, SwiGLU FFN, and the item embedding tied as the output layer.
 */
import { Graph, Tensor } from '../src/dsl/graph.js';
import * as op from '../src/dsl/index.js';
import { LlamaSasrecConfig, resolveLlamaConfig } from './config.js';
import type { Dim } from '../src/dsl/types.js';
import { batchInputSpecs, buildLoss, causalMask, declareInputs, inferenceHead, inferenceSeq, lastRows, mergeHeads, qkvInit, seqLength, setTrainingOutputs, splitHeads, trainingDropout } from './common.js';
import { Dropout } from './dropout.js';
import { encodeEvents, inferenceFeatureInputs, sequenceConfig } from './features.js';
import { declareSasrecBlockParams, sasrecEncoder } from './sasrec-block.js';
import { ModelDefinition } from './types.js';

/** Score of a masked key: exp() of it underflows to exactly 0 after the softmax's max shift. */
const MASKED = -1e9;

export interface LlamaLayerParams {
  attn_norm: Tensor;
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  wo: Tensor;
  ffn_norm: Tensor;
  w1: Tensor;
  w3: Tensor;
  w2: Tensor;
}

export interface LlamaParams {
  item_emb: Tensor;
  layers: LlamaLayerParams[];
  final_norm: Tensor;
}

/** Declares the parameters in the reference's order, with the seed's initialisation (§2.2). */
export function declareLlamaParams(g: Graph, c: LlamaSasrecConfig): LlamaParams {
  const d = c.dim;
  const hid = c.ffn_hidden;
  const std = 0.02;
  const stdOut = 0.02 / Math.sqrt(2 * c.n_layers);
  // Row 0 (padding) takes part in the forward pass but its gradient is defined as 0.
  const item_emb = g.param('item_emb', [c.num_items + 1, d], { kind: 'normal', std }, { zeroGradRows: [0] });
  const layers: LlamaLayerParams[] = [];
  for (let i = 0; i < c.n_layers; i++) {
    const p = `layers.${i}.`;
    layers.push({
      attn_norm: g.param(`${p}attn_norm`, [d], { kind: 'ones' }),
      wq: g.param(`${p}wq`, [d, d], qkvInit(c)),
      wk: g.param(`${p}wk`, [d, d], qkvInit(c)),
      wv: g.param(`${p}wv`, [d, d], qkvInit(c)),
      wo: g.param(`${p}wo`, [d, d], { kind: 'normal', std: stdOut }),
      ffn_norm: g.param(`${p}ffn_norm`, [d], { kind: 'ones' }),
      w1: g.param(`${p}w1`, [d, hid], { kind: 'normal', std }),
      w3: g.param(`${p}w3`, [d, hid], { kind: 'normal', std: stdOut }),
      w2: g.param(`${p}w2`, [hid, d], { kind: 'normal', std }),
    });
  }
  const final_norm = g.param('final_norm', [d], { kind: 'ones' });
  return { item_emb, layers, final_norm };
}

/**
 * RoPE tables for all d columns viewed as d/2 interleaved pairs, built for L = maxlen slots and
 * cut to the batch's last T slots (T an int64 scalar): [T, d/2, 1]. Pair m of head h
 * (m = h·hd/2 + k) rotates by t·θ^(−2k/hd) at slot t. `scale` is folded in (q carries
 * 1/sqrt(hd)). A trimmed batch rotates each item by the angle of the slot it has untrimmed;
 * attention scores depend only on the offsets between slots anyway.
 */
function ropeTables(g: Graph, c: LlamaSasrecConfig, scale: number, T: Tensor, dim: Dim): [Tensor, Tensor] {
  const L = c.maxlen;
  const half = c.dim / 2;
  const hd = c.head_dim;
  const cos = new Float32Array(L * half);
  const sin = new Float32Array(L * half);
  for (let t = 0; t < L; t++) {
    for (let m = 0; m < half; m++) {
      const k = m % (hd / 2);
      const phi = t * Math.pow(c.rope_theta, (-2 * k) / hd);
      cos[t * half + m] = Math.cos(phi) * scale;
      sin[t * half + m] = Math.sin(phi) * scale;
    }
  }
  return [lastRows(g.constant(cos, 'float32', [L, half, 1]), [0], T, dim), lastRows(g.constant(sin, 'float32', [L, half, 1]), [0], T, dim)];
}

/** out[2k] = x[2k]·cos − x[2k+1]·sin, out[2k+1] = x[2k]·sin + x[2k+1]·cos, on x [batch, T, d]. */
function rope(x: Tensor, c: LlamaSasrecConfig, [cos, sin]: [Tensor, Tensor]): Tensor {
  const L = x.shape[1];
  const pairs = op.reshape(x, [x.shape[0], L, c.dim / 2, 2]);
  const [xe, xo] = op.split(pairs, -1, [1, 1]);
  const even = op.sub(op.mul(xe, cos), op.mul(xo, sin));
  const odd = op.add(op.mul(xe, sin), op.mul(xo, cos));
  return op.reshape(op.concat([even, odd], -1), [x.shape[0], L, c.dim]);
}

/**
 * The attention mask as an additive bias: 0 where a key is allowed, −1e9 where it is not;
 * [T, T] causal, or [batch, 1, T, T] with the key-padding mask (§7.1). Adding a large
 * negative (not −inf, §5) makes exp() exactly 0 there, as a Where would, but the backward
 * pass needs no masking op: the gradient of an Add passes straight through.
 */
function attentionBias(g: Graph, c: LlamaSasrecConfig, seq: Tensor, T: Tensor): Tensor {
  const causal = lastRows(causalMask(g, c.maxlen), [0, 1], T, seq.shape[1]);
  const bias = (allowed: Tensor) => op.where(allowed, op.scalar(g, 0), op.scalar(g, MASKED));
  if (!c.key_padding_mask) return bias(causal);
  const pad = op.equal(seq, 0); // [batch, T]
  // A padding key is hidden from real queries; padding queries keep every causal key (no empty row).
  const keyOk = op.or(op.not(op.unsqueeze(pad, [1])), op.unsqueeze(pad, [2])); // [batch, L(t), L(j)]
  return op.unsqueeze(bias(op.and(keyOk, causal)), [1]);
}

/** Rotary tables and attention mask shared by every layer of one encoder. */
interface AttentionContext {
  ropeQ: [Tensor, Tensor];
  ropeK: [Tensor, Tensor];
  /** [T, T], or [batch, 1, T, T] with the key-padding mask. */
  maskBias: Tensor;
}

/**
 * Causal multi-head self-attention with RoPE on q and k and the output projection:
 * h [batch, T, d] → [batch, T, d]. The 1/sqrt(hd) scale is folded into q's RoPE table;
 * the attention probabilities go through dropout at `attn_dropout`.
 */
function attention(h: Tensor, p: LlamaLayerParams, c: LlamaSasrecConfig, ctx: AttentionContext, drop: Dropout): Tensor {
  const { n_heads: H, head_dim: hd } = c;
  const L = h.shape[1];
  const q = splitHeads(rope(op.matmul(h, p.wq), c, ctx.ropeQ), L, H, hd);
  const kT = splitHeads(rope(op.matmul(h, p.wk), c, ctx.ropeK), L, H, hd, true);
  const v = splitHeads(op.matmul(h, p.wv), L, H, hd);
  const s = op.add(op.matmul(q, kT), ctx.maskBias); // [batch, H, T, T]
  const a = drop.apply(op.softmax(s, -1), c.attn_dropout);
  return op.matmul(mergeHeads(op.matmul(a, v), L, H, hd), p.wo);
}

/** SwiGLU feed-forward: h [batch, T, d] → (silu(h·w1) ⊙ h·w3)·w2, [batch, T, d]. */
function swiglu(h: Tensor, p: LlamaLayerParams): Tensor {
  return op.matmul(op.mul(op.silu(op.matmul(h, p.w1)), op.matmul(h, p.w3)), p.w2);
}

/**
 * The encoder (docs/models.md, "LLaMA2-SASRec"): a pre-norm transformer block per layer.
 *
 * @param seq [batch, T] int64 (T ≤ maxlen), left-padded item ids (0 = padding), most recent last.
 * @param tok [batch, T, d] token embeddings replacing item_emb[seq] (graphs/features.ts).
 * @returns F [batch, T, d] float32: row t encodes the prefix up to slot t (RMS-normalised).
 *   Trimming left padding (a smaller T) leaves the rows of real items unchanged only with
 *   key_padding_mask (see paddingInvariant): without it, real queries attend to padding keys.
 */
export function llamaEncoder(c: LlamaSasrecConfig, P: LlamaParams, seq: Tensor, drop: Dropout, tok?: Tensor): Tensor {
  const g = seq.graph;
  let x = g.scope('embed', () => drop.apply(op.mul(tok ?? op.gather(P.item_emb, seq, 0), Math.sqrt(c.dim))));
  const T = seqLength(seq);
  const ctx: AttentionContext = { ropeQ: ropeTables(g, c, 1 / Math.sqrt(c.head_dim), T, seq.shape[1]), ropeK: ropeTables(g, c, 1, T, seq.shape[1]), maskBias: attentionBias(g, c, seq, T) };
  P.layers.forEach((p, i) => {
    x = g.scope(`layers.${i}`, () => {
      const x1 = op.add(x, drop.apply(attention(op.rmsNorm(x, p.attn_norm, c.norm_eps), p, c, ctx, drop)));
      return op.add(x1, drop.apply(swiglu(op.rmsNorm(x1, p.ffn_norm, c.norm_eps), p)));
    });
  });
  return op.rmsNorm(x, P.final_norm, c.norm_eps);
}

/** Encodes one batch: (config with any profile slots, seq [batch, T], dropout, token embeddings) → F [batch, T, d]. */
type Encode = (c: LlamaSasrecConfig, seq: Tensor, drop: Dropout, tok?: Tensor) => Tensor;

/**
 * Declares the parameters of `c.block` (the LLaMA block, or SASRec's as an ablation,
 * graphs/sasrec-block.ts) and returns the item embedding with the encoder that reads them.
 */
function declareEncoder(g: Graph, c: LlamaSasrecConfig): { item_emb: Tensor; encode: Encode } {
  if (c.block !== 'sasrec') {
    const P = declareLlamaParams(g, c);
    return { item_emb: P.item_emb, encode: (cc, seq, drop, tok) => llamaEncoder(cc, P, seq, drop, tok) };
  }
  const item_emb = g.param('item_emb', [c.num_items + 1, c.dim], { kind: 'normal', std: 0.02 }, { zeroGradRows: [0] });
  // With a profile prefix, pos_emb covers its slots too (graphs/features.ts).
  const P = declareSasrecBlockParams(g, sequenceConfig(c));
  const encode: Encode = (cc, seq, drop, tok) =>
    sasrecEncoder(cc, P, seq, tok ?? op.gather(item_emb, seq, 0), attentionBias(g, cc, seq, seqLength(seq)), drop);
  return { item_emb, encode };
}

export const llamaSasrec: ModelDefinition<LlamaSasrecConfig> = {
  name: 'llama-sasrec',
  resolveConfig: resolveLlamaConfig,
  batchInputs: (c, loss) => batchInputSpecs(c, loss),
  // Without the key-padding mask every real query attends to the padding keys before it; a
  // profile prefix sits right before the first event whatever T (graphs/features.ts).
  paddingInvariant: (c) => c.key_padding_mask,
  buildTraining(g, c, loss, opts) {
    const { item_emb, encode } = declareEncoder(g, c);
    const inputs = declareInputs(g, batchInputSpecs(c, loss));
    const drop = trainingDropout(g, c.dropout, opts, [c.attn_dropout]);
    const { f, items } = encodeEvents(c, item_emb, inputs, opts.itemFeatures, (cc, seq, _ts, tok) => encode(cc, seq, drop, tok));
    return { loss: setTrainingOutputs(g, f, buildLoss(c, loss, f, items, inputs), opts) };
  },
  buildInference(g, c, baked = {}) {
    const { item_emb, encode } = declareEncoder(g, c);
    const inputs = { seq: inferenceSeq(g), ...inferenceFeatureInputs(g, c) };
    const { f, items } = encodeEvents(c, item_emb, inputs, baked.itemFeatures, (cc, seq, _ts, tok) => encode(cc, seq, Dropout.none(), tok));
    return inferenceHead(c, f, items);
  },
};
