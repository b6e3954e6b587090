import { Tensor } from '../graph.js';
import { broadcastShapes } from '../shape.js';
import { Dim, DslError, formatShape } from '../types.js';
import { FLOATS, requireDtype, requireSameDtype } from './util.js';

/** Numpy matmul semantics with broadcast batch dims (ONNX MatMul). Operands of rank >= 2. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireSameDtype('MatMul', a, b);
  requireDtype('MatMul', a, FLOATS);
  if (a.rank < 2 || b.rank < 2) {
    throw new DslError(`MatMul: operands must have rank >= 2, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const [n, k1] = a.shape.slice(-2);
  const [k2, m] = b.shape.slice(-2);
  if (k1 !== k2) {
    throw new DslError(`MatMul: inner dimensions differ: ${a.name} ${formatShape(a.shape)} x ${b.name} ${formatShape(b.shape)} (${k1} vs ${k2})`);
  }
  let batch: Dim[];
  try {
    batch = broadcastShapes('MatMul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new DslError(`MatMul: batch dimensions of ${formatShape(a.shape)} and ${formatShape(b.shape)} do not broadcast`);
  }
  return a.graph.addNode('MatMul', [a, b], {}, [{ dtype: a.dtype, shape: [...batch, n, m] }])[0];
}
