import * as ort from 'onnxruntime-node';
import { expect } from 'chai';
import { Graph, Tensor } from '../../src/dsl/graph.js';
import { add, cast, mul } from '../../src/dsl/ops/elementwise.js';
import { reduceSum } from '../../src/dsl/ops/reduce.js';
import { DType, Dim } from '../../src/dsl/types.js';
import { gradients } from '../../src/compiler/autodiff.js';
import { emitModel } from '../../src/onnx/emit.js';
import { Feeds, createSession } from './ort.js';

/** Deterministic pseudo-random numbers for test data (mulberry32). */
export function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DiffInput {
  name: string;
  shape: number[];
  /** Values; default uniform in [-1, 1). */
  values?: number[];
  /** Shape declared in the graph when it differs from `shape` (symbolic dims such as `batch`). */
  decl?: Dim[];
}

export interface GradCheckResult {
  maxAbsErr: number;
  maxRelErr: number;
  /** Ops of the forward graph (before gradients were added). */
  ops: Set<string>;
}

export interface GradCheckCase {
  /** Differentiable inputs, created as float graph inputs of `dtype`. */
  inputs: DiffInput[];
  /** Extra non-differentiable inputs (indices, masks) with their feeds. */
  extra?: { name: string; dtype: DType; shape: number[]; feed: ort.Tensor }[];
  /** Builds the op under test; its outputs are combined with random weights into a scalar. */
  build: (g: Graph, xs: Tensor[], extra: Tensor[]) => Tensor | Tensor[];
  dtype?: 'float64' | 'float32';
  /** Central-difference step. */
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
}

/**
 * Checks the emitted gradient graph against central finite differences of the emitted
 * forward graph, both run in onnxruntime-node (CPU EP), and that the shapes onnxruntime
 * produces (the op's outputs, each gradient) are the ones the DSL inferred. The op's outputs are reduced to a
 * scalar with fixed random weights so every output element contributes differently.
 */
export async function gradCheck(c: GradCheckCase): Promise<GradCheckResult> {
  const dtype = c.dtype ?? 'float64';
  const r = rand(c.seed ?? 1);
  const g = new Graph('gradcheck');
  const xs = c.inputs.map((i) => g.input(i.name, dtype, i.decl ?? i.shape));
  const extra = (c.extra ?? []).map((e) => g.input(e.name, e.dtype, e.shape));
  const built = c.build(g, xs, extra);
  const outs = Array.isArray(built) ? built : [built];
  const ops = new Set(g.nodes.map((n) => n.op));
  let loss: Tensor | null = null;
  // Outputs must have static shapes; each is weighted in its own float dtype, and the
  // loss takes the first output's dtype (so a Cast to float64 can be checked in float64).
  for (const o of outs) {
    if (!o.shape.every((d) => typeof d === 'number')) throw new Error(`gradCheck: output ${o} must have a static shape`);
    const n = o.shape.reduce((a: number, b) => a * (b as number), 1);
    const w = o.dtype === 'float64' ? Float64Array.from({ length: n }, () => r() * 2 - 1) : Float32Array.from({ length: n }, () => r() * 2 - 1);
    let term = reduceSum(mul(o, g.constant(w, o.dtype, o.shape as number[])), null);
    if (loss && term.dtype !== loss.dtype) term = cast(term, loss.dtype);
    loss = loss ? add(loss, term) : term;
  }
  g.output('loss', loss!);
  // The op's outputs also leave the graph, so their shapes at run time can be compared with
  // the shapes the DSL inferred.
  outs.forEach((o, i) => g.output(`out_${i}`, o));
  const grads = gradients(g, loss!, xs);
  grads.forEach((gr, i) => g.output(`${c.inputs[i].name}_grad`, gr));
  const bytes = emitModel(g);
  const session = await createSession(bytes, 'disabled');
  const Arr = dtype === 'float64' ? Float64Array : Float32Array;
  const values = c.inputs.map((i) => Arr.from(i.values ?? Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1)));
  const feeds = (vals: (Float64Array | Float32Array)[]): Feeds => {
    const f: Feeds = {};
    c.inputs.forEach((i, k) => (f[i.name] = new ort.Tensor(dtype, vals[k], i.shape)));
    (c.extra ?? []).forEach((e) => (f[e.name] = e.feed));
    return f;
  };
  const base = await session.run(feeds(values));
  outs.forEach((o, i) => expect(base[`out_${i}`].dims, `shape of output ${i} (${o}): DSL inferred vs onnxruntime`).to.deep.equal(o.shape));
  c.inputs.forEach((i) => expect(base[`${i.name}_grad`].dims, `shape of ${i.name}_grad`).to.deep.equal(i.shape));
  const eps = c.eps ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const rtol = c.rtol ?? (dtype === 'float64' ? 1e-5 : 2e-2);
  const atol = c.atol ?? (dtype === 'float64' ? 1e-7 : 2e-3);
  let maxAbsErr = 0;
  let maxRelErr = 0;
  for (let k = 0; k < values.length; k++) {
    const analytic = base[`${c.inputs[k].name}_grad`].data as Float64Array;
    expect(analytic.length, `${c.inputs[k].name}_grad size`).to.equal(values[k].length);
    for (let j = 0; j < values[k].length; j++) {
      const plus = values.map((v) => v.slice());
      const minus = values.map((v) => v.slice());
      plus[k][j] += eps;
      minus[k][j] -= eps;
      const lp = Number((await session.run(feeds(plus))).loss.data[0]);
      const lm = Number((await session.run(feeds(minus))).loss.data[0]);
      const numeric = (lp - lm) / (2 * eps);
      const err = Math.abs(numeric - analytic[j]);
      maxAbsErr = Math.max(maxAbsErr, err);
      maxRelErr = Math.max(maxRelErr, err / Math.max(Math.abs(numeric), 1e-12));
      expect(err, `${c.inputs[k].name}[${j}]: analytic ${analytic[j]} vs numeric ${numeric}`).to.be.at.most(atol + rtol * Math.abs(numeric));
    }
  }
  await session.release();
  return { maxAbsErr, maxRelErr, ops };
}
