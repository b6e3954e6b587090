import { attrsFor } from '../attrs.js';
import { Tensor } from '../graph.js';
import { broadcastShapes } from '../shape.js';
import { DType, DslError, formatShape } from '../types.js';
import { FLOATS, NUMERIC, TensorLike, lift, requireDtype, requireSameDtype } from './util.js';

function binary(op: string, a: TensorLike, b: TensorLike, allowed: readonly DType[], outDtype?: DType): Tensor {
  const [ta, tb] = lift(op, a, b);
  requireSameDtype(op, ta, tb);
  requireDtype(op, ta, allowed);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  return ta.graph.addNode(op, [ta, tb], {}, [{ dtype: outDtype ?? ta.dtype, shape }])[0];
}

function unary(op: string, x: Tensor, allowed: readonly DType[] = FLOATS): Tensor {
  requireDtype(op, x, allowed);
  return x.graph.addNode(op, [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** a + b (ONNX Add), numpy broadcasting; float32/float64/int64/int32, one dtype for both; DslError otherwise. */
export const add = (a: TensorLike, b: TensorLike) => binary('Add', a, b, NUMERIC);
/** a − b (ONNX Sub), numpy broadcasting; float32/float64/int64/int32, one dtype for both; DslError otherwise. */
export const sub = (a: TensorLike, b: TensorLike) => binary('Sub', a, b, NUMERIC);
/** a · b (ONNX Mul), numpy broadcasting; float32/float64/int64/int32, one dtype for both; DslError otherwise. */
export const mul = (a: TensorLike, b: TensorLike) => binary('Mul', a, b, NUMERIC);
/** a / b (ONNX Div), numpy broadcasting; float32/float64/int64/int32, one dtype for both; DslError otherwise. */
export const div = (a: TensorLike, b: TensorLike) => binary('Div', a, b, NUMERIC);
/** a to the power b (ONNX Pow), numpy broadcasting; float32/float64, one dtype for both; DslError otherwise. */
export const pow = (a: TensorLike, b: TensorLike) => binary('Pow', a, b, FLOATS);
/** Elementwise maximum (ONNX Max), numpy broadcasting; float32/float64/int64/int32, one dtype for both; DslError otherwise. */
export const max = (a: TensorLike, b: TensorLike) => binary('Max', a, b, NUMERIC);
/** Elementwise minimum (ONNX Min), numpy broadcasting; float32/float64/int64/int32, one dtype for both; DslError otherwise. */
export const min = (a: TensorLike, b: TensorLike) => binary('Min', a, b, NUMERIC);
/** Integer modulo (fmod=0; ORT rejects fmod=0 for floats). */
export function mod(a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = lift('Mod', a, b);
  requireSameDtype('Mod', ta, tb);
  requireDtype('Mod', ta, ['int64', 'int32']);
  const shape = broadcastShapes('Mod', ta.shape, tb.shape);
  return ta.graph.addNode('Mod', [ta, tb], attrsFor('Mod', { fmod: false }), [{ dtype: ta.dtype, shape }])[0];
}
/** a XOR b bitwise (ONNX BitwiseXor), numpy broadcasting; int64/int32, one dtype for both; DslError otherwise. */
export const bitwiseXor = (a: TensorLike, b: TensorLike) => binary('BitwiseXor', a, b, ['int64', 'int32']);

/** a == b (ONNX Equal), numpy broadcasting; float32/float64/int64/int32/bool, one dtype for both, bool result; DslError otherwise. */
export const equal = (a: TensorLike, b: TensorLike) => binary('Equal', a, b, [...NUMERIC, 'bool'], 'bool');
/** a < b (ONNX Less), numpy broadcasting; float32/float64/int64/int32, one dtype for both, bool result; DslError otherwise. */
export const less = (a: TensorLike, b: TensorLike) => binary('Less', a, b, NUMERIC, 'bool');
/** a > b (ONNX Greater), numpy broadcasting; float32/float64/int64/int32, one dtype for both, bool result; DslError otherwise. */
export const greater = (a: TensorLike, b: TensorLike) => binary('Greater', a, b, NUMERIC, 'bool');
/** a <= b (ONNX LessOrEqual), numpy broadcasting; float32/float64/int64/int32, one dtype for both, bool result; DslError otherwise. */
export const lessOrEqual = (a: TensorLike, b: TensorLike) => binary('LessOrEqual', a, b, NUMERIC, 'bool');
/** a >= b (ONNX GreaterOrEqual), numpy broadcasting; float32/float64/int64/int32, one dtype for both, bool result; DslError otherwise. */
export const greaterOrEqual = (a: TensorLike, b: TensorLike) => binary('GreaterOrEqual', a, b, NUMERIC, 'bool');
/** Logical a AND b (ONNX And), numpy broadcasting; bool tensors only; DslError otherwise. */
export const and = (a: Tensor, b: Tensor) => binary('And', a, b, ['bool']);
/** Logical a OR b (ONNX Or), numpy broadcasting; bool tensors only; DslError otherwise. */
export const or = (a: Tensor, b: Tensor) => binary('Or', a, b, ['bool']);
/** Logical NOT (ONNX Not) elementwise; bool; x's shape and dtype; DslError for another dtype. */
export const not = (x: Tensor) => unary('Not', x, ['bool']);

/** −x (ONNX Neg) elementwise; float32/float64/int64/int32; x's shape and dtype; DslError for another dtype. */
export const neg = (x: Tensor) => unary('Neg', x, NUMERIC);
/** |x| (ONNX Abs) elementwise; float32/float64/int64/int32; x's shape and dtype; DslError for another dtype. */
export const abs = (x: Tensor) => unary('Abs', x, NUMERIC);
/** e^x (ONNX Exp) elementwise; float32/float64; x's shape and dtype; DslError for another dtype. */
export const exp = (x: Tensor) => unary('Exp', x);
/** Natural log (ONNX Log) elementwise; float32/float64; x's shape and dtype; DslError for another dtype. */
export const log = (x: Tensor) => unary('Log', x);
/** Square root (ONNX Sqrt) elementwise; float32/float64; x's shape and dtype; DslError for another dtype. */
export const sqrt = (x: Tensor) => unary('Sqrt', x);
/** 1 / x (ONNX Reciprocal) elementwise; float32/float64; x's shape and dtype; DslError for another dtype. */
export const reciprocal = (x: Tensor) => unary('Reciprocal', x);
/** 1 / (1 + e^−x) (ONNX Sigmoid) elementwise; float32/float64; x's shape and dtype; DslError for another dtype. */
export const sigmoid = (x: Tensor) => unary('Sigmoid', x);
/** ln(1 + e^x) (ONNX Softplus) elementwise; float32/float64; x's shape and dtype; DslError for another dtype. */
export const softplus = (x: Tensor) => unary('Softplus', x);
/** tanh x (ONNX Tanh) elementwise; float32/float64; x's shape and dtype; DslError for another dtype. */
export const tanh = (x: Tensor) => unary('Tanh', x);
/** sin x (ONNX Sin) elementwise; float32/float64; x's shape and dtype; DslError for another dtype. */
export const sin = (x: Tensor) => unary('Sin', x);
/** cos x (ONNX Cos) elementwise; float32/float64; x's shape and dtype; DslError for another dtype. */
export const cos = (x: Tensor) => unary('Cos', x);
/** Round down (ONNX Floor) elementwise; float32/float64; x's shape and dtype; DslError for another dtype. */
export const floor = (x: Tensor) => unary('Floor', x);
/** A copy of x (ONNX Identity); float32/float64/int64/int32/bool; x's shape and dtype; DslError for another dtype. */
export const identity = (x: Tensor) => unary('Identity', x, [...NUMERIC, 'bool']);

/** x converted to dtype `to` (ONNX Cast); any dtype in, x's shape. */
export function cast(x: Tensor, to: DType): Tensor {
  return x.graph.addNode('Cast', [x], attrsFor('Cast', { to }), [{ dtype: to, shape: x.shape }])[0];
}

/** `cond ? a : b`, broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (cond.dtype !== 'bool') throw new DslError(`Where: condition ${cond.name} must be bool, got ${cond.dtype}${formatShape(cond.shape)}`);
  const [ta, tb] = lift('Where', a, b);
  requireSameDtype('Where', ta, tb);
  const shape = broadcastShapes('Where', cond.shape, broadcastShapes('Where', ta.shape, tb.shape));
  return cond.graph.addNode('Where', [cond, ta, tb], {}, [{ dtype: ta.dtype, shape }])[0];
}

/** Clip with optional scalar bounds (omitted bounds are emitted as empty inputs). */
export function clip(x: Tensor, lo?: TensorLike, hi?: TensorLike): Tensor {
  requireDtype('Clip', x, NUMERIC);
  const bound = (v: TensorLike | undefined) => (v === undefined ? null : lift('Clip', x, v)[1]);
  const [tlo, thi] = [bound(lo), bound(hi)];
  for (const t of [tlo, thi]) {
    if (t && t.rank !== 0) throw new DslError(`Clip: bounds must be scalars, got ${formatShape(t.shape)}`);
  }
  return x.graph.addNode('Clip', [x, tlo, thi], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** Sign of x, −1, 0 or 1 (ONNX Sign), elementwise; float32/float64/int64/int32; x's shape and dtype; DslError for another dtype. */
export const sign = (x: Tensor) => unary('Sign', x, NUMERIC);

/** Identity whose output autodiff treats as a constant (no gradient flows back through it). */
export function stopGradient(x: Tensor): Tensor {
  const y = identity(x);
  x.graph.noGrad.add(y);
  return y;
}
