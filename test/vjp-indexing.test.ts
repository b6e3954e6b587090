import * as ort from 'onnxruntime-node';
import * as F from '../src/dsl/index.js';
import { i64 } from './helpers/ort.js';
import { checkVjp } from './helpers/vjp-coverage.js';

// Float64: Gather, GatherElements, GatherND, ScatterND and ScatterElements (reduction add and
// none), Trilu, CumSum, Transpose, Unsqueeze and ConstantOfShape have double CPU kernels.
describe('VJP: indexing', () => {
  it('Gather on axis 0 with duplicate and negative indices', async () => {
    await checkVjp('Gather', {
      inputs: [{ name: 'x', shape: [4, 3] }],
      extra: [{ name: 'idx', dtype: 'int64', shape: [2, 3], feed: i64([1, 3, 1, -1, 0, 1], [2, 3]) }],
      build: (_g, [x], [idx]) => F.gather(x, idx, 0),
    });
  });

  it('Gather on axis 1 with duplicate indices (2-D index tensor)', async () => {
    await checkVjp('Gather', {
      inputs: [{ name: 'x', shape: [2, 4, 3] }],
      extra: [{ name: 'idx', dtype: 'int64', shape: [2, 2], feed: i64([2, 0, 2, 2], [2, 2]) }],
      build: (_g, [x], [idx]) => F.gather(x, idx, 1),
    });
  });

  it('Gather on the last axis with a scalar index', async () => {
    await checkVjp('Gather', {
      inputs: [{ name: 'x', shape: [3, 4] }],
      extra: [{ name: 'idx', dtype: 'int64', shape: [], feed: i64([2], []) }],
      build: (_g, [x], [idx]) => F.gather(x, idx, -1),
    });
  });

  it('Gather with int32 indices (the VJP casts them for ScatterND)', async () => {
    await checkVjp('Gather', {
      inputs: [{ name: 'x', shape: [4, 3] }],
      extra: [{ name: 'idx', dtype: 'int32', shape: [3], feed: new ort.Tensor('int32', Int32Array.from([1, 2, 1]), [3]) }],
      build: (_g, [x], [idx]) => [F.gather(x, idx, 0), F.gather(x, idx, 1)],
    });
  });

  it('Gather on a tensor with a symbolic dim, axes 0 and 1', async () => {
    await checkVjp('Gather', {
      inputs: [{ name: 'x', shape: [4, 3], decl: ['n', 3] }],
      extra: [{ name: 'idx', dtype: 'int64', shape: [2], feed: i64([1, 1], [2]) }],
      build: (_g, [x], [idx]) => [F.gather(x, idx, 0), F.reduceSum(F.gather(x, idx, 1), [0])],
    });
  });

  it('GatherND (index depth 1 and 2, duplicates)', async () => {
    await checkVjp('GatherND', {
      inputs: [{ name: 'x', shape: [3, 4, 2] }],
      extra: [
        { name: 'i1', dtype: 'int64', shape: [3, 1], feed: i64([2, 0, 2], [3, 1]) },
        { name: 'i2', dtype: 'int64', shape: [2, 2, 2], feed: i64([0, 1, 2, 3, 0, 1, 1, 0], [2, 2, 2]) },
      ],
      build: (_g, [x], [i1, i2]) => [F.gatherND(x, i1), F.gatherND(x, i2)],
    });
  });

  it('GatherElements on axes 1 and 0 with duplicates', async () => {
    await checkVjp('GatherElements', {
      inputs: [{ name: 'x', shape: [3, 4] }],
      extra: [
        { name: 'i1', dtype: 'int64', shape: [3, 2], feed: i64([0, 0, 3, 1, 2, 2], [3, 2]) },
        { name: 'i0', dtype: 'int64', shape: [2, 4], feed: i64([0, 2, 2, 1, 0, 0, 1, 2], [2, 4]) },
      ],
      build: (_g, [x], [i1, i0]) => [F.gatherElements(x, i1, 1), F.gatherElements(x, i0, 0)],
    });
  });

  it('GatherElements from a symbolic axis (x [2, T], T = 4 at run time; zeros built by Expand)', async () => {
    await checkVjp('GatherElements', {
      inputs: [{ name: 'x', shape: [2, 4], decl: [2, 'T'] }],
      extra: [{ name: 'idx', dtype: 'int64', shape: [2, 3], feed: i64([3, 0, 3, 1, 1, 2], [2, 3]) }],
      build: (_g, [x], [idx]) => F.gatherElements(x, idx, 1),
    });
  });

  it('GatherElements with int32 indices', async () => {
    await checkVjp('GatherElements', {
      inputs: [{ name: 'x', shape: [4, 3] }],
      extra: [{ name: 'idx', dtype: 'int32', shape: [2, 3], feed: new ort.Tensor('int32', Int32Array.from([1, 3, 1, 0, 0, 1]), [2, 3]) }],
      build: (_g, [x], [idx]) => F.gatherElements(x, idx, 0),
    });
  });

  it('ScatterND add: gradient wrt data and updates, duplicate indices', async () => {
    await checkVjp('ScatterND', {
      inputs: [{ name: 'data', shape: [4, 3] }, { name: 'upd', shape: [3, 3] }],
      extra: [{ name: 'idx', dtype: 'int64', shape: [3, 1], feed: i64([1, 3, 1], [3, 1]) }],
      build: (_g, [data, upd], [idx]) => F.mul(F.scatterND(data, idx, upd, 'add'), data),
    });
  });

  it('ScatterND none: overwritten data positions get no gradient', async () => {
    await checkVjp('ScatterND', {
      inputs: [{ name: 'data', shape: [3, 4] }, { name: 'upd', shape: [2] }],
      extra: [{ name: 'idx', dtype: 'int64', shape: [2, 2], feed: i64([0, 1, 2, 3], [2, 2]) }],
      build: (_g, [data, upd], [idx]) => F.scatterND(data, idx, upd, 'none'),
    });
  });

  it('ScatterElements add on axis 1: gradient wrt data and updates, duplicates', async () => {
    await checkVjp('ScatterElements', {
      inputs: [{ name: 'data', shape: [2, 4] }, { name: 'upd', shape: [2, 3] }],
      extra: [{ name: 'idx', dtype: 'int64', shape: [2, 3], feed: i64([0, 3, 0, 2, 2, 1], [2, 3]) }],
      build: (_g, [data, upd], [idx]) => F.exp(F.scatterElements(data, idx, upd, 1, 'add')),
    });
  });

  it('Trilu lower k=0, upper k=1, lower k=-1 on a batch of 3x4', async () => {
    await checkVjp('Trilu', {
      inputs: [{ name: 'x', shape: [2, 3, 4] }],
      build: (_g, [x]) => [F.trilu(x, false), F.trilu(x, true, 1), F.trilu(F.mul(x, x), false, -1)],
    });
  });

  it('CumSum plain, exclusive, reverse, exclusive+reverse', async () => {
    await checkVjp('CumSum', {
      inputs: [{ name: 'x', shape: [3, 4] }],
      build: (_g, [x]) => [
        F.cumsum(x, 1),
        F.cumsum(x, 1, { exclusive: true }),
        F.cumsum(x, 0, { reverse: true }),
        F.cumsum(F.mul(x, x), -1, { exclusive: true, reverse: true }),
      ],
    });
  });
});
