/** Helpers composed from primitives, so autodiff needs no rules of their own. */
import { Tensor } from './graph.js';
import { add, div, exp, log, max, mul, sigmoid, sqrt, stopGradient, sub } from './ops/elementwise.js';
import { matmul } from './ops/matmul.js';
import { reduceMax, reduceMean, reduceSum } from './ops/reduce.js';

/** relu(x) = max(x, 0): Max's rule routes the gradient to x where x > 0 (half of it at exactly 0, a tie). */
export function relu(x: Tensor): Tensor {
  return max(x, 0);
}

/** silu(x) = x · sigmoid(x) (docs/models.md §0), elementwise; float32/float64, shape of x. */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}

/** rms(x; w, eps) = x / sqrt(mean(x^2) + eps) * w over the last axis (docs/models.md §0). */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const ms = reduceMean(mul(x, x), [-1], true);
  return mul(div(x, sqrt(add(ms, eps))), weight);
}

/**
 * l2n(x) = x / max(||x||, eps), written as x / sqrt(max(sum x^2, eps^2)) so that the
 * backward pass at an all-zero row is finite (docs/models.md §5).
 */
export function l2Normalize(x: Tensor, eps: number): Tensor {
  const sq = reduceSum(mul(x, x), [-1], true);
  return div(x, sqrt(max(sq, eps * eps)));
}

/** Numerically stable log-sum-exp over `axis`; the max is a constant shift, so no gradient flows through it. */
export function logSumExp(x: Tensor, axis: number, keepdims = false): Tensor {
  const m = stopGradient(reduceMax(x, [axis], true));
  const lse = add(log(reduceSum(exp(sub(x, m)), [axis], true)), m);
  return keepdims ? lse : reduceSum(lse, [axis], false);
}

/** x · weight (+ bias): x [..., K] of rank >= 2, weight [K, N], bias broadcast to [..., N]; float32/float64. Throws DslError (via matmul/add) otherwise. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const y = matmul(x, weight);
  return bias ? add(y, bias) : y;
}
