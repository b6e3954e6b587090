// The check both length-bucket test files make: a batch trimmed to its longest row gives the
// loss and gradients of the same rows maxlen wide.
import { expect } from 'chai';
import type * as ort from 'onnxruntime-node';

/**
 * `full` and `trimmed`: outputs of one training graph (`loss`, `<param>_grad`) on the same rows at
 * two widths. Bounds: loss within 1e-5 relative, each gradient within 1e-4 of its largest value;
 * only float rounding of shorter sums differs (and attention's blocking), far below both.
 * `zeroGradient` names parameters whose gradient is 0 in exact arithmetic (the SASRec block's key
 * bias: softmax ignores a shift common to a row): theirs is rounding noise (measured 3e-9..4e-9
 * against a largest gradient of 0.34), so it is held to 1e-4 of the largest gradient of all.
 */
export function expectSameLossAndGradients(full: ort.InferenceSession.OnnxValueMapType, trimmed: ort.InferenceSession.OnnxValueMapType, params: readonly { name: string }[], zeroGradient?: RegExp): void {
  const [la, lb] = [(full.loss.data as Float32Array)[0], (trimmed.loss.data as Float32Array)[0]];
  expect(Math.abs(la - lb)).to.be.at.most(1e-5 * Math.abs(la));
  const largest = (name: string) => Math.max(...Array.from(full[`${name}_grad`].data as Float32Array, Math.abs));
  const overall = Math.max(...params.map((p) => largest(p.name)));
  for (const p of params) {
    const ga = full[`${p.name}_grad`].data as Float32Array;
    const gb = trimmed[`${p.name}_grad`].data as Float32Array;
    const zero = zeroGradient?.test(p.name) ?? false;
    const scale = zero ? overall : largest(p.name);
    if (!zero) expect(scale, p.name).to.be.above(0);
    for (let i = 0; i < ga.length; i++) expect(Math.abs(ga[i] - gb[i]), `${p.name}_grad[${i}]`).to.be.at.most(1e-4 * scale);
  }
}
