import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import * as F from '../src/dsl/index.js';
import { i64 } from './helpers/ort.js';
import { checkVjp, uniform } from './helpers/vjp-coverage.js';

// Float64: Softmax, LogSoftmax, LayerNormalization (T=double; its Mean/InvStdDev are float32),
// SoftmaxCrossEntropyLoss (with log_prob), Range, Equal, Not, Cast, Exp have double kernels.
describe('VJP: nn', () => {
  it('Softmax on the last axis and on axis 0', async () => {
    await checkVjp('Softmax', {
      inputs: [{ name: 'x', shape: [3, 4], values: uniform(12, -2, 2) }],
      build: (_g, [x]) => [F.softmax(x, -1), F.softmax(x, 0)],
    });
  });

  it('LogSoftmax on the last axis and on axis 1 of a rank-3 tensor', async () => {
    await checkVjp('LogSoftmax', {
      inputs: [{ name: 'x', shape: [2, 3, 2], values: uniform(12, -2, 2) }],
      build: (_g, [x]) => [F.logSoftmax(x, -1), F.logSoftmax(x, 1)],
    });
  });

  it('LayerNormalization over the last axis: gradients wrt X, scale and bias', async () => {
    const r = await checkVjp('LayerNormalization', {
      inputs: [
        { name: 'x', shape: [3, 5], values: uniform(15, -2, 2) },
        { name: 'scale', shape: [5], values: uniform(5, 0.5, 1.5) },
        { name: 'bias', shape: [5] },
      ],
      build: (_g, [x, s, b]) => F.layerNormalization(x, s, b, -1, 1e-5)[0],
    });
    // ORT stashes Mean/InvStdDev in float32 even for double X; the VJP recomputes them in
    // float64, so the error is finite-difference noise (~1e-10), not float32 rounding (~1e-7).
    expect(r.maxAbsErr).to.be.below(1e-8);
  });

  // The float32 path reuses the saved Mean/InvStdDev outputs. eps = 1e-2 central differences:
  // truncation error eps^2/6 * |f'''| ~ 1e-4 for these O(1) inputs, rounding ~ 6e-8/eps ~ 1e-5,
  // so rtol 2e-2 / atol 2e-3 (the harness defaults) hold with margin.
  it('LayerNormalization in float32 (saved statistics reused)', async () => {
    await checkVjp('LayerNormalization', {
      dtype: 'float32',
      inputs: [
        { name: 'x', shape: [2, 4], values: uniform(8, -2, 2) },
        { name: 'scale', shape: [4], values: uniform(4, 0.5, 1.5) },
        { name: 'bias', shape: [4] },
      ],
      build: (_g, [x, s, b]) => F.layerNormalization(x, s, b)[0],
    });
  });

  it('LayerNormalization over axes [1,2] of [2,3,2], no bias', async () => {
    await checkVjp('LayerNormalization', {
      inputs: [
        { name: 'x', shape: [2, 3, 2], values: uniform(12, -2, 2) },
        { name: 'scale', shape: [3, 2], values: uniform(6, 0.5, 1.5) },
      ],
      build: (_g, [x, s]) => F.layerNormalization(x, s, null, 1, 1e-3)[0],
    });
  });

  for (const reduction of ['mean', 'sum', 'none'] as const) {
    it(`SoftmaxCrossEntropyLoss [N,C] with ignore_index, reduction ${reduction}`, async () => {
      await checkVjp('SoftmaxCrossEntropyLoss', {
        inputs: [{ name: 'scores', shape: [4, 5], values: uniform(20, -2, 2) }],
        extra: [{ name: 'labels', dtype: 'int64', shape: [4], feed: i64([3, -100, 0, 3], [4]) }],
        build: (_g, [s], [l]) => F.softmaxCrossEntropyLoss(s, l, { reduction, ignoreIndex: -100 })[0],
      });
    });
  }

  it('SoftmaxCrossEntropyLoss [N,C,D] layout, reduction mean with ignore_index, and the log_prob output', async () => {
    await checkVjp('SoftmaxCrossEntropyLoss', {
      inputs: [{ name: 'scores', shape: [2, 3, 2], values: uniform(12, -2, 2) }],
      extra: [{ name: 'labels', dtype: 'int64', shape: [2, 2], feed: i64([2, 0, -1, 1], [2, 2]) }],
      build: (_g, [s], [l]) => F.softmaxCrossEntropyLoss(s, l, { ignoreIndex: -1 })[0],
    });
  });

  it('SoftmaxCrossEntropyLoss mean without ignore_index, int32 labels', async () => {
    await checkVjp('SoftmaxCrossEntropyLoss', {
      inputs: [{ name: 'scores', shape: [3, 4], values: uniform(12, -2, 2) }],
      extra: [{ name: 'labels', dtype: 'int32', shape: [3], feed: new ort.Tensor('int32', Int32Array.from([1, 3, 1]), [3]) }],
      build: (_g, [s], [l]) => F.softmaxCrossEntropyLoss(s, l)[0],
    });
  });
});
