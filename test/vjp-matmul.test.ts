import * as F from '../src/dsl/index.js';
import { checkVjp } from './helpers/vjp-coverage.js';

// Float64: MatMul, Transpose, Reshape and ReduceSum all have double CPU kernels.
describe('VJP: matmul', () => {
  it('MatMul [3,4] x [4,2]', async () => {
    await checkVjp('MatMul', {
      inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4, 2] }],
      build: (_g, [a, b]) => F.matmul(a, b),
    });
  });

  it('MatMul [2,3,4,5] x [5,6] (weight gradient as one flattened GEMM)', async () => {
    await checkVjp('MatMul', {
      inputs: [{ name: 'a', shape: [2, 3, 4, 5] }, { name: 'b', shape: [5, 6] }],
      build: (_g, [a, b]) => F.matmul(a, b),
    });
  });

  it('MatMul [2,1,4,5] x [3,5,6] (broadcast batch dims on both sides)', async () => {
    await checkVjp('MatMul', {
      inputs: [{ name: 'a', shape: [2, 1, 4, 5] }, { name: 'b', shape: [3, 5, 6] }],
      build: (_g, [a, b]) => F.matmul(a, b),
    });
  });

  it('MatMul [3,4] x [2,4,3] (rank-2 left operand broadcast over a batch)', async () => {
    await checkVjp('MatMul', {
      inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [2, 4, 3] }],
      build: (_g, [a, b]) => F.matmul(a, b),
    });
  });

  it('MatMul x @ x^T (both operands the same tensor)', async () => {
    await checkVjp('MatMul', {
      inputs: [{ name: 'x', shape: [3, 4] }],
      build: (_g, [x]) => F.matmul(x, F.transpose(x, [1, 0])),
    });
  });

  it('MatMul with a symbolic batch dim: x [batch,3,4] x w [4,2]', async () => {
    await checkVjp('MatMul', {
      inputs: [{ name: 'x', shape: [2, 3, 4], decl: ['batch', 3, 4] }, { name: 'w', shape: [4, 2] }],
      build: (_g, [x, w]) => F.reduceSum(F.matmul(x, w), [0]),
    });
  });
});
