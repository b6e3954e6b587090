/**
 * The two model families against the float64 PyTorch fixtures (docs/models.md §6): forward
 * outputs, loss and every parameter gradient, with the tolerances of docs/models.md §6.
 */
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import { Graph } from '../src/dsl/graph.js';
import * as F from '../src/dsl/index.js';
import { emitModel } from '../src/onnx/emit.js';
import { COLLISION_LOGIT, HstuConfig, LOWEST_FLOAT32, getModel, positionIndex, timeBuckets } from '../graphs/index.js';
import { ModelFixture, compare, loadFixture, runFixture, toOrt } from './helpers/model-fixtures.js';
import { createSession, numbers, runOnce } from './helpers/ort.js';

const FIXTURES = ['llama_sasrec_bce', 'hstu_bce', 'hstu_sampled_softmax', 'hstu_full_ce'];

/** README tolerances: [rtol, atol]. */
function outputTolerance(fx: ModelFixture, name: string): [number, number] {
  if (name === 'loss') return [1e-5, 1e-6];
  if (name === 'logits' && fx.loss !== 'bce') return [1e-4, 1e-4]; // τ = 0.05
  return [1e-4, 1e-5];
}

function expectClose(what: string, actual: ArrayLike<number | bigint>, expected: number[], rtol: number, atol: number): number {
  const c = compare(actual, expected, rtol, atol);
  expect(c.worstRatio, `${what}: element ${c.worstIndex} is ${Number(actual[c.worstIndex])}, expected ${expected[c.worstIndex]} (max |err| ${c.maxAbs})`).to.be.at.most(1);
  return c.maxAbs;
}

