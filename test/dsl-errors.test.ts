import { expect } from 'chai';
import * as F from '../src/dsl/index.js';
import { DslError, Graph } from '../src/dsl/index.js';
import { gradients } from '../src/compiler/autodiff.js';

/** Asserts that `fn` throws a DslError whose message contains every fragment. */
function throwsDsl(fn: () => unknown, ...fragments: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a DslError').to.be.instanceOf(DslError);
  const msg = (err as Error).message;
  for (const f of fragments) expect(msg, msg).to.include(f);
}

describe('DSL errors', () => {
  let g: Graph;
  beforeEach(() => {
    g = new Graph('t');
  });

  it('MatMul inner-dimension mismatch names the op, both shapes and the dims', () => {
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 5]);
    throwsDsl(() => F.matmul(a, b), 'MatMul', '[2, 3]', '[4, 5]', '3 vs 4');
  });

  it('MatMul batch dims that do not broadcast', () => {
    const a = g.input('a', 'float32', [2, 3, 4]);
    const b = g.input('b', 'float32', [5, 4, 6]);
    throwsDsl(() => F.matmul(a, b), 'MatMul', '[2, 3, 4]', '[5, 4, 6]');
  });

  it('MatMul of a rank-1 operand', () => {
    const a = g.input('a', 'float32', [3]);
    const b = g.input('b', 'float32', [3, 2]);
    throwsDsl(() => F.matmul(a, b), 'MatMul', '[3]', '[3, 2]', 'rank');
  });

  it('Exp of an int64 tensor', () => {
    const x = g.input('x', 'int64', [2, 3]);
    throwsDsl(() => F.exp(x), 'Exp', 'int64', '[2, 3]', 'float32');
  });

  it('Add of float32 and float64', () => {
    const a = g.input('a', 'float32', [2]);
    const b = g.input('b', 'float64', [2]);
    throwsDsl(() => F.add(a, b), 'Add', 'float32[2]', 'float64[2]');
  });

  it('MatMul of int64 tensors', () => {
    const a = g.input('a', 'int64', [2, 2]);
    throwsDsl(() => F.matmul(a, a), 'MatMul', 'int64', '[2, 2]');
  });

  it('a fractional number combined with an integer tensor', () => {
    const k = g.input('k', 'int64', [3]);
    throwsDsl(() => F.add(k, 0.5), 'Add', '0.5', 'int64');
  });

  it('unknown parameter name in graph.getParam lists the known ones', () => {
    g.param('w', [2, 2], { kind: 'zeros' });
    g.param('b', [2], { kind: 'zeros' });
    throwsDsl(() => g.getParam('v'), "'v'", 'w', 'b');
  });

  it('unknown input name in graph.getInput', () => {
    g.input('x', 'float32', [2]);
    throwsDsl(() => g.getInput('y'), "'y'", 'x');
  });

  it('gradient requested for an integer tensor', () => {
    const x = g.input('x', 'float32', [3]);
    const k = g.input('k', 'int64', [3]);
    const loss = F.reduceSum(F.mul(x, F.cast(k, 'float32')), null);
    throwsDsl(() => gradients(g, loss, [k]), 'gradients', 'k', 'int64', '[3]');
  });

  it('gradient of an integer loss', () => {
    const k = g.input('k', 'int64', [3]);
    const x = g.input('x', 'float32', [3]);
    throwsDsl(() => gradients(g, F.reduceSum(k, null), [x]), 'gradients', 'int64');
  });

  it('gradient through an op without a VJP rule names the op', () => {
    const x = g.input('x', 'float32', [2, 5]);
    const [vals] = F.topK(x, F.int64s(g, [2]), -1, 2);
    throwsDsl(() => gradients(g, F.reduceSum(vals, null), [x]), 'gradients', 'TopK');
  });

  it('broadcasting mismatch names the op, both shapes and the dim', () => {
    const a = g.input('a', 'float32', [3, 4]);
    const b = g.input('b', 'float32', [5]);
    throwsDsl(() => F.add(a, b), 'Add', '[3, 4]', '[5]', '4 vs 5');
    throwsDsl(() => F.where(g.input('c', 'bool', [2, 3]), a, a), 'Where', '[2, 3]', '[3, 4]');
  });

  it('symbolic dims broadcast only with themselves or 1', () => {
    const a = g.input('a', 'float32', ['batch', 4]);
    const b = g.input('b', 'float32', ['n', 4]);
    throwsDsl(() => F.mul(a, b), 'Mul', '[batch, 4]', '[n, 4]');
  });

  it('bad transpose perm: not a permutation, wrong length', () => {
    const x = g.input('x', 'float32', [2, 3, 4]);
    throwsDsl(() => F.transpose(x, [0, 0, 1]), 'Transpose', '[0, 0, 1]', '[2, 3, 4]');
    throwsDsl(() => F.transpose(x, [1, 0]), 'Transpose', '[1, 0]', '[2, 3, 4]');
    throwsDsl(() => F.transpose(x, [0, 1, 3]), 'Transpose', '[0, 1, 3]');
  });

  it('duplicate input and parameter names', () => {
    g.input('x', 'float32', [2]);
    throwsDsl(() => g.input('x', 'float32', [3]), "'x'", 'already used');
    g.param('w', [2], { kind: 'zeros' });
    throwsDsl(() => g.param('w', [2], { kind: 'zeros' }), "'w'", 'already used');
    throwsDsl(() => g.param('x', [2], { kind: 'zeros' }), "'x'", 'already used');
    throwsDsl(() => g.input('w', 'float32', [2]), "'w'", 'already used');
  });

  it('duplicate output name', () => {
    const x = g.input('x', 'float32', [2]);
    g.output('y', F.neg(x));
    throwsDsl(() => g.output('y', F.exp(x)), "'y'", 'twice');
  });

  it('output whose name is already another value (ONNX would reject the duplicate definition)', () => {
    const x = g.input('x', 'float32', [2]);
    g.input('y', 'float32', [2]);
    const e = F.exp(x);
    throwsDsl(() => g.output('y', e), "'y'", 'already used');
    throwsDsl(() => g.output('x', x), "'x'", 'already used');
    throwsDsl(() => g.output(e.name, F.neg(e)), e.name, 'already used');
    g.output(e.name, e); // a node output under its own name is fine
    g.output('z', F.sin(x));
    throwsDsl(() => g.input('z', 'float32', [1]), "'z'", 'already used');
  });

  it('parameter with a symbolic or non-positive shape', () => {
    throwsDsl(() => g.param('w', ['n', 2] as unknown as number[], { kind: 'zeros' }), "'w'", '[n, 2]');
    throwsDsl(() => g.param('v', [0, 2], { kind: 'zeros' }), "'v'", '[0, 2]');
  });

  it('tensors from another graph', () => {
    const other = new Graph('other');
    const a = g.input('a', 'float32', [2]);
    const b = other.input('b', 'float32', [2]);
    throwsDsl(() => F.add(a, b), 'Add', 'b');
    throwsDsl(() => other.output('y', a), "'y'", 'another graph');
  });

  it('shape-op errors name the op and the shapes', () => {
    const x = g.input('x', 'float32', [2, 3]);
    throwsDsl(() => F.reshape(x, [4, 2]), 'Reshape', '[2, 3]', '[4, 2]');
    throwsDsl(() => F.reshape(x, [4, -1]), 'Reshape', '[2, 3]', '[4, -1]');
    throwsDsl(() => F.squeeze(x, [0]), 'Squeeze', '[2, 3]');
    throwsDsl(() => F.expand(x, [2, 4]), 'Expand', '[2, 3]', '[2, 4]');
    throwsDsl(() => F.split(x, 1, [1, 1]), 'Split', '[1, 1]', '[2, 3]');
    throwsDsl(() => F.concat([x, g.input('y', 'float32', [3, 3])], 1), 'Concat', '[2, 3]', '[3, 3]');
    throwsDsl(() => F.softmax(x, 2), 'Softmax', 'axis 2', 'rank 2');
    throwsDsl(() => F.pad(x, [1, 1]), 'Pad', 'rank 2');
  });

  it('nn/indexing errors name the op and the shapes', () => {
    const x = g.input('x', 'float32', [4, 3]);
    throwsDsl(() => F.gather(x, g.input('fi', 'float32', [2]), 0), 'Gather', 'float32', '[2]');
    throwsDsl(() => F.softmaxCrossEntropyLoss(x, g.input('l', 'int64', [3])), 'SoftmaxCrossEntropyLoss', '[3]', '[4, 3]');
    throwsDsl(() => F.layerNormalization(x, g.input('s', 'float32', [4]), null), 'LayerNormalization', '[4]', '[4, 3]');
    throwsDsl(() => F.gatherElements(x, g.input('ie', 'int64', [4]), 0), 'GatherElements', '[4]', '[4, 3]');
    throwsDsl(() => F.scatterND(x, g.input('is', 'int64', [2, 1]), g.input('u', 'float32', [3, 3])), 'ScatterND', '[3, 3]', '[2, 3]');
    throwsDsl(() => F.trilu(g.input('v', 'float32', [3]), false), 'Trilu', '[3]');
  });
});
