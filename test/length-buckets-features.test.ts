// Length buckets with side inputs (graphs/features.ts): the feature inputs are per slot, so
// `action` [B, T] and ts_ext [B, T+1] are trimmed with seq, and a profile prefix [B, P] is laid
// out right before the first event at any T (the encoder runs on P + T slots): the numbers do
// not change.
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { LossName, ModelConfig, getModel } from '../graphs/index.js';
import { addGradientOutputs } from '../src/compiler/training.js';
import { DIM } from '../src/contract/artifacts.js';
import { EVAL_TRIM_MULTIPLE } from '../src/data/eval-inputs.js';
import { TrainBatch, TrainSampler } from '../src/data/sampler.js';
import { leaveOneOutSplit } from '../src/data/split.js';
import { Dataset } from '../src/data/types.js';
import { Graph } from '../src/dsl/graph.js';
import { inspectInference } from '../src/eval/evaluate.js';
import { rankSplit } from '../src/eval/rank.js';
import { OnnxScorer } from '../src/eval/scorer.js';
import { emitModel } from '../src/onnx/emit.js';
import { createSession as createOrtSession } from '../src/onnx/providers.js';
import { RUN_FILES, train } from '../src/runtime/trainer.js';
import { readJsonl } from '../src/util/jsonl.js';
import { rand } from './helpers/gradcheck.js';
import { randomParams } from './helpers/model-batches.js';
import { createSession } from './helpers/ort.js';
import { expectSameLossAndGradients } from './helpers/trim-compare.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';

const ITEM_FIELDS = [{ name: 'genre', vocab_size: 6, width: 2 }];

/** tinyData with a rating-like action (1..3) per event. */
function withActions(data: Dataset): Dataset {
  return { ...data, actions: { vocab: ['<pad>', '1', '2', '3'], actions: data.sequences.map((s) => Int32Array.from(s, (v, j) => 1 + ((v + j) % 3))) } };
}

const USER_FIELDS = [{ name: 'age', vocab_size: 5 }, { name: 'sex', vocab_size: 4 }];

/** `data` with a two-field user profile (tokens 1..4 and 1..3; 1 is '<unk>'), spread over the users. */
function withProfile(data: Dataset): Dataset {
  const n = data.users.length;
  const field = (name: string, vocab: string[]) => ({ name, kind: 'categorical' as const, vocab, width: 1 });
  return {
    ...data,
    userFeatures: {
      fields: [field('age', ['<pad>', '<unk>', '<25', '25-44', '45+']), field('sex', ['<pad>', '<unk>', 'F', 'M'])],
      columns: [Int32Array.from({ length: n }, (_, u) => 1 + ((u * 7) % 4)), Int32Array.from({ length: n }, (_, u) => 1 + ((u * 5) % 3))],
      unknownUsers: 0,
      unseenValues: 0,
    },
  };
}

/** Genre tokens per item (1 or 2 of 4 genres; row 0, the padding item, all 0). */
function genreTable(numItems: number): Int32Array {
  const r = rand(13);
  const t = new Int32Array((numItems + 1) * 2);
  for (let i = 1; i <= numItems; i++) {
    t[i * 2] = 2 + Math.floor(r() * 4);
    if (r() < 0.5) t[i * 2 + 1] = 2 + Math.floor(r() * 4);
  }
  return t;
}

/** The rows of a [B, W·per + extra] array without their first (W − T)·per columns. */
function dropLeft(a: BigInt64Array, B: number, W: number, T: number, extra: number): BigInt64Array {
  const out = new BigInt64Array(B * (T + extra));
  for (let b = 0; b < B; b++) out.set(a.subarray(b * (W + extra) + (W - T), (b + 1) * (W + extra)), b * (T + extra));
  return out;
}

