/** In-graph counter-based dropout: reproducible, uniform, and absent from evaluation graphs. */
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import { Graph } from '../src/dsl/graph.js';
import { addGradientOutputs } from '../src/compiler/training.js';
import { emitModel } from '../src/onnx/emit.js';
import { Dropout, LossName, getModel, hashLike, uniformLike } from '../graphs/index.js';
import { paramFeeds, randomBatch, randomParams, scalarI64 } from './helpers/model-batches.js';
import { createSession, numbers, runOnce } from './helpers/ort.js';

const LLAMA = { num_items: 9, dim: 8, n_layers: 2, n_heads: 2, maxlen: 5, multiple_of: 4, dropout: 0.3 };
const HSTU = { num_items: 9, dim: 8, n_layers: 2, n_heads: 2, dqk: 4, dv: 6, maxlen: 5, dropout: 0.3 };
const MODELS: [string, Record<string, unknown>, LossName][] = [
  ['llama-sasrec', LLAMA, 'bce'],
  ['hstu', HSTU, 'sampled-softmax'],
];

// --- A BigInt transcription of graphs/dropout.ts: pins the hash (checkpoints replay it). ---
const P = 2147483647n;
const A = [742938285n, 950706376n, 1226874159n, 62089911n, 1343714438n, 397204094n, 1583458089n, 630360016n, 1101141659n, 1875056929n];
const B = [1013904223n, 1664525n, 374761393n, 668265263n, 2246822519n % P, 3266489917n % P];
const mod = (x: bigint) => ((x % P) + P) % P;
const mix = (x: bigint, a: bigint, b: bigint) => {
  const y = mod(x * a + b);
  return y ^ (y / 32768n);
};
function refHash(seed: bigint, step: bigint, site: number, outer: number, last: number): bigint[] {
  let h = mix(mod(seed), A[0], B[0]);
  h = mix(mod(h + mod(step)), A[1], B[1]);
  h = mix(mod(h + BigInt(site + 1)), A[2], B[2]);
  const k: bigint[] = [];
  for (let i = 0; i < 4; i++) k.push((h = mix(h, A[3 + i], B[(3 + i) % B.length])));
  const stream = (idx: bigint, k1: bigint, k2: bigint, a1: bigint, a2: bigint) => mix(mod(mix(mod(idx + k1), a1, 0n) ^ k2), a2, 0n);
  const out: bigint[] = [];
  for (let r = 0; r < outer; r++) {
    for (let c = 0; c < last; c++) {
      out.push(mod((stream(BigInt(r), k[0], k[1], A[7], A[8]) ^ stream(BigInt(c), k[2], k[3], A[9], A[5])) * A[6]));
    }
  }
  return out;
}

/** A graph mapping (x [batch, 40, 30], seed, step) to uniforms / raw hashes of two sites. */
async function noise(seed: number, step: number, batch = 4): Promise<{ u0: Float32Array; u1: Float32Array; h0: bigint[] }> {
  const g = new Graph('noise');
  const x = g.input('x', 'float32', ['batch', 40, 30]);
  const s = g.input('seed', 'int64', []);
  const t = g.input('step', 'int64', []);
  g.output('u0', uniformLike(x, s, t, 0));
  g.output('u1', uniformLike(x, s, t, 1));
  g.output('h0', hashLike(x, s, t, 0));
  const out = await runOnce(emitModel(g), { x: new ort.Tensor('float32', new Float32Array(batch * 1200), [batch, 40, 30]), seed: scalarI64(seed), step: scalarI64(step) });
  return { u0: out.u0.data as Float32Array, u1: out.u1.data as Float32Array, h0: Array.from(out.h0.data as BigInt64Array) };
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Pairs (x[i], x[i + lag]) that stay inside one row of length `row` (row = 0: no restriction). */
function lagged(x: Float32Array, lag: number, row = 0): [number[], number[]] {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i + lag < x.length; i++) {
    if (row && Math.floor(i / row) !== Math.floor((i + lag) / row)) continue;
    a.push(x[i]);
    b.push(x[i + lag]);
  }
  return [a, b];
}

