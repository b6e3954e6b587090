import { gradName } from '../contract/artifacts.js';
import { Graph, Tensor } from '../dsl/graph.js';
import { mul } from '../dsl/ops/elementwise.js';
import { DslError } from '../dsl/types.js';
import { gradients } from './autodiff.js';

export { gradName };

/** 0/1 row mask for a parameter whose listed rows get no gradient (e.g. item_emb row 0). */
function rowMask(g: Graph, shape: readonly number[], rows: number[]): Tensor {
  const mask = new Float32Array(shape[0]).fill(1);
  for (const r of rows) {
    if (r < 0 || r >= shape[0]) throw new DslError(`zeroGradRows: row ${r} is outside [0, ${shape[0]})`);
    mask[r] = 0;
  }
  return g.constant(mask, 'float32', [shape[0], ...shape.slice(1).map(() => 1)]);
}

/**
 * Differentiates `loss` with respect to every parameter of `g`, applies the parameters'
 * zero-gradient rows, and returns the gradients by parameter name (graph order).
 */
export function parameterGradients(g: Graph, loss: Tensor): Map<string, Tensor> {
  const grads = gradients(g, loss, g.params);
  const out = new Map<string, Tensor>();
  g.params.forEach((p, i) => {
    const info = (p.source as { info: { zeroGradRows: number[]; shape: readonly number[] } }).info;
    const gr = info.zeroGradRows.length ? mul(grads[i], rowMask(g, info.shape, info.zeroGradRows)) : grads[i];
    out.set(p.name, gr);
  });
  return out;
}

/** Adds `<param>_grad` outputs for every parameter; the training graph's form. */
export function addGradientOutputs(g: Graph, loss: Tensor): Map<string, Tensor> {
  const grads = parameterGradients(g, loss);
  for (const [name, gr] of grads) g.output(gradName(name), gr);
  return grads;
}
