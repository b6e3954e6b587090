import * as F from '../src/dsl/index.js';
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
});
