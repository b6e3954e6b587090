import { Tensor } from '../../dsl/graph.js';
import * as op from '../../dsl/ops/elementwise.js';
import { reduceProd, reduceSum } from '../../dsl/ops/reduce.js';
import { gather } from '../../dsl/ops/indexing.js';
import { expandAs, shapeOf, unsqueeze } from '../../dsl/ops/shape-ops.js';
import { int64s } from '../../dsl/ops/util.js';
import { Node, constInts } from '../../dsl/graph.js';
import { attrsOf } from '../../dsl/attrs.js';

type ReduceOp = 'ReduceSum' | 'ReduceMean' | 'ReduceMax';
import { registerVjp } from './registry.js';

function reducedAxes(node: Node): number[] {
  return constInts(node.inputs[1], `${node.op} VJP: axes`);
}

/** The cotangent of a reduction, broadcast back over the reduced axes. */
function spread(node: Node, g: Tensor): Tensor {
  const keep = attrsOf(node, node.op as ReduceOp).keepdims;
  const kept = keep ? g : unsqueeze(g, reducedAxes(node));
  return expandAs(kept, node.inputs[0]!);
}

/** Number of elements each output of the reduction averaged over (static when possible). */
function reducedCount(node: Node, dtype: Tensor['dtype']): Tensor | number {
  const x = node.inputs[0]!;
  const axes = reducedAxes(node);
  const dims = axes.map((a) => x.shape[a]);
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((p, q) => p * q, 1);
  return op.cast(reduceProd(gather(shapeOf(x), int64s(x.graph, axes), 0), null), dtype);
}

registerVjp('ReduceSum', ({ node, grads: [g] }) => [spread(node, g!), null]);
registerVjp('ReduceMean', ({ node, grads: [g] }) => [op.div(spread(node, g!), reducedCount(node, g!.dtype)), null]);
registerVjp('ReduceMax', ({ node, grads: [g] }) => {
  // The gradient goes to the maximal elements, split evenly among ties.
  const x = node.inputs[0]!;
  const y = node.outputs[0];
  const keep = attrsOf(node, 'ReduceMax').keepdims;
  const yk = keep ? y : unsqueeze(y, reducedAxes(node));
  const isMax = op.cast(op.equal(x, expandAs(yk, x)), x.dtype);
  const ties = reduceSum(isMax, reducedAxes(node), true);
  const gk = keep ? g! : unsqueeze(g!, reducedAxes(node));
  return [op.mul(isMax, expandAs(op.div(gk, ties), x)), null];
});
