import { Tensor } from '../../dsl/graph.js';
import { matmul } from '../../dsl/ops/matmul.js';
import { reshape, reshapeDynamic, transpose } from '../../dsl/ops/shape-ops.js';
import { int64s } from '../../dsl/ops/util.js';
import { isStatic } from '../../dsl/types.js';
import { sumToShape } from './broadcast.js';
import { registerVjp } from './registry.js';

function swapLast(t: Tensor): Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return transpose(t, perm);
}

/**
 * Weight gradient of x[..., k] @ W[k, m]: flatten the batch dims so it is one GEMM
 * (a batched MatMul followed by a ReduceSum is several times slower on CPU).
 */
function weightGrad(a: Tensor, g: Tensor, b: Tensor): Tensor {
  const [k, m] = b.shape as readonly number[];
  const a2 = reshape(a, [-1, k]);
  // g has as many rows as a; with symbolic batch dims reshape() would give each its own fresh dim.
  const g2 = reshapeDynamic(g, int64s(g.graph, [-1, m]), [a2.shape[0], m]);
  return matmul(transpose(a2, [1, 0]), g2);
}

// y = a @ b: da = g @ b^T, db = a^T @ g, each summed over broadcast batch dims.
registerVjp('MatMul', ({ node: { inputs: [a, b] }, grads: [g], needs }) => [
  needs[0] ? sumToShape(matmul(g!, swapLast(b!)), a!.shape) : null,
  needs[1] ? (b!.rank === 2 && a!.rank > 2 && isStatic(b!.shape) ? weightGrad(a!, g!, b!) : sumToShape(matmul(swapLast(a!), g!), b!.shape)) : null,
]);
