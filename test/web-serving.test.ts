// "Served elsewhere": the exported inference.onnx run by onnxruntime-web (wasm) inside Node
// gives the same top-k and scores as onnxruntime-node. The web side runs in a child process
// (test/helpers/web-infer.mjs) because the two runtimes must not share a process.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { exportInference } from '../src/onnx/bake.js';
import { onnx } from '../src/onnx/proto.js';
import { loadCheckpoint } from '../src/runtime/checkpoint.js';
import { RUN_FILES } from '../src/runtime/trainer.js';
import { emptyBatch, oversizedK, withIds } from './helpers/edge-feeds.js';
import { TINY_MODELS, fixedBatch, runNode, trainedTiny, type FeedSpec, type PlainOutput } from './helpers/trained.js';

const WEB_SCRIPT = fileURLToPath(new URL('./helpers/web-infer.mjs', import.meta.url));
const V = 60;
const N = 16; // users in the fixed batch
const K = 10;

// Measured on this project's machine (docs/architecture.md): native vs web differences of about 1e-8 on a small training
// graph. Here, with scores up to about 15 (hstu) and 0.9 (llama), the largest differences seen were
// 3.3e-6 at a score of 6.8 and 1.2e-7 at 0.56: a few float32 ulps (different SIMD kernels and
// summation orders). 1e-5, relative beyond |x| = 1, leaves a margin of about 20x over that and
// still catches any real disagreement (a wrong op or weight moves scores by far more). Relative,
// too, because the padding column holds the lowest float (about -3.4e38).
const TOL = 1e-5;
const near = (a: number, b: number) => Math.abs(a - b) <= TOL * Math.max(1, Math.abs(a), Math.abs(b));

interface Job {
  name: string;
  model: string;
  externalData?: { path: string; file: string }[];
  feeds: Record<string, FeedSpec>;
}

async function runWeb(jobs: Job[]): Promise<{ versions: Record<string, string>; results: Record<string, Record<string, PlainOutput>> }> {
  const file = join(mkdtempSync(join(tmpdir(), 'reclm-web-')), 'jobs.json');
  writeFileSync(file, JSON.stringify({ jobs }));
  const { stdout } = await promisify(execFile)(process.execPath, [WEB_SCRIPT, file], { maxBuffer: 64 << 20, timeout: 30000 });
  return JSON.parse(stdout);
}

function expectSameServing(web: Record<string, PlainOutput>, native: Record<string, PlainOutput>, what: string) {
  for (const name of ['user_emb', 'scores', 'top_items', 'top_scores']) expect(web[name].dims, `${what} ${name} dims`).to.deep.equal(native[name].dims);
  for (const name of ['user_emb', 'scores', 'top_scores']) {
    const w = web[name].data;
    const n = native[name].data;
    const bad = w.map((x, i) => i).filter((i) => !near(w[i], n[i]));
    expect(bad.slice(0, 5).map((i) => `${name}[${i}]: web ${w[i]} native ${n[i]}`), `${what}: values beyond ${TOL}`).to.deep.equal([]);
  }
  // Same items in the same order; a swap is only acceptable between two items whose scores tie
  // within the tolerance (none is expected here, and the count is checked below).
  let swaps = 0;
  for (let r = 0; r < N; r++) {
    for (let j = 0; j < K; j++) {
      const a = web.top_items.data[r * K + j];
      const b = native.top_items.data[r * K + j];
      if (a === b) continue;
      swaps++;
      const sa = native.scores.data[r * (V + 1) + a];
      const sb = native.scores.data[r * (V + 1) + b];
      expect(Math.abs(sa - sb), `${what}: row ${r} rank ${j}: web item ${a}, native item ${b}`).to.be.at.most(2 * TOL);
    }
  }
  expect(swaps, `${what}: top-k swaps between near ties`).to.be.at.most(2);
}

describe('serving inference.onnx with onnxruntime-web (wasm) in Node', function () {
  this.timeout(60000);
  const native: Record<string, Record<string, PlainOutput>> = {};
  let web: Awaited<ReturnType<typeof runWeb>>;

  before(async () => {
    const jobs: Job[] = [];
    for (const model of TINY_MODELS) {
      const dir = await trainedTiny(model);
      const path = join(dir, RUN_FILES.inference);
      const feeds = fixedBatch(model, N, K);
      native[model] = await runNode(path, feeds);
      jobs.push({ name: model, model: path, feeds });
      // The same model with its weights as external data: web takes them as bytes.
      const m = onnx.ModelProto.decode(readFileSync(path));
      const metadata = Object.fromEntries((m.metadataProps ?? []).filter((p) => p.key !== 'reclm_version').map((p) => [p.key!, p.value!]));
      const params = new Map([...loadCheckpoint(join(dir, RUN_FILES.last)).params].map(([name, t]) => [name, t.data]));
      const ext = join(mkdtempSync(join(tmpdir(), 'reclm-webext-')), 'inference.onnx');
      exportInference(join(dir, 'inference_graph.onnx'), ext, params, metadata, 1);
      jobs.push({ name: `${model}-external`, model: ext, externalData: [{ path: 'inference.onnx.data', file: `${ext}.data` }], feeds });
      // The edges of the serving contract (export.test.ts checks them in onnxruntime-node).
      jobs.push({ name: `${model}-empty`, model: path, feeds: emptyBatch(model) });
      jobs.push({ name: `${model}-neg`, model: path, feeds: withIds(model, -1, -123456789) });
      jobs.push({ name: `${model}-zero`, model: path, feeds: withIds(model, 0, 0) });
      jobs.push({ name: `${model}-bigk`, model: path, feeds: oversizedK(model) });
    }
    web = await runWeb(jobs);
  });

  it('runs the web backend, not the native one, in the child', () => {
    expect(web.versions.web).to.equal('1.30.0');
    expect(web.versions.node).to.equal(undefined);
  });

  for (const model of TINY_MODELS) {
    it(`${model}: same top-k items and scores within ${TOL} as onnxruntime-node`, () => {
      expectSameServing(web.results[model], native[model], model);
    });

    it(`${model}: with external data passed as bytes, the same again`, () => {
      expectSameServing(web.results[`${model}-external`], native[model], `${model} external`);
    });

    it(`${model}: a batch of 0 rows gives empty outputs (no "divide by zero" in TopK)`, () => {
      const r = web.results[`${model}-empty`];
      expect(r.scores.dims).to.deep.equal([0, V + 1]);
      expect(r.top_items.dims).to.deep.equal([0, 5]);
      expect(r.top_scores.dims).to.deep.equal([0, 5]);
      expect(r.user_emb.dims[0]).to.equal(0);
    });

    it(`${model}: ids < 0 in seq are padding, as in onnxruntime-node`, () => {
      // Same runtime, same values after the clamp: bit-identical outputs.
      expect(web.results[`${model}-neg`]).to.deep.equal(web.results[`${model}-zero`]);
    });

    it(`${model}: k larger than the catalogue returns every item once, never the padding item 0`, () => {
      const r = web.results[`${model}-bigk`];
      expect(r.top_items.dims).to.deep.equal([3, V]);
      for (let row = 0; row < 3; row++) {
        const items = r.top_items.data.slice(row * V, (row + 1) * V);
        expect([...items].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: V }, (_, i) => i + 1));
      }
    });
  }
});
