import { expect } from 'chai';
import { GradCheckCase, GradCheckResult, gradCheck } from './gradcheck.js';

/**
 * Ops whose VJP rule is gradient-checked, by the test file that checks them
 * (test/vjp-<family>.test.ts). test/vjp-coverage.test.ts compares this list with
 * registeredVjpOps() and with the `checkVjp('<Op>', ...)` calls in those files, so a new
 * rule without a test fails CI.
 */
export const VJP_TESTED_OPS: Record<string, readonly string[]> = {
  elementwise: [
    'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Neg', 'Identity', 'Abs', 'Exp', 'Log', 'Sqrt', 'Reciprocal',
    'Sigmoid', 'Softplus', 'Tanh', 'Sin', 'Cos', 'Cast', 'Where', 'Clip',
  ],
  matmul: ['MatMul'],
  'shape-ops': ['Transpose', 'Reshape', 'Unsqueeze', 'Squeeze', 'Expand', 'Concat', 'Split', 'Slice', 'Pad'],
  reduce: ['ReduceSum', 'ReduceMean', 'ReduceMax'],
  indexing: ['Gather', 'GatherElements', 'GatherND', 'ScatterND', 'ScatterElements', 'Trilu', 'CumSum'],
  nn: ['Softmax', 'LogSoftmax', 'LayerNormalization', 'SoftmaxCrossEntropyLoss'],
};

export const ALL_VJP_TESTED_OPS: readonly string[] = Object.values(VJP_TESTED_OPS).flat();

/** gradCheck, asserting that `op` is in the covered list and really occurs in the forward graph. */
export async function checkVjp(op: string, c: GradCheckCase): Promise<GradCheckResult> {
  expect(ALL_VJP_TESTED_OPS, `${op} is missing from VJP_TESTED_OPS`).to.include(op);
  const res = await gradCheck(c);
  expect([...res.ops], `forward graph of the ${op} check`).to.include(op);
  return res;
}

/** `n` values uniform in [lo, hi) from a seeded generator. */
export function uniform(n: number, lo: number, hi: number, seed = 7): number[] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, () => lo + (hi - lo) * next());
}

/** `n` values in [-1, 1) at least `margin` away from every point in `kinks` (Abs, Clip, Max/Min). */
export function awayFrom(n: number, kinks: readonly number[], margin = 0.05, seed = 11): number[] {
  const out: number[] = [];
  const pool = uniform(20 * n, -1, 1, seed);
  for (const v of pool) {
    if (kinks.every((k) => Math.abs(v - k) >= margin)) out.push(v);
    if (out.length === n) return out;
  }
  throw new Error('awayFrom: not enough values');
}

/** A shuffled permutation of n distinct values spread over [-1, 1] (no ties for Max/ReduceMax). */
export function distinct(n: number, seed = 3): number[] {
  const vals = Array.from({ length: n }, (_, i) => -1 + (2 * i + 1) / n);
  const r = uniform(n, 0, 1, seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r[i] * (i + 1));
    [vals[i], vals[j]] = [vals[j], vals[i]];
  }
  return vals;
}
