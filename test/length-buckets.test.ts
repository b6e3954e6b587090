// Length buckets (README, "Length buckets"): graphs that take any sequence length T ≤ maxlen,
// a sampler that trims each batch to its longest row, and validation/ranking batches trimmed
// the same way, without changing the numbers.
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { LossName, ModelConfig, getModel } from '../graphs/index.js';
import { addGradientOutputs } from '../src/compiler/training.js';
import { EVAL_TRIM_MULTIPLE, trimmedLength } from '../src/data/eval-inputs.js';
import { SamplerError, SamplerState, TrainBatch, TrainSampler, padBatch } from '../src/data/sampler.js';
import { leaveOneOutSplit } from '../src/data/split.js';
import { Dataset } from '../src/data/types.js';
import { Graph } from '../src/dsl/graph.js';
import { rankSplit } from '../src/eval/rank.js';
import { OnnxScorer } from '../src/eval/scorer.js';
import { emitModel } from '../src/onnx/emit.js';
import { createSession as createOrtSession } from '../src/onnx/providers.js';
import { RUN_FILES, train } from '../src/runtime/trainer.js';
import { readJsonl } from '../src/util/jsonl.js';
import { randomParams } from './helpers/model-batches.js';
import { createSession } from './helpers/ort.js';
import { expectSameLossAndGradients } from './helpers/trim-compare.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';
import { trainTinyOn } from './helpers/trained.js';

/** Items in row b of a [B, T] left-padded array. */
function rowLengths(seq: BigInt64Array, T: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < seq.length / T; b++) out.push(Array.from(seq.subarray(b * T, (b + 1) * T)).filter((v) => v !== 0n).length);
  return out;
}

/** The rows of a [B, W·per + extra] array without their first (W − T)·per columns. */
function dropLeft(a: BigInt64Array, B: number, W: number, T: number, per: number, extra: number): BigInt64Array {
  const w = W * per + extra;
  const t = T * per + extra;
  const out = new BigInt64Array(B * t);
  for (let b = 0; b < B; b++) out.set(a.subarray(b * w + (w - t), (b + 1) * w), b * t);
  return out;
}

/** `batch` (maxlen wide) trimmed to its longest row: the leading columns are padding in every row. */
function trimBatch(batch: TrainBatch): TrainBatch {
  const { batchSize: B, maxlen: W, numNegatives: R } = batch;
  const T = Math.max(1, ...rowLengths(batch.seq, W));
  const out: TrainBatch = { ...batch, maxlen: T, seq: dropLeft(batch.seq, B, W, T, 1, 0), pos: dropLeft(batch.pos, B, W, T, 1, 0) };
  if (batch.neg) out.neg = dropLeft(batch.neg, B, W, T, 1, 0);
  if (batch.negs && !batch.sharedNegatives) out.negs = dropLeft(batch.negs, B, W, T, R, 0);
  if (batch.ts_ext) out.ts_ext = dropLeft(batch.ts_ext, B, W, T, 1, 1);
  return out;
}

function feedsOf(batch: TrainBatch, c: ModelConfig, loss: LossName): Record<string, ort.Tensor> {
  const { batchSize: B, maxlen: T, numNegatives: R } = batch;
  const i64 = (a: BigInt64Array, dims: number[]) => new ort.Tensor('int64', a, dims);
  const feeds: Record<string, ort.Tensor> = { seq: i64(batch.seq, [B, T]), pos: i64(batch.pos, [B, T]), seed: i64(BigInt64Array.of(1n), []), step: i64(BigInt64Array.of(0n), []) };
  if (c.model === 'hstu') feeds.ts_ext = i64(batch.ts_ext!, [B, T + 1]);
  if (loss === 'bce') feeds.neg = i64(batch.neg!, [B, T]);
  if (loss === 'sampled-softmax') feeds.negs = i64(batch.negs!, [B, T, R]);
  return feeds;
}

