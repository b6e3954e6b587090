import { expect } from 'chai';
import * as F from '../src/dsl/index.js';
import { checkVjp } from './helpers/vjp-coverage.js';

// Float64: Transpose, Reshape, Shape, Gather, Concat, Unsqueeze, Squeeze, Expand, Split,
// Slice, Pad, ConstantOfShape and ReduceSum all have double (or type-agnostic) CPU kernels.
describe('VJP: shape ops', () => {
  it('Transpose perm [2,0,1]', async () => {
    await checkVjp('Transpose', { inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (_g, [x]) => F.transpose(x, [2, 0, 1]) });
  });

  it('Reshape [2,3,4] -> [4,-1]', async () => {
    await checkVjp('Reshape', { inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (_g, [x]) => F.reshape(x, [4, -1]) });
  });

  it('Reshape with a symbolic batch dim: [batch,3,2] -> [batch,6] -> [-1]', async () => {
    await checkVjp('Reshape', {
      inputs: [{ name: 'x', shape: [4, 3, 2], decl: ['batch', 3, 2] }],
      build: (g, [x]) => {
        const y = F.reshape(x, ['batch', 6]);
        const flat = F.reshape(F.mul(y, y), [-1]);
        const w = g.constant(Float64Array.from({ length: 6 }, (_, i) => i - 2.5), 'float64', [6]);
        // The symbolic dims are summed away so the checked output has a static shape.
        return [F.reduceSum(F.mul(y, w), [0]), F.reduceSum(flat, [0], true)];
      },
    });
  });

  it('Reshape moving the symbolic dim: [batch,3,2] -> [3,batch,2]', async () => {
    await checkVjp('Reshape', {
      inputs: [{ name: 'x', shape: [2, 3, 2], decl: ['batch', 3, 2] }],
      build: (_g, [x]) => F.reduceSum(F.exp(F.reshape(x, [3, 'batch', 2])), [1]),
    });
  });

  it('Unsqueeze axes [0,2]', async () => {
    await checkVjp('Unsqueeze', {
      inputs: [{ name: 'x', shape: [2, 3] }],
      build: (g, [x]) => F.mul(F.unsqueeze(x, [0, 2]), g.constant(Float64Array.from([1, -2, 0.5, 3]), 'float64', [4, 1, 1, 1])),
    });
  });

  it('Squeeze axes [1,3]', async () => {
    await checkVjp('Squeeze', { inputs: [{ name: 'x', shape: [2, 1, 3, 1] }], build: (_g, [x]) => F.exp(F.squeeze(x, [1, 3])) });
  });

  it('Expand [3,1] -> [2,3,4] and [4] -> [3,4]', async () => {
    await checkVjp('Expand', {
      inputs: [{ name: 'x', shape: [3, 1] }, { name: 'y', shape: [4] }],
      build: (_g, [x, y]) => [F.expand(x, [2, 3, 4]), F.expand(y, [3, 4])],
    });
  });

  it('Expand to a symbolic shape with expandAs: [1,3] -> [batch,3]', async () => {
    await checkVjp('Expand', {
      inputs: [{ name: 'x', shape: [1, 3] }, { name: 'z', shape: [4, 3], decl: ['batch', 3] }],
      build: (_g, [x, z]) => F.reduceSum(F.mul(F.expandAs(x, z), z), [0]),
    });
  });

  it('Concat of three inputs on axis 1 (one used twice)', async () => {
    await checkVjp('Concat', {
      inputs: [{ name: 'a', shape: [2, 1, 2] }, { name: 'b', shape: [2, 3, 2] }, { name: 'c', shape: [2, 2, 2] }],
      build: (_g, [a, b, c]) => F.tanh(F.concat([a, b, c, a], 1)),
    });
  });

  it('Split into [1,3,2] on axis -1, the middle part unused', async () => {
    await checkVjp('Split', {
      inputs: [{ name: 'x', shape: [2, 6] }],
      build: (_g, [x]) => {
        const [p, , r] = F.split(x, -1, [1, 3, 2]);
        return [F.exp(p), F.mul(r, r)];
      },
    });
  });

  it('Slice on two axes with a negative start and a clamped end', async () => {
    await checkVjp('Slice', {
      inputs: [{ name: 'x', shape: [3, 5, 2] }],
      build: (_g, [x]) => [F.slice(x, [1, 0], [-4, 1], [4, 100]), F.slice(x, [-1], [1], [2])],
    });
  });

  // The batch's sequence length T is symbolic in the graphs (any T ≤ maxlen): the rules for
  // Concat and Slice then read the sizes and pads from Shape at run time. The symbolic axis is
  // summed away so the checked outputs are static; the elementwise y·tanh(y) before the sum
  // makes each element's gradient depend on its own value, so a misplaced one is caught.
  const sumOver = (y: F.Tensor, axis: number) => F.reduceSum(F.mul(y, F.tanh(y)), [axis]);

  it('Concat on a symbolic axis: [2,2,3] and [2,T,3] on axis 1, T = 3 at run time', async () => {
    await checkVjp('Concat', {
      inputs: [{ name: 'p', shape: [2, 2, 3] }, { name: 'x', shape: [2, 3, 3], decl: [2, 'T', 3] }],
      build: (_g, [p, x]) => {
        const y = F.concat([p, x, p], 1, 'P+T');
        expect(y.shape).to.deep.equal([2, 'P+T', 3]);
        return sumOver(y, 1);
      },
    });
  });

  it('Concat of two symbolic lengths on axis 0', async () => {
    await checkVjp('Concat', {
      inputs: [{ name: 'x', shape: [3, 2], decl: ['T', 2] }, { name: 'z', shape: [4, 2], decl: ['U', 2] }],
      build: (_g, [x, z]) => sumOver(F.concat([z, x], 0), 0),
    });
  });

  it('Slice on a symbolic axis (T = 5): to the end, negative bounds, clamped start and end, past the end', async () => {
    await checkVjp('Slice', {
      inputs: [{ name: 'x', shape: [5, 3], decl: ['T', 3] }],
      build: (_g, [x]) => [
        sumOver(F.slice(x, [0], [2], [Number.MAX_SAFE_INTEGER]), 0),
        sumOver(F.slice(x, [0], [-3], [-1]), 0),
        sumOver(F.slice(x, [0], [-10], [2]), 0),
        sumOver(F.slice(x, [0], [1], [100]), 0),
        sumOver(F.slice(x, [0], [3], [1]), 0),
        sumOver(F.slice(x, [0], [7], [Number.MAX_SAFE_INTEGER]), 0),
      ],
    });
  });

  it('Slice on a symbolic and a static axis at once', async () => {
    await checkVjp('Slice', {
      inputs: [{ name: 'x', shape: [2, 4, 3], decl: ['batch', 'T', 3] }],
      build: (_g, [x]) => F.reduceSum(sumOver(F.slice(x, [1, 2], [1, 0], [Number.MAX_SAFE_INTEGER, 2]), 1), [0]),
    });
  });

  it('Pad [2,3] with begin/end pads and a non-zero value', async () => {
    await checkVjp('Pad', {
      inputs: [{ name: 'x', shape: [2, 3] }],
      build: (_g, [x]) => F.mul(F.pad(x, [1, 0, 0, 2], 0.5), F.pad(x, [1, 0, 0, 2], -1)),
    });
  });
});
