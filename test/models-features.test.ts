/**
 * The side inputs of graphs/features.ts on tiny configs: finite-difference gradient checks of
 * every new embedding (item fields, user profile, actions, time gaps, item features on the
 * output side), the negative-feedback and profile semantics, and the plain graphs' identity.
 *
 * The gradient check is the one of models-gradcheck.test.ts (float32 forward pass, directional
 * slopes with Richardson extrapolation, same tolerances and the same reasons for them), over
 * every parameter; rows whose gradient is defined as 0 (padding rows) are left out of the directions.
 */
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import { Graph } from '../src/dsl/graph.js';
import { addGradientOutputs } from '../src/compiler/training.js';
import { emitModel } from '../src/onnx/emit.js';
import { LossName, ModelConfig, getModel } from '../graphs/index.js';
import { buildFeatureInput, timeGapBuckets } from '../graphs/features.js';
import { rand } from './helpers/gradcheck.js';
import { normal, paramFeeds, randomBatch, randomParams } from './helpers/model-batches.js';
import { Feeds, createSession, i64, numbers } from './helpers/ort.js';

const V = 9;
const ITEM_FIELDS = [
  { name: 'genre', vocab_size: 6, width: 3 },
  { name: 'year', vocab_size: 4, width: 1 },
];
const USER_FIELDS = [
  { name: 'gender', vocab_size: 4 },
  { name: 'age', vocab_size: 5 },
];
const FEATURES = { item_fields: ITEM_FIELDS, user_fields: USER_FIELDS, num_actions: 5 };
const LLAMA = { num_items: V, dim: 8, n_layers: 2, n_heads: 2, maxlen: 5, multiple_of: 4 };
const HSTU = { num_items: V, dim: 8, n_layers: 2, n_heads: 2, dqk: 4, dv: 6, maxlen: 5, num_negatives: 3 };

/** Item feature tables: genre has 0..3 values per item (item 4 none, item 7 an unknown '<unk>'), year one. */
function itemTables(seed: number): Int32Array[] {
  const r = rand(seed);
  const genre = new Int32Array((V + 1) * 3);
  const year = new Int32Array(V + 1);
  for (let i = 1; i <= V; i++) {
    const k = i === 4 ? 0 : 1 + Math.floor(r() * 3);
    for (let j = 0; j < k; j++) genre[i * 3 + j] = 2 + Math.floor(r() * 4);
    year[i] = 1 + Math.floor(r() * 3);
  }
  genre[7 * 3] = 1;
  return [genre, year];
}

/** randomBatch's rows (truncated, left-padded, fully padded) plus action, profile and, for llama's time gaps, ts_ext. */
function featureBatch(c: ModelConfig, loss: LossName, seed: number): Feeds {
  // randomBatch writes ts_ext for HSTU configs only; llama's time gaps read the same field.
  const feeds = randomBatch({ ...c, model: 'hstu' } as ModelConfig, loss, seed);
  if (c.model !== 'hstu' && c.time_gap_buckets === undefined) delete feeds.ts_ext;
  const r = rand(seed + 7);
  const seq = feeds.seq.data as BigInt64Array;
  const B = feeds.seq.dims[0];
  if (c.num_actions !== undefined) feeds.action = new ort.Tensor('int64', BigInt64Array.from(seq, (s) => (s === 0n ? 0n : BigInt(1 + Math.floor(r() * c.num_actions!)))), [B, c.maxlen]);
  const P = c.user_fields?.length ?? 0;
  if (P > 0) feeds.profile = new ort.Tensor('int64', BigInt64Array.from({ length: B * P }, (_, i) => BigInt(1 + Math.floor(r() * (c.user_fields![i % P].vocab_size - 1)))), [B, P]);
  return feeds;
}

interface Case {
  title: string;
  model: string;
  config: Record<string, unknown>;
  loss: LossName;
  training?: boolean;
}

