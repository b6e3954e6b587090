import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import * as F from '../src/dsl/index.js';
import { Graph, Tensor } from '../src/dsl/graph.js';
import { addGradientOutputs, gradName } from '../src/compiler/training.js';
import { gradients } from '../src/compiler/autodiff.js';
import { emitModel } from '../src/onnx/emit.js';
import { onnx } from '../src/onnx/proto.js';
import { gradCheck, rand } from './helpers/gradcheck.js';
import { Feeds, createSession, f32, i64, numbers } from './helpers/ort.js';
import { uniform } from './helpers/vjp-coverage.js';

const toNum = (v: number | { toNumber(): number }) => (typeof v === 'number' ? v : v.toNumber());

/** Two-layer MLP on float32 parameters: logits = silu(x W1 + b1) W2 + b2, SCE on int64 labels. */
function mlp(opts: { act?: 'silu' | 'tanh'; ignoreIndex?: number; zeroRow?: boolean } = {}): Graph {
  const g = new Graph('mlp');
  const x = g.input('x', 'float32', [4, 3]);
  const labels = g.input('labels', 'int64', [4]);
  const w1 = g.param('w1', [3, 5], { kind: 'normal', std: 0.5 });
  const b1 = g.param('b1', [5], { kind: 'zeros' });
  const w2 = g.param('w2', [5, 3], { kind: 'normal', std: 0.5 }, opts.zeroRow ? { zeroGradRows: [2] } : {});
  const b2 = g.param('b2', [3], { kind: 'zeros' });
  const h = F.linear(x, w1, b1);
  const a = opts.act === 'tanh' ? F.tanh(h) : F.silu(h);
  const logits = F.linear(a, w2, b2);
  const [loss] = F.softmaxCrossEntropyLoss(logits, labels, { ignoreIndex: opts.ignoreIndex });
  g.output('loss', loss);
  addGradientOutputs(g, loss);
  return g;
}

function mlpFeeds(g: Graph, seed = 5): { feeds: Feeds; params: Map<string, Float32Array> } {
  const r = rand(seed);
  const params = new Map<string, Float32Array>();
  const feeds: Feeds = {};
  for (const p of g.params) {
    const n = (p.shape as number[]).reduce((a, b) => a * b, 1);
    const v = Float32Array.from({ length: n }, () => (r() * 2 - 1) * 0.8);
    params.set(p.name, v);
    feeds[p.name] = new ort.Tensor('float32', v, p.shape as number[]);
  }
  feeds.x = f32(Array.from({ length: 12 }, () => r() * 2 - 1), [4, 3]);
  feeds.labels = i64([2, 0, 1, 2], [4]);
  return { feeds, params };
}

/**
 * Central differences of the emitted graph's `loss` output wrt every float32 parameter.
 * eps = 1e-2 in float32: truncation error eps^2/6 * |f'''| ~ 1e-5 for this O(1) loss, and the
 * loss is rounded to ~6e-8 relative, i.e. ~3e-6 absolute after dividing by 2 eps; rtol 1e-2 and
 * atol 1e-3 therefore leave a margin of two orders of magnitude while catching wrong rules.
 */
async function checkParamGradients(g: Graph, feeds: Feeds, params: Map<string, Float32Array>, zeroRows: Record<string, number[]> = {}) {
  const session = await createSession(emitModel(g), 'disabled');
  const base = await session.run(feeds);
  const eps = 1e-2;
  for (const [name, value] of params) {
    const analytic = numbers(base[gradName(name)]);
    expect(analytic.length).to.equal(value.length);
    const cols = value.length / (g.getParam(name).shape[0] as number);
    for (let j = 0; j < value.length; j++) {
      const run = async (delta: number) => {
        const v = value.slice();
        v[j] += delta;
        const out = await session.run({ ...feeds, [name]: new ort.Tensor('float32', v, feeds[name].dims as number[]) });
        return numbers(out.loss)[0];
      };
      const numeric = ((await run(eps)) - (await run(-eps))) / (2 * eps);
      const expected = zeroRows[name]?.includes(Math.floor(j / cols)) ? 0 : numeric;
      expect(Math.abs(analytic[j] - expected), `${name}[${j}]: analytic ${analytic[j]} vs numeric ${expected}`).to.be.at.most(1e-3 + 1e-2 * Math.abs(expected));
    }
  }
  await session.release();
}