function sameSequences(users: number, items: number[], numItems: number): Dataset {
  const sequences = Array.from({ length: users }, () => Int32Array.from(items));
  return {
    name: 'same', numItems, users: sequences.map((_, u) => String(u + 1)), sequences,
    timestamps: sequences.map((s) => Float64Array.from(s, (_, j) => 1_600_000_000 + 3600 * j * j)),
    itemIds: ['', ...Array.from({ length: numItems }, (_, i) => String(i + 1))], remapped: false,
  };
}

function stepLosses(dir: string): number[] {
  return (readJsonl(join(dir, RUN_FILES.log)) as { type: string; loss: number }[]).filter((r) => r.type === 'step').map((r) => r.loss);
}

describe('length buckets', function () {
  this.timeout(300000);

  describe('trimmedLength', () => {
    it('rounds the longest row up to the multiple, within [1, maxlen]; multiple 0 is maxlen', () => {
      expect([1, 16, 17, 190, 200].map((n) => trimmedLength(n, 16, 200))).to.deep.equal([16, 16, 32, 192, 200]);
      expect(trimmedLength(0, 8, 200)).to.equal(8);
      expect(trimmedLength(5, 16, 12)).to.equal(12);
      expect(trimmedLength(5, 0, 200)).to.equal(200);
    });
  });

  describe('TrainSampler with buckets', () => {
    const split = leaveOneOutSplit(tinyData()); // 120 users, 6–30 items each
    const L = 40;
    const opts = { maxlen: L, batchSize: 8, needNeg: true, needTimestamps: true, bucket: 4 };

    it('trims each batch to its longest row (rounded up) and keeps every row whole, right-aligned', () => {
      const s = new TrainSampler(split, opts, 3);
      const widths = new Set<number>();
      for (let i = 0; i < 2 * s.batchesPerEpoch; i++) {
        const b = s.nextBatch();
        const lens = rowLengths(b.seq, b.maxlen);
        expect(b.maxlen).to.equal(trimmedLength(Math.max(...lens), 4, L));
        widths.add(b.maxlen);
        expect(b.neg!.length).to.equal(b.batchSize * b.maxlen);
        expect(b.ts_ext!.length).to.equal(b.batchSize * (b.maxlen + 1));
        expect(b.realTokens).to.equal(lens.reduce((x, y) => x + y, 0));
        for (let r = 0; r < b.batchSize; r++) {
          // The last slot of every row is real, and a target follows every input slot.
          expect(b.seq[(r + 1) * b.maxlen - 1]).to.not.equal(0n);
          for (let t = 0; t < b.maxlen; t++) expect(b.seq[r * b.maxlen + t] === 0n).to.equal(b.pos[r * b.maxlen + t] === 0n);
        }
      }
      expect(widths.size, 'batches of different lengths').to.be.above(2);
    });

    it("an epoch is one length-sorted pool: batches' length ranges do not overlap", () => {
      const s = new TrainSampler(split, opts, 5);
      const ranges = Array.from({ length: s.batchesPerEpoch }, () => {
        const b = s.nextBatch();
        const lens = rowLengths(b.seq, b.maxlen);
        return [Math.min(...lens), Math.max(...lens)];
      }).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i - 1][1], `batch ${i}`).to.be.at.most(ranges[i][0]);
    });

    it('keeps the distribution of rows: every eligible user equally likely, drawn with replacement', () => {
      const data = tinyData();
      const sp = leaveOneOutSplit(data);
      const s = new TrainSampler(sp, { maxlen: L, batchSize: 8, bucket: 8 }, 11);
      // Identify rows by their item sequence (the generated users' histories are distinct).
      const key = (a: ArrayLike<bigint>) => Array.from(a).filter((v) => v !== 0n).join(',');
      const byKey = new Map<string, number>();
      sp.train.forEach((t, u) => byKey.set(Array.from(t.subarray(0, t.length - 1)).slice(-L).join(','), u));
      const counts = new Array(sp.train.length).fill(0);
      const epochs = 100;
      for (let i = 0; i < epochs * s.batchesPerEpoch; i++) {
        const b = s.nextBatch();
        for (let r = 0; r < b.batchSize; r++) counts[byKey.get(key(b.seq.subarray(r * b.maxlen, (r + 1) * b.maxlen)))!]++;
      }
      const n = epochs * s.batchesPerEpoch * 8;
      const p = 1 / s.numTrainableUsers;
      const sd = Math.sqrt(n * p * (1 - p));
      // 120 users: a 5-sigma band leaves a chance of about 1e-4 of a false alarm.
      for (const c of counts) expect(Math.abs(c - n * p)).to.be.below(5 * sd);
    });

    it('groups: a group of fused batches shares one T, and batchesLeftInGroup stops at its end', () => {
      const s = new TrainSampler(split, { ...opts, groupSize: 4 }, 2);
      let served = 0;
      while (served < 3 * s.batchesPerEpoch) {
        const k = s.batchesLeftInGroup();
        expect(k).to.be.within(1, 4);
        const group = Array.from({ length: k }, () => s.nextBatch());
        expect(new Set(group.map((b) => b.maxlen)).size).to.equal(1);
        served += k;
      }
      expect(new TrainSampler(split, { maxlen: L, batchSize: 8 }, 2).batchesLeftInGroup()).to.equal(Infinity);
    });

    it('exact resume: a restored state (JSON round trip) redraws the pool and continues with the same batches', () => {
      for (const at of [0, 1, 7, 15, 16, 17]) {
        const a = new TrainSampler(split, { ...opts, groupSize: 3 }, 9);
        for (let i = 0; i < at; i++) a.nextBatch();
        const state = JSON.parse(JSON.stringify(a.getState())) as SamplerState;
        const b = new TrainSampler(split, { ...opts, groupSize: 3 }, 0);
        b.setState(state);
        for (let i = 0; i < 20; i++) {
          expect(b.batchesLeftInGroup(), `after ${at}, batch ${i}`).to.equal(a.batchesLeftInGroup());
          const [x, y] = [a.nextBatch(), b.nextBatch()];
          expect(y.maxlen).to.equal(x.maxlen);
          for (const name of ['seq', 'pos', 'neg', 'ts_ext'] as const) expect(Array.from(y[name]!), `after ${at}, batch ${i}: ${name}`).to.deep.equal(Array.from(x[name]!));
        }
      }
      const bucketed = new TrainSampler(split, opts, 1);
      bucketed.nextBatch();
      expect(() => new TrainSampler(split, { maxlen: L, batchSize: 8, needNeg: true }, 1).setState(bucketed.getState())).to.throw(SamplerError, 'holds a pool of batches (length buckets or shuffled epochs)');
    });

    it('padBatch left-pads a trimmed batch back to a longer T', () => {
      const full = new TrainSampler(split, { maxlen: L, batchSize: 8, needNeg: true, needTimestamps: true, numNegatives: 3 }, 4).nextBatch();
      const trimmed = trimBatch(full);
      expect(trimmed.maxlen).to.be.below(L);
      const back = padBatch(trimmed, L);
      for (const name of ['seq', 'pos', 'neg', 'negs', 'ts_ext'] as const) expect(Array.from(back[name]!), name).to.deep.equal(Array.from(full[name]!));
      expect(padBatch(full, L)).to.equal(full);
      expect(() => padBatch(full, L - 1)).to.throw(RangeError);
    });
  });

  describe('graphs with a symbolic sequence length', () => {
    // Trimming drops columns that are padding in every row; the results differ only by float
    // rounding (matrix products over a shorter inner dim sum the same non-zero terms in another
    // blocking), far below these bounds: loss relative 1e-5, gradients 1e-4 of their largest value
    // (the SASRec block's key bias, 0 in exact arithmetic: of the largest gradient of all).
    const cases: [string, LossName, Record<string, unknown>][] = [
      ['hstu', 'bce', { dim: 16, n_layers: 2, n_heads: 2, dqk: 4, dv: 8, maxlen: 40, dropout: 0 }],
      ['hstu', 'full-ce', { dim: 16, n_layers: 2, n_heads: 2, dqk: 4, dv: 8, maxlen: 40, item_l2_norm: true, temperature: 0.05, dropout: 0 }],
      ['hstu', 'sampled-softmax', { dim: 16, n_layers: 1, n_heads: 1, dqk: 8, dv: 8, maxlen: 40, num_negatives: 5, dropout: 0 }],
      ['llama-sasrec', 'bce', { dim: 16, n_layers: 2, n_heads: 2, maxlen: 40, multiple_of: 8, key_padding_mask: true, dropout: 0 }],
      ['llama-sasrec', 'full-ce', { dim: 16, n_layers: 2, n_heads: 2, maxlen: 40, multiple_of: 8, key_padding_mask: true, dropout: 0 }],
      ['llama-sasrec', 'full-ce', { dim: 16, n_layers: 2, n_heads: 2, maxlen: 40, key_padding_mask: true, dropout: 0, block: 'sasrec' }],
    ];
    for (const [name, loss, raw] of cases) {
      it(`${name}${raw.block ? ` (${raw.block as string} block)` : ''} ${loss}: a batch trimmed to its longest row gives the loss and gradients of the maxlen-wide batch`, async () => {
        const data = tinyData();
        const model = getModel(name);
        const c = model.resolveConfig({ ...raw, num_items: data.numItems });
        expect(model.paddingInvariant?.(c)).to.equal(true);
        const g = new Graph('training');
        const { loss: l } = model.buildTraining(g, c, loss, { training: true });
        addGradientOutputs(g, l);
        const session = await createSession(emitModel(g));
        const params = Object.fromEntries(Object.entries(randomParams(g, 7)).map(([k, v]) => [k, new ort.Tensor('float32', v, g.getParam(k).shape as number[])]));
        const sampler = new TrainSampler(leaveOneOutSplit(data), { maxlen: 40, batchSize: 6, needNeg: loss === 'bce', needTimestamps: name === 'hstu', numNegatives: loss === 'sampled-softmax' ? 5 : 0 }, 21);
        const full = sampler.nextBatch();
        const short = trimBatch(full);
        expect(short.maxlen).to.be.below(30);
        const a = await session.run({ ...params, ...feedsOf(full, c, loss) });
        const b = await session.run({ ...params, ...feedsOf(short, c, loss) });
        await session.release();
        expectSameLossAndGradients(a, b, g.params, raw.block === 'sasrec' ? /^layers\.\d+\.bk$/ : undefined);
      });
    }

    it('llama without the key-padding mask reads its padding, so it is never trimmed', () => {
      const c = getModel('llama-sasrec').resolveConfig({ dim: 16, n_layers: 1, n_heads: 2, maxlen: 40, num_items: 50 });
      expect(getModel('llama-sasrec').paddingInvariant?.(c)).to.equal(false);
    });
  });

  describe('training', () => {
    const constant = { kind: 'constant' as const, lr: 5e-3 };
    const base = { epochs: 2, batchSize: 4, seed: 4, evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true, schedule: constant };

    for (const model of ['hstu', 'llama-sasrec'] as const) {
      it(`${model}: bucketed and unbucketed runs give the same losses when every row is maxlen long`, async () => {
        // Eight users with one 30-item history: every row is the same and fills maxlen 12, so
        // both samplers build the same batches (full-ce draws no negatives) and T = maxlen.
        const items = Array.from({ length: 30 }, (_, i) => 1 + ((i * 7) % 40));
        const data = sameSequences(8, items, 40);
        const extra = { dropout: 0.2, ...(model === 'llama-sasrec' ? { key_padding_mask: true } : {}) };
        const a = compileTiny(model, 'full-ce', extra, data);
        const b = compileTiny(model, 'full-ce', extra, data);
        await train({ ...base, dir: a, data, fusedSteps: 2, bucket: 0 });
        await train({ ...base, dir: b, data, fusedSteps: 2, bucket: 16 });
        const start = (readJsonl(join(b, RUN_FILES.log)) as { type: string; recipe?: { bucket?: number } }[]).find((r) => r.type === 'start')!;
        expect(start.recipe!.bucket).to.equal(16);
        expect(stepLosses(a).length).to.equal(4);
        expect(stepLosses(b)).to.deep.equal(stepLosses(a));
      });
    }

    it('exact resume with buckets and fused steps: a run stopped mid-epoch and resumed repeats the uninterrupted one', async () => {
      const data = tinyData();
      const extra = { maxlen: 40, dropout: 0.2 };
      const opts = { ...base, data, epochs: 3, batchSize: 8, fusedSteps: 3, bucket: 4 };
      const ref = compileTiny('hstu', 'bce', extra, data);
      await train({ ...opts, dir: ref });
      const dir = compileTiny('hstu', 'bce', extra, data);
      await train({ ...opts, dir, maxSteps: 20, checkpointEvery: 1 });
      await train({ ...opts, dir, resume: true });
      expect(stepLosses(ref).length).to.equal(45);
      expect(stepLosses(dir)).to.deep.equal(stepLosses(ref));
    });

    it('a model that reads its padding trains unbucketed, and its recipe says so', async () => {
      const dir = compileTiny('llama-sasrec', 'bce');
      await train({ ...base, dir, data: tinyData(), epochs: 1, fusedSteps: 2, bucket: 16, maxSteps: 2 });
      const start = (readJsonl(join(dir, RUN_FILES.log)) as { type: string; recipe?: { bucket?: number } }[]).find((r) => r.type === 'start')!;
      expect(start.recipe!.bucket).to.equal(undefined);
    });
  });

  describe('validation and ranking', () => {
    it('trimmed, length-sorted ranking batches give the metrics of maxlen-wide ones', async () => {
      const data = tinyData();
      const dir = await trainTinyOn('hstu', data);
      const split = leaveOneOutSplit(data);
      const session = await createOrtSession(join(dir, RUN_FILES.inference), 'cpu', {});
      try {
        for (const which of ['valid', 'test'] as const) {
          const plain = await rankSplit(new OnnxScorer(session, 12, data.numItems), split, { split: which, batchSize: 16 });
          // tinyData's histories are longer than maxlen 12 for most users: a multiple of 4 trims the others.
          const trimmed = await rankSplit(new OnnxScorer(session, 12, data.numItems, new Map(), 4), split, { split: which, batchSize: 16 });
          expect(trimmed).to.deep.equal(plain);
          const sampled = { split: which, batchSize: 16, negatives: 20, seed: 3 };
          expect(await rankSplit(new OnnxScorer(session, 12, data.numItems, new Map(), EVAL_TRIM_MULTIPLE), split, sampled)).to.deep.equal(await rankSplit(new OnnxScorer(session, 12, data.numItems), split, sampled));
        }
      } finally {
        await session.release();
      }
    });

    it('inference.onnx scores a row the same at any T ≥ its length', async () => {
      const dir = await trainTinyOn('hstu', tinyData());
      const session = await createOrtSession(join(dir, RUN_FILES.inference), 'cpu', {});
      const items = [5, 9, 11];
      const run = async (T: number) => {
        const seq = new BigInt64Array(T);
        const ts = new BigInt64Array(T + 1);
        items.forEach((v, j) => {
          seq[T - items.length + j] = BigInt(v);
          ts[T - items.length + j] = BigInt(1000 * j);
        });
        ts[T] = 5000n;
        const out = await session.run({ seq: new ort.Tensor('int64', seq, [1, T]), ts_ext: new ort.Tensor('int64', ts, [1, T + 1]), k: new ort.Tensor('int64', BigInt64Array.of(3n), [1]) });
        return out.scores.data as Float32Array;
      };
      const ref = await run(12);
      for (const T of [3, 4, 8]) {
        const s = await run(T);
        // Same terms, another blocking of the sums: float32 rounding only (scores are O(1)).
        for (let i = 1; i < ref.length; i++) expect(Math.abs(s[i] - ref[i]), `T ${T}, item ${i}`).to.be.at.most(1e-5);
      }
      await session.release();
    });
  });
});