const CASES: Case[] = [
  { title: 'llama-sasrec: item fields (also in the output, the default), profile, actions, time gaps, key-padding mask, full CE', model: 'llama-sasrec', config: { ...LLAMA, ...FEATURES, time_gap_buckets: 6, key_padding_mask: true }, loss: 'full-ce' },
  { title: 'llama-sasrec: actions only (no prefix), item features on the input side only, seed BCE', model: 'llama-sasrec', config: { ...LLAMA, item_fields: ITEM_FIELDS, num_actions: 3, item_features_in_output: false }, loss: 'bce' },
  { title: 'hstu: everything, item features in the output, sampled softmax (τ 0.05, L2 items)', model: 'hstu', config: { ...HSTU, ...FEATURES, item_features_in_output: true }, loss: 'sampled-softmax' },
  { title: 'hstu: profile only, dropout 0.3 (training graph), full CE', model: 'hstu', config: { ...HSTU, user_fields: USER_FIELDS, dropout: 0.3, temperature: 0.2 }, loss: 'full-ce', training: true },
];

// h = 0.005, not models-gradcheck's 0.02: the profile tokens add curvature that left an O(h⁴)
// truncation error of 5e-3·|g| at h = 0.02 (hstu, τ 0.2), shrinking 16x per halving of h, so
// the bug-free graph failed there. At 0.005 the worst measured error over these cases is
// 9e-4·|g| (float32 noise, amplified 4x more than at 0.02); a wrong rule misses by 1e-1·|g|.
const H = 0.005;
const RTOL = 2e-3;
const ATOL = 1e-4;

function build(model: string, raw: Record<string, unknown>, loss: LossName, training = false) {
  const m = getModel(model);
  const config = m.resolveConfig(raw);
  const g = new Graph('features');
  const { loss: l } = m.buildTraining(g, config, loss, { training, itemFeatures: config.item_fields ? itemTables(3) : undefined });
  return { config, g, loss: l };
}

