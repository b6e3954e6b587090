/**
 * The SASRec block (graphs/sasrec-block.ts) against a plain float64 implementation of SASRec's
 * forward pass as SASRec+ runs it (antklen/sasrec-bert4rec-recsys23, src/models.py): padding
 * rows zeroed after the embedding and every block, positions from the oldest item. It is run on
 * the graph's left-padded rows, with and without the key-padding mask, and, with the mask, on the
 * real items alone (SASRec+'s right padding, hidden by the causal mask), so agreement also shows
 * that the two layouts encode the real items alike. No PyTorch fixture exists for this block;
 * the reference is written from the formulas in the module's docstring.
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

/**
 * SASRec's encoder over one row of item ids (0 = padding, left-padded or not): F [n][d]. Padding
 * slots hold zero vectors after the embedding and after every block (SASRec's timeline mask);
 * positions count from the oldest real item; a real query sees the padding keys before it unless
 * `keyMask` (a padding query sees every earlier key either way; its output is zeroed anyway).
 */
function sasrecReference(c: LlamaSasrecConfig, P: Params, ids: number[], keyMask: boolean): Vec[] {
  const { dim: d, n_heads: H, head_dim: hd, norm_eps: eps } = c;
  const row = (t: Float32Array, i: number) => Array.from(t.slice(i * d, (i + 1) * d));
  const pads = ids.filter((id) => id === 0).length;
  const zeroPads = (xs: Vec[]) => xs.map((r, t) => (ids[t] === 0 ? r.map(() => 0) : r));
  let x = zeroPads(ids.map((id, t) => row(P.item_emb, id).map((v, k) => v * Math.sqrt(d) + P.pos_emb[Math.max(t - pads, 0) * d + k])));
  for (let l = 0; l < c.n_layers; l++) {
    const p = (name: string) => P[`layers.${l}.${name}`];
    const q = x.map((r) => layerNorm(r, p('attn_norm'), p('attn_norm_bias'), eps));
    const Q = q.map((r) => linear(r, p('wq'), p('bq')));
    const K = x.map((r) => linear(r, p('wk'), p('bk')));
    const V = x.map((r) => linear(r, p('wv'), p('bv')));
    const o = Q.map((qt, t) => {
      const out = new Array<number>(d).fill(0);
      const keys = Array.from({ length: t + 1 }, (_, j) => j).filter((j) => !(keyMask && ids[t] !== 0 && ids[j] === 0));
      for (let h = 0; h < H; h++) {
        const cols = Array.from({ length: hd }, (_, k) => h * hd + k);
        const s = keys.map((j) => cols.reduce((a, k) => a + qt[k] * K[j][k], 0) / Math.sqrt(hd));
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((a, v) => a + v, 0);
        for (const k of cols) out[k] = e.reduce((a, ej, i) => a + (ej / z) * V[keys[i]][k], 0);
      }
      return out;
    });
    const h = q.map((qt, t) => layerNorm(qt.map((v, k) => v + linear(o[t], p('wo'), p('bo'))[k]), p('ffn_norm'), p('ffn_norm_bias'), eps));
    x = zeroPads(
      h.map((ht) => {
        const hidden = linear(ht, p('w1'), p('b1')).map((v) => Math.max(v, 0));
        return linear(hidden, p('w2'), p('b2')).map((v, k) => v + ht[k]);
      }),
    );
  }
  return x.map((r) => layerNorm(r, P.final_norm, P.final_norm_bias, eps));
}

/** The graph's F [batch, L, d] (training graph's debug output) for a random batch and random parameters. */
async function graphOutput(c: LlamaSasrecConfig) {
  const g = new Graph('training');
  getModel('llama-sasrec').buildTraining(g, c, 'full-ce', { training: false, debugOutputs: true });
  const session = await createSession(emitModel(g));
  const params = randomParams(g, 5);
  const batch = randomBatch(c, 'full-ce', 6);
  const out = await session.run({ ...batch, ...paramFeeds(params, g) });
  await session.release();
  return { params, seq: numbers(batch.seq), F: out.seq_emb.data as Float32Array };
}

// float32 graph against float64 reference, values O(1) after the final LayerNorm: measured
// differences are below 1e-5; a wrong formula (a missing LayerNorm, SiLU for ReLU, positions
// from the newest item) moves them by 1e-1 or more.
const TOL = 1e-4;

describe('models: the SASRec block (block=sasrec) against a float64 reference', () => {
  for (const n_heads of [1, 2]) {
    for (const keyMask of [true, false]) {
      it(`${n_heads} head(s), key_padding_mask ${keyMask}: every slot of a left-padded batch, padding rows included`, async () => {
        const c = getModel('llama-sasrec').resolveConfig({ num_items: 9, dim: 6, n_layers: 2, n_heads, maxlen: 5, block: 'sasrec', key_padding_mask: keyMask, norm_eps: 1e-8 }) as LlamaSasrecConfig;
        const { params, seq, F } = await graphOutput(c);
        const { maxlen: L, dim: d } = c;
        // Rows: a full row (L real slots), a short one (2 real slots), a fully padded one.
        for (let b = 0; b < seq.length / L; b++) {
          const ref = sasrecReference(c, params, seq.slice(b * L, (b + 1) * L), keyMask);
          ref.forEach((r, slot) => r.forEach((v, k) => expect(Math.abs(F[(b * L + slot) * d + k] - v), `row ${b} slot ${slot} column ${k}`).to.be.at.most(TOL)));
          // A padding row is LayerNorm(0): the final bias.
          if (seq[b * L] === 0) for (let k = 0; k < d; k++) expect(F[b * L * d + k]).to.be.closeTo(params.final_norm_bias[k], TOL);
        }
        if (!keyMask) return;
        // With the mask, a real slot equals SASRec+'s forward pass over the real items alone (its
        // right padding sits after them, hidden by the causal mask).
        let checked = 0;
        for (let b = 0; b < seq.length / L; b++) {
          const ids = seq.slice(b * L, (b + 1) * L).filter((id) => id !== 0);
          sasrecReference(c, params, ids, true).forEach((r, i) => {
            const slot = L - ids.length + i;
            r.forEach((v, k) => expect(Math.abs(F[(b * L + slot) * d + k] - v), `row ${b} slot ${slot} column ${k}`).to.be.at.most(TOL));
            checked += d;
          });
        }
        expect(checked).to.equal(7 * d);
      });
    }
  }
});
