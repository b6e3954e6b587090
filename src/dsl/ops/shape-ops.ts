import { attrsFor } from '../attrs.js';
import { Graph, Tensor } from '../graph.js';
import { normalizeAxes, normalizeAxis, staticSize } from '../shape.js';
import { Dim, DslError, Shape, formatShape } from '../types.js';
import { gather } from './indexing.js';
import { int64s } from './util.js';

/** ONNX Transpose: output dim i is x's dim perm[i]; any dtype. Throws DslError when `perm` is not a permutation of 0..rank−1. */
export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
    throw new DslError(`Transpose: perm [${perm.join(', ')}] is not a permutation of rank ${x.rank} (${x.name} ${formatShape(x.shape)})`);
  }
  const shape = perm.map((p) => x.shape[p]);
  return x.graph.addNode('Transpose', [x], attrsFor('Transpose', { perm: [...perm] }), [{ dtype: x.dtype, shape }])[0];
}

/** ONNX Shape: x's shape at run time as int64 [rank]; any dtype. */
export function shapeOf(x: Tensor): Tensor {
  return x.graph.addNode('Shape', [x], {}, [{ dtype: 'int64', shape: [x.rank] }])[0];
}

/** Reshape to a shape tensor computed at run time; `outShape` is what the caller knows of the result. */
export function reshapeDynamic(x: Tensor, shape: Tensor, outShape: Shape): Tensor {
  return x.graph.addNode('Reshape', [x, shape], {}, [{ dtype: x.dtype, shape: outShape }])[0];
}

/**
 * Reshape to `shape`, which may hold numbers, symbolic dims of `x`, and one -1.
 * A symbolic dim is copied from `x` (ONNX's 0) when it sits at the same index, else
 * resolved at run time from Shape(x).
 */
export function reshape(x: Tensor, shape: readonly Dim[]): Tensor {
  const inSize = staticSize(x.shape);
  const known = shape.filter((d) => d !== -1);
  const outSize = staticSize(known);
  if (shape.filter((d) => d === -1).length > 1) throw new DslError(`Reshape: more than one -1 in [${shape.join(', ')}]`);
  const resolved: Dim[] = [...shape];
  if (shape.includes(-1)) {
    const i = shape.indexOf(-1);
    if (inSize !== null && outSize !== null) {
      if (inSize % outSize !== 0) throw new DslError(`Reshape: ${formatShape(x.shape)} cannot be viewed as [${shape.join(', ')}]`);
      resolved[i] = inSize / outSize;
    } else resolved[i] = symbolicQuotient(x.shape, known) ?? x.graph.freshDim('reshape');
  } else if (inSize !== null && outSize !== null && inSize !== outSize) {
    throw new DslError(`Reshape: ${x.name} ${formatShape(x.shape)} has ${inSize} elements, target [${shape.join(', ')}] has ${outSize}`);
  }
  const g = x.graph;
  const parts: (number | Tensor)[] = shape.map((d, i) => {
    if (typeof d === 'number') return d;
    if (x.shape[i] === d) return 0;
    const j = x.shape.indexOf(d);
    if (j < 0) throw new DslError(`Reshape: symbolic dim '${d}' is not a dim of ${x.name} ${formatShape(x.shape)}`);
    return gather(shapeOf(x), int64s(g, [j]), 0);
  });
  const shapeTensor = parts.every((p) => typeof p === 'number')
    ? int64s(g, parts as number[])
    : concat(parts.map((p) => (typeof p === 'number' ? int64s(g, [p]) : p)), 0);
  return reshapeDynamic(x, shapeTensor, resolved);
}

/**
 * The size of a -1 dim as a canonical symbolic product, e.g. [batch, 50, 8] viewed as
 * [-1, 8] gives 'batch*50', so two tensors flattened the same way get the same dim name.
 */
function symbolicQuotient(inShape: Shape, known: readonly Dim[]): Dim | null {
  const symbols = inShape.filter((d): d is string => typeof d === 'string');
  let coef = inShape.reduce<number>((a, d) => (typeof d === 'number' ? a * d : a), 1);
  for (const d of known) {
    if (typeof d === 'number') {
      if (coef % d !== 0) return null;
      coef /= d;
    } else {
      const j = symbols.indexOf(d);
      if (j < 0) return null;
      symbols.splice(j, 1);
    }
  }
  if (symbols.length === 0) return coef;
  const parts = [...symbols.sort(), ...(coef === 1 ? [] : [String(coef)])];
  return parts.join('*');
}

/** ONNX Unsqueeze: size-1 dims inserted at `axes` (indices into the output); any dtype. DslError for an axis out of range or repeated. */
export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const ax = normalizeAxes('Unsqueeze', axes, rank);
  const shape: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[k++]);
  return x.graph.addNode('Unsqueeze', [x, int64s(x.graph, ax)], {}, [{ dtype: x.dtype, shape }])[0];
}

/** ONNX Squeeze: the size-1 dims at `axes` removed; any dtype. DslError when one is not statically 1, or an axis is out of range or repeated. */
export function squeeze(x: Tensor, axes: readonly number[]): Tensor {
  const ax = normalizeAxes('Squeeze', axes, x.rank);
  for (const a of ax) {
    if (x.shape[a] !== 1) throw new DslError(`Squeeze: dim ${a} of ${x.name} ${formatShape(x.shape)} is not 1`);
  }
  const shape = x.shape.filter((_, i) => !ax.includes(i));
  return x.graph.addNode('Squeeze', [x, int64s(x.graph, ax)], {}, [{ dtype: x.dtype, shape }])[0];
}

