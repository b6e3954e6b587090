import { ReclmError } from '../errors.js';
/** Element types the DSL supports, named as ONNX names them (lower case). */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

/** A dimension: a static size, or a named symbolic size such as `batch`. */
export type Dim = number | string;
export type Shape = readonly Dim[];

export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  bool: 9,
  int32: 6,
  int64: 7,
  float64: 11,
};

const DTYPE_BY_ONNX = new Map(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]));

/** The DSL dtype of an ONNX TensorProto.DataType code; undefined for types the DSL lacks. */
export function dtypeOfOnnx(code: number): DType | undefined {
  return DTYPE_BY_ONNX.get(code);
}

/** True for float32 and float64. */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** True for int64 and int32 (not bool). */
export function isInteger(dtype: DType): boolean {
  return dtype === 'int64' || dtype === 'int32';
}

/** A shape as messages show it, e.g. `[batch, 50, 64]`. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** True when every dim is a number (no symbolic dims); narrows the type to number[]. */
export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

/** Number of elements of a static shape: the product of its dims (1 for a scalar, []). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** True when the shapes have the same rank and equal dims (symbolic dims compared by name). */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Error raised for invalid DSL usage; the message names the op and the shapes involved. */
export class DslError extends ReclmError {}
