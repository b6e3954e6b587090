import { expect } from 'chai';
import * as F from '../src/dsl/index.js';
import { gradients } from '../src/compiler/autodiff.js';
import { emitModel } from '../src/onnx/emit.js';
import { f64, i64, numbers, runOnce } from './helpers/ort.js';
import * as ort from 'onnxruntime-node';
import { awayFrom, checkVjp, distinct, uniform } from './helpers/vjp-coverage.js';

// Float64 throughout unless a comment says otherwise: onnxruntime-node's CPU EP has double
// kernels for every op in these forward and backward graphs (Add/Sub/Mul/Div, Pow, Max/Min,
// Neg, Abs, Exp, Log, Sqrt, Reciprocal, Sigmoid, Softplus, Tanh, Sin, Cos, Sign, Cast, Where, Clip,
// Equal/Greater/Less/GreaterOrEqual/LessOrEqual, ReduceSum, Reshape, Expand).
describe('VJP: elementwise', () => {
  it('Add broadcasting [3,1,4] + [5,1]', async () => {
    await checkVjp('Add', {
      inputs: [{ name: 'a', shape: [3, 1, 4] }, { name: 'b', shape: [5, 1] }],
      build: (_g, [a, b]) => F.add(a, b),
    });
  });

  it('Add of a tensor to itself and with a number', async () => {
    await checkVjp('Add', {
      inputs: [{ name: 'x', shape: [2, 3] }],
      build: (_g, [x]) => F.add(F.add(x, x), 0.5),
    });
  });

  it('Sub broadcasting [2,3] - [3] and [3] - [2,3]', async () => {
    await checkVjp('Sub', {
      inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }],
      build: (_g, [a, b]) => [F.sub(a, b), F.sub(b, a)],
    });
  });

  it('Mul broadcasting [2,1,3] * [4,1]', async () => {
    await checkVjp('Mul', {
      inputs: [{ name: 'a', shape: [2, 1, 3] }, { name: 'b', shape: [4, 1] }],
      build: (_g, [a, b]) => F.mul(a, b),
    });
  });

  it('Div broadcasting [2,3] / [2,1], denominator away from 0', async () => {
    await checkVjp('Div', {
      inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 1], values: [0.7, -1.3] }],
      build: (_g, [a, b]) => F.div(a, b),
    });
  });

  it('Pow: gradient wrt positive base and exponent, broadcasting', async () => {
    await checkVjp('Pow', {
      inputs: [{ name: 'a', shape: [2, 3], values: uniform(6, 0.5, 1.5) }, { name: 'b', shape: [3] }],
      build: (_g, [a, b]) => F.pow(a, b),
    });
  });

  it('Pow with constant exponents (x^3 of a negative base, x^-0.5)', async () => {
    await checkVjp('Pow', {
      inputs: [{ name: 'x', shape: [4], values: [-0.9, -0.3, 0.4, 1.1] }, { name: 'y', shape: [3], values: [0.3, 0.8, 1.7] }],
      build: (_g, [x, y]) => [F.pow(x, 3), F.pow(y, -0.5)],
    });
  });

  it('Pow with a constant base (2^x): gradient wrt the exponent only', async () => {
    await checkVjp('Pow', { inputs: [{ name: 'x', shape: [4] }], build: (_g, [x]) => F.pow(2, x) });
  });

  it('Max broadcasting [2,3] vs [3], ties avoided', async () => {
    const v = distinct(9);
    await checkVjp('Max', {
      inputs: [{ name: 'a', shape: [2, 3], values: v.slice(0, 6) }, { name: 'b', shape: [3], values: v.slice(6) }],
      build: (_g, [a, b]) => F.max(a, b),
    });
  });

  it('Min broadcasting [3] vs [2,3] and with a scalar, ties avoided', async () => {
    const v = distinct(9, 5);
    await checkVjp('Min', {
      inputs: [{ name: 'a', shape: [3], values: v.slice(0, 3) }, { name: 'b', shape: [2, 3], values: v.slice(3) }],
      build: (_g, [a, b]) => [F.min(a, b), F.min(b, 0.05)],
    });
  });

  it('Max/Min at a tie split the gradient evenly (as torch does)', async () => {
    const g = new F.Graph('ties');
    const a = g.input('a', 'float64', [3]);
    const b = g.input('b', 'float64', [3]);
    const loss = F.reduceSum(F.add(F.max(a, b), F.mul(F.min(a, b), 3)), null);
    const [da, db] = gradients(g, loss, [a, b]);
    g.output('da', da);
    g.output('db', db);
    const out = await runOnce(emitModel(g), { a: f64([1, 2, 5], [3]), b: f64([1, 3, 4], [3]) });
    expect(numbers(out.da)).to.deep.equal([2, 3, 1]);
    expect(numbers(out.db)).to.deep.equal([2, 1, 3]);
  });

  it('Neg', async () => {
    await checkVjp('Neg', { inputs: [{ name: 'x', shape: [2, 3] }], build: (_g, [x]) => F.neg(x) });
  });

  it('Identity', async () => {
    await checkVjp('Identity', { inputs: [{ name: 'x', shape: [2, 3] }], build: (_g, [x]) => F.mul(F.identity(x), x) });
  });

  it('Abs, values away from 0', async () => {
    await checkVjp('Abs', { inputs: [{ name: 'x', shape: [2, 4], values: awayFrom(8, [0]) }], build: (_g, [x]) => F.abs(x) });
  });

  it('Exp', async () => {
    await checkVjp('Exp', { inputs: [{ name: 'x', shape: [2, 3] }], build: (_g, [x]) => F.exp(x) });
  });

  it('Log of positive values', async () => {
    await checkVjp('Log', { inputs: [{ name: 'x', shape: [2, 3], values: uniform(6, 0.2, 2) }], build: (_g, [x]) => F.log(x) });
  });

  it('Sqrt of positive values', async () => {
    await checkVjp('Sqrt', { inputs: [{ name: 'x', shape: [2, 3], values: uniform(6, 0.2, 2) }], build: (_g, [x]) => F.sqrt(x) });
  });

  it('Reciprocal, values away from 0', async () => {
    await checkVjp('Reciprocal', {
      inputs: [{ name: 'x', shape: [2, 3], values: [0.5, -0.7, 1.2, -1.5, 0.9, 2] }],
      build: (_g, [x]) => F.reciprocal(x),
    });
  });

  it('Sigmoid', async () => {
    await checkVjp('Sigmoid', { inputs: [{ name: 'x', shape: [2, 3], values: uniform(6, -3, 3) }], build: (_g, [x]) => F.sigmoid(x) });
  });

  it('Softplus', async () => {
    await checkVjp('Softplus', { inputs: [{ name: 'x', shape: [2, 3], values: uniform(6, -3, 3) }], build: (_g, [x]) => F.softplus(x) });
  });

  it('Tanh', async () => {
    await checkVjp('Tanh', { inputs: [{ name: 'x', shape: [2, 3], values: uniform(6, -2, 2) }], build: (_g, [x]) => F.tanh(x) });
  });

  it('Sin', async () => {
    await checkVjp('Sin', { inputs: [{ name: 'x', shape: [2, 3], values: uniform(6, -3, 3) }], build: (_g, [x]) => F.sin(x) });
  });

  it('Cos', async () => {
    await checkVjp('Cos', { inputs: [{ name: 'x', shape: [2, 3], values: uniform(6, -3, 3) }], build: (_g, [x]) => F.cos(x) });
  });

  // Float32 input (the case under test); the loss is float64. A float32 perturbation x +- eps
  // is exact to ~6e-8 relative, i.e. ~3e-6 relative on the quotient at eps = 1e-2, and the
  // truncation error of exp is eps^2/6 * e^x ~ 5e-5 relative; rtol 1e-3 covers both.
  it('Cast float32 -> float64 (float32 input, float64 loss)', async () => {
    await checkVjp('Cast', {
      dtype: 'float32',
      inputs: [{ name: 'x', shape: [2, 3] }],
      build: (_g, [x]) => F.exp(F.cast(x, 'float64')),
      rtol: 1e-3,
      atol: 1e-5,
    });
  });

  it('Cast float64 -> float64 and from int64 (no gradient through the integer path)', async () => {
    await checkVjp('Cast', {
      inputs: [{ name: 'x', shape: [2, 3] }],
      extra: [{ name: 'k', dtype: 'int64', shape: [2, 3], feed: i64([1, -2, 3, 0, 5, -1], [2, 3]) }],
      build: (_g, [x], [k]) => F.mul(F.cast(x, 'float64'), F.cast(k, 'float64')),
    });
  });

  it('Where: both branches, broadcasting cond [2,1,3], a [2,3], b [3] and a number', async () => {
    const cond = new ort.Tensor('bool', Uint8Array.from([1, 0, 1, 0, 0, 1]), [2, 1, 3]);
    await checkVjp('Where', {
      inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }],
      extra: [{ name: 'cond', dtype: 'bool', shape: [2, 1, 3], feed: cond }],
      build: (_g, [a, b], [c]) => [F.where(c, a, b), F.where(c, 2, b)],
    });
  });

  it('Clip with both bounds, only lo, only hi (values away from the bounds)', async () => {
    await checkVjp('Clip', {
      inputs: [{ name: 'x', shape: [12], values: awayFrom(12, [-0.5, 0.3]) }],
      build: (_g, [x]) => [F.clip(x, -0.5, 0.3), F.clip(x, -0.5), F.clip(x, undefined, 0.3)],
    });
  });

  it('Clip bounds given as tensors', async () => {
    const r = await checkVjp('Clip', {
      inputs: [{ name: 'x', shape: [6], values: [-0.9, -0.2, 0.1, 0.45, 0.8, -0.6] }],
      build: (g, [x]) => F.clip(x, F.scalar(g, -0.4, 'float64'), F.scalar(g, 0.5, 'float64')),
    });
    expect(r.maxAbsErr).to.be.below(1e-6);
  });
});
