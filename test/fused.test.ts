import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import * as F from '../src/dsl/index.js';
import { Graph } from '../src/dsl/graph.js';
import { SEED_ADAMW, buildOptimizerGraph, momentName } from '../src/compiler/adamw.js';
import { buildFusedTrainStep } from '../src/compiler/fused.js';
import { addGradientOutputs } from '../src/compiler/training.js';
import { emitModel } from '../src/onnx/emit.js';
import { createSession } from './helpers/ort.js';
import { rand } from './helpers/gradcheck.js';

/** A toy regression model with the training-graph contract (params, batch inputs, seed, step). */
function toy(g: Graph) {
  const w1 = g.param('w1', [4, 8], { kind: 'normal', std: 0.3 });
  const b1 = g.param('b1', [8], { kind: 'zeros' });
  const w2 = g.param('w2', [8, 1], { kind: 'normal', std: 0.3 });
  const x = g.input('x', 'float32', ['batch', 4]);
  const y = g.input('y', 'float32', ['batch', 1]);
  g.input('seed', 'int64', []);
  g.input('step', 'int64', []);
  const h = F.silu(F.add(F.matmul(x, w1), b1));
  const err = F.sub(F.matmul(h, w2), y);
  const loss = F.reduceMean(F.mul(err, err), null);
  g.output('loss', loss);
  return { loss };
}

describe('fused train step (Scan)', () => {
  it('K fused steps equal K separate training + optimizer runs', async () => {
    const K = 5, B = 6;
    const cfg = { ...SEED_ADAMW, maxGradNorm: 0.5 };
    const training = new Graph('training');
    const { loss } = toy(training);
    addGradientOutputs(training, loss);
    const infos = training.params.map((p) => (p.source as { info: F.ParamInfo }).info);
    const trainS = await createSession(emitModel(training));
    const optS = await createSession(emitModel(buildOptimizerGraph(infos, cfg)));
    const fusedS = await createSession(emitModel(buildFusedTrainStep(toy, cfg)));

    const r = rand(7);
    const params = new Map(infos.map((i) => [i.name, Float32Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, () => r() - 0.5)]));
    const xs = Float32Array.from({ length: K * B * 4 }, () => r() * 2 - 1);
    const ys = Float32Array.from({ length: K * B }, () => r() * 2 - 1);
    const lrs = Float32Array.from({ length: K }, (_, k) => 0.01 * (k + 1));
    const scalarI = (v: number) => new ort.Tensor('int64', BigInt64Array.of(BigInt(v)), []);

    // Separate steps.
    const state = new Map<string, Float32Array>();
    for (const i of infos) {
      state.set(i.name, params.get(i.name)!.slice());
      state.set(momentName(i.name, 'm'), new Float32Array(params.get(i.name)!.length));
      state.set(momentName(i.name, 'v'), new Float32Array(params.get(i.name)!.length));
    }
    const losses: number[] = [];
    for (let k = 0; k < K; k++) {
      const feeds: Record<string, ort.Tensor> = {
        x: new ort.Tensor('float32', xs.slice(k * B * 4, (k + 1) * B * 4), [B, 4]),
        y: new ort.Tensor('float32', ys.slice(k * B, (k + 1) * B), [B, 1]),
        seed: scalarI(1), step: scalarI(k),
      };
      for (const i of infos) feeds[i.name] = new ort.Tensor('float32', state.get(i.name)!, i.shape);
      const out = await trainS.run(feeds);
      losses.push((out.loss.data as Float32Array)[0]);
      const of: Record<string, ort.Tensor> = { step: scalarI(k + 1), lr: new ort.Tensor('float32', Float32Array.of(lrs[k]), []) };
      for (const i of infos) {
        of[i.name] = new ort.Tensor('float32', state.get(i.name)!, i.shape);
        of[`${i.name}_grad`] = out[`${i.name}_grad`];
        for (const w of ['m', 'v'] as const) of[momentName(i.name, w)] = new ort.Tensor('float32', state.get(momentName(i.name, w))!, i.shape);
      }
      const upd = await optS.run(of);
      for (const i of infos) {
        state.set(i.name, upd[`${i.name}.next`].data as Float32Array);
        for (const w of ['m', 'v'] as const) state.set(momentName(i.name, w), upd[`${momentName(i.name, w)}.next`].data as Float32Array);
      }
    }

    // Fused.
    const feeds: Record<string, ort.Tensor> = {
      x: new ort.Tensor('float32', xs, [K, B, 4]), y: new ort.Tensor('float32', ys, [K, B, 1]),
      lr: new ort.Tensor('float32', lrs, [K]), seed: scalarI(1), step: scalarI(0),
    };
    for (const i of infos) {
      feeds[i.name] = new ort.Tensor('float32', params.get(i.name)!, i.shape);
      for (const w of ['m', 'v'] as const) feeds[momentName(i.name, w)] = new ort.Tensor('float32', new Float32Array(params.get(i.name)!.length), i.shape);
    }
    const fused = await fusedS.run(feeds);
    expect(Number((fused['step.next'].data as BigInt64Array)[0])).to.equal(K);
    // The same kernels run in the same order, so results are expected bit-identical
    // (docs/architecture.md: a Scan is bit-identical to separate runs).
    expect(Array.from(fused.losses.data as Float32Array)).to.deep.equal(losses);
    for (const i of infos) {
      expect(Array.from(fused[`${i.name}.next`].data as Float32Array), i.name).to.deep.equal(Array.from(state.get(i.name)!));
    }
    for (const s of [trainS, optS, fusedS]) await s.release();
  });
});
