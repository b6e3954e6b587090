import { attrsOf } from '../../dsl/attrs.js';
import { Tensor, constInts } from '../../dsl/graph.js';
import * as S from '../../dsl/ops/shape-ops.js';
import { int64s } from '../../dsl/ops/util.js';
import { DslError, formatShape, isStatic } from '../../dsl/types.js';
import { zerosLike } from '../autodiff.js';
import { sumToShape } from './broadcast.js';
import { registerVjp } from './registry.js';

/** Reshape a cotangent back to x's shape: a constant when static, else Shape(x). */
function reshapeBack(g: Tensor, x: Tensor): Tensor {
  return isStatic(x.shape) ? S.reshapeDynamic(g, int64s(g.graph, x.shape), x.shape) : S.reshapeDynamic(g, S.shapeOf(x), x.shape);
}

registerVjp('Transpose', ({ node, grads: [g] }) => {
  const { perm } = attrsOf(node, 'Transpose');
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return [S.transpose(g!, inverse)];
});
registerVjp('Reshape', ({ node: { inputs: [x] }, grads: [g] }) => [reshapeBack(g!, x!), null]);
registerVjp('Unsqueeze', ({ node: { inputs: [, axes] }, grads: [g] }) => [S.squeeze(g!, constInts(axes, 'Unsqueeze VJP: axes')), null]);
registerVjp('Squeeze', ({ node: { inputs: [x] }, grads: [g] }) => [reshapeBack(g!, x!), null]);
registerVjp('Expand', ({ node: { inputs: [x] }, grads: [g] }) => [sumToShape(g!, x!.shape), null]);

registerVjp('Concat', ({ node, grads: [g] }) => {
  const { inputs } = node;
  const { axis } = attrsOf(node, 'Concat');
  const sizes = inputs.map((t) => t!.shape[axis]);
  if (!sizes.every((d) => typeof d === 'number')) {
    throw new DslError(`Concat VJP: sizes along axis ${axis} must be static, got ${inputs.map((t) => formatShape(t!.shape)).join(', ')}`);
  }
  return S.split(g!, axis, sizes as number[]);
});

registerVjp('Split', ({ node, grads }) => {
  const { outputs } = node;
  const { axis } = attrsOf(node, 'Split');
  const parts = grads.map((g, i) => g ?? zerosLike(outputs[i]));
  return [S.concat(parts, axis), null];
});

registerVjp('Slice', ({ node: { inputs: [x, starts, ends, axes] }, grads: [g] }) => {
  // The cotangent is the slice's gradient padded back with zeros on each sliced axis.
  const pads = new Array<number>(2 * x!.rank).fill(0);
  const [st, en, ax] = [starts, ends, axes].map((t) => constInts(t, 'Slice VJP: starts, ends and axes'));
  ax.forEach((a, i) => {
    const d = x!.shape[a];
    if (typeof d !== 'number') throw new DslError(`Slice VJP: axis ${a} of ${formatShape(x!.shape)} must be static`);
    const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const [s, e] = [clampIdx(st[i]), clampIdx(en[i])];
    pads[a] = s;
    pads[a + x!.rank] = d - Math.max(e, s);
  });
  return [S.pad(g!, pads, 0), null, null, null];
});

registerVjp('Pad', ({ node: { inputs: [x, pads] }, grads: [g] }) => {
  const p = constInts(pads, 'Pad VJP: pads');
  const r = x!.rank;
  const axes = [...Array(r).keys()];
  const starts = axes.map((a) => p[a]);
  const ends = axes.map((a) => {
    const d = g!.shape[a];
    if (typeof d !== 'number') return p[a + r] === 0 ? Number.MAX_SAFE_INTEGER : -p[a + r];
    return d - p[a + r];
  });
  return [S.slice(g!, axes, starts, ends), null, null];
});