describe('compiler: composite graphs', () => {
  it('two-layer MLP (silu) with SCE on int64 labels: all weight gradients match finite differences', async () => {
    const g = mlp();
    const { feeds, params } = mlpFeeds(g);
    await checkParamGradients(g, feeds, params);
  });

  it('two-layer MLP (tanh) with ignore_index and a zero-gradient row', async () => {
    const g = mlp({ act: 'tanh', ignoreIndex: 1, zeroRow: true });
    const { feeds, params } = mlpFeeds(g, 9);
    feeds.labels = i64([2, 1, 0, 1], [4]);
    await checkParamGradients(g, feeds, params, { w2: [2] });
  });

  it('a parameter the loss does not use gets an all-zero gradient output', async () => {
    const g = new Graph('unused');
    const x = g.input('x', 'float32', [2, 3]);
    const w = g.param('w', [3, 2], { kind: 'normal', std: 0.5 });
    g.param('spare', [2, 2], { kind: 'zeros' });
    const loss = F.reduceSum(F.matmul(x, w), null);
    g.output('loss', loss);
    addGradientOutputs(g, loss);
    const session = await createSession(emitModel(g), 'disabled');
    const out = await session.run({ x: f32([1, 2, 3, 4, 5, 6], [2, 3]), w: f32([1, 1, 1, 1, 1, 1], [3, 2]), spare: f32([1, 2, 3, 4], [2, 2]) });
    await session.release();
    expect(numbers(out.spare_grad)).to.deep.equal([0, 0, 0, 0]);
    expect(out.spare_grad.dims).to.deep.equal([2, 2]);
    expect(numbers(out.w_grad)).to.deep.equal([5, 5, 7, 7, 9, 9]);
  });

  it('the MLP in float64 through the gradient harness (tight tolerance)', async () => {
    const r = await gradCheck({
      inputs: [
        { name: 'x', shape: [4, 3] },
        { name: 'w1', shape: [3, 5] },
        { name: 'b1', shape: [5] },
        { name: 'w2', shape: [5, 3] },
        { name: 'b2', shape: [3] },
      ],
      extra: [{ name: 'labels', dtype: 'int64', shape: [4], feed: i64([2, 0, 1, 2], [4]) }],
      build: (_g, [x, w1, b1, w2, b2], [labels]) => F.softmaxCrossEntropyLoss(F.linear(F.silu(F.linear(x, w1, b1)), w2, b2), labels)[0],
    });
    expect(r.maxAbsErr).to.be.below(1e-8);
  });

  it('the emitted training model is standard ONNX: default domain only, opset 18, ir_version 9', () => {
    const g = mlp();
    const model = onnx.ModelProto.decode(emitModel(g));
    expect(toNum(model.irVersion)).to.equal(9);
    expect(model.opsetImport.map((o) => [o.domain ?? '', toNum(o.version!)])).to.deep.equal([['', 18]]);
    const nodes = model.graph!.node!;
    expect(nodes.length).to.be.greaterThan(10);
    for (const n of nodes) expect(n.domain ?? '', `${n.opType} ${n.name}`).to.equal('');
    const opTypes = nodes.map((n) => n.opType);
    for (const op of ['FusedMatMul', 'QuickGelu', 'SoftmaxCrossEntropyLossGrad', 'LayerNormalizationGrad']) expect(opTypes).to.not.include(op);
    // Parameters are graph inputs, never initializers (docs/architecture.md).
    const inputs = model.graph!.input!.map((i) => i.name);
    expect(inputs).to.include.members(['w1', 'b1', 'w2', 'b2', 'x', 'labels']);
    const inits = new Set(model.graph!.initializer!.map((t) => t.name));
    for (const p of ['w1', 'b1', 'w2', 'b2']) expect(inits.has(p)).to.equal(false);
    expect(model.graph!.output!.map((o) => o.name)).to.have.members(['loss', 'w1_grad', 'b1_grad', 'w2_grad', 'b2_grad']);
  });

  it('silu', async () => {
    await gradCheck({ inputs: [{ name: 'x', shape: [2, 5], values: uniform(10, -3, 3) }], build: (_g, [x]) => F.silu(x) });
  });

  it('rmsNorm (gradients wrt x and weight)', async () => {
    await gradCheck({
      inputs: [{ name: 'x', shape: [3, 4], values: uniform(12, -2, 2) }, { name: 'w', shape: [4], values: uniform(4, 0.5, 1.5) }],
      build: (_g, [x, w]) => F.rmsNorm(x, w, 1e-6),
    });
  });

  it('l2Normalize including an all-zero row (finite gradient 1/eps there)', async () => {
    const values = uniform(12, -1, 1);
    values.fill(0, 4, 8);
    // eps = 0.1 keeps the +-1e-6 perturbations of the zero row inside the max(., eps^2) branch.
    const r = await gradCheck({
      inputs: [{ name: 'x', shape: [3, 4], values }],
      build: (_g, [x]) => F.l2Normalize(x, 0.1),
    });
    expect(Number.isFinite(r.maxAbsErr)).to.equal(true);
  });

  it('l2Normalize with eps = 1e-6 in float32: the gradient at an all-zero row is finite', async () => {
    const g = new Graph('l2n');
    const x = g.input('x', 'float32', [2, 3]);
    const w = g.constant(Float32Array.from([0.3, -1, 2, 0.5, 0.25, -0.7]), 'float32', [2, 3]);
    const loss = F.reduceSum(F.mul(F.l2Normalize(x, 1e-6), w), null);
    g.output('loss', loss);
    g.output('dx', gradients(g, loss, [x])[0]);
    const session = await createSession(emitModel(g), 'disabled');
    const out = await session.run({ x: f32([0, 0, 0, 1, 2, -2], [2, 3]) });
    await session.release();
    const dx = numbers(out.dx);
    expect(dx.every(Number.isFinite), `dx = ${dx}`).to.equal(true);
    // At the zero row l2n(x) = x / eps, so dx = w / eps.
    [0.3, -1, 2].forEach((wj, j) => expect(dx[j]).to.be.closeTo(Math.fround(wj) / 1e-6, 1));
  });

  it('logSumExp over the last axis (keepdims) and axis 0', async () => {
    await gradCheck({
      inputs: [{ name: 'x', shape: [3, 4], values: uniform(12, -3, 3) }],
      build: (_g, [x]) => [F.logSumExp(x, -1, true), F.logSumExp(x, 0)],
    });
  });

  it('logSumExp is stable for large inputs (no overflow in the forward or backward pass)', async () => {
    const g = new Graph('lse');
    const x: Tensor = g.input('x', 'float32', [1, 3]);
    const lse = F.logSumExp(x, -1);
    const loss = F.reduceSum(lse, null);
    g.output('lse', lse);
    g.output('dx', gradients(g, loss, [x])[0]);
    const session = await createSession(emitModel(g), 'disabled');
    const out = await session.run({ x: f32([1000, 1000, 999], [1, 3]) });
    await session.release();
    const e = Math.exp(-1);
    expect(numbers(out.lse)[0]).to.be.closeTo(1000 + Math.log(2 + e), 1e-3);
    const dx = numbers(out.dx);
    [1 / (2 + e), 1 / (2 + e), e / (2 + e)].forEach((v, i) => expect(dx[i]).to.be.closeTo(v, 1e-6));
  });
});