/** `batch` (maxlen wide) trimmed to its longest row, action and ts_ext included. */
function trimBatch(batch: TrainBatch): TrainBatch {
  const { batchSize: B, maxlen: W } = batch;
  let T = 1;
  for (let b = 0; b < B; b++) T = Math.max(T, Array.from(batch.seq.subarray(b * W, (b + 1) * W)).filter((v) => v !== 0n).length);
  const out: TrainBatch = { ...batch, maxlen: T, seq: dropLeft(batch.seq, B, W, T, 0), pos: dropLeft(batch.pos, B, W, T, 0) };
  if (batch.neg) out.neg = dropLeft(batch.neg, B, W, T, 0);
  if (batch.ts_ext) out.ts_ext = dropLeft(batch.ts_ext, B, W, T, 1);
  if (batch.action) out.action = dropLeft(batch.action, B, W, T, 0);
  return out;
}

function feedsOf(batch: TrainBatch, inputs: readonly string[]): Record<string, ort.Tensor> {
  const { batchSize: B, maxlen: T } = batch;
  const i64 = (a: BigInt64Array, dims: number[]) => new ort.Tensor('int64', a, dims);
  const feeds: Record<string, ort.Tensor> = { seq: i64(batch.seq, [B, T]), pos: i64(batch.pos, [B, T]), seed: i64(BigInt64Array.of(1n), []), step: i64(BigInt64Array.of(0n), []) };
  if (inputs.includes('ts_ext')) feeds.ts_ext = i64(batch.ts_ext!, [B, T + 1]);
  if (inputs.includes('neg')) feeds.neg = i64(batch.neg!, [B, T]);
  if (inputs.includes('action')) feeds.action = i64(batch.action!, [B, T]);
  if (inputs.includes('profile')) feeds.profile = i64(batch.profile!, [B, batch.profile!.length / B]);
  return feeds;
}

function stepLosses(dir: string): number[] {
  return (readJsonl(join(dir, RUN_FILES.log)) as { type: string; loss: number }[]).filter((r) => r.type === 'step').map((r) => r.loss);
}

