import { attrsOf } from '../../dsl/attrs.js';
import { Tensor } from '../../dsl/graph.js';
import * as op from '../../dsl/ops/elementwise.js';
import { scatterElements } from '../../dsl/ops/indexing.js';
import { reduceMean, reduceSum } from '../../dsl/ops/reduce.js';
import { expandAs, unsqueeze } from '../../dsl/ops/shape-ops.js';
import { scalar } from '../../dsl/ops/util.js';
import { DslError } from '../../dsl/types.js';
import { sumToShape } from './broadcast.js';
import { registerVjp } from './registry.js';

// y = softmax(x): dx = y * (g - sum(g * y))
registerVjp('Softmax', ({ node, grads: [g] }) => {
  const [y] = node.outputs;
  const { axis } = attrsOf(node, 'Softmax');
  return [op.mul(y, op.sub(g!, reduceSum(op.mul(g!, y), [axis], true)))];
});

// y = log_softmax(x): dx = g - softmax(x) * sum(g)
registerVjp('LogSoftmax', ({ node, grads: [g] }) => {
  const [y] = node.outputs;
  const { axis } = attrsOf(node, 'LogSoftmax');
  return [op.sub(g!, op.mul(op.exp(y), reduceSum(g!, [axis], true)))];
});

registerVjp('LayerNormalization', ({ node, grads: [g], needs }) => {
  const [x, scale, bias] = node.inputs;
  const [, mean32, invStd32] = node.outputs;
  const { axis, epsilon: eps } = attrsOf(node, 'LayerNormalization');
  const normAxes = [...Array(x!.rank - axis).keys()].map((i) => axis + i);
  // The saved statistics are float32 (stash_type default). For float32 x they are reused; for
  // float64 x they are recomputed in float64, so the gradient keeps double precision.
  let mean = mean32;
  let invStd = invStd32;
  if (x!.dtype !== mean32.dtype) {
    mean = reduceMean(x!, normAxes, true);
    const centered = op.sub(x!, mean);
    invStd = op.reciprocal(op.sqrt(op.add(reduceMean(op.mul(centered, centered), normAxes, true), eps)));
  }
  const xhat = op.mul(op.sub(x!, mean), invStd);
  const out: (Tensor | null)[] = [null, null, null];
  if (needs[0]) {
    // dx = inv * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) over the normalised axes
    const dxhat = op.mul(g!, scale!);
    const m1 = reduceMean(dxhat, normAxes, true);
    const m2 = reduceMean(op.mul(dxhat, xhat), normAxes, true);
    out[0] = op.mul(invStd, op.sub(op.sub(dxhat, m1), op.mul(xhat, m2)));
  }
  if (needs[1]) out[1] = sumToShape(op.mul(g!, xhat), scale!.shape);
  if (needs[2] && bias) out[2] = sumToShape(g!, bias.shape);
  return out;
});

/**
 * SoftmaxCrossEntropyLoss (class axis 1): d scores = (softmax − onehot(label)) · w, with
 * w = [label != ignore_index] times the reduction's scale and the loss cotangent. The
 * one-hot part is a scatter-add of −w at each label (one element per row), so the only
 * passes over the [N, C] scores are exp(logProb)·w: with a catalogue-wide softmax the
 * scores dominate the step, and a materialised one-hot would double that traffic.
 */
registerVjp('SoftmaxCrossEntropyLoss', ({ node, grads: [g] }) => {
  const [scores, labels, weights] = node.inputs;
  const [, logProb] = node.outputs;
  if (weights) throw new DslError('SoftmaxCrossEntropyLoss VJP: class weights are not supported');
  const { reduction, ignore_index } = attrsOf(node, 'SoftmaxCrossEntropyLoss');
  const ignore = ignore_index ?? null;
  const dtype = scores!.dtype;
  const lab = labels!.dtype === 'int64' ? labels! : op.cast(labels!, 'int64');
  const gdt = scores!.graph;
  let w: Tensor = ignore === null ? expandAs(scalar(gdt, 1, dtype), lab) : op.cast(op.not(op.equal(lab, ignore)), dtype);
  if (reduction === 'mean') w = op.div(w, op.max(reduceSum(w, null), 1));
  // g is a scalar for 'mean'/'sum' and per position for 'none'; it broadcasts either way.
  w = op.mul(w, g!);
  const w1 = unsqueeze(w, [1]); // [N, 1, D...]
  // Ignored rows have w = 0; point their index at class 0 so the scatter stays in range.
  const safe = ignore === null ? lab : op.where(op.equal(lab, ignore), scalar(gdt, 0, 'int64'), lab);
  const softmaxPart = op.mul(op.exp(logProb), w1);
  return [scatterElements(softmaxPart, unsqueeze(safe, [1]), op.neg(w1), 1, 'add'), null, null];
});
