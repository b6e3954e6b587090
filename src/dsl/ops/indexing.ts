import { ScatterReduction, attrsFor } from '../attrs.js';
import { Tensor, attr } from '../graph.js';
import { normalizeAxis } from '../shape.js';
import { Dim, DType, DslError, formatShape } from '../types.js';
import { INDICES, NUMERIC, requireDtype, requireSameDtype, typedScalar } from './util.js';


/** ONNX GatherElements along `axis`: out has the shape of `indices` and the dtype of x; indices int64/int32 of x's rank, else DslError. */
export function gatherElements(x: Tensor, indices: Tensor, axis: number): Tensor {
  const a = normalizeAxis('GatherElements', axis, x.rank);
  requireDtype('GatherElements', indices, INDICES);
  if (indices.rank !== x.rank) {
    throw new DslError(`GatherElements: indices ${formatShape(indices.shape)} must have the rank of data ${formatShape(x.shape)}`);
  }
  return x.graph.addNode('GatherElements', [x, indices], attrsFor('GatherElements', { axis: a }), [{ dtype: x.dtype, shape: indices.shape }])[0];
}

/**
 * ONNX GatherND: indices int64 [..., k] with k static and k + batchDims <= rank of x (DslError
 * otherwise); out [...indices.shape[:-1], ...x.shape[batchDims + k:]], x's dtype.
 */
export function gatherND(x: Tensor, indices: Tensor, batchDims = 0): Tensor {
  requireDtype('GatherND', indices, ['int64']);
  const last = indices.shape[indices.rank - 1];
  if (typeof last !== 'number' || last + batchDims > x.rank) {
    throw new DslError(`GatherND: last dim of indices ${formatShape(indices.shape)} must be static and <= rank of ${formatShape(x.shape)}`);
  }
  const shape = [...indices.shape.slice(0, -1), ...x.shape.slice(batchDims + last)];
  return x.graph.addNode('GatherND', [x, indices], attrsFor('GatherND', { batch_dims: batchDims }), [{ dtype: x.dtype, shape }])[0];
}

/** ScatterND; with reduction 'add' duplicate indices accumulate (docs/architecture.md, onnxruntime-node behaviours). */
export function scatterND(data: Tensor, indices: Tensor, updates: Tensor, reduction: ScatterReduction = 'add'): Tensor {
  requireDtype('ScatterND', indices, ['int64']);
  requireSameDtype('ScatterND', data, updates);
  const last = indices.shape[indices.rank - 1];
  if (typeof last !== 'number') throw new DslError(`ScatterND: last dim of indices ${formatShape(indices.shape)} must be static`);
  const expected = [...indices.shape.slice(0, -1), ...data.shape.slice(last)];
  if (expected.length !== updates.rank || expected.some((d, i) => d !== updates.shape[i])) {
    throw new DslError(`ScatterND: updates ${formatShape(updates.shape)} must have shape ${formatShape(expected)} for data ${formatShape(data.shape)} and indices ${formatShape(indices.shape)}`);
  }
  return data.graph.addNode('ScatterND', [data, indices, updates], attrsFor('ScatterND', { reduction }), [{ dtype: data.dtype, shape: data.shape }])[0];
}

/**
 * ONNX ScatterElements along `axis`, reduction 'add' by default (duplicate indices accumulate):
 * indices int64/int32, updates of data's dtype (DslError otherwise); out has data's shape and dtype.
 */
export function scatterElements(data: Tensor, indices: Tensor, updates: Tensor, axis: number, reduction: ScatterReduction = 'add'): Tensor {
  const a = normalizeAxis('ScatterElements', axis, data.rank);
  requireSameDtype('ScatterElements', data, updates);
  requireDtype('ScatterElements', indices, INDICES);
  return data.graph.addNode('ScatterElements', [data, indices, updates], attrsFor('ScatterElements', { axis: a, reduction }), [{ dtype: data.dtype, shape: data.shape }])[0];
}

