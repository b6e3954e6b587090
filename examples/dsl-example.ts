// A two-layer MLP with a softmax cross-entropy loss, differentiated and run in onnxruntime-node.
import * as ort from 'onnxruntime-node';
import * as op from '../src/dsl/index.js';
import { addGradientOutputs } from '../src/compiler/training.js';
import { emitModel } from '../src/onnx/emit.js';

const g = new op.Graph('mlp');
const w1 = g.param('layers.0.w', [4, 8], { kind: 'normal', std: 0.5 });
const w2 = g.param('layers.1.w', [8, 3], { kind: 'normal', std: 0.5 });
const x = g.input('x', 'float32', ['batch', 4]); // symbolic batch dim
const y = g.input('y', 'int64', ['batch']);
const logits = op.matmul(op.silu(op.matmul(x, w1)), w2);
const [loss] = op.softmaxCrossEntropyLoss(logits, y);
g.output('loss', loss);
addGradientOutputs(g, loss); // outputs 'layers.0.w_grad', 'layers.1.w_grad'

const session = await ort.InferenceSession.create(emitModel(g)); // standard ONNX, opset 18
const out = await session.run({
  'layers.0.w': new ort.Tensor('float32', new Float32Array(32).fill(0.1), [4, 8]),
  'layers.1.w': new ort.Tensor('float32', Float32Array.from({ length: 24 }, (_, i) => i / 24), [8, 3]),
  x: new ort.Tensor('float32', Float32Array.from({ length: 8 }, (_, i) => i / 8), [2, 4]),
  y: new ort.Tensor('int64', BigInt64Array.of(0n, 2n), [2]),
});
console.log('loss', out.loss.data[0], 'grad of layers.1.w', out['layers.1.w_grad'].dims);
