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

export const add = (a: TensorLike, b: TensorLike) => binary('Add', a, b, NUMERIC);
export const sub = (a: TensorLike, b: TensorLike) => binary('Sub', a, b, NUMERIC);
export const mul = (a: TensorLike, b: TensorLike) => binary('Mul', a, b, NUMERIC);
export const div = (a: TensorLike, b: TensorLike) => binary('Div', a, b, NUMERIC);
export const pow = (a: TensorLike, b: TensorLike) => binary('Pow', a, b, FLOATS);
export const max = (a: TensorLike, b: TensorLike) => binary('Max', a, b, NUMERIC);
export const min = (a: TensorLike, b: TensorLike) => binary('Min', a, b, NUMERIC);
/** Integer modulo (fmod=0; ORT rejects fmod=0 for floats). */
export function mod(a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = lift('Mod', a, b);
  requireSameDtype('Mod', ta, tb);
  requireDtype('Mod', ta, ['int64', 'int32']);
  const shape = broadcastShapes('Mod', ta.shape, tb.shape);
  return ta.graph.addNode('Mod', [ta, tb], attrsFor('Mod', { fmod: false }), [{ dtype: ta.dtype, shape }])[0];
}
export const bitwiseXor = (a: TensorLike, b: TensorLike) => binary('BitwiseXor', a, b, ['int64', 'int32']);

export const equal = (a: TensorLike, b: TensorLike) => binary('Equal', a, b, [...NUMERIC, 'bool'], 'bool');
export const less = (a: TensorLike, b: TensorLike) => binary('Less', a, b, NUMERIC, 'bool');
export const greater = (a: TensorLike, b: TensorLike) => binary('Greater', a, b, NUMERIC, 'bool');
export const lessOrEqual = (a: TensorLike, b: TensorLike) => binary('LessOrEqual', a, b, NUMERIC, 'bool');
export const greaterOrEqual = (a: TensorLike, b: TensorLike) => binary('GreaterOrEqual', a, b, NUMERIC, 'bool');
export const and = (a: Tensor, b: Tensor) => binary('And', a, b, ['bool']);
export const or = (a: Tensor, b: Tensor) => binary('Or', a, b, ['bool']);
export const not = (x: Tensor) => unary('Not', x, ['bool']);

export const neg = (x: Tensor) => unary('Neg', x, NUMERIC);
export const abs = (x: Tensor) => unary('Abs', x, NUMERIC);
export const exp = (x: Tensor) => unary('Exp', x);
export const log = (x: Tensor) => unary('Log', x);
export const sqrt = (x: Tensor) => unary('Sqrt', x);
export const reciprocal = (x: Tensor) => unary('Reciprocal', x);
export const sigmoid = (x: Tensor) => unary('Sigmoid', x);
export const softplus = (x: Tensor) => unary('Softplus', x);
export const tanh = (x: Tensor) => unary('Tanh', x);
export const sin = (x: Tensor) => unary('Sin', x);
export const cos = (x: Tensor) => unary('Cos', x);
export const floor = (x: Tensor) => unary('Floor', x);
export const identity = (x: Tensor) => unary('Identity', x, [...NUMERIC, 'bool']);

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

export const sign = (x: Tensor) => unary('Sign', x, NUMERIC);

/** Identity whose output autodiff treats as a constant (no gradient flows back through it). */
export function stopGradient(x: Tensor): Tensor {
  const y = identity(x);
  x.graph.noGrad.add(y);
  return y;
}
