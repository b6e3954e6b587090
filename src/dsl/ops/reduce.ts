import { attrsFor } from '../attrs.js';
import { Tensor } from '../graph.js';
import { normalizeAxes } from '../shape.js';
import { Dim } from '../types.js';
import { NUMERIC, int64s, requireDtype } from './util.js';

function reduce(op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceProd', x: Tensor, axes: readonly number[] | null, keepdims: boolean): Tensor {
  requireDtype(op, x, NUMERIC);
  const ax = axes === null ? x.shape.map((_, i) => i) : normalizeAxes(op, axes, x.rank);
  // No axes reduces nothing; ONNX would read an empty axes input as "all axes".
  if (ax.length === 0) return x.graph.addNode('Identity', [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!ax.includes(i)) shape.push(d);
    else if (keepdims) shape.push(1);
  });
  // Axes go in as an input: at opset 18 the attribute form is rejected (docs/architecture.md, onnxruntime-node behaviours).
  return x.graph.addNode(op, [x, int64s(x.graph, ax)], attrsFor(op, { keepdims }), [{ dtype: x.dtype, shape }])[0];
}

/** Sum over `axes` (null: all axes). */
export const reduceSum = (x: Tensor, axes: readonly number[] | null, keepdims = false) => reduce('ReduceSum', x, axes, keepdims);
/** Mean over `axes` (null: all axes) via ONNX ReduceMean; float32/float64/int64/int32; reduced dims dropped, or kept as 1 with keepdims; DslError for another dtype or a bad axis. */
export const reduceMean = (x: Tensor, axes: readonly number[] | null, keepdims = false) => reduce('ReduceMean', x, axes, keepdims);
/** Maximum over `axes` (null: all axes) via ONNX ReduceMax; float32/float64/int64/int32; reduced dims dropped, or kept as 1 with keepdims; DslError for another dtype or a bad axis. */
export const reduceMax = (x: Tensor, axes: readonly number[] | null, keepdims = false) => reduce('ReduceMax', x, axes, keepdims);
/** Product over `axes` (null: all axes) via ONNX ReduceProd; float32/float64/int64/int32; reduced dims dropped, or kept as 1 with keepdims; DslError for another dtype or a bad axis. */
export const reduceProd = (x: Tensor, axes: readonly number[] | null, keepdims = false) => reduce('ReduceProd', x, axes, keepdims);
