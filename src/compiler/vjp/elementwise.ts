import { attrsOf } from '../../dsl/attrs.js';
import { Tensor } from '../../dsl/graph.js';
import * as op from '../../dsl/ops/elementwise.js';
import { isFloat } from '../../dsl/types.js';
import { scalar } from '../../dsl/ops/util.js';
import { sumToShape } from './broadcast.js';
import { registerVjp } from './registry.js';

/** Cotangent for operand k of a broadcasting binary op: reduce to that operand's shape. */
function toInput(g: Tensor, x: Tensor | null): Tensor | null {
  return x ? sumToShape(g, x.shape) : null;
}

registerVjp('Add', ({ node: { inputs: [a, b] }, grads: [g] }) => [toInput(g!, a), toInput(g!, b)]);
registerVjp('Sub', ({ node: { inputs: [a, b] }, grads: [g], needs }) => [toInput(g!, a), needs[1] ? toInput(op.neg(g!), b) : null]);
registerVjp('Mul', ({ node: { inputs: [a, b] }, grads: [g], needs }) => [
  needs[0] ? toInput(op.mul(g!, b!), a) : null,
  needs[1] ? toInput(op.mul(g!, a!), b) : null,
]);
registerVjp('Div', ({ node: { inputs: [a, b], outputs: [y] }, grads: [g], needs }) => [
  needs[0] ? toInput(op.div(g!, b!), a) : null,
  // d(a/b)/db = -a/b^2 = -y/b
  needs[1] ? toInput(op.neg(op.div(op.mul(g!, y), b!)), b) : null,
]);
registerVjp('Pow', ({ node: { inputs: [a, b], outputs: [y] }, grads: [g], needs }) => [
  needs[0] ? toInput(op.mul(g!, op.mul(b!, op.pow(a!, op.sub(b!, 1)))), a) : null,
  needs[1] ? toInput(op.mul(g!, op.mul(y, op.log(a!))), b) : null,
]);

/** Max/Min: the winner takes the gradient; on ties it is split evenly, as torch does. */
function extremum(cmp: (a: Tensor, b: Tensor) => Tensor) {
  return ({ node: { inputs: [a, b] }, grads: [g], needs }: Parameters<Parameters<typeof registerVjp>[1]>[0]) => {
    const wins = op.cast(cmp(a!, b!), a!.dtype);
    const ties = op.mul(op.cast(op.equal(a!, b!), a!.dtype), 0.5);
    const wa = op.add(wins, ties);
    return [needs[0] ? toInput(op.mul(g!, wa), a) : null, needs[1] ? toInput(op.mul(g!, op.sub(1, wa)), b) : null];
  };
}
registerVjp('Max', extremum(op.greater));
registerVjp('Min', extremum(op.less));

registerVjp('Neg', ({ grads: [g] }) => [op.neg(g!)]);
registerVjp('Identity', ({ grads: [g] }) => [g]);
registerVjp('Abs', ({ node: { inputs: [x] }, grads: [g] }) => [op.mul(g!, op.sign(x!))]);
registerVjp('Exp', ({ node: { outputs: [y] }, grads: [g] }) => [op.mul(g!, y)]);
registerVjp('Log', ({ node: { inputs: [x] }, grads: [g] }) => [op.div(g!, x!)]);
registerVjp('Sqrt', ({ node: { outputs: [y] }, grads: [g] }) => [op.div(op.mul(g!, 0.5), y)]);
registerVjp('Reciprocal', ({ node: { outputs: [y] }, grads: [g] }) => [op.neg(op.mul(g!, op.mul(y, y)))]);
registerVjp('Sigmoid', ({ node: { outputs: [y] }, grads: [g] }) => [op.mul(g!, op.mul(y, op.sub(1, y)))]);
registerVjp('Softplus', ({ node: { inputs: [x] }, grads: [g] }) => [op.mul(g!, op.sigmoid(x!))]);
registerVjp('Tanh', ({ node: { outputs: [y] }, grads: [g] }) => [op.mul(g!, op.sub(1, op.mul(y, y)))]);
registerVjp('Sin', ({ node: { inputs: [x] }, grads: [g] }) => [op.mul(g!, op.cos(x!))]);
registerVjp('Cos', ({ node: { inputs: [x] }, grads: [g] }) => [op.neg(op.mul(g!, op.sin(x!)))]);

registerVjp('Cast', ({ node, grads: [g] }) => {
  const { to } = attrsOf(node, 'Cast');
  const [x] = node.inputs;
  // Only float-to-float casts carry gradient; an integer source has none.
  return [to && isFloat(to) && isFloat(x!.dtype) ? op.cast(g!, x!.dtype) : null];
});

registerVjp('Where', ({ node: { inputs: [cond, a, b] }, grads: [g], needs }) => {
  // A scalar zero broadcasts inside Where; no full-size zeros tensor is materialised.
  const zero = (t: Tensor) => scalar(t.graph, 0, t.dtype);
  return [
    null,
    needs[1] ? toInput(op.where(cond!, g!, zero(g!)), a) : null,
    needs[2] ? toInput(op.where(cond!, zero(g!), g!), b) : null,
  ];
});

registerVjp('Clip', ({ node: { inputs: [x, lo, hi] }, grads: [g] }) => {
  let pass: Tensor | null = null;
  if (lo) pass = op.greaterOrEqual(x!, lo);
  if (hi) pass = pass ? op.and(pass, op.lessOrEqual(x!, hi)) : op.lessOrEqual(x!, hi);
  return [pass ? op.mul(g!, op.cast(pass, x!.dtype)) : g, null, null];
});
