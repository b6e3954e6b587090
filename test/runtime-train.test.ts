import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leaveOneOutSplit } from '../src/data/split.js';
import { TrainSampler, TrainBatch } from '../src/data/sampler.js';
import { CheckpointError, loadCheckpoint } from '../src/runtime/checkpoint.js';
import { stackInt64 } from '../src/runtime/feeds.js';
import { TrainingSession } from '../src/runtime/session.js';
import { TrainError, train, RUN_FILES, validationPassesLeft } from '../src/runtime/trainer.js';
import { builtinDataset } from '../src/data/builtin.js';
import { readJsonl } from '../src/util/jsonl.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';

const constant = (lr: number) => ({ kind: 'constant' as const, lr });
const baseOpts = { epochs: 1, batchSize: 16, seed: 4, fusedSteps: 4, evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true };

function stepLosses(dir: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of readJsonl(join(dir, RUN_FILES.log)) as { type: string; step: number; loss: number }[]) if (r.type === 'step') out.set(r.step, r.loss);
  return out;
}

describe('training runtime', function () {
  this.timeout(120000);

  for (const model of ['llama-sasrec', 'hstu'] as const) {
    it(`${model}: loss falls over a few epochs of fused steps`, async () => {
      const dir = compileTiny(model, model === 'hstu' ? 'sampled-softmax' : 'bce', model === 'hstu' ? { num_negatives: 8 } : {});
      const s = await train({ ...baseOpts, dir, data: tinyData(), epochs: 6, schedule: constant(1e-2) });
      const losses = [...stepLosses(dir).values()];
      expect(losses.length).to.equal(s.steps);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      // Noisy per-step losses: compare the first and last epoch's means, with a clear margin.
      const perEpoch = Math.ceil(120 / 16);
      expect(mean(losses.slice(-perEpoch))).to.be.below(0.9 * mean(losses.slice(0, perEpoch)));
      expect(existsSync(join(dir, RUN_FILES.inference))).to.equal(true);
    });
  }

  it('--eval-every N validates every N epochs and always the last one, so the export is chosen on validation', async () => {
    const dir = compileTiny('llama-sasrec', 'bce');
    const s = await train({ ...baseOpts, dir, data: tinyData(), epochs: 3, evalEvery: 2, schedule: constant(1e-2) });
    const validated = (readJsonl(join(dir, RUN_FILES.log)) as { type: string; epoch: number; valid?: unknown }[]).filter((r) => r.type === 'epoch' && r.valid).map((r) => r.epoch);
    expect(validated).to.deep.equal([2, 3]);
    expect(s.bestEpoch).to.be.oneOf([2, 3]);
  });

  it('logs each validation pass\'s seconds, which the ETA counts once per pass left', async () => {
    const dir = compileTiny('llama-sasrec', 'bce');
    await train({ ...baseOpts, dir, data: tinyData(), epochs: 2, evalEvery: 1, schedule: constant(1e-2) });
    const secs = (readJsonl(join(dir, RUN_FILES.log)) as { type: string; valid_seconds?: number }[]).filter((r) => r.type === 'epoch').map((r) => r.valid_seconds);
    expect(secs).to.have.length(2);
    for (const x of secs) expect(x).to.be.a('number').and.above(0);
    // 70 epochs validated every 2, after epoch 10: epochs 12, 14, ..., 70.
    expect(validationPassesLeft({ epoch: 10, stepInEpoch: 0, step: 470 }, { stepsPerEpoch: 47, epochs: 70, evalEvery: 2 })).to.equal(30);
    // Every 3 of 10, and the last: 3, 6, 9, 10; mid-epoch 3 counts its own end.
    expect(validationPassesLeft({ epoch: 2, stepInEpoch: 5, step: 25 }, { stepsPerEpoch: 10, epochs: 10, evalEvery: 3 })).to.equal(4);
    // --max-steps 35 lets epochs 1-3 finish (steps 10, 20, 30), not epoch 4.
    expect(validationPassesLeft({ epoch: 0, stepInEpoch: 0, step: 0 }, { stepsPerEpoch: 10, epochs: 10, evalEvery: 1, maxSteps: 35 })).to.equal(3);
    expect(validationPassesLeft({ epoch: 0, stepInEpoch: 0, step: 0 }, { stepsPerEpoch: 10, epochs: 10, evalEvery: 0 })).to.equal(0);
  });

  it('fusedSteps over K batches equals K trainStep + optimizerStep calls', async () => {
    const dir = compileTiny('llama-sasrec', 'bce');
    const split = leaveOneOutSplit(tinyData());
    const sampler = new TrainSampler(split, { maxlen: 12, batchSize: 8, needNeg: true }, 9);
    const batches: TrainBatch[] = Array.from({ length: 4 }, () => sampler.nextBatch());
    const lrs = Float32Array.of(0.01, 0.02, 0.005, 0.01);
    const a = await TrainingSession.open(dir, join(dir, RUN_FILES.init));
    const lossesA: number[] = [];
    for (let k = 0; k < 4; k++) {
      const feeds = Object.fromEntries(['seq', 'pos', 'neg'].map((n) => [n, new ort.Tensor('int64', batches[k][n as 'seq'], [8, 12])]));
      a.lazyResetGrad();
      lossesA.push(await a.trainStep(feeds));
      await a.optimizerStep(lrs[k]);
    }
    const b = await TrainingSession.open(dir, join(dir, RUN_FILES.init));
    const stacked = Object.fromEntries(['seq', 'pos', 'neg'].map((n) => [n, stackInt64(batches.map((x) => x[n as 'seq']), [8, 12])]));
    const { losses } = await b.fusedSteps(stacked, lrs);
    // Same kernels on the same inputs in the same order: bitwise equality is expected
    // (docs/architecture.md: a Scan is bit-identical to separate runs).
    expect(Array.from(losses)).to.deep.equal(lossesA);
    for (const [name, buf] of a.params) expect(Array.from(buf.current.data as Float32Array), name).to.deep.equal(Array.from(b.params.get(name)!.current.data as Float32Array));
    expect(a.step).to.equal(4);
    expect(b.step).to.equal(4);
    await a.release();
    await b.release();
  });

  it('openGraphs opens the sessions a training path uses before its first step, and keeps those open', async () => {
    const dir = compileTiny('llama-sasrec', 'bce');
    const s = await TrainingSession.open(dir, join(dir, RUN_FILES.init));
    expect(s.openGraphNames()).to.deep.equal([]);
    await s.openGraphs(true);
    expect(s.openGraphNames()).to.deep.equal(['train_step']);
    await s.openGraphs(false);
    expect(s.openGraphNames()).to.deep.equal(['train_step', 'training', 'optimizer']);
    await s.release();
    expect(s.openGraphNames()).to.deep.equal([]);
    // Without AdamW moments (ZeRO stage 1 steps with its own optimizer) optimizer.onnx is not needed.
    const z = await TrainingSession.open(dir, null, { optimizerState: false });
    await z.openGraphs(false);
    expect(z.openGraphNames()).to.deep.equal(['training']);
    await z.release();
  });

  it('with dropout, the same seed and step give the same losses and resume is exact', async () => {
    const dir = compileTiny('hstu', 'bce', { dropout: 0.3 });
    const full = await train({ ...baseOpts, dir, data: tinyData(), epochs: 2, schedule: constant(5e-3), fusedSteps: 3 });
    const reference = stepLosses(dir);
    const dir2 = compileTiny('hstu', 'bce', { dropout: 0.3 });
    await train({ ...baseOpts, dir: dir2, data: tinyData(), epochs: 2, schedule: constant(5e-3), fusedSteps: 3, maxSteps: 5, checkpointEvery: 1 });
    await train({ ...baseOpts, dir: dir2, data: tinyData(), epochs: 2, schedule: constant(5e-3), fusedSteps: 3, resume: true });
    const resumed = stepLosses(dir2);
    expect(resumed.size).to.equal(full.steps);
    for (const [step, loss] of reference) expect(resumed.get(step), `step ${step}`).to.equal(loss);
  });

  it('rejects a corrupted checkpoint, on load and on --resume', async () => {
    const dir = compileTiny('llama-sasrec');
    await train({ ...baseOpts, dir, data: tinyData(), schedule: constant(1e-3), maxSteps: 2 });
    const path = join(dir, RUN_FILES.last);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(path, bytes);
    const s = await TrainingSession.open(dir, null);
    expect(() => s.loadCheckpoint(path)).to.throw(CheckpointError, /sha256/);
    await train({ ...baseOpts, dir, data: tinyData(), schedule: constant(1e-3), resume: true }).then(
      () => expect.fail('expected an error'),
      (e) => expect(e).to.be.instanceOf(CheckpointError),
    );
  });

  it('rejects artifacts whose files changed after compilation', async () => {
    const dir = compileTiny('llama-sasrec');
    const path = join(dir, RUN_FILES.init);
    const bytes = readFileSync(path);
    bytes[100] ^= 0xff;
    writeFileSync(path, bytes);
    await TrainingSession.open(dir, null).then(() => expect.fail('expected an error'), (e) => expect((e as Error).message).to.match(/init.ckpt does not match its sha256/));
  });

  it('a time limit ends the run at an epoch boundary and still exports the model', async () => {
    const dir = compileTiny('llama-sasrec');
    const s = await train({ ...baseOpts, dir, data: tinyData(), epochs: 5, schedule: constant(1e-3), maxSeconds: 0 });
    expect(s.stoppedBy).to.equal('time limit');
    expect(s.epochs).to.equal(0);
    expect(existsSync(join(dir, RUN_FILES.inference))).to.equal(true);
    const full = await train({ ...baseOpts, dir, data: tinyData(), epochs: 2, schedule: constant(1e-3), overwrite: true });
    expect(full.stoppedBy).to.equal('epochs');
  });

  it('--train-on-valid trains on the validation items, skips validation, exports the last model and must resume the same way', async () => {
    const dir = compileTiny('llama-sasrec');
    const run = (o: object) => train({ ...baseOpts, dir, data: tinyData(), epochs: 2, evalEvery: 1, schedule: constant(1e-3), trainOnValid: true, ...o });
    const s = await run({});
    expect(s.bestEpoch).to.equal(null);
    expect(s.checkpoint).to.equal(join(dir, RUN_FILES.last));
    const log = readJsonl(join(dir, RUN_FILES.log)) as { type: string; valid?: unknown; tokens?: number }[];
    expect(log.filter((r) => r.type === 'epoch' && r.valid !== undefined)).to.have.length(0);
    // One more target per evaluated user: more real tokens than the same epochs without the flag.
    const tokens = (rows: typeof log) => rows.filter((r) => r.type === 'step').reduce((a, r) => a + r.tokens!, 0);
    const plain = compileTiny('llama-sasrec');
    await train({ ...baseOpts, dir: plain, data: tinyData(), epochs: 2, schedule: constant(1e-3) });
    expect(tokens(log)).to.be.above(tokens(readJsonl(join(plain, RUN_FILES.log)) as typeof log));
    await run({ resume: true, trainOnValid: false, epochs: 3 }).then(() => expect.fail('expected an error'), (e) => expect((e as Error).message).to.match(/trained with --train-on-valid; resume it the same way/));
  });

  it('rejects data with a different item count than the artifacts', async () => {
    const dir = compileTiny('llama-sasrec');
    const other = builtinDataset({ users: 50, items: 70, genres: 4, minLen: 6, maxLen: 20, seed: 1 });
    let err: unknown;
    try {
      await train({ ...baseOpts, dir, data: other, schedule: constant(1e-3) });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(TrainError);
    expect((err as Error).message).to.match(/compiled for 60 items .* data has 70/);
  });

  it('--resume without a checkpoint, and a second run without --resume, are clear errors', async () => {
    const dir = compileTiny('llama-sasrec');
    const run = (o: object) => train({ ...baseOpts, dir, data: tinyData(), schedule: constant(1e-3), ...o });
    await run({ resume: true }).then(() => expect.fail('expected an error'), (e) => expect((e as Error).message).to.match(/no last.ckpt/));
    await run({ maxSteps: 2 });
    await run({}).then(() => expect.fail('expected an error'), (e) => expect((e as Error).message).to.match(/already holds a training run/));
    await run({ resume: true, batchSize: 8 }).then(() => expect.fail('expected an error'), (e) => expect((e as Error).message).to.match(/batch size 16; resume with --batch-size 16/));
  });

  it('stops on a non-finite loss, names the step and a checkpoint that exists, and keeps it', async () => {
    const failure = async (dir: string, o: object) => {
      try {
        // An absurd learning rate drives the logits to overflow within a few steps.
        await train({ ...baseOpts, dir, data: tinyData(), epochs: 50, schedule: constant(1e30), ...o });
      } catch (e) {
        return e as Error;
      }
      return expect.fail('expected a non-finite loss');
    };
    // A fresh run that fails before its first checkpoint says so, and leaves none behind.
    const fresh = compileTiny('llama-sasrec');
    const e1 = await failure(fresh, { checkpointEvery: 0 });
    expect(e1).to.be.instanceOf(TrainError);
    expect(e1.message).to.match(/^non-finite loss \((NaN|-?Infinity)\) at step \d+; stopped without saving it; no checkpoint of this run was written yet\. Lower --lr or check the data$/);
    expect(existsSync(join(fresh, RUN_FILES.last))).to.equal(false);
    // Checkpointing every step: the named checkpoint exists, holds the named step and is not overwritten.
    const dir = compileTiny('llama-sasrec');
    const e2 = await failure(dir, { checkpointEvery: 1, fusedSteps: 1 });
    const m = /^non-finite loss \((?:NaN|-?Infinity)\) at step (\d+); stopped without saving it; the last good checkpoint is (.+) \(step (\d+)\)\. Lower --lr or check the data$/.exec(e2.message);
    expect(m, e2.message).to.not.equal(null);
    expect(m![2]).to.equal(join(dir, RUN_FILES.last));
    expect(loadCheckpoint(m![2]).step).to.equal(Number(m![3]));
    expect(Number(m![3])).to.equal(Number(m![1]) - 1);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).to.deep.equal([]);
  });

  it('reports the steps trained by this call, not the step of the best checkpoint', async () => {
    const dir = compileTiny('llama-sasrec');
    const run = (o: object) => train({ ...baseOpts, dir, data: tinyData(), epochs: 3, evalEvery: 1, schedule: constant(1e-2), ...o });
    const first = await run({ maxSteps: 5 });
    expect(first).to.include({ steps: 5, lastStep: 5 });
    const rest = await run({ resume: true });
    // 3 epochs of ceil(120 / 16) = 8 steps; this call trained the 19 after step 5.
    expect(rest).to.include({ steps: 19, lastStep: 24, epochs: 3 });
    const end = (readJsonl(join(dir, RUN_FILES.log)) as { type: string; steps?: number; lastStep?: number }[]).filter((r) => r.type === 'end');
    expect(end.map((r) => [r.steps, r.lastStep])).to.deep.equal([[5, 5], [19, 24]]);
  });
});
