// Compiling and exporting models with side inputs (graphs/features.ts): item feature tables
// baked into every graph, `action`/`profile` (and llama's `ts_ext`) declared as batch inputs,
// the training graphs run with them, and the exported inference.onnx gives the training-side
// scores in onnxruntime-node and onnxruntime-web, with the vocabularies and the positive rule
// in its metadata.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { MODELS, getModel } from '../graphs/index.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import { FeatureConfigError, featureConfig } from '../src/compiler/features.js';
import { ManifestFeatures, batchInputs } from '../src/contract/artifacts.js';
import { Graph } from '../src/dsl/graph.js';
import { emitModel } from '../src/onnx/emit.js';
import { onnx } from '../src/onnx/proto.js';
import { TrainingSession } from '../src/runtime/session.js';
import { rand } from './helpers/gradcheck.js';
import { normal } from './helpers/model-batches.js';
import { tinyData, TINY_CONFIGS } from './helpers/tiny-run.js';
import { runNode, toOrtFeeds, type FeedSpec, type PlainOutput } from './helpers/trained.js';

const WEB_SCRIPT = fileURLToPath(new URL('./helpers/web-infer.mjs', import.meta.url));
const V = 60; // tinyData's items
const N = 6; // rows of the serving batch
// The same bound and reasons as web-serving.test.ts: native vs web (and initializer vs input
// weights, and the training graph's logits vs the serving scores) differ by a few float32 ulps,
// measured up to ~3e-6 at scores of ~7; 1e-5, relative beyond |x| = 1, is 3x over that and far
// below what a wrong op or weight does.
const TOL = 1e-5;
const near = (a: number, b: number) => Math.abs(a - b) <= TOL * Math.max(1, Math.abs(a), Math.abs(b));

const SCHEMA: ManifestFeatures = {
  positive: { kind: 'rating', min: 4 },
  actions: ['<pad>', '1', '2', '3', '4', '5'],
  userFields: [
    { name: 'gender', kind: 'categorical', vocab: ['<pad>', '<unk>', 'F', 'M'], width: 1 },
    { name: 'age', kind: 'bucketed', vocab: ['<pad>', '<unk>', '<25', '25-44', '45+'], width: 1, edges: [25, 45] },
  ],
  itemFields: [{ name: 'genre', kind: 'multi', vocab: ['<pad>', '<unk>', 'Action', 'Comedy', 'Drama', 'Horror'], width: 2 }],
};

/** Genre tokens per item: 1 or 2 genres, item 9 none, item 11 '<unk>'. */
function genreTable(): Int32Array {
  const r = rand(17);
  const t = new Int32Array((V + 1) * 2);
  for (let i = 1; i <= V; i++) {
    if (i === 9) continue;
    t[i * 2] = i === 11 ? 1 : 2 + Math.floor(r() * 4);
    if (r() < 0.5) t[i * 2 + 1] = 2 + Math.floor(r() * 4);
  }
  return t;
}

const CASES = {
  'llama-sasrec': { ...TINY_CONFIGS['llama-sasrec'], key_padding_mask: true, time_gap_buckets: 8 },
  hstu: { ...TINY_CONFIGS.hstu, item_features_in_output: true },
} as const;
type Name = keyof typeof CASES;

/** N rows from tinyData's histories (last L events, left-padded; row 0 without events), with times, actions and profiles. */
function servingBatch(L: number): Record<string, FeedSpec> {
  const data = tinyData();
  const r = rand(23);
  const seq: number[] = [];
  const ts: number[] = [];
  const action: number[] = [];
  const profile: number[] = [];
  for (let u = 0; u < N; u++) {
    const h = u === 0 ? [] : Array.from(data.sequences[u]).slice(-(L - u));
    const pad = L - h.length;
    let t = 1_000_000 + u * 1000;
    for (let s = 0; s < L; s++) {
      const real = s >= pad;
      seq.push(real ? h[s - pad] : 0);
      ts.push(real ? (t += Math.floor(Math.exp(r() * 12))) : 0);
      action.push(real ? 1 + Math.floor(r() * 5) : 0);
    }
    ts.push(t + 60);
    profile.push(1 + Math.floor(r() * 3), 1 + Math.floor(r() * 4));
  }
  return {
    seq: { type: 'int64', dims: [N, L], data: seq },
    ts_ext: { type: 'int64', dims: [N, L + 1], data: ts },
    action: { type: 'int64', dims: [N, L], data: action },
    profile: { type: 'int64', dims: [N, 2], data: profile },
    k: { type: 'int64', dims: [1], data: [5] },
  };
}