describe('models with side inputs (graphs/features.ts)', function () {
  this.timeout(120000);

  describe('finite-difference gradient check', () => {
    CASES.forEach((c, ci) => {
      it(c.title, async () => {
        const seed = 300 + 10 * ci;
        const { config, g, loss } = build(c.model, c.config, c.loss, c.training);
        addGradientOutputs(g, loss);
        const session = await createSession(emitModel(g));
        const params = randomParams(g, seed);
        const batch = featureBatch(config, c.loss, seed + 1);
        if (c.training) Object.assign(batch, { seed: i64([42], []), step: i64([3], []), row_offset: i64([0], []) });
        const lossAt = async (ps: Record<string, Float32Array>) => Number((await session.run({ ...batch, ...paramFeeds(ps, g) })).loss.data[0]);
        const base = await session.run({ ...batch, ...paramFeeds(params, g) });
        const nrm = normal(rand(seed + 2));
        let worst = 0;
        const newParams = g.params.filter((p) => /^(item_field|user_field|action_emb|time_gap_emb)/.test(p.name));
        expect(newParams.length, 'new parameters').to.be.greaterThan(0);
        for (const p of g.params) {
          const grad = base[`${p.name}_grad`].data as Float32Array;
          const info = (p.source as { info: { zeroGradRows: number[] } }).info;
          const width = grad.length / (p.shape[0] as number);
          const skip = new Set(info.zeroGradRows.flatMap((r) => Array.from({ length: width }, (_, j) => r * width + j)));
          const unit = (v: Float64Array) => {
            skip.forEach((i) => (v[i] = 0));
            const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
            return v.map((x) => x / n);
          };
          const gNorm = Math.sqrt(grad.reduce((a, x, i) => a + (skip.has(i) ? 0 : x * x), 0));
          // The new tables must receive a gradient: a constant-zero one would pass any check.
          if (newParams.includes(p)) expect(gNorm, `${p.name} gradient norm`).to.be.greaterThan(0);
          const dirs = gNorm > 0 ? [unit(Float64Array.from(grad)), unit(Float64Array.from(grad, () => nrm()))] : [unit(Float64Array.from(grad, () => nrm()))];
          for (const [k, v] of dirs.entries()) {
            const analytic = v.reduce((a, x, i) => a + x * grad[i], 0);
            const slope = async (h: number) => {
              const at = (s: number) => ({ ...params, [p.name]: Float32Array.from(params[p.name], (x, i) => x + s * h * v[i]) });
              return ((await lossAt(at(1))) - (await lossAt(at(-1)))) / (2 * h);
            };
            const numeric = (4 * (await slope(H / 2)) - (await slope(H))) / 3;
            worst = Math.max(worst, Math.abs(numeric - analytic) / Math.max(gNorm, 1e-12));
            expect(Math.abs(numeric - analytic), `${p.name} along ${k === 0 ? 'its gradient' : 'a random direction'}: analytic ${analytic}, numeric ${numeric}`).to.be.at.most(RTOL * gNorm + ATOL);
          }
        }
        await session.release();
        if (process.env.RECLM_VERBOSE) console.log(`      worst |numeric − analytic| / |g| = ${worst.toExponential(1)}`);
      });
    });
  });

  describe('inference semantics', () => {
    /** Scores [n, V+1] of the inference graph with random parameters for `feeds` (k = 3). */
    async function scores(model: string, raw: Record<string, unknown>, feeds: Feeds): Promise<number[][]> {
      const m = getModel(model);
      const c = m.resolveConfig(raw);
      const g = new Graph('inference');
      m.buildInference(g, c, { itemFeatures: c.item_fields ? itemTables(3) : undefined });
      const session = await createSession(emitModel(g));
      const out = await session.run({ ...feeds, ...paramFeeds(randomParams(g, 11), g), k: i64([3], [1]) });
      await session.release();
      const s = numbers(out.scores);
      return Array.from({ length: feeds.seq.dims[0] }, (_, r) => s.slice(r * (V + 1), (r + 1) * (V + 1)));
    }

    /** Two rows, the same history 3, 5, 2 (times 100, 200, 400), differing in `action` / `profile` per the arguments. */
    function pair(raw: Record<string, unknown>, actions: [number[], number[]], profiles: [number[], number[]]): Feeds {
      const L = raw.maxlen as number;
      const row = [0, 0, 3, 5, 2];
      const feeds: Feeds = { seq: i64([...row, ...row], [2, L]), ts_ext: i64([0, 0, 100, 200, 400, 500, 0, 0, 100, 200, 400, 500], [2, L + 1]) };
      if (raw.num_actions) feeds.action = i64([...actions[0], ...actions[1]], [2, L]);
      if (raw.user_fields) feeds.profile = i64([...profiles[0], ...profiles[1]], [2, USER_FIELDS.length]);
      if (raw.model !== 'hstu' && raw.time_gap_buckets === undefined) delete feeds.ts_ext;
      return feeds;
    }

    const maxDiff = (a: number[], b: number[]) => Math.max(...a.slice(1).map((x, i) => Math.abs(x - b[i + 1])));

    for (const [model, base] of [['llama-sasrec', { ...LLAMA, model: 'llama-sasrec', key_padding_mask: true, time_gap_buckets: 6 }], ['hstu', { ...HSTU, model: 'hstu' }]] as const) {
      const raw = { ...base, ...FEATURES };
      it(`${model}: a negative event is context: changing one event's action changes the scores`, async () => {
        // Event 5 once rated 5 (a positive, token 5) and once rated 1 (a negative, token 1).
        const [a, b] = await scores(model, raw, pair(raw, [[0, 0, 4, 5, 3], [0, 0, 4, 1, 3]], [[2, 3], [2, 3]]));
        // Random weights at scale 0.3 move scores by ~0.1; a float32 rounding difference is ~1e-6.
        expect(maxDiff(a, b)).to.be.greaterThan(1e-4);
      });

      it(`${model}: identical rows score identically (the comparison above is not noise)`, async () => {
        const [a, b] = await scores(model, raw, pair(raw, [[0, 0, 4, 5, 3], [0, 0, 4, 5, 3]], [[2, 3], [2, 3]]));
        expect(maxDiff(a, b)).to.be.at.most(1e-6);
      });

      it(`${model}: the profile prefix changes the scores, also for a user without events`, async () => {
        const [a, b] = await scores(model, raw, pair(raw, [[0, 0, 4, 5, 3], [0, 0, 4, 5, 3]], [[2, 3], [3, 3]]));
        expect(maxDiff(a, b)).to.be.greaterThan(1e-4);
        const cold: Feeds = pair(raw, [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], [[2, 3], [3, 1]]);
        cold.seq = i64(new Array(10).fill(0), [2, 5]);
        const [x, y] = await scores(model, raw, cold);
        expect(x.slice(1).every(Number.isFinite)).to.equal(true);
        expect(maxDiff(x, y)).to.be.greaterThan(1e-4);
      });
    }

    it('the profile tokens sit right before the first event and take its time', async () => {
      const g = new Graph('layout');
      const seq = g.input('seq', 'int64', [2, 5]);
      const c = getModel('hstu').resolveConfig({ ...HSTU, user_fields: USER_FIELDS });
      const itemEmb = g.param('item_emb', [V + 1, 8], { kind: 'normal', std: 0.02 });
      const fi = buildFeatureInput(c, itemEmb, { seq, ts_ext: g.input('ts_ext', 'int64', [2, 6]), profile: g.input('profile', 'int64', [2, 2]) });
      g.output('ids', fi.ids);
      g.output('ts', fi.tsExt!);
      const session = await createSession(emitModel(g));
      const out = await session.run({
        seq: i64([0, 0, 3, 5, 2, 0, 0, 0, 0, 0], [2, 5]),
        ts_ext: i64([0, 0, 100, 200, 400, 500, 0, 0, 0, 0, 0, 900], [2, 6]),
        profile: i64([2, 3, 2, 3], [2, 2]),
        ...paramFeeds(randomParams(g, 1), g),
      });
      await session.release();
      // Row 0: 2 padding, 2 profile, 3 events; row 1 (no events): 5 padding, 2 profile.
      expect(numbers(out.ids)).to.deep.equal([0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1]);
      // Profile tokens take the first event's time (the target's, 900, without events).
      expect(numbers(out.ts)).to.deep.equal([0, 0, 100, 100, 100, 200, 400, 500, 0, 0, 0, 0, 0, 900, 900, 900]);
    });
  });

  it('event embedding = item_emb[item] + per field the mean over the item\'s non-padding tokens + action_emb[action]', async () => {
    const c = getModel('llama-sasrec').resolveConfig({ ...LLAMA, item_fields: ITEM_FIELDS, num_actions: 5 });
    const g = new Graph('embed');
    const seq = g.input('seq', 'int64', [1, 5]);
    const action = g.input('action', 'int64', [1, 5]);
    const itemEmb = g.param('item_emb', [V + 1, 8], { kind: 'normal', std: 0.02 });
    g.output('tok', buildFeatureInput(c, itemEmb, { seq, action }, itemTables(3)).tok);
    const session = await createSession(emitModel(g));
    const params = randomParams(g, 9);
    const items = [0, 4, 7, 2, 1];
    const acts = [0, 3, 5, 1, 2];
    const out = numbers((await session.run({ seq: i64(items, [1, 5]), action: i64(acts, [1, 5]), ...paramFeeds(params, g) })).tok);
    await session.release();
    const tables = itemTables(3);
    const expected = items.flatMap((item, t) =>
      Array.from({ length: 8 }, (_, j) => {
        let x = params.item_emb[item * 8 + j] + params.action_emb[acts[t] * 8 + j];
        ITEM_FIELDS.forEach((f, fi) => {
          const toks = Array.from(tables[fi].subarray(item * f.width, (item + 1) * f.width)).filter((v) => v !== 0);
          if (toks.length) x += toks.reduce((a, v) => a + params[`item_field.${f.name}`][v * 8 + j], 0) / toks.length;
        });
        return x;
      }),
    );
    // float32 sums of a few terms of size ~0.3: rounding ~1e-7.
    out.forEach((x, i) => expect(x, `tok[${i}]`).to.be.closeTo(expected[i], 1e-6));
  });

  it('item features enter the scored item vectors by default, and not with item_features_in_output: false', async () => {
    const m = getModel('llama-sasrec');
    const run = async (extra: Record<string, unknown>) => {
      const c = m.resolveConfig({ ...LLAMA, item_fields: ITEM_FIELDS, ...extra });
      const g = new Graph('inference');
      m.buildInference(g, c, { itemFeatures: itemTables(3) });
      const session = await createSession(emitModel(g));
      const params = randomParams(g, 13);
      const out = await session.run({ seq: i64([0, 0, 3, 5, 2], [1, 5]), k: i64([3], [1]), ...paramFeeds(params, g) });
      await session.release();
      const u = numbers(out.user_emb);
      // user_emb · item_emb[i] for items 1..V: the score without the features.
      const idOnly = Array.from({ length: V }, (_, i) => u.reduce((a, x, j) => a + x * params.item_emb[(i + 1) * 8 + j], 0));
      return { scores: numbers(out.scores).slice(1), idOnly };
    };
    const off = await run({ item_features_in_output: false });
    // float32 dot products of 8 terms of size ~0.3: rounding ~1e-7.
    off.scores.forEach((x, i) => expect(x, `item ${i + 1}`).to.be.closeTo(off.idOnly[i], 1e-5));
    const on = await run({});
    expect(Math.max(...on.scores.map((x, i) => Math.abs(x - on.idOnly[i])))).to.be.greaterThan(1e-3);
  });

  it('time-gap buckets: 0 padding, 1 first event, 2 + ⌊log2(1 + gap)⌋ capped at G − 1', async () => {
    const g = new Graph('gaps');
    const seq = g.input('seq', 'int64', [1, 6]);
    const ts = g.input('ts_ext', 'int64', [1, 7]);
    g.output('b', timeGapBuckets(seq, ts, 6, 4));
    const session = await createSession(emitModel(g));
    const out = await session.run({ seq: i64([0, 4, 4, 4, 4, 4], [1, 6]), ts_ext: i64([0, 10, 10, 11, 14, 1000, 0], [1, 7]) });
    await session.release();
    // gaps: -, -, 0, 1, 3, 986 → log2(1+gap) = 0, 1, 2, 9.9 → capped at G − 1 = 3.
    expect(numbers(out.b)).to.deep.equal([0, 1, 2, 3, 4, 5]);
  });

  it('plain configs build exactly the graphs they built before (no feature field, no new node or parameter)', () => {
    for (const [model, raw] of [['llama-sasrec', LLAMA], ['hstu', HSTU]] as const) {
      const m = getModel(model);
      const added = ['item_fields', 'user_fields', 'num_actions', 'time_gap_buckets', 'item_features_in_output'];
      expect(Object.keys(m.resolveConfig(raw)).filter((k) => added.includes(k))).to.deep.equal([]);
      const emit = (r: Record<string, unknown>) => {
        const g = new Graph('x');
        m.buildTraining(g, m.resolveConfig(r), 'bce', { training: false });
        return Buffer.from(emitModel(g)).toString('base64');
      };
      // Empty field lists mean "no side input" too.
      expect(emit({ ...raw, item_fields: [], user_fields: [] })).to.equal(emit(raw));
    }
  });

  it('config errors: a bad field list, output features without item fields, missing tables', () => {
    const m = getModel('hstu');
    expect(() => m.resolveConfig({ ...HSTU, item_fields: [{ name: 'genre', vocab_size: 1, width: 1 }] })).to.throw(/'item_fields'\[0\]\.vocab_size must be an integer >= 2/);
    expect(() => m.resolveConfig({ ...HSTU, user_fields: [{ name: 'a b', vocab_size: 3 }] })).to.throw(/'user_fields'\[0\]\.name must be letters/);
    expect(() => m.resolveConfig({ ...HSTU, item_features_in_output: true })).to.throw(/needs item feature fields/);
    expect(() => m.resolveConfig({ ...HSTU, time_gap_buckets: 4 })).to.throw(/unknown hstu config field 'time_gap_buckets'/);
    const c = m.resolveConfig({ ...HSTU, item_fields: ITEM_FIELDS });
    expect(() => m.buildTraining(new Graph('x'), c, 'bce', { training: false })).to.throw(/2 item feature field\(s\) \(genre, year\) but 0 item feature table\(s\)/);
    const bad = itemTables(3);
    bad[1][2] = 9;
    expect(() => m.buildTraining(new Graph('x'), c, 'bce', { training: false, itemFeatures: bad })).to.throw(/item field 'year': item 2 has token 9, outside \[0, 4\)/);
  });
});
