import { expect } from 'chai';
import * as F from '../src/dsl/index.js';
import { Graph } from '../src/dsl/graph.js';
import { gradients } from '../src/compiler/autodiff.js';
import { emitModel } from '../src/onnx/emit.js';
import { gradCheck } from './helpers/gradcheck.js';
import { f64, numbers, runOnce } from './helpers/ort.js';
import { checkVjp, distinct } from './helpers/vjp-coverage.js';

// Float64: ReduceSum/ReduceMean/ReduceMax, Unsqueeze, Expand, Equal, Cast, Div have double kernels.
describe('VJP: reductions', () => {
  it('ReduceSum over axes [0,2] (keepdims 0 and 1) and over all axes', async () => {
    await checkVjp('ReduceSum', {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      build: (_g, [x]) => [F.reduceSum(F.mul(x, x), [0, 2]), F.reduceSum(x, [-1], true), F.reduceSum(F.exp(x), null)],
    });
  });

  it('ReduceSum with a symbolic reduced dim', async () => {
    await checkVjp('ReduceSum', {
      inputs: [{ name: 'x', shape: [3, 2], decl: ['n', 2] }],
      build: (_g, [x]) => F.reduceSum(F.mul(x, x), [0]),
    });
  });

  it('ReduceMean over axis 1 (keepdims 0 and 1) and over all axes', async () => {
    await checkVjp('ReduceMean', {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      build: (_g, [x]) => [F.reduceMean(F.mul(x, x), [1]), F.reduceMean(x, [0, 1], true), F.reduceMean(x, null)],
    });
  });

  it('ReduceMean over a symbolic dim (the count comes from Shape at run time)', async () => {
    await checkVjp('ReduceMean', {
      inputs: [{ name: 'x', shape: [5, 2], decl: ['n', 2] }],
      build: (_g, [x]) => F.reduceMean(F.mul(x, x), [0]),
    });
  });

  it('ReduceMax over axis 1 and over axes [0,2], ties avoided', async () => {
    await checkVjp('ReduceMax', {
      inputs: [{ name: 'x', shape: [2, 3, 4], values: distinct(24) }],
      build: (_g, [x]) => [F.reduceMax(x, [1]), F.reduceMax(F.mul(x, 2), [0, 2], true)],
    });
  });

  it('ReduceMax at a tie splits the gradient evenly', async () => {
    const g = new Graph('tie');
    const x = g.input('x', 'float64', [2, 3]);
    const loss = F.reduceSum(F.mul(F.reduceMax(x, [1]), g.constant(Float64Array.from([1, 6]), 'float64', [2])), null);
    g.output('dx', gradients(g, loss, [x])[0]);
    const out = await runOnce(emitModel(g), { x: f64([1, 3, 3, 2, 2, 2], [2, 3]) });
    expect(numbers(out.dx)).to.deep.equal([0, 0.5, 0.5, 2, 2, 2]);
  });

  it('reducing over no axes is the identity (ONNX would read empty axes as all axes)', async () => {
    const r = await gradCheck({
      inputs: [{ name: 'x', shape: [2, 3] }],
      build: (_g, [x]) => {
        const ys = [F.reduceSum(x, []), F.reduceMean(x, [], true), F.reduceMax(F.exp(x), [])];
        for (const y of ys) expect(y.shape).to.deep.equal([2, 3]);
        return ys;
      },
    });
    expect([...r.ops].filter((op) => op.startsWith('Reduce'))).to.deep.equal([]);
  });
});
