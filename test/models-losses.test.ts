/** Loss variants without a fixture: shared negatives, official HSTU's BCELoss and label smoothing (docs/models.md §3.5). */
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import { Graph } from '../src/dsl/graph.js';
import { addGradientOutputs } from '../src/compiler/training.js';
import { emitModel } from '../src/onnx/emit.js';
import { getModel } from '../graphs/index.js';
import { ConfigError } from '../graphs/config.js';
import { loadFixture, toOrt } from './helpers/model-fixtures.js';
import { paramFeeds, randomBatch, randomParams } from './helpers/model-batches.js';
import { runOnce } from './helpers/ort.js';

describe('models: loss variants', () => {
  it('sampled softmax with shared negatives equals the literal form fed the same negatives at every position', async () => {
    const model = getModel('hstu');
    const raw = { num_items: 30, dim: 8, n_layers: 1, n_heads: 2, dqk: 4, dv: 4, maxlen: 6, num_negatives: 5 };
    const build = (shared: boolean) => {
      const g = new Graph(shared ? 'shared' : 'literal');
      const c = model.resolveConfig({ ...raw, shared_negatives: shared });
      addGradientOutputs(g, model.buildTraining(g, c, 'sampled-softmax', { training: false, debugOutputs: true }).loss);
      return { g, c };
    };
    const shared = build(true);
    const literal = build(false);
    const params = paramFeeds(randomParams(shared.g, 3), shared.g);
    const batch = randomBatch(shared.c, 'sampled-softmax', 4);
    const negs = batch.negs.data as BigInt64Array;
    negs[2] = (batch.pos.data as BigInt64Array)[11]; // a collision with the last target of row 1
    const [B, L] = batch.seq.dims;
    const tiled = new BigInt64Array(B * L * 5);
    for (let i = 0; i < B * L; i++) tiled.set(negs, i * 5);
    const a = await runOnce(emitModel(shared.g), { ...params, ...batch });
    const b = await runOnce(emitModel(literal.g), { ...params, ...batch, negs: new ort.Tensor('int64', tiled, [B, L, 5]) });
    expect(Array.from(a.logits.data as Float32Array).filter((v) => v === -5e4).length).to.be.greaterThan(0);
    const close = (x: ort.Tensor, y: ort.Tensor, what: string) => {
      const p = x.data as Float32Array;
      const q = y.data as Float32Array;
      const scale = Math.max(...Array.from(q, Math.abs));
      p.forEach((v, i) => expect(v, `${what}[${i}]`).to.be.closeTo(q[i], 1e-5 * scale + 1e-6));
    };
    close(a.logits, b.logits, 'logits');
    close(a.loss, b.loss, 'loss');
    for (const p of shared.g.params) close(a[`${p.name}_grad`], b[`${p.name}_grad`], `${p.name}_grad`);
  });

  it("official HSTU BCE: 0.5·(softplus(−pos) + softplus(neg)) over positions with neg != pos; L2 negatives, raw positives", async () => {
    const fx = loadFixture('hstu_bce');
    const model = getModel('hstu');
    const tau = 0.5;
    const c = model.resolveConfig({ ...fx.config, bce_variant: 'official', item_l2_norm: true, temperature: tau });
    const g = new Graph('official');
    model.buildTraining(g, c, 'bce', { training: false, debugOutputs: true });
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of [...fx.params, ...fx.inputs]) feeds[t.name] = toOrt(t);
    const pos = feeds.pos.data as BigInt64Array;
    const neg = feeds.neg.data as BigInt64Array;
    const collide = pos.findIndex((p) => p !== 0n);
    neg[collide] = pos[collide];
    const out = await runOnce(emitModel(g), feeds);
    const f = out.seq_emb.data as Float32Array;
    const emb = fx.params.find((p) => p.name === 'item_emb')!.values;
    const d = c.dim;
    const row = (i: number) => emb.slice(i * d, (i + 1) * d);
    const l2n = (v: number[]) => {
      const n = Math.sqrt(Math.max(v.reduce((s, x) => s + x * x, 0), 1e-12));
      return v.map((x) => x / n);
    };
    const softplus = (x: number) => Math.log1p(Math.exp(x));
    let num = 0;
    let den = 0;
    for (let t = 0; t < pos.length; t++) {
      if (pos[t] === 0n || neg[t] === pos[t]) continue;
      const ft = Array.from(f.slice(t * d, (t + 1) * d));
      const zp = row(Number(pos[t])).reduce((s, x, j) => s + x * ft[j], 0) / tau;
      const zn = l2n(row(Number(neg[t]))).reduce((s, x, j) => s + x * ft[j], 0) / tau;
      num += 0.5 * (softplus(-zp) + softplus(zn));
      den += 1;
    }
    expect(Number(out.loss.data[0])).to.be.closeTo(num / den, 1e-5 * (num / den));
  });

  it('full CE with label smoothing ε: −(1 − ε)·log p(pos) − ε·mean_i log p(i) over target positions (PyTorch label_smoothing)', async () => {
    const model = getModel('llama-sasrec');
    const eps = 0.3;
    const raw = { num_items: 11, dim: 8, n_layers: 1, n_heads: 2, maxlen: 6, multiple_of: 4, temperature: 0.5, item_l2_norm: true };
    const run = async (smoothing: number | undefined) => {
      const c = model.resolveConfig(smoothing === undefined ? raw : { ...raw, label_smoothing: smoothing });
      const g = new Graph('smoothing');
      model.buildTraining(g, c, 'full-ce', { training: false, debugOutputs: true });
      return { c, out: await runOnce(emitModel(g), { ...paramFeeds(randomParams(g, 7), g), ...randomBatch(c, 'full-ce', 8) }) };
    };
    const { c, out } = await run(eps);
    const plain = await run(undefined);
    expect(c.label_smoothing).to.equal(eps);
    expect(plain.c).to.not.have.property('label_smoothing'); // configs without it resolve as before
    // Reference in float64 from the graph's own [B, L, V] logits (debug output) and targets.
    const V = c.num_items;
    const logits = out.logits.data as Float32Array;
    const pos = randomBatch(c, 'full-ce', 8).pos.data as BigInt64Array;
    let sum = 0;
    let n = 0;
    let ce = 0;
    pos.forEach((p, t) => {
      if (p === 0n) return;
      const z = Array.from(logits.slice(t * V, (t + 1) * V));
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
      const logp = z.map((x) => x - lse);
      sum += -(1 - eps) * logp[Number(p) - 1] - (eps * logp.reduce((a, x) => a + x, 0)) / V;
      ce += -logp[Number(p) - 1];
      n += 1;
    });
    expect(n).to.be.greaterThan(3);
    // float32 logits and a float32 loss of magnitude ~2: 1e-5 relative is a few ulps of each row's lse summed.
    expect(Number(out.loss.data[0])).to.be.closeTo(sum / n, 1e-5 * (sum / n));
    expect(Number(plain.out.loss.data[0])).to.be.closeTo(ce / n, 1e-5 * (ce / n));
    expect(Math.abs(sum - ce) / n, 'smoothing changes the loss').to.be.greaterThan(1e-2);
  });

  it('label smoothing is refused for a sampled loss, naming the field', () => {
    const model = getModel('hstu');
    const c = model.resolveConfig({ num_items: 9, dim: 8, n_layers: 1, n_heads: 1, maxlen: 5, label_smoothing: 0.1 });
    expect(() => model.buildTraining(new Graph('refused'), c, 'sampled-softmax', { training: false })).to.throw(ConfigError, /label_smoothing applies to --loss full-ce only/);
    // Also 0: a full-ce setting in another loss's config would say something the model does not do.
    const zero = model.resolveConfig({ num_items: 9, dim: 8, n_layers: 1, n_heads: 1, maxlen: 5, label_smoothing: 0 });
    expect(() => model.buildTraining(new Graph('refused'), zero, 'bce', { training: false })).to.throw(ConfigError, /label_smoothing applies to --loss full-ce only \(this model's loss: bce\)/);
  });
});
