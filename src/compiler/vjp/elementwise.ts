import { Tensor } from '../../dsl/graph.js';
import * as F from '../../dsl/ops/elementwise.js';
import { DType } from '../../dsl/types.js';
import { scalar } from '../../dsl/ops/util.js';
import { sumToShape } from './broadcast.js';
import { registerVjp } from './registry.js';

const DTYPE_BY_CODE: Record<number, DType> = { 1: 'float32', 11: 'float64' };

/** Cotangent for operand k of a broadcasting binary op: reduce to that operand's shape. */
function toInput(g: Tensor, x: Tensor | null): Tensor | null {
  return x ? sumToShape(g, x.shape) : null;
}

registerVjp('Add', ({ node: { inputs: [a, b] }, grads: [g] }) => [toInput(g!, a), toInput(g!, b)]);
registerVjp('Sub', ({ node: { inputs: [a, b] }, grads: [g], needs }) => [toInput(g!, a), needs[1] ? toInput(F.neg(g!), b) : null]);
registerVjp('Mul', ({ node: { inputs: [a, b] }, grads: [g], needs }) => [
  needs[0] ? toInput(F.mul(g!, b!), a) : null,
  needs[1] ? toInput(F.mul(g!, a!), b) : null,
]);
registerVjp('Div', ({ node: { inputs: [a, b], outputs: [y] }, grads: [g], needs }) => [
  needs[0] ? toInput(F.div(g!, b!), a) : null,
  // d(a/b)/db = -a/b^2 = -y/b
  needs[1] ? toInput(F.neg(F.div(F.mul(g!, y), b!)), b) : null,
]);
registerVjp('Pow', ({ node: { inputs: [a, b], outputs: [y] }, grads: [g], needs }) => [
  needs[0] ? toInput(F.mul(g!, F.mul(b!, F.pow(a!, F.sub(b!, 1)))), a) : null,
  needs[1] ? toInput(F.mul(g!, F.mul(y, F.log(a!))), b) : null,
]);

/** Max/Min: the winner takes the gradient; on ties it is split evenly, as torch does. */
function extremum(cmp: (a: Tensor, b: Tensor) => Tensor) {
  return ({ node: { inputs: [a, b] }, grads: [g], needs }: Parameters<Parameters<typeof registerVjp>[1]>[0]) => {
    const wins = F.cast(cmp(a!, b!), a!.dtype);
    const ties = F.mul(F.cast(F.equal(a!, b!), a!.dtype), 0.5);
    const wa = F.add(wins, ties);
    return [needs[0] ? toInput(F.mul(g!, wa), a) : null, needs[1] ? toInput(F.mul(g!, F.sub(1, wa)), b) : null];
  };
}
registerVjp('Max', extremum(F.greater));
registerVjp('Min', extremum(F.less));

registerVjp('Neg', ({ grads: [g] }) => [F.neg(g!)]);
registerVjp('Identity', ({ grads: [g] }) => [g]);
registerVjp('Abs', ({ node: { inputs: [x] }, grads: [g] }) => [F.mul(g!, F.sign(x!))]);
registerVjp('Exp', ({ node: { outputs: [y] }, grads: [g] }) => [F.mul(g!, y)]);
registerVjp('Log', ({ node: { inputs: [x] }, grads: [g] }) => [F.div(g!, x!)]);
registerVjp('Sqrt', ({ node: { outputs: [y] }, grads: [g] }) => [F.div(F.mul(g!, 0.5), y)]);
registerVjp('Reciprocal', ({ node: { outputs: [y] }, grads: [g] }) => [F.neg(F.mul(g!, F.mul(y, y)))]);
registerVjp('Sigmoid', ({ node: { outputs: [y] }, grads: [g] }) => [F.mul(g!, F.mul(y, F.sub(1, y)))]);
registerVjp('Softplus', ({ node: { inputs: [x] }, grads: [g] }) => [F.mul(g!, F.sigmoid(x!))]);
registerVjp('Tanh', ({ node: { outputs: [y] }, grads: [g] }) => [F.mul(g!, F.sub(1, F.mul(y, y)))]);
registerVjp('Sin', ({ node: { inputs: [x] }, grads: [g] }) => [F.mul(g!, F.cos(x!))]);
registerVjp('Cos', ({ node: { inputs: [x] }, grads: [g] }) => [F.neg(F.mul(g!, F.sin(x!)))]);

registerVjp('Cast', ({ node: { inputs: [x], attrs }, grads: [g] }) => {
  const to = DTYPE_BY_CODE[(attrs.to as { value: number }).value];
  // Only float-to-float casts carry gradient; an integer source has none.
  return [to && (x!.dtype === 'float32' || x!.dtype === 'float64') ? F.cast(g!, x!.dtype) : null];
});

registerVjp('Where', ({ node: { inputs: [cond, a, b] }, grads: [g], needs }) => {
  // A scalar zero broadcasts inside Where; no full-size zeros tensor is materialised.
  const zero = (t: Tensor) => scalar(t.graph, 0, t.dtype);
  return [
    null,
    needs[1] ? toInput(F.where(cond!, g!, zero(g!)), a) : null,
    needs[2] ? toInput(F.where(cond!, zero(g!), g!), b) : null,
  ];
});

registerVjp('Clip', ({ node: { inputs: [x, lo, hi] }, grads: [g] }) => {
  let pass: Tensor | null = null;
  if (lo) pass = F.greaterOrEqual(x!, lo);
  if (hi) pass = pass ? F.and(pass, F.lessOrEqual(x!, hi)) : F.lessOrEqual(x!, hi);
  return [pass ? F.mul(g!, F.cast(pass, x!.dtype)) : g, null, null];
});
