import { InitSpec, ParamInfo } from '../dsl/graph.js';
import { Rng } from '../data/rng.js';

/** Standard normal by Box-Muller (one value per call keeps the stream simple to reason about). */
function gaussian(rng: Rng): number {
  let u = rng.nextFloat();
  while (u === 0) u = rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}

function fill(spec: InitSpec, n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  switch (spec.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = gaussian(rng) * spec.std;
      return out;
    case 'truncated_normal':
      // Resample outside ±2σ, as torch.nn.init.trunc_normal_ with a = -2σ, b = 2σ.
      for (let i = 0; i < n; i++) {
        let z = gaussian(rng);
        while (Math.abs(z) > 2) z = gaussian(rng);
        out[i] = z * spec.std;
      }
      return out;
    case 'uniform':
      for (let i = 0; i < n; i++) out[i] = (rng.nextFloat() * 2 - 1) * spec.bound;
      return out;
  }
}

/**
 * Initial parameter values, seeded. Each parameter draws from its own stream (derived from
 * its position), so adding a layer does not change the values of the others.
 */
export function initialParams(params: readonly ParamInfo[], seed: number): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  params.forEach((p, k) => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    out.set(p.name, { shape: [...p.shape], data: fill(p.init, n, new Rng(seed, 1000 + k)) });
  });
  return out;
}
