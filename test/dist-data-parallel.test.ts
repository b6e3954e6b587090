import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leaveOneOutSplit } from '../src/data/split.js';
import { TrainBatch, TrainSampler } from '../src/data/sampler.js';
import { SingleProcessCollective } from '../src/dist/collective.js';
import { DataParallelError, accumulatedStep, batchFeeds, broadcastParameters, countTargets, distributedStep, microBatches, parameterChecksum, shardBatch, sliceRows, verifyParametersAgree } from '../src/runtime/data-parallel.js';
import { TrainingSession } from '../src/runtime/session.js';
import { WORKER, mpirun, requireMpirun } from './helpers/dist-mpirun.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';

const LR = 5e-3;
const STEPS = 6;
const BATCH = 16;
/** Sampler seed; the worker uses the same. */
const SAMPLER_SEED = 7;

function globalBatches(maxlen: number, n = STEPS, batchSize = BATCH, extra: object = {}): TrainBatch[] {
  const sampler = new TrainSampler(leaveOneOutSplit(tinyData()), { maxlen, batchSize, needNeg: true, ...extra }, SAMPLER_SEED);
  return Array.from({ length: n }, () => sampler.nextBatch());
}

/** The reference: plain trainStep + optimizerStep on each whole global batch. */
async function oneProcess(dir: string, batches: TrainBatch[]): Promise<{ losses: number[]; params: Map<string, Float32Array> }> {
  const s = await TrainingSession.open(dir, join(dir, 'init.ckpt'), { threads: 1 });
  const names = s.manifest.graphs.training.inputs.map((i) => i.name);
  const losses: number[] = [];
  for (const b of batches) {
    s.lazyResetGrad();
    losses.push(await s.trainStep(batchFeeds(b, names)));
    await s.optimizerStep(LR);
  }
  const params = new Map([...s.parameterValues()].map(([k, v]) => [k, v.slice()]));
  await s.release();
  return { losses, params };
}

function maxAbsDiff(a: Map<string, ArrayLike<number>> | Record<string, ArrayLike<number>>, b: Map<string, Float32Array>): number {
  const get = (k: string) => (a instanceof Map ? a.get(k) : a[k])!;
  let d = 0;
  for (const [k, v] of b) {
    const o = get(k);
    expect(o.length, k).to.equal(v.length);
    for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs(o[i] - v[i]));
  }
  return d;
}

const relDiffs = (a: number[], b: number[]) => a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i]));

// Tolerances. Splitting a batch changes only the order of float32 sums: each piece's loss
// mean and gradient are sums over fewer positions, recombined with weights |M_k|/|M|. Measured
// on this model (2 ranks, and 3 micro-batches): per-step losses differ by < 2e-7 relative (about
// one float32 ulp) and parameters after 6 AdamW steps by < 4e-7 (|p| ≤ 1.1). The bounds are
// 25-50x that, for other summation orders of other BLAS builds. Getting the weighting wrong (a
// mean of the pieces' means) moved parameters by 4e-2 here, far above the bound.
const LOSS_REL_TOL = 1e-5;
const PARAM_ABS_TOL = 1e-5;

