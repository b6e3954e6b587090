/**
 * The SASRec block (graphs/sasrec-block.ts) against a plain float64 implementation of SASRec's
 * forward pass as SASRec+ runs it (antklen/sasrec-bert4rec-recsys23, src/models.py): rows padded
 * on the right, positions 0..n−1 from the oldest item, a causal mask only. The graph pads on the
 * left and masks padding keys instead, so agreement also shows that the two layouts encode the
 * real items alike. No PyTorch fixture exists for this block; this reference is written from
 * the formulas in the module's docstring.
 */
import { expect } from 'chai';
import { Graph } from '../src/dsl/graph.js';
import { emitModel } from '../src/onnx/emit.js';
import { getModel, LlamaSasrecConfig } from '../graphs/index.js';
import { paramFeeds, randomBatch, randomParams } from './helpers/model-batches.js';
import { createSession, numbers } from './helpers/ort.js';

type Vec = number[];
type Params = Record<string, Float32Array>;

const linear = (x: Vec, w: Float32Array, b: Float32Array): Vec =>
  Array.from(b, (bj, j) => x.reduce((s, xi, i) => s + xi * w[i * b.length + j], bj));

function layerNorm(x: Vec, w: Float32Array, b: Float32Array, eps: number): Vec {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * w[i] + b[i]);
}

/** SASRec's encoder over one row's n real items (oldest first): F [n][d]. */
function sasrecReference(c: LlamaSasrecConfig, P: Params, ids: number[]): Vec[] {
  const { dim: d, n_heads: H, head_dim: hd, norm_eps: eps } = c;
  const row = (t: Float32Array, i: number) => Array.from(t.slice(i * d, (i + 1) * d));
  let x = ids.map((id, t) => row(P.item_emb, id).map((v, k) => v * Math.sqrt(d) + P.pos_emb[t * d + k]));
  for (let l = 0; l < c.n_layers; l++) {
    const p = (name: string) => P[`layers.${l}.${name}`];
    const q = x.map((r) => layerNorm(r, p('attn_norm'), p('attn_norm_bias'), eps));
    const Q = q.map((r) => linear(r, p('wq'), p('bq')));
    const K = x.map((r) => linear(r, p('wk'), p('bk')));
    const V = x.map((r) => linear(r, p('wv'), p('bv')));
    const o = Q.map((qt, t) => {
      const out = new Array<number>(d).fill(0);
      for (let h = 0; h < H; h++) {
        const cols = Array.from({ length: hd }, (_, k) => h * hd + k);
        const s = K.slice(0, t + 1).map((kj) => cols.reduce((a, k) => a + qt[k] * kj[k], 0) / Math.sqrt(hd));
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((a, v) => a + v, 0);
        for (const k of cols) out[k] = e.reduce((a, ej, j) => a + (ej / z) * V[j][k], 0);
      }
      return out;
    });
    const h = q.map((qt, t) => layerNorm(qt.map((v, k) => v + linear(o[t], p('wo'), p('bo'))[k]), p('ffn_norm'), p('ffn_norm_bias'), eps));
    x = h.map((ht) => {
      const hidden = linear(ht, p('w1'), p('b1')).map((v) => Math.max(v, 0));
      return linear(hidden, p('w2'), p('b2')).map((v, k) => v + ht[k]);
    });
  }
  return x.map((r) => layerNorm(r, P.final_norm, P.final_norm_bias, eps));
}

describe('models: the SASRec block (block=sasrec) against a float64 reference', () => {
  for (const n_heads of [1, 2]) {
    it(`${n_heads} head(s): every real slot of a left-padded batch equals SASRec's right-padded forward pass`, async () => {
      const model = getModel('llama-sasrec');
      const c = model.resolveConfig({ num_items: 9, dim: 6, n_layers: 2, n_heads, maxlen: 5, block: 'sasrec', key_padding_mask: true, norm_eps: 1e-8 }) as LlamaSasrecConfig;
      const g = new Graph('training');
      model.buildTraining(g, c, 'full-ce', { training: false, debugOutputs: true });
      const session = await createSession(emitModel(g));
      const params = randomParams(g, 5);
      const batch = randomBatch(c, 'full-ce', 6);
      const out = await session.run({ ...batch, ...paramFeeds(params, g) });
      await session.release();
      const { maxlen: L, dim: d } = c;
      const seq = numbers(batch.seq);
      const F = out.seq_emb.data as Float32Array;
      let checked = 0;
      for (let b = 0; b < seq.length / L; b++) {
        const ids = seq.slice(b * L, (b + 1) * L).filter((id) => id !== 0);
        const ref = sasrecReference(c, params, ids);
        ref.forEach((r, i) => {
          const slot = L - ids.length + i;
          r.forEach((v, k) => {
            // float32 graph against float64 reference, values O(1) after the LayerNorm: a wrong
            // formula moves them by 1e-1 or more.
            expect(Math.abs(F[(b * L + slot) * d + k] - v), `row ${b} slot ${slot} column ${k}`).to.be.at.most(1e-4);
            checked++;
          });
        });
      }
      // The batch has a full row (L slots) and a short one (2 slots): 7 real slots.
      expect(checked).to.equal(7 * d);
    });
  }
});
