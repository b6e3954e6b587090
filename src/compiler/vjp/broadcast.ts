import { Tensor } from '../../dsl/graph.js';
import { reduceSum } from '../../dsl/ops/reduce.js';
import { reshape } from '../../dsl/ops/shape-ops.js';
import { DslError, Shape, formatShape, sameShape } from '../../dsl/types.js';

/**
 * Sums a cotangent of a broadcast result back to the operand's shape: leading axes the
 * operand lacks, and axes where the operand has 1 but the result does not.
 */
export function sumToShape(grad: Tensor, shape: Shape): Tensor {
  if (sameShape(grad.shape, shape)) return grad;
  const lead = grad.rank - shape.length;
  if (lead < 0) throw new DslError(`sumToShape: ${formatShape(grad.shape)} cannot reduce to ${formatShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < grad.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && grad.shape[i] !== 1) axes.push(i);
    else if (shape[i - lead] !== grad.shape[i]) {
      throw new DslError(`sumToShape: dim ${i} of ${formatShape(grad.shape)} does not broadcast from ${formatShape(shape)}`);
    }
  }
  let out = axes.length ? reduceSum(grad, axes, true) : grad;
  if (lead > 0) out = reshape(out, [...shape]);
  return out;
}