interface Built {
  dir: string;
  params: Map<string, Float32Array>;
  feeds: Record<string, FeedSpec>;
  losses: number[];
}

/** Compiles `name` with the side inputs, runs one unfused and two fused training steps from random weights, exports inference.onnx. */
async function compileTrainExport(name: Name): Promise<Built> {
  const dir = join(mkdtempSync(join(tmpdir(), 'reclm-feat-')), 'art');
  const manifest = compileJob({
    model: MODELS[name] as never,
    loss: 'full-ce',
    config: { ...CASES[name] },
    optimizer: SEED_ADAMW,
    data: tinyData(),
    initSeed: 3,
    outDir: dir,
    features: { schema: SCHEMA, itemTables: [genreTable()] },
  });
  const session = await TrainingSession.open(dir, join(dir, 'init.ckpt'));
  // Weights at scale 0.3 (as the gradient checks), so scores spread and a wrong input shows.
  const nrm = normal(rand(31));
  for (const [, buf] of session.params) (buf.current.data as Float32Array).forEach((_, i, a) => (a[i] = 0.3 * nrm()));
  const L = Number(manifest.config.maxlen);
  const serving = servingBatch(L);
  // A training batch: the serving rows with next-item targets, 0 where the next event is a negative (action < 4).
  const seq = serving.seq.data;
  const pos = seq.map((s, i) => (s !== 0 && i % L < L - 1 && serving.action.data[i + 1] >= 4 ? seq[i + 1] : 0));
  const batch = toOrtFeeds({ seq: serving.seq, ts_ext: serving.ts_ext, action: serving.action, profile: serving.profile, pos: { type: 'int64', dims: [N, L], data: pos } });
  const names = batchInputs(manifest, 'training').map((s) => s.name);
  const feeds = Object.fromEntries(names.map((n) => [n, batch[n]]));
  const losses = [await session.trainStep(feeds)];
  await session.optimizerStep(1e-3);
  const stack = (t: ort.Tensor) => new ort.Tensor('int64', BigInt64Array.from([...(t.data as BigInt64Array), ...(t.data as BigInt64Array)]), [2, ...t.dims]);
  losses.push(...(await session.fusedSteps(Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, stack(t)])), Float32Array.of(1e-3, 1e-3))).losses);
  session.exportModelForInferencing(join(dir, 'inference.onnx'));
  const params = new Map([...session.parameterValues()].map(([n, a]) => [n, Float32Array.from(a)]));
  await session.release();
  return { dir, params, feeds: serving, losses };
}

function expectNear(a: PlainOutput, b: PlainOutput, what: string) {
  expect(a.dims, `${what} dims`).to.deep.equal(b.dims);
  const bad = a.data.map((_, i) => i).filter((i) => !near(a.data[i], b.data[i]));
  expect(bad.slice(0, 5).map((i) => `${what}[${i}]: ${a.data[i]} vs ${b.data[i]}`)).to.deep.equal([]);
}