describe('models: dropout', () => {
  it('the hash is exactly the documented int64 arithmetic (reproducible in any process)', async () => {
    for (const [seed, step] of [[1234, 7], [-5, 0], [2 ** 40 + 3, 123456]]) {
      const { h0 } = await noise(seed, step, 2);
      expect(h0).to.deep.equal(refHash(BigInt(seed), BigInt(step), 0, 2 * 40, 30));
    }
  });

  it('the uniform numbers look uniform and independent (mean, variance, histogram, neighbours, steps, sites)', async () => {
    const { u0, u1 } = await noise(2024, 1);
    const { u0: next } = await noise(2024, 2);
    const { u0: other } = await noise(2025, 1);
    const n = u0.length; // 4800
    const mean = u0.reduce((a, b) => a + b, 0) / n;
    const variance = u0.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(mean).to.be.closeTo(0.5, 0.02); // sd of the mean: 0.0042
    expect(variance).to.be.closeTo(1 / 12, 0.006);
    expect(Math.min(...u0)).to.be.at.least(0);
    expect(Math.max(...u0)).to.be.at.most(1);
    const bins = new Array(16).fill(0);
    for (const u of u0) bins[Math.min(15, Math.floor(u * 16))]++;
    const chi2 = bins.reduce((a, c) => a + (c - n / 16) ** 2 / (n / 16), 0);
    expect(chi2, 'chi-square, 15 dof').to.be.below(40); // p ≈ 5e-4
    // Correlations: sd ≈ 1/sqrt(4800) ≈ 0.014.
    const lim = 0.06;
    expect(Math.abs(correlation(...lagged(u0, 1, 30))), 'next column').to.be.below(lim);
    expect(Math.abs(correlation(...lagged(u0, 30))), 'next row').to.be.below(lim);
    expect(Math.abs(correlation(...lagged(u0, 1200))), 'next batch row').to.be.below(lim);
    expect(Math.abs(correlation(u0, u1)), 'another site').to.be.below(lim);
    expect(Math.abs(correlation(u0, next)), 'the next step').to.be.below(lim);
    expect(Math.abs(correlation(u0, other)), 'another seed').to.be.below(lim);
    // A permutation-style check on the bits: the low bit is balanced as well.
    const { h0 } = await noise(2024, 1);
    const odd = h0.filter((h) => (h & 1n) === 1n).length;
    expect(odd / h0.length).to.be.closeTo(0.5, 0.03);
  });

  it('drops a fraction p and scales the kept elements by 1/(1-p)', async () => {
    const g = new Graph('drop');
    const x = g.input('x', 'float32', ['batch', 64]);
    const drop = Dropout.training(0.25, g.input('seed', 'int64', []), g.input('step', 'int64', []));
    g.output('y', drop.apply(x));
    const out = await runOnce(emitModel(g), { x: new ort.Tensor('float32', new Float32Array(64 * 100).fill(1), [100, 64]), seed: scalarI64(9), step: scalarI64(1) });
    const y = out.y.data as Float32Array;
    const zeros = y.filter((v) => v === 0).length / y.length;
    expect(zeros).to.be.closeTo(0.25, 0.02);
    expect(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).to.equal(true);
  });

  for (const [name, config, loss] of MODELS) {
    it(`${name}: same seed and step give the same loss and gradients in fresh sessions; another step or seed does not`, async () => {
      const model = getModel(name);
      const c = model.resolveConfig(config);
      const g = new Graph('train');
      addGradientOutputs(g, model.buildTraining(g, c, loss, { training: true }).loss);
      const bytes = emitModel(g);
      const feeds = { ...paramFeeds(randomParams(g, 1), g), ...randomBatch(c, loss, 2) };
      const run = async (seed: number, step: number) => runOnce(bytes, { ...feeds, seed: scalarI64(seed), step: scalarI64(step), row_offset: scalarI64(0) });
      const a = await run(7, 10);
      const b = await run(7, 10);
      expect(numbers(b.loss)).to.deep.equal(numbers(a.loss));
      for (const p of g.params) expect(numbers(b[`${p.name}_grad`]), p.name).to.deep.equal(numbers(a[`${p.name}_grad`]));
      const otherStep = await run(7, 11);
      const otherSeed = await run(8, 10);
      expect(Number(otherStep.loss.data[0])).to.not.equal(Number(a.loss.data[0]));
      expect(Number(otherSeed.loss.data[0])).to.not.equal(Number(a.loss.data[0]));
    });

    it(`${name}: evaluation graphs have no dropout and no seed/step; with dropout 0 the training graph equals them`, async () => {
      const model = getModel(name);
      const c = model.resolveConfig(config);
      const evalG = new Graph('eval');
      model.buildTraining(evalG, c, loss, { training: false });
      expect(evalG.nodes.filter((n) => n.op === 'BitwiseXor')).to.have.length(0);
      expect(evalG.inputs.map((t) => t.name)).to.not.include.members(['seed', 'step']);
      const infG = new Graph('inference');
      model.buildInference(infG, c);
      expect(infG.nodes.filter((n) => n.op === 'BitwiseXor')).to.have.length(0);
      const trainG = new Graph('train');
      model.buildTraining(trainG, c, loss, { training: true });
      expect(trainG.nodes.filter((n) => n.op === 'BitwiseXor').length).to.be.greaterThan(0);
      expect(trainG.inputs.map((t) => t.name)).to.include.members(['seed', 'step']);
      expect(trainG.nodes.some((n) => n.op === 'Dropout' || n.op.startsWith('Random') || n.op === 'Bernoulli')).to.equal(false);

      const c0 = model.resolveConfig({ ...config, dropout: 0 });
      const train0 = new Graph('train0');
      model.buildTraining(train0, c0, loss, { training: true });
      expect(train0.nodes.filter((n) => n.op === 'BitwiseXor')).to.have.length(0);
      expect(train0.inputs.map((t) => t.name)).to.include.members(['seed', 'step']);
      const feeds = { ...paramFeeds(randomParams(train0, 1), train0), ...randomBatch(c0, loss, 2) };
      const ev = await runOnce(emitModel(evalG), feeds);
      const session = await createSession(emitModel(train0));
      const tr = await session.run({ ...feeds, seed: scalarI64(1), step: scalarI64(2) });
      await session.release();
      expect(numbers(tr.loss)).to.deep.equal(numbers(ev.loss));
    });
  }
});