describe('models: fixtures', () => {
  for (const name of FIXTURES) {
    it(`${name}: seq_emb, logits, loss and all gradients match the float64 reference`, async () => {
      const fx = loadFixture(name);
      const { outputs } = await runFixture(fx);
      const report: string[] = [];
      for (const o of fx.outputs) {
        const [rtol, atol] = outputTolerance(fx, o.name);
        expect(outputs[o.name].dims, o.name).to.deep.equal(o.shape);
        const err = expectClose(o.name, outputs[o.name].data as Float32Array, o.values, rtol, atol);
        report.push(`${o.name} ${err.toExponential(1)}`);
      }
      let worstGrad = 0;
      for (const gr of fx.grads) {
        const maxG = Math.max(...gr.values.map(Math.abs));
        const actual = outputs[`${gr.name}_grad`];
        expect(actual, `${gr.name}_grad`).to.not.equal(undefined);
        expect(actual.dims).to.deep.equal(gr.shape);
        const err = expectClose(`${gr.name}_grad`, actual.data as Float32Array, gr.values, 1e-3, 1e-5 * maxG);
        worstGrad = Math.max(worstGrad, err / maxG);
      }
      report.push(`grads max|err|/max|g| ${worstGrad.toExponential(1)}`);
      // Row 0 of item_emb gets exactly zero gradient (padding_idx semantics).
      const d = fx.params[0].shape[1];
      expect(Array.from((outputs.item_emb_grad.data as Float32Array).slice(0, d)).every((v) => v === 0)).to.equal(true);
      if (process.env.RECLM_VERBOSE) console.log(`      ${name}: ${report.join(', ')}`);
    });
  }

  it('sampled softmax: colliding negatives have logit exactly -5e4', async () => {
    const fx = loadFixture('hstu_sampled_softmax');
    const { outputs } = await runFixture(fx);
    const expected = fx.outputs.find((o) => o.name === 'logits')!.values;
    const actual = outputs.logits.data as Float32Array;
    const collisions = expected.map((v, i) => (v === COLLISION_LOGIT ? i : -1)).filter((i) => i >= 0);
    expect(collisions.length).to.be.greaterThan(0);
    for (const i of collisions) expect(actual[i]).to.equal(COLLISION_LOGIT);
    for (let i = 0; i < actual.length; i++) if (actual[i] === COLLISION_LOGIT) expect(expected[i]).to.equal(COLLISION_LOGIT);
  });

  it('hstu: in-graph time buckets and position index equal the fixture\'s derived tensors', async () => {
    const fx = loadFixture('hstu_bce');
    const c = getModel('hstu').resolveConfig(fx.config) as HstuConfig;
    const g = new Graph('derived');
    const seq = g.input('seq', 'int64', ['batch', c.maxlen]);
    const ts = g.input('ts_ext', 'int64', ['batch', c.maxlen + 1]);
    g.output('rab_bucket', timeBuckets(ts, c));
    g.output('position_index', positionIndex(F.not(F.equal(seq, 0))));
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of fx.inputs.filter((i) => i.name === 'seq' || i.name === 'ts_ext')) feeds[t.name] = toOrt(t);
    const out = await runOnce(emitModel(g), feeds);
    for (const name of ['rab_bucket', 'position_index']) {
      const d = fx.derived!.find((t) => t.name === name)!;
      expect(numbers(out[name]), name).to.deep.equal(d.values);
    }
  });

  for (const name of ['llama_sasrec_bce', 'hstu_full_ce']) {
    it(`${name}: the inference graph scores slot L-1 with the loss's item vectors`, async () => {
      const fx = loadFixture(name);
      const model = getModel(fx.model);
      const c = model.resolveConfig(fx.config);
      const g = new Graph('inference');
      model.buildInference(g, c);
      expect(g.inputs.map((t) => t.name)).to.deep.equal(c.model === 'hstu' ? ['seq', 'ts_ext', 'k'] : ['seq', 'k']);
      const session = await createSession(emitModel(g));
      const feeds: Record<string, ort.Tensor> = { k: new ort.Tensor('int64', BigInt64Array.from([5n]), [1]) };
      for (const t of [...fx.params, ...fx.inputs]) if (session.inputNames.includes(t.name)) feeds[t.name] = toOrt(t);
      const out = await session.run(feeds);
      await session.release();
      const [B, L, d] = fx.outputs.find((o) => o.name === 'seq_emb')!.shape;
      const seqEmb = fx.outputs.find((o) => o.name === 'seq_emb')!.values;
      const user = Array.from({ length: B }, (_, b) => seqEmb.slice((b * L + L - 1) * d, (b * L + L) * d));
      expectClose('user_emb', out.user_emb.data as Float32Array, user.flat(), 1e-4, 1e-5);
      // Reference scores from the fixture's features and item table, with the loss's ê and τ.
      const emb = fx.params.find((p) => p.name === 'item_emb')!.values;
      const V = c.num_items;
      const vec = (i: number) => {
        const r = emb.slice(i * d, (i + 1) * d);
        if (!c.item_l2_norm) return r;
        const n = Math.sqrt(Math.max(r.reduce((s, v) => s + v * v, 0), c.l2_eps ** 2));
        return r.map((v) => v / n);
      };
      const scores = out.scores.data as Float32Array;
      expect(out.scores.dims).to.deep.equal([B, V + 1]);
      for (let b = 0; b < B; b++) {
        expect(scores[b * (V + 1)]).to.equal(LOWEST_FLOAT32);
        for (let i = 1; i <= V; i++) {
          const e = vec(i).reduce((s, v, j) => s + v * user[b][j], 0) / c.temperature;
          expect(Math.abs(scores[b * (V + 1) + i] - e)).to.be.at.most(1e-4 + 1e-4 * Math.abs(e));
        }
        const row = Array.from(scores.slice(b * (V + 1), (b + 1) * (V + 1)));
        const ranked = row.map((s, i) => [s, i]).sort((p, q) => q[0] - p[0]).slice(0, 5).map((p) => p[1]);
        expect(numbers(out.top_items).slice(b * 5, (b + 1) * 5)).to.deep.equal(ranked);
        expect(Array.from(out.top_scores.data as Float32Array).slice(b * 5, (b + 1) * 5)).to.deep.equal(ranked.map((i) => row[i]));
      }
    });
  }
});