describe('export with side inputs: item features baked, action/profile/time inputs, metadata', function () {
  this.timeout(300000);
  const built = {} as Record<Name, Built>;
  const native = {} as Record<Name, Record<string, PlainOutput>>;
  let web: { results: Record<string, Record<string, PlainOutput>> };

  before(async () => {
    const jobs = [];
    for (const name of Object.keys(CASES) as Name[]) {
      built[name] = await compileTrainExport(name);
      native[name] = await runNode(join(built[name].dir, 'inference.onnx'), built[name].feeds);
      jobs.push({ name, model: join(built[name].dir, 'inference.onnx'), feeds: built[name].feeds });
    }
    const file = join(mkdtempSync(join(tmpdir(), 'reclm-featweb-')), 'jobs.json');
    writeFileSync(file, JSON.stringify({ jobs }));
    const { stdout } = await promisify(execFile)(process.execPath, [WEB_SCRIPT, file], { maxBuffer: 64 << 20, timeout: 180000 });
    web = JSON.parse(stdout);
  });

  for (const name of Object.keys(CASES) as Name[]) {
    it(`${name}: the manifest declares action and profile (and ts_ext) as batch inputs and holds the schema; training steps run`, () => {
      const manifest = JSON.parse(readFileSync(join(built[name].dir, 'manifest.json'), 'utf8'));
      const inputs = Object.fromEntries(batchInputs(manifest, 'training').map((s) => [s.name, s.shape]));
      // Any T ≤ maxlen: a profile model is trimmed like the others (trimPadding).
      expect(inputs).to.deep.equal({ seq: ['batch', 'T'], ts_ext: ['batch', 'T+1'], pos: ['batch', 'T'], action: ['batch', 'T'], profile: ['batch', 2] });
      expect(manifest.trimPadding).to.equal(true);
      expect(manifest.features).to.deep.equal(SCHEMA);
      expect(manifest.config.item_fields).to.deep.equal([{ name: 'genre', vocab_size: 6, width: 2 }]);
      expect(manifest.config.num_actions).to.equal(5);
      // The item tables are constants, not parameters or inputs.
      expect(manifest.params.map((p: { name: string }) => p.name)).to.include.members(['item_field.genre', 'user_field.gender', 'user_field.age', 'action_emb']);
      expect(built[name].losses.every(Number.isFinite), `losses ${built[name].losses}`).to.equal(true);
    });

    it(`${name}: inference.onnx takes seq, ts_ext, action, profile and k, and carries the vocabularies and the positive rule`, async () => {
      const path = join(built[name].dir, 'inference.onnx');
      const s = await ort.InferenceSession.create(path);
      expect([...s.inputNames].sort()).to.deep.equal(['action', 'k', 'profile', 'seq', 'ts_ext']);
      await s.release();
      const meta = Object.fromEntries((onnx.ModelProto.decode(readFileSync(path)).metadataProps ?? []).map((p) => [p.key!, p.value!]));
      expect(JSON.parse(meta.positive_rule)).to.deep.equal({ kind: 'rating', min: 4 });
      expect(JSON.parse(meta.actions)).to.deep.equal(SCHEMA.actions);
      expect(JSON.parse(meta.user_fields)).to.deep.equal(SCHEMA.userFields);
      expect(JSON.parse(meta.item_fields)).to.deep.equal(SCHEMA.itemFields);
    });

    it(`${name}: inference.onnx gives the training graph's scores (full-CE logits at the last slot) and inference_graph.onnx's`, async () => {
      const { dir, params, feeds } = built[name];
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      const model = getModel(name);
      const c = model.resolveConfig(manifest.config);
      const L = c.maxlen;
      const g = new Graph('training-debug');
      model.buildTraining(g, c, 'full-ce', { training: false, debugOutputs: true, itemFeatures: [genreTable()] });
      const pos = { type: 'int64' as const, dims: [N, L], data: new Array(N * L).fill(0).map((_, i) => (i % L === L - 1 ? 1 : 0)) };
      const trainFeeds: Record<string, ort.Tensor> = { ...toOrtFeeds({ ...feeds, pos }) };
      delete trainFeeds.k;
      for (const p of g.params) trainFeeds[p.name] = new ort.Tensor('float32', params.get(p.name)!, p.shape as number[]);
      const s = await ort.InferenceSession.create(emitModel(g), { intraOpNumThreads: 1 });
      const logits = (await s.run(trainFeeds, ['logits'])).logits.data as Float32Array; // [N, L, V]
      await s.release();
      const scores = native[name].scores;
      const fromTraining = { dims: [N, V], data: Array.from({ length: N * V }, (_, i) => logits[(Math.floor(i / V) * L + L - 1) * V + (i % V)]) };
      const served = { dims: [N, V], data: Array.from({ length: N * V }, (_, i) => scores.data[Math.floor(i / V) * (V + 1) + 1 + (i % V)]) };
      expectNear(served, fromTraining, 'scores vs training logits');
      // The same graph with the weights as inputs (what validation during training runs).
      const sess = await ort.InferenceSession.create(join(dir, 'inference_graph.onnx'), { intraOpNumThreads: 1 });
      const pf = Object.fromEntries([...params].map(([n, a]) => [n, new ort.Tensor('float32', a, manifest.params.find((p: { name: string }) => p.name === n).shape)]));
      const out = await sess.run({ ...toOrtFeeds(feeds), ...pf });
      await sess.release();
      expectNear({ dims: [...out.scores.dims], data: Array.from(out.scores.data as Float32Array) }, scores, 'inference_graph vs inference.onnx');
    });

    it(`${name}: inference.onnx takes a batch trimmed to T < maxlen (profile as is) and gives the maxlen-wide scores`, async () => {
      const { dir, feeds } = built[name];
      const L = CASES[name].maxlen;
      // Rows 0 (no events), 3, 4 and 5 (9, 8 and 7 events): T = 9, and T = 10 with one more padding column.
      const rows = [0, 3, 4, 5];
      const take = (f: FeedSpec, width: number, keep: number) => ({ type: f.type, dims: [rows.length, keep, ...f.dims.slice(2)], data: rows.flatMap((r) => f.data.slice(r * width + (width - keep), (r + 1) * width)) });
      const full = await runNode(join(dir, 'inference.onnx'), { ...feeds, seq: take(feeds.seq, L, L), ts_ext: take(feeds.ts_ext, L + 1, L + 1), action: take(feeds.action, L, L), profile: take(feeds.profile, 2, 2) });
      for (const T of [9, 10]) {
        const short = await runNode(join(dir, 'inference.onnx'), { ...feeds, seq: take(feeds.seq, L, T), ts_ext: take(feeds.ts_ext, L + 1, T + 1), action: take(feeds.action, L, T), profile: take(feeds.profile, 2, 2) });
        for (const out of ['user_emb', 'scores']) expectNear(short[out], full[out], `T ${T} ${out}`);
      }
      // The same rows inside the full serving batch: a row's scores do not depend on the others.
      expectNear(full.scores, { dims: [rows.length, V + 1], data: rows.flatMap((r) => native[name].scores.data.slice(r * (V + 1), (r + 1) * (V + 1))) }, 'rows of the serving batch');
    });

    it(`${name}: onnxruntime-web gives onnxruntime-node's outputs`, () => {
      for (const out of ['user_emb', 'scores', 'top_scores']) expectNear(web.results[name][out], native[name][out], `web ${out}`);
      expect(web.results[name].top_items.data).to.deep.equal(native[name].top_items.data);
    });
  }

  it('the data fills the config: a config field that disagrees with the data, or a side input the data lacks, is a one-line error', () => {
    expect(featureConfig(SCHEMA, { dim: 8 })).to.deep.include({ num_actions: 5, user_fields: [{ name: 'gender', vocab_size: 4 }, { name: 'age', vocab_size: 5 }] });
    expect(() => featureConfig(SCHEMA, { num_actions: 3 })).to.throw(FeatureConfigError, /'num_actions' is 3, but the data gives 5/);
    expect(() => featureConfig({ positive: { kind: 'all' } }, { user_fields: [] })).to.throw(FeatureConfigError, /'user_fields' needs a user-feature file/);
    const noTimes = { ...tinyData(), timestamps: null };
    const job = { model: MODELS['llama-sasrec'] as never, loss: 'bce' as const, config: { ...TINY_CONFIGS['llama-sasrec'], time_gap_buckets: 4 }, optimizer: SEED_ADAMW, data: noTimes, initSeed: 1, outDir: join(mkdtempSync(join(tmpdir(), 'reclm-feat-')), 'art') };
    expect(() => compileJob(job)).to.throw(FeatureConfigError, /'time_gap_buckets' needs timestamps/);
  });
});
