import { attrsFor } from '../attrs.js';
import { Tensor } from '../graph.js';
import { normalizeAxis } from '../shape.js';
import { DslError, formatShape } from '../types.js';
import { FLOATS, INDICES, requireDtype, requireSameDtype } from './util.js';

/** ONNX Softmax along `axis` (default the last); float32/float64; x's shape; DslError for another dtype or an axis out of range. */
export function softmax(x: Tensor, axis = -1): Tensor {
  requireDtype('Softmax', x, FLOATS);
  const a = normalizeAxis('Softmax', axis, x.rank);
  return x.graph.addNode('Softmax', [x], attrsFor('Softmax', { axis: a }), [{ dtype: x.dtype, shape: x.shape }])[0];
}

/** ONNX LogSoftmax along `axis` (default the last); float32/float64; x's shape; DslError for another dtype or an axis out of range. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  requireDtype('LogSoftmax', x, FLOATS);
  const a = normalizeAxis('LogSoftmax', axis, x.rank);
  return x.graph.addNode('LogSoftmax', [x], attrsFor('LogSoftmax', { axis: a }), [{ dtype: x.dtype, shape: x.shape }])[0];
}

/**
 * LayerNormalization over the axes from `axis` on. Returns [Y, Mean, InvStdDev]; the
 * last two are what the backward pass reuses. `scale` (and `bias`) cover the normalised axes.
 */
export function layerNormalization(x: Tensor, scale: Tensor, bias: Tensor | null, axis = -1, epsilon = 1e-5): [Tensor, Tensor, Tensor] {
  requireDtype('LayerNormalization', x, FLOATS);
  requireSameDtype('LayerNormalization', x, scale);
  const a = normalizeAxis('LayerNormalization', axis, x.rank);
  const normShape = x.shape.slice(a);
  if (scale.rank !== normShape.length || scale.shape.some((d, i) => d !== normShape[i])) {
    throw new DslError(`LayerNormalization: scale ${formatShape(scale.shape)} must match normalised dims ${formatShape(normShape)} of ${formatShape(x.shape)}`);
  }
  const statShape = x.shape.map((d, i) => (i < a ? d : 1));
  // Mean/InvStdDev have type U = stash_type, default float32 whatever x's dtype (ORT 1.30 has no
  // kernel for stash_type=double), so for float64 x they are float32 and the VJP casts them.
  const outs = x.graph.addNode('LayerNormalization', [x, scale, bias], attrsFor('LayerNormalization', { axis: a, epsilon }), [
    { dtype: x.dtype, shape: x.shape },
    { dtype: 'float32', shape: statShape },
    { dtype: 'float32', shape: statShape },
  ]);
  return [outs[0], outs[1], outs[2]];
}

/**
 * SoftmaxCrossEntropyLoss with scores [N, C] (or [N, C, D...]) and labels [N] (or [N, D...]).
 * Positions whose label equals `ignoreIndex` contribute nothing; 'mean' divides by the
 * number of non-ignored positions. Returns [loss, logProb].
 */
export function softmaxCrossEntropyLoss(scores: Tensor, labels: Tensor, opts: { reduction?: 'mean' | 'sum' | 'none'; ignoreIndex?: number } = {}): [Tensor, Tensor] {
  requireDtype('SoftmaxCrossEntropyLoss', scores, FLOATS);
  requireDtype('SoftmaxCrossEntropyLoss', labels, INDICES);
  const expected = [scores.shape[0], ...scores.shape.slice(2)];
  if (scores.rank < 2 || labels.rank !== expected.length || labels.shape.some((d, i) => d !== expected[i])) {
    throw new DslError(`SoftmaxCrossEntropyLoss: labels ${formatShape(labels.shape)} must be ${formatShape(expected)} for scores ${formatShape(scores.shape)}`);
  }
  const reduction = opts.reduction ?? 'mean';
  const attrs = attrsFor('SoftmaxCrossEntropyLoss', { reduction, ignore_index: opts.ignoreIndex });
  const lossShape = reduction === 'none' ? labels.shape : [];
  const [loss, logProb] = scores.graph.addNode('SoftmaxCrossEntropyLoss', [scores, labels], attrs, [
    { dtype: scores.dtype, shape: lossShape },
    { dtype: scores.dtype, shape: scores.shape },
  ]);
  return [loss, logProb];
}