/** Lower (upper=false) or upper triangle of the last two axes, offset k. */
export function trilu(x: Tensor, upper: boolean, k = 0): Tensor {
  if (x.rank < 2) throw new DslError(`Trilu: needs rank >= 2, got ${formatShape(x.shape)}`);
  const kT = x.graph.constant(new BigInt64Array([BigInt(k)]), 'int64', []);
  return x.graph.addNode('Trilu', [x, kT], attrsFor('Trilu', { upper }), [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** Range(start, limit, delta) for scalar tensors; `length` is the static length when known. */
export function range(start: Tensor, limit: Tensor, delta: Tensor, length?: Dim): Tensor {
  for (const t of [limit, delta]) requireSameDtype('Range', start, t);
  for (const t of [start, limit, delta]) {
    if (t.rank !== 0) throw new DslError(`Range: operands must be scalars, got ${t.name} ${formatShape(t.shape)}`);
  }
  const n = length ?? start.graph.freshDim('range');
  return start.graph.addNode('Range', [start, limit, delta], {}, [{ dtype: start.dtype, shape: [n] }])[0];
}

/** ONNX CumSum along `axis` (exclusive and reverse off by default); float32/float64/int64/int32; x's shape and dtype; DslError for another dtype. */
export function cumsum(x: Tensor, axis: number, opts: { exclusive?: boolean; reverse?: boolean } = {}): Tensor {
  requireDtype('CumSum', x, NUMERIC);
  const a = normalizeAxis('CumSum', axis, x.rank);
  const axisT = x.graph.constant(new BigInt64Array([BigInt(a)]), 'int64', []);
  const attrs = attrsFor('CumSum', { exclusive: opts.exclusive === true, reverse: opts.reverse === true });
  return x.graph.addNode('CumSum', [x, axisT], attrs, [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** TopK along `axis`, largest first, sorted; `k` is an int64 [1] tensor. */
export function topK(x: Tensor, k: Tensor, axis = -1, kDim?: Dim): [Tensor, Tensor] {
  const a = normalizeAxis('TopK', axis, x.rank);
  requireDtype('TopK', k, ['int64']);
  const shape = x.shape.map((d, i) => (i === a ? (kDim ?? x.graph.freshDim('k')) : d));
  const [values, indices] = x.graph.addNode('TopK', [x, k], attrsFor('TopK', { axis: a, largest: true, sorted: true }), [
    { dtype: x.dtype, shape },
    { dtype: 'int64' as DType, shape },
  ]);
  return [values, indices];
}

/** A tensor of `shape` (a 1-D int64 tensor) filled with `value`. */
export function constantOfShape(shape: Tensor, value: number, dtype: DType, outShape: readonly Dim[]): Tensor {
  return shape.graph.addNode('ConstantOfShape', [shape], { value: attr.tensor(dtype, [1], typedScalar(value, dtype)) }, [{ dtype, shape: outShape }])[0];
}

/**
 * Indices of the non-zero elements: int64 [rank, N] with N known only at run time. It
 * lets a loss keep only the real (non-padding) positions of a batch.
 */
export function nonZero(x: Tensor): Tensor {
  return x.graph.addNode('NonZero', [x], {}, [{ dtype: 'int64', shape: [x.rank, x.graph.freshDim('nonzero')] }])[0];
}

/** Gather along `axis`: out = x[..., indices, ...] (indices int64 or int32, any shape). */
export function gather(x: Tensor, indices: Tensor, axis: number): Tensor {
  const a = normalizeAxis('Gather', axis, x.rank);
  if (indices.dtype !== 'int64' && indices.dtype !== 'int32') {
    throw new DslError(`Gather: indices ${indices.name} must be int64 or int32, got ${indices.dtype}${formatShape(indices.shape)}`);
  }
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return x.graph.addNode('Gather', [x, indices], attrsFor('Gather', { axis: a }), [{ dtype: x.dtype, shape }])[0];
}
