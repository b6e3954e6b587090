/**
 * The SASRec transformer block as an ablation of LLaMA2-SASRec (`block: 'sasrec'`,
 * docs/models.md §2.5): the same item embedding, loss, masks and tied output layer, with
 * SASRec's block in place of LLaMA's, so a run with it measures what RMSNorm, RoPE and SwiGLU
 * do against LayerNorm, learned absolute positions and a ReLU feed-forward.
 *
 * Follows Kang & McAuley's SASRec (ICDM 2018) as Klenitskiy & Vasilev's SASRec+ (RecSys 2023)
 * computes it (their adaptation of the SASRec.pytorch port):
 * - input: item_emb[seq]·sqrt(d) + pos_emb[p], dropout, zeroed at padding;
 * - per block: q = LN(x); x = q + MHA(q, x, x) (queries from the normalised input, keys and
 *   values from the raw one, projections with biases, dropout on the probabilities only);
 *   x = LN(x); x = x + drop(W2·relu(drop(W1·x + b1)) + b2), W1, W2 [d, d]; zeroed at padding;
 * - output: LN(x).
 * Positions count from the oldest kept item (SASRec+ pads on the right and numbers slots from
 * the left), so a trimmed batch reads the same position rows.
 */
import { Graph, Tensor } from '../src/dsl/graph.js';
import * as op from '../src/dsl/index.js';
import { LlamaSasrecConfig } from './config.js';
import { embedWithPositions, mergeHeads, qkvInit, splitHeads } from './common.js';
import { Dropout } from './dropout.js';

export interface SasrecLayerParams {
  attn_norm: Tensor;
  attn_norm_bias: Tensor;
  wq: Tensor;
  bq: Tensor;
  wk: Tensor;
  bk: Tensor;
  wv: Tensor;
  bv: Tensor;
  wo: Tensor;
  bo: Tensor;
  ffn_norm: Tensor;
  ffn_norm_bias: Tensor;
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
}

export interface SasrecBlockParams {
  pos_emb: Tensor;
  layers: SasrecLayerParams[];
  final_norm: Tensor;
  final_norm_bias: Tensor;
}

/**
 * Declares the block's parameters after the item embedding: pos_emb [maxlen, d], per layer two
 * LayerNorms (weight 1, bias 0), q/k/v/output projections [d, d] with biases, W1, W2 [d, d] with
 * biases, and the final LayerNorm. Every matrix N(0, 0.02²) and every bias 0, as LLaMA's block
 * initialises its matrices, so the ablation changes the block and not the initialisation. SASRec+
 * does the same except for q/k/v: torch's MultiheadAttention keeps its own xavier-uniform
 * in-projection, U(±sqrt(6 / 4d)), which `qkv_init: 'xavier'` gives (qkvInit).
 */
export function declareSasrecBlockParams(g: Graph, c: LlamaSasrecConfig): SasrecBlockParams {
  const d = c.dim;
  const std = 0.02;
  const w = (name: string) => g.param(name, [d, d], { kind: 'normal', std });
  const zeros = (name: string) => g.param(name, [d], { kind: 'zeros' });
  const ones = (name: string) => g.param(name, [d], { kind: 'ones' });
  const pos_emb = g.param('pos_emb', [c.maxlen, d], { kind: 'normal', std });
  const layers: SasrecLayerParams[] = [];
  for (let i = 0; i < c.n_layers; i++) {
    const p = `layers.${i}.`;
    layers.push({
      attn_norm: ones(`${p}attn_norm`),
      attn_norm_bias: zeros(`${p}attn_norm_bias`),
      wq: g.param(`${p}wq`, [d, d], qkvInit(c)),
      bq: zeros(`${p}bq`),
      wk: g.param(`${p}wk`, [d, d], qkvInit(c)),
      bk: zeros(`${p}bk`),
      wv: g.param(`${p}wv`, [d, d], qkvInit(c)),
      bv: zeros(`${p}bv`),
      wo: w(`${p}wo`),
      bo: zeros(`${p}bo`),
      ffn_norm: ones(`${p}ffn_norm`),
      ffn_norm_bias: zeros(`${p}ffn_norm_bias`),
      w1: w(`${p}w1`),
      b1: zeros(`${p}b1`),
      w2: w(`${p}w2`),
      b2: zeros(`${p}b2`),
    });
  }
  return { pos_emb, layers, final_norm: ones('final_norm'), final_norm_bias: zeros('final_norm_bias') };
}

/**
 * The SASRec encoder on left-padded batches.
 *
 * @param seq [batch, T] int64 (T ≤ maxlen), left-padded ids (0 = padding), most recent last.
 * @param emb [batch, T, d] float32 token embeddings (item_emb[seq], or graphs/features.ts's).
 * @param maskBias additive attention mask, [T, T] or [batch, 1, T, T] (0 allowed, −1e9 not).
 * @returns F [batch, T, d] float32, LayerNorm'd rows (padding rows hold the final bias).
 */
export function sasrecEncoder(c: LlamaSasrecConfig, P: SasrecBlockParams, seq: Tensor, emb: Tensor, maskBias: Tensor, drop: Dropout): Tensor {
  const g = seq.graph;
  const { n_heads: H, head_dim: hd, norm_eps: eps } = c;
  const L = seq.shape[1];
  const valid = op.not(op.equal(seq, 0)); // [batch, T]
  const keep = op.unsqueeze(op.cast(valid, 'float32'), [2]); // [batch, T, 1]
  const ln = (x: Tensor, w: Tensor, b: Tensor) => op.layerNormalization(x, w, b, -1, eps)[0];
  let x = g.scope('embed', () => embedWithPositions(emb, P.pos_emb, valid, keep, drop));
  P.layers.forEach((p, i) => {
    x = g.scope(`layers.${i}`, () => {
      const q = ln(x, p.attn_norm, p.attn_norm_bias);
      const qh = splitHeads(op.mul(op.linear(q, p.wq, p.bq), 1 / Math.sqrt(hd)), L, H, hd);
      const kT = splitHeads(op.linear(x, p.wk, p.bk), L, H, hd, true);
      const v = splitHeads(op.linear(x, p.wv, p.bv), L, H, hd);
      const a = drop.apply(op.softmax(op.add(op.matmul(qh, kT), maskBias), -1), c.attn_dropout);
      const h = ln(op.add(q, op.linear(mergeHeads(op.matmul(a, v), L, H, hd), p.wo, p.bo)), p.ffn_norm, p.ffn_norm_bias);
      // SASRec drops before the ReLU; inverted dropout scales by a positive factor, so the order does not matter.
      const ffn = op.linear(drop.apply(op.relu(op.linear(h, p.w1, p.b1))), p.w2, p.b2);
      return op.mul(op.add(h, drop.apply(ffn)), keep);
    });
  });
  return ln(x, P.final_norm, P.final_norm_bias);
}
