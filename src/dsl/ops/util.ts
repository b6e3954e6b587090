import { Graph, Tensor } from '../graph.js';
import { DType, DslError, formatShape } from '../types.js';

export type TensorLike = Tensor | number;

/** A one-element typed array of `dtype` holding `value` (BigInt64Array for int64, 0/1 Uint8Array for bool); BigInt() throws RangeError for a non-integer int64 value. */
export function typedScalar(value: number, dtype: DType) {
  switch (dtype) {
    case 'float32':
      return new Float32Array([value]);
    case 'float64':
      return new Float64Array([value]);
    case 'int64':
      return new BigInt64Array([BigInt(value)]);
    case 'int32':
      return new Int32Array([value]);
    case 'bool':
      return new Uint8Array([value ? 1 : 0]);
  }
}

/** A rank-0 constant. */
export function scalar(g: Graph, value: number, dtype: DType = 'float32'): Tensor {
  return g.constant(typedScalar(value, dtype), dtype, []);
}

/** A 1-D int64 constant, the form ONNX wants for axes, shapes, starts and pads. */
export function int64s(g: Graph, values: readonly number[]): Tensor {
  return g.constant(BigInt64Array.from(values.map((v) => BigInt(v))), 'int64', [values.length]);
}

/** The graph of the first tensor among `xs`; throws DslError naming `op` when none is a tensor. */
export function graphOf(op: string, ...xs: TensorLike[]): Graph {
  for (const x of xs) if (x instanceof Tensor) return x.graph;
  throw new DslError(`${op}: at least one operand must be a tensor`);
}

/** Turns numbers into scalars of the tensor operand's dtype, so `mul(x, 2)` works for any float x. */
export function lift(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  const g = graphOf(op, a, b);
  const t = a instanceof Tensor ? a : (b as Tensor);
  const dtype = t.dtype;
  const num = a instanceof Tensor ? b : a;
  if (typeof num === 'number' && (dtype === 'int64' || dtype === 'int32') && !Number.isInteger(num)) {
    throw new DslError(`${op}: number ${num} is not an integer, so it cannot combine with ${t.name} ${dtype}${formatShape(t.shape)}`);
  }
  const ta = a instanceof Tensor ? a : scalar(g, a, dtype);
  const tb = b instanceof Tensor ? b : scalar(g, b, dtype);
  return [ta, tb];
}

/** Throws DslError naming `op` and `t` unless t's dtype is one of `allowed`. */
export function requireDtype(op: string, t: Tensor, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new DslError(`${op}: input ${t.name} has dtype ${t.dtype}${formatShape(t.shape)}, expected one of ${allowed.join(', ')}`);
  }
}

/** Throws DslError naming `op` unless `a` and `b` have the same dtype. */
export function requireSameDtype(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new DslError(`${op}: dtype mismatch ${a.dtype}${formatShape(a.shape)} vs ${b.dtype}${formatShape(b.shape)}`);
  }
}

export const FLOATS: readonly DType[] = ['float32', 'float64'];
export const NUMERIC: readonly DType[] = ['float32', 'float64', 'int64', 'int32'];
export const INDICES: readonly DType[] = ['int64', 'int32'];
