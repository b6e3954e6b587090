import { attrsFor, attrsOf } from '../../dsl/attrs.js';
import { Tensor, constInts } from '../../dsl/graph.js';
import * as S from '../../dsl/ops/shape-ops.js';
import { add, max, min, sub } from '../../dsl/ops/elementwise.js';
import { gather } from '../../dsl/ops/indexing.js';
import { int64s } from '../../dsl/ops/util.js';
import { isStatic } from '../../dsl/types.js';
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
  if (sizes.every((d) => typeof d === 'number')) return S.split(g!, axis, sizes as number[]);
  // A symbolic size (e.g. the batch's sequence length T): Split takes its sizes as a tensor,
  // read from the inputs' shapes at run time.
  const G = g!.graph;
  const parts = inputs.map((t, i) => (typeof sizes[i] === 'number' ? int64s(G, [sizes[i]]) : gather(S.shapeOf(t!), int64s(G, [axis]), 0)));
  const outs = inputs.map((t) => ({ dtype: g!.dtype, shape: g!.shape.map((d, i) => (i === axis ? t!.shape[axis] : d)) }));
  return G.addNode('Split', [g!, S.concat(parts, 0)], attrsFor('Split', { axis }), outs);
});

registerVjp('Split', ({ node, grads }) => {
  const { outputs } = node;
  const { axis } = attrsOf(node, 'Split');
  const parts = grads.map((g, i) => g ?? zerosLike(outputs[i]));
  return [S.concat(parts, axis), null];
});

registerVjp('Slice', ({ node: { inputs: [x, starts, ends, axes] }, grads: [g] }) => {
  // The cotangent is the slice's gradient padded back with zeros on each sliced axis.
  const r = x!.rank;
  const pads: (number | Tensor)[] = new Array<number>(2 * r).fill(0);
  const [st, en, ax] = [starts, ends, axes].map((t) => constInts(t, 'Slice VJP: starts, ends and axes'));
  ax.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + r : a0;
    const d = x!.shape[a];
    if (typeof d === 'number') {
      const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      const [s, e] = [clampIdx(st[i]), clampIdx(en[i])];
      pads[a] = s;
      pads[a + r] = d - Math.max(e, s);
    } else [pads[a], pads[a + r]] = symbolicSlicePads(x!, a, st[i], en[i]);
  });
  if (pads.every((p) => typeof p === 'number')) return [S.pad(g!, pads as number[], 0), null, null, null];
  const G = g!.graph;
  const padsT = S.concat(pads.map((p) => (typeof p === 'number' ? int64s(G, [p]) : p)), 0);
  const zero = G.constant(g!.dtype === 'float64' ? new Float64Array(1) : new Float32Array(1), g!.dtype, []);
  return [G.addNode('Pad', [g!, padsT, zero], attrsFor('Pad', { mode: 'constant' }), [{ dtype: g!.dtype, shape: x!.shape }])[0], null, null, null];
});

/**
 * The [begin, end] zero pads that undo x[start : end] on axis `a` of symbolic length d, as
 * numbers where they do not depend on d and int64 [1] tensors computed from Shape(x)
 * otherwise, with ONNX Slice's clamping (indices below 0 count from the end, then both
 * are clamped to [0, d], and end to at least start).
 */
function symbolicSlicePads(x: Tensor, a: number, start: number, end: number): [number | Tensor, number | Tensor] {
  const G = x.graph;
  const d = gather(S.shapeOf(x), int64s(G, [a]), 0); // [1]
  const clampIdx = (v: number) => (v < 0 ? max(add(d, int64s(G, [v])), int64s(G, [0])) : min(int64s(G, [v]), d));
  const s = start === 0 ? null : clampIdx(start);
  // An end at or past INT64_MAX's neighbourhood means "to the end of the axis".
  if (end >= Number.MAX_SAFE_INTEGER) return [s ?? 0, 0];
  const e = clampIdx(end);
  return [s ?? 0, sub(d, s ? max(e, s) : e)];
}

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