/** Broadcast `x` to `shape`. Dims equal to x's own are passed as 1 so symbolic dims need no shape tensor. */
export function expand(x: Tensor, shape: readonly Dim[]): Tensor {
  if (shape.length < x.rank) throw new DslError(`Expand: target [${shape.join(', ')}] has lower rank than ${formatShape(x.shape)}`);
  const off = shape.length - x.rank;
  const spec = shape.map((d, i) => {
    const own = i >= off ? x.shape[i - off] : 1;
    if (own !== 1 && own !== d) throw new DslError(`Expand: ${x.name} ${formatShape(x.shape)} cannot expand to [${shape.join(', ')}]`);
    if (own === d) return 1;
    if (typeof d !== 'number') throw new DslError(`Expand: symbolic target dim '${d}' needs expandAs()`);
    return d;
  });
  return x.graph.addNode('Expand', [x, int64s(x.graph, spec)], {}, [{ dtype: x.dtype, shape: [...shape] }])[0];
}

/** Broadcast `x` to the (possibly symbolic) shape of `like`. */
export function expandAs(x: Tensor, like: Tensor): Tensor {
  return x.graph.addNode('Expand', [x, shapeOf(like)], {}, [{ dtype: x.dtype, shape: like.shape }])[0];
}

/**
 * Concat along `axis`. A result length that is not static gets a fresh symbolic name, or
 * `dim` when the caller knows it (e.g. the encoder length P + T of graphs/features.ts), so
 * that later ops broadcast it against tensors of the same length.
 */
export function concat(xs: readonly Tensor[], axis: number, dim?: Dim): Tensor {
  if (xs.length === 0) throw new DslError('Concat: no inputs');
  const rank = xs[0].rank;
  const a = normalizeAxis('Concat', axis, rank);
  const shapes = xs.map((t) => formatShape(t.shape)).join(', ');
  let total: Dim = 0;
  for (const t of xs) {
    if (t.rank !== rank || t.dtype !== xs[0].dtype) throw new DslError(`Concat: inputs differ in rank or dtype: ${shapes}`);
    t.shape.forEach((d, i) => {
      if (i !== a && d !== xs[0].shape[i]) throw new DslError(`Concat: dim ${i} differs among ${shapes}`);
    });
    const d = t.shape[a];
    total = typeof total === 'number' && typeof d === 'number' ? total + d : xs[0].graph.freshDim('concat');
  }
  if (typeof total !== 'number' && dim !== undefined) total = dim;
  const shape = xs[0].shape.map((d, i) => (i === a ? total : d));
  return xs[0].graph.addNode('Concat', [...xs], attrsFor('Concat', { axis: a }), [{ dtype: xs[0].dtype, shape }])[0];
}

/** ONNX Split along `axis` into pieces of `sizes`; any dtype. DslError unless that dim is static and equal to their sum. */
export function split(x: Tensor, axis: number, sizes: readonly number[]): Tensor[] {
  const a = normalizeAxis('Split', axis, x.rank);
  const total = sizes.reduce((p, q) => p + q, 0);
  if (x.shape[a] !== total) throw new DslError(`Split: sizes [${sizes.join(', ')}] do not add up to dim ${a} of ${formatShape(x.shape)}`);
  const outs = sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? s : d)) }));
  return x.graph.addNode('Split', [x, int64s(x.graph, sizes)], attrsFor('Split', { axis: a }), outs);
}

/** Slice with constant starts/ends (clamped as ONNX does) on the given axes, step 1. */
export function slice(x: Tensor, axes: readonly number[], starts: readonly number[], ends: readonly number[]): Tensor {
  const ax = axes.map((a) => normalizeAxis('Slice', a, x.rank));
  const shape = [...x.shape];
  ax.forEach((a, i) => {
    const d = x.shape[a];
    if (typeof d === 'number') {
      const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      shape[a] = Math.max(clampIdx(ends[i]) - clampIdx(starts[i]), 0);
    } else {
      shape[a] = starts[i] === 0 && ends[i] >= Number.MAX_SAFE_INTEGER ? d : x.graph.freshDim('slice');
    }
  });
  const g = x.graph;
  return g.addNode('Slice', [x, int64s(g, starts), int64s(g, ends), int64s(g, ax)], {}, [{ dtype: x.dtype, shape }])[0];
}

/** Constant padding; `pads` is ONNX's [begin_0..begin_n, end_0..end_n]. */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length !== 2 * x.rank) throw new DslError(`Pad: ${pads.length} pads for rank ${x.rank}`);
  const g: Graph = x.graph;
  const shape = x.shape.map((d, i) => (typeof d === 'number' ? d + pads[i] + pads[i + x.rank] : pads[i] + pads[i + x.rank] === 0 ? d : g.freshDim('pad')));
  const valueT = g.constant(x.dtype === 'float64' ? new Float64Array([value]) : new Float32Array([value]), x.dtype, []);
  return g.addNode('Pad', [x, int64s(g, pads), valueT], attrsFor('Pad', { mode: 'constant' }), [{ dtype: x.dtype, shape }])[0];
}