describe('length buckets with feature inputs', function () {
  this.timeout(300000);

  // Trimming drops columns that are padding in every row: the same bounds and reasons as
  // length-buckets.test.ts (float rounding of shorter sums): loss relative 1e-5, gradients
  // 1e-4 of their largest value.
  const LLAMA = { dim: 16, n_layers: 2, n_heads: 2, maxlen: 40, multiple_of: 8, key_padding_mask: true, dropout: 0, num_actions: 3, time_gap_buckets: 6, item_fields: ITEM_FIELDS };
  const HSTU = { dim: 16, n_layers: 2, n_heads: 2, dqk: 4, dv: 8, maxlen: 40, dropout: 0, num_actions: 3, item_fields: ITEM_FIELDS };
  const cases: [string, LossName, Record<string, unknown>][] = [
    ['llama-sasrec', 'bce', LLAMA],
    ['hstu', 'full-ce', HSTU],
    // With a profile prefix the encoder runs on P + T slots; its constants (causal mask, RoPE,
    // HSTU's relative-position index and position embedding) are built at P + maxlen.
    ['llama-sasrec', 'bce', { ...LLAMA, user_fields: USER_FIELDS }],
    ['hstu', 'full-ce', { ...HSTU, user_fields: USER_FIELDS }],
  ];
  for (const [name, loss, raw] of cases) {
    const what = ['actions', ...(raw.time_gap_buckets ? ['time gaps'] : []), 'item features', ...(raw.user_fields ? ['a profile'] : [])];
    it(`${name} ${loss} with ${what.join(', ')}: a trimmed batch gives the loss and gradients of the maxlen-wide one`, async () => {
      const data = withProfile(withActions(tinyData()));
      const model = getModel(name);
      const c: ModelConfig = model.resolveConfig({ ...raw, num_items: data.numItems });
      expect(model.paddingInvariant?.(c)).to.equal(true);
      const specs = model.batchInputs(c, loss);
      expect(specs.find((s) => s.name === 'action')!.shape).to.deep.equal([DIM.batch, DIM.seq]);
      const g = new Graph('training');
      const { loss: l } = model.buildTraining(g, c, loss, { training: true, itemFeatures: [genreTable(data.numItems)] });
      addGradientOutputs(g, l);
      const session = await createSession(emitModel(g));
      const params = Object.fromEntries(Object.entries(randomParams(g, 7)).map(([k, v]) => [k, new ort.Tensor('float32', v, g.getParam(k).shape as number[])]));
      const inputs = specs.map((s) => s.name);
      const needProfile = inputs.includes('profile');
      expect(needProfile).to.equal(raw.user_fields !== undefined);
      const sampler = new TrainSampler(leaveOneOutSplit(data), { maxlen: 40, batchSize: 6, needNeg: loss === 'bce', needTimestamps: inputs.includes('ts_ext'), needActions: true, needProfile }, 21);
      const full = sampler.nextBatch();
      const short = trimBatch(full);
      expect(short.maxlen).to.be.below(30);
      const a = await session.run({ ...params, ...feedsOf(full, inputs) });
      const b = await session.run({ ...params, ...feedsOf(short, inputs) });
      await session.release();
      expectSameLossAndGradients(a, b, g.params);
    });
  }

  it('the bucketed sampler trims action with seq and leaves profile whole', () => {
    const data = withProfile(withActions(tinyData()));
    const s = new TrainSampler(leaveOneOutSplit(data), { maxlen: 40, batchSize: 8, needActions: true, needTimestamps: true, needProfile: true, bucket: 4 }, 3);
    for (let i = 0; i < s.batchesPerEpoch; i++) {
      const b = s.nextBatch();
      const T = b.maxlen;
      expect(b.profile!.length).to.equal(b.batchSize * USER_FIELDS.length);
      expect(b.action!.length).to.equal(b.batchSize * T);
      expect(b.ts_ext!.length).to.equal(b.batchSize * (T + 1));
      for (let k = 0; k < b.seq.length; k++) expect(b.action![k] === 0n, `slot ${k}`).to.equal(b.seq[k] === 0n);
    }
  });

  it('a profile prefix takes any T: its inputs are [batch, T] (profile [batch, P]), and it is trimmed when the base model is padding-invariant', () => {
    const side = { maxlen: 10, num_items: 20, num_actions: 3, user_fields: [{ name: 'age', vocab_size: 4 }] };
    const models = [
      ['hstu', { dim: 8, n_layers: 1, n_heads: 2, dqk: 4, dv: 4 }, true],
      ['llama-sasrec', { dim: 8, n_layers: 1, n_heads: 2, key_padding_mask: true }, true],
      // Without the key-padding mask llama reads its padding, profile or not.
      ['llama-sasrec', { dim: 8, n_layers: 1, n_heads: 2, key_padding_mask: false }, false],
    ] as const;
    for (const [name, raw, invariant] of models) {
      const model = getModel(name);
      const c = model.resolveConfig({ ...raw, ...side });
      expect(model.paddingInvariant?.(c), name).to.equal(invariant);
      const specs = model.batchInputs(c, 'full-ce');
      for (const n of ['seq', 'pos', 'action']) expect(specs.find((s) => s.name === n)!.shape, `${name} ${n}`).to.deep.equal([DIM.batch, DIM.seq]);
      expect(specs.find((s) => s.name === 'profile')!.shape).to.deep.equal([DIM.batch, 1]);
      if (name === 'hstu') expect(specs.find((s) => s.name === 'ts_ext')!.shape).to.deep.equal([DIM.batch, DIM.seqNext]);
    }
  });

  for (const model of ['hstu', 'llama-sasrec'] as const) {
    it(`${model} with actions trains with --bucket: the recipe keeps it and the losses are those of the unbucketed run when every row is maxlen long`, async () => {
      // Eight users with one 30-item history: every row fills maxlen 12, so both samplers build
      // the same batches (full-ce draws no negatives) and T = maxlen.
      const items = Array.from({ length: 30 }, (_, i) => 1 + ((i * 7) % 40));
      const sequences = Array.from({ length: 8 }, () => Int32Array.from(items));
      const data: Dataset = {
        name: 'same', numItems: 40, users: sequences.map((_, u) => String(u + 1)), sequences,
        timestamps: sequences.map((s) => Float64Array.from(s, (_, j) => 1_600_000_000 + 3600 * j * j)),
        itemIds: ['', ...Array.from({ length: 40 }, (_, i) => String(i + 1))], remapped: false,
        actions: { vocab: ['<pad>', '1', '2', '3'], actions: sequences.map((s) => Int32Array.from(s, (_, j) => 1 + (j % 3))) },
      };
      const extra = { dropout: 0.2, num_actions: 3, ...(model === 'llama-sasrec' ? { key_padding_mask: true, time_gap_buckets: 4 } : {}) };
      const base = { epochs: 2, batchSize: 4, seed: 4, evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true, schedule: { kind: 'constant' as const, lr: 5e-3 }, data, fusedSteps: 2 };
      const a = compileTiny(model, 'full-ce', extra, data);
      const b = compileTiny(model, 'full-ce', extra, data);
      await train({ ...base, dir: a, bucket: 0 });
      await train({ ...base, dir: b, bucket: 16 });
      const start = (readJsonl(join(b, RUN_FILES.log)) as { type: string; recipe?: { bucket?: number } }[]).find((r) => r.type === 'start')!;
      expect(start.recipe!.bucket).to.equal(16);
      expect(stepLosses(a).length).to.equal(4);
      expect(stepLosses(b)).to.deep.equal(stepLosses(a));
    });
  }

  for (const [model, extra] of [['hstu', {}], ['llama-sasrec', { key_padding_mask: true, time_gap_buckets: 4 }]] as const) {
    it(`${model} with a profile trains bucketed (the recipe keeps --bucket), and its trimmed, length-sorted ranking batches give the maxlen-wide metrics`, async () => {
      const data = withProfile(withActions(tinyData()));
      const dir = compileTiny(model, 'full-ce', { maxlen: 40, num_actions: 3, user_fields: USER_FIELDS, ...extra }, data);
      await train({ dir, data, epochs: 1, batchSize: 8, seed: 2, evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true, schedule: { kind: 'constant', lr: 5e-3 }, fusedSteps: 2, bucket: 4, maxSteps: 6 });
      const start = (readJsonl(join(dir, RUN_FILES.log)) as { type: string; recipe?: { bucket?: number } }[]).find((r) => r.type === 'start')!;
      expect(start.recipe!.bucket).to.equal(4);
      const losses = stepLosses(dir);
      expect(losses.length).to.equal(6);
      for (const l of losses) expect(Number.isFinite(l)).to.equal(true);
      const path = join(dir, RUN_FILES.inference);
      expect(inspectInference(path).trimPadding).to.equal(true);
      const split = leaveOneOutSplit(data);
      const session = await createOrtSession(path, 'cpu', {});
      try {
        for (const which of ['valid', 'test'] as const) {
          const plain = await rankSplit(new OnnxScorer(session, 40, data.numItems), split, { split: which, batchSize: 16 });
          // Histories of 6–30 items at maxlen 40: every batch is trimmed.
          const trimmed = await rankSplit(new OnnxScorer(session, 40, data.numItems, new Map(), EVAL_TRIM_MULTIPLE), split, { split: which, batchSize: 16 });
          expect(trimmed).to.deep.equal(plain);
        }
      } finally {
        await session.release();
      }
    });
  }

  it('a bucketed run with actions on rows of mixed lengths trains to finite losses', async () => {
    const data = withActions(tinyData());
    const dir = compileTiny('llama-sasrec', 'bce', { maxlen: 40, key_padding_mask: true, num_actions: 3, time_gap_buckets: 4 }, data);
    await train({ dir, data, epochs: 1, batchSize: 8, seed: 2, evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true, schedule: { kind: 'constant', lr: 5e-3 }, fusedSteps: 2, bucket: 4, maxSteps: 6 });
    const losses = stepLosses(dir);
    expect(losses.length).to.equal(6);
    for (const l of losses) expect(Number.isFinite(l)).to.equal(true);
  });
});