describe('data-parallel steps', function () {
  this.timeout(120000);
  let dir: string;
  let reference: { losses: number[]; params: Map<string, Float32Array> };
  let batches: TrainBatch[];

  before(async () => {
    dir = compileTiny('llama-sasrec');
    batches = globalBatches(12);
    reference = await oneProcess(dir, batches);
  });

  describe('sharding a global batch', () => {
    it('splits the rows over ranks and micro-batches without loss or overlap, counting targets', () => {
      const b = batches[0];
      expect(countTargets(b.pos)).to.equal(b.realTokens);
      const pieces = [0, 1, 2].flatMap((r) => shardBatch(b, r, 3, 2));
      expect(pieces.map((p) => p.batchSize)).to.deep.equal([2, 3, 2, 3, 3, 3]);
      const concat = (key: 'seq' | 'pos' | 'neg') => pieces.flatMap((p) => Array.from(p[key]!));
      for (const key of ['seq', 'pos', 'neg'] as const) expect(concat(key)).to.deep.equal(Array.from(b[key]!));
      expect(pieces.reduce((a, p) => a + p.realTokens, 0)).to.equal(b.realTokens);
      expect(() => shardBatch(b, 0, 4, 5)).to.throw(RangeError, 'a global batch of 16 rows cannot be split over 4 ranks × 5 micro-batches; use a batch size of at least 20');
    });

    it('keeps shared negatives and timestamps aligned with their rows', () => {
      const [b] = globalBatches(12, 1, 8, { numNegatives: 3, sharedNegatives: true, needTimestamps: true });
      const s = sliceRows(b, 2, 5);
      expect(Array.from(s.negs!)).to.deep.equal(Array.from(b.negs!));
      expect(Array.from(s.ts_ext!)).to.deep.equal(Array.from(b.ts_ext!.slice(2 * 13, 5 * 13)));
      const feeds = batchFeeds(s, ['seq', 'pos', 'negs', 'ts_ext', 'not_a_batch_input']);
      expect(Object.keys(feeds).sort()).to.deep.equal(['negs', 'pos', 'seq', 'ts_ext']);
      expect(feeds.negs.dims).to.deep.equal([3]);
      expect(feeds.ts_ext.dims).to.deep.equal([3, 13]);
    });
  });

  describe('one process', () => {
    it('gradient accumulation over M micro-batches equals one step on their union', async () => {
      const s = await TrainingSession.open(dir, join(dir, 'init.ckpt'), { threads: 1 });
      const one = new SingleProcessCollective();
      const losses: number[] = [];
      for (const b of batches) {
        const micro = microBatches(b, s, one, 3);
        // Unequal target counts, so the weighting is exercised.
        expect(new Set(micro.map((m) => m.targets)).size).to.be.above(1);
        losses.push((await accumulatedStep(s, micro, LR)).loss);
      }
      for (const d of relDiffs(losses, reference.losses)) expect(d).to.be.below(LOSS_REL_TOL);
      expect(maxAbsDiff(s.parameterValues(), reference.params)).to.be.below(PARAM_ABS_TOL);
      await s.release();
    });

    it('hstu with timestamps and shared sampled-softmax negatives: accumulation equals one batch too', async () => {
      const hstu = compileTiny('hstu', 'sampled-softmax', { num_negatives: 8, shared_negatives: true });
      const hb = globalBatches(12, 4, BATCH, { numNegatives: 8, sharedNegatives: true, needTimestamps: true, needNeg: false });
      const ref = await oneProcess(hstu, hb);
      const s = await TrainingSession.open(hstu, join(hstu, 'init.ckpt'), { threads: 1 });
      const losses: number[] = [];
      for (const b of hb) losses.push((await accumulatedStep(s, microBatches(b, s, new SingleProcessCollective(), 2), LR)).loss);
      for (const d of relDiffs(losses, ref.losses)) expect(d).to.be.below(LOSS_REL_TOL);
      expect(maxAbsDiff(s.parameterValues(), ref.params)).to.be.below(PARAM_ABS_TOL);
      await s.release();
    });

    it('a mean of micro-batch means (the wrong weighting) is visibly different', async () => {
      const s = await TrainingSession.open(dir, join(dir, 'init.ckpt'), { threads: 1 });
      const names = s.manifest.graphs.training.inputs.map((i) => i.name);
      for (const b of batches) {
        s.lazyResetGrad();
        for (const piece of shardBatch(b, 0, 1, 3)) await s.trainStep(batchFeeds(piece, names));
        for (const g of s.gradientBuffers().values()) for (let i = 0; i < g.length; i++) g[i] /= 3;
        await s.optimizerStep(LR);
      }
      expect(maxAbsDiff(s.parameterValues(), reference.params)).to.be.above(100 * PARAM_ABS_TOL);
      await s.release();
    });

    it('rejects a global target count that the micro-batches do not add up to', async () => {
      const s = await TrainingSession.open(dir, join(dir, 'init.ckpt'), { threads: 1 });
      const micro = microBatches(batches[0], s, new SingleProcessCollective(), 2);
      const before = parameterChecksum(s);
      let error: unknown;
      try {
        await distributedStep(s, new SingleProcessCollective(), micro, batches[0].realTokens + 1, LR);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(DataParallelError);
      expect((error as Error).message).to.equal(`the ranks' batches hold ${batches[0].realTokens} target positions in all, but the step was weighted for ${batches[0].realTokens + 1}; every rank must draw the same global batch and take a disjoint slice of it`);
      // Nothing was applied.
      expect(parameterChecksum(s)).to.equal(before);
      expect(verifyParametersAgree(s, new SingleProcessCollective())).to.equal(before);
      broadcastParameters(s, new SingleProcessCollective());
      expect(parameterChecksum(s)).to.equal(before);
      await s.release();
    });
  });

  describe('Open MPI, 2 ranks under mpirun', () => {
    before(requireMpirun);

    it('per-step losses and parameters equal one process on the same global batches (M = 1 and M = 2 micro-batches per rank)', async () => {
      const out = mkdtempSync(join(tmpdir(), 'reclm-mpi-'));
      const r = await mpirun(2, [WORKER, 'train', out, dir, String(STEPS), String(BATCH), '1,2']);
      expect(r.code, r.stderr).to.equal(0);
      const [r0, r1] = [0, 1].map((rank) => JSON.parse(readFileSync(join(out, `rank${rank}.json`), 'utf8')));
      for (let i = 0; i < 2; i++) {
        const [a, b] = [r0.runs[i], r1.runs[i]];
        expect(a.gradAccum).to.equal([1, 2][i]);
        // Both ranks apply the same reduced gradient: bit-identical parameters and losses.
        expect(a.checksum).to.equal(b.checksum);
        expect(a.losses).to.deep.equal(b.losses);
        for (const d of relDiffs(a.losses, reference.losses)) expect(d).to.be.below(LOSS_REL_TOL);
        expect(maxAbsDiff(a.params, reference.params)).to.be.below(PARAM_ABS_TOL);
        // Rank 1 moved one parameter: the check stops both ranks with the same message.
        for (const x of [a, b]) expect(x.mismatch).to.match(/^parameters differ across ranks at step 6: rank 1 disagrees with rank 0 \(checksum [0-9a-f]{12}…\); stopping$/);
      }
    });
  });
});
