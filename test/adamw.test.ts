import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ParamInfo } from '../src/dsl/graph.js';
import { buildOptimizerGraph, momentName } from '../src/compiler/adamw.js';
import { emitModel } from '../src/onnx/emit.js';
import { createSession } from './helpers/ort.js';

interface Named { name: string; shape: number[]; values: number[] }
const fixture = JSON.parse(readFileSync(new URL('../../shared/fixtures/adamw_clip.json', import.meta.url), 'utf8')) as {
  hyper: { lr: number; beta1: number; beta2: number; eps: number; weight_decay: number; max_grad_norm: number };
  decay_params: string[];
  params: Named[];
  steps: { step: number; grads: Named[]; grad_global_norm: number; clip_coef: number; params_after: Named[] }[];
};

/** |a − e| ≤ atol + rtol·|e| element-wise; returns the worst violation ratio (≤ 1 passes). */
function worst(actual: ArrayLike<number>, expected: number[], rtol: number, atol: number): number {
  let w = 0;
  expected.forEach((e, i) => (w = Math.max(w, Math.abs(actual[i] - e) / (atol + rtol * Math.abs(e)))));
  return w;
}

describe('AdamW graph', () => {
  it('replays adamw_clip.json: 3 steps, clipping active in steps 1 and 3', async () => {
    const h = fixture.hyper;
    const infos: ParamInfo[] = fixture.params.map((p) => ({
      name: p.name, shape: p.shape, init: { kind: 'zeros' }, decay: fixture.decay_params.includes(p.name), zeroGradRows: [],
    }));
    // The grouping must be the seed's rule: decay exactly the tensors of rank >= 2.
    for (const info of infos) expect(info.decay, info.name).to.equal(info.shape.length >= 2);
    const graph = buildOptimizerGraph(infos, { beta1: h.beta1, beta2: h.beta2, eps: h.eps, weightDecay: h.weight_decay, maxGradNorm: h.max_grad_norm });
    const session = await createSession(emitModel(graph));
    const state = new Map<string, Float32Array>();
    for (const p of fixture.params) {
      state.set(p.name, Float32Array.from(p.values));
      state.set(momentName(p.name, 'm'), new Float32Array(p.values.length));
      state.set(momentName(p.name, 'v'), new Float32Array(p.values.length));
    }
    const clipped: boolean[] = [];
    for (const step of fixture.steps) {
      const feeds: Record<string, ort.Tensor> = { step: new ort.Tensor('int64', BigInt64Array.of(BigInt(step.step)), []), lr: new ort.Tensor('float32', Float32Array.of(h.lr), []) };
      for (const p of fixture.params) {
        for (const key of [p.name, momentName(p.name, 'm'), momentName(p.name, 'v')]) feeds[key] = new ort.Tensor('float32', state.get(key)!, p.shape);
      }
      // Replay the fixture's own gradients (README: keeps float32 noise out of Adam's ratio).
      for (const gr of step.grads) feeds[`${gr.name}_grad`] = new ort.Tensor('float32', Float32Array.from(gr.values), gr.shape);
      const out = await session.run(feeds);
      // Tolerances of the fixtures (docs/models.md §6): norm and coefficient rtol 1e-5.
      expect(worst(out.grad_norm.data as Float32Array, [step.grad_global_norm], 1e-5, 0)).to.be.at.most(1);
      expect(worst(out.clip_coef.data as Float32Array, [step.clip_coef], 1e-5, 0)).to.be.at.most(1);
      clipped.push(step.clip_coef < 1);
      for (const p of step.params_after) {
        const actual = out[`${p.name}.next`].data as Float32Array;
        expect(worst(actual, p.values, 1e-5, 1e-6), `${p.name} after step ${step.step}`).to.be.at.most(1);
      }
      for (const p of fixture.params) {
        state.set(p.name, out[`${p.name}.next`].data as Float32Array);
        state.set(momentName(p.name, 'm'), out[`${momentName(p.name, 'm')}.next`].data as Float32Array);
        state.set(momentName(p.name, 'v'), out[`${momentName(p.name, 'v')}.next`].data as Float32Array);
      }
    }
    expect(clipped).to.deep.equal([true, false, true]);
    await session.release();
  });
});
