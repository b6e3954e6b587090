import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GRAPH_FILES, Manifest, readManifest } from '../compiler/artifacts.js';
import { Dataset } from '../data/types.js';
import { Split, leaveOneOutSplit, trainThroughValid } from '../data/split.js';
import { SamplerState, TrainBatch, TrainSampler } from '../data/sampler.js';
import { RankingMetrics } from '../eval/metrics.js';
import { rankSplit } from '../eval/rank.js';
import { OnnxScorer } from '../eval/scorer.js';
import { JsonlLogger } from '../util/jsonl.js';
import { Progress } from '../util/progress.js';
import { CheckpointState } from './checkpoint.js';
import { Feeds, stackInt64 } from './feeds.js';
import { checkTrainingFits, trainingRows } from './memory.js';
import { createSession } from './providers.js';
import { LrSchedule, lrAt, validateSchedule } from './schedule.js';
import { TrainingSession } from './session.js';

export interface TrainOptions {
  dir: string;
  data: Dataset;
  epochs: number;
  batchSize: number;
  schedule: LrSchedule;
  seed: number;
  device?: string;
  threads?: number;
  cudaLibDir?: string;
  /** Optimizer steps fused into one run of train_step.onnx. */
  fusedSteps: number;
  /** Validate every N epochs (0: never). */
  evalEvery: number;
  /** Stop after this many validations without a better NDCG@10 (0: never stop early). */
  patience: number;
  /** Also checkpoint every N optimizer steps within an epoch (0: only at epoch ends). */
  checkpointEvery: number;
  resume: boolean;
  overwrite?: boolean;
  /** Stop after this many optimizer steps in total (tests, smoke runs). */
  maxSteps?: number;
  /**
   * Also train on each user's validation item (everything but the test item, as Meta's HSTU
   * training). Validation is then off and the last model is exported; see trainThroughValid.
   */
  trainOnValid?: boolean;
  /** Start no new epoch after this many seconds; the run ends normally (best model exported). */
  maxSeconds?: number;
  json?: boolean;
  log?: (line: string) => void;
}

export interface TrainSummary {
  steps: number;
  epochs: number;
  stoppedEarly: boolean;
  /** Why training ended. */
  stoppedBy: 'epochs' | 'patience' | 'time limit' | 'max steps';
  bestEpoch: number | null;
  best: RankingMetrics | null;
  lastLoss: number;
  seconds: number;
  tokensPerSecond: number;
  checkpoint: string;
  inference: string;
}

export class TrainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainError';
  }
}

export const RUN_FILES = { init: 'init.ckpt', last: 'last.ckpt', best: 'best.ckpt', log: 'train.jsonl', inference: 'inference.onnx' } as const;

interface RunMeta {
  bestNdcg: number | null;
  bestEpoch: number | null;
  badEvals: number;
  best: RankingMetrics | null;
}

/** Which batch tensors the compiled training graph wants, read from its manifest. */
function samplerNeeds(manifest: Manifest) {
  const inputs = manifest.graphs.training.inputs;
  const negs = inputs.find((i) => i.name === 'negs');
  return {
    needNeg: inputs.some((i) => i.name === 'neg'),
    numNegatives: negs ? Number(negs.shape[negs.shape.length - 1]) : 0,
    sharedNegatives: negs?.shape.length === 1,
    needTimestamps: inputs.some((i) => i.name === 'ts_ext'),
  };
}

function stackBatches(batches: TrainBatch[], names: readonly string[]): Feeds {
  const { batchSize: B, maxlen: L, numNegatives: R } = batches[0];
  const dims: Record<string, number[]> = { seq: [B, L], pos: [B, L], neg: [B, L], negs: batches[0].sharedNegatives ? [R] : [B, L, R], ts_ext: [B, L + 1] };
  const feeds: Feeds = {};
  for (const name of names) feeds[name] = stackInt64(batches.map((b) => b[name as 'seq']!), dims[name]);
  return feeds;
}

/** Validation with the artifacts' inference graph (one session per run), fed the current parameters; the ranking step's default candidates (seen items excluded). */
async function validate(infer: ort.InferenceSession, session: TrainingSession, split: Split): Promise<RankingMetrics> {
  const params = new Map<string, ort.Tensor>([...session.params].map(([k, b]) => [k, b.current]));
  const scorer = new OnnxScorer(infer, session.manifest.dataset.maxlen, session.manifest.dataset.numItems, params);
  return rankSplit(scorer, split, { split: 'valid', ks: [10, 50] });
}

/**
 * The training loop of the seed's recipe: leave-one-out split, MODELS.md §1 sampling,
 * K fused AdamW steps per run, validation NDCG@10 with early stopping, atomic best/last
 * checkpoints, and exact resumption (sampler state, step and dropout keys are restored).
 */
export async function train(opts: TrainOptions): Promise<TrainSummary> {
  validateSchedule(opts.schedule);
  const manifest = readManifest(opts.dir);
  const V = manifest.dataset.numItems;
  if (opts.data.numItems !== V) {
    throw new TrainError(`artifacts in ${opts.dir} were compiled for ${V} items (model ${manifest.model}) but the data has ${opts.data.numItems}; recompile with --data pointing at this file`);
  }
  const fit = checkTrainingFits(manifest, { batchSize: opts.batchSize, fusedSteps: opts.fusedSteps, ...trainingRows(opts.data, manifest.dataset.maxlen) });
  fit.notes.forEach((line) => opts.log?.(line));
  opts = { ...opts, batchSize: fit.batchSize };
  const paths = Object.fromEntries(Object.entries(RUN_FILES).map(([k, f]) => [k, join(opts.dir, f)])) as Record<keyof typeof RUN_FILES, string>;
  if (!opts.resume && !opts.overwrite && existsSync(paths.last)) {
    throw new TrainError(`${opts.dir} already holds a training run (${RUN_FILES.last}); pass --resume to continue it or --overwrite to start again`);
  }
  if (opts.resume && !existsSync(paths.last)) throw new TrainError(`--resume: no ${RUN_FILES.last} in ${opts.dir}; start without --resume`);
  const startFrom = opts.resume ? paths.last : paths.init;
  const session = await TrainingSession.open(opts.dir, null, { device: opts.device, threads: opts.threads, cudaLibDir: opts.cudaLibDir, seed: opts.seed });
  const state = session.loadCheckpoint(startFrom);
  if (!opts.resume) session.seed = opts.seed;
  const split = leaveOneOutSplit(opts.data);
  const L = manifest.dataset.maxlen;
  const needs = samplerNeeds(manifest);
  const batchNames = manifest.graphs.train_step.inputs.filter((i) => i.shape[0] === 'K' && i.name !== 'lr').map((i) => i.name);
  const trainOnValid = opts.trainOnValid ?? false;
  const evalEvery = trainOnValid ? 0 : opts.evalEvery;
  const sampler = new TrainSampler(trainOnValid ? trainThroughValid(split) : split, { maxlen: L, batchSize: opts.batchSize, ...needs }, opts.seed);
  const meta: RunMeta = { bestNdcg: null, bestEpoch: null, badEvals: 0, best: null };
  let epoch = 0;
  let stepInEpoch = 0;
  if (opts.resume) {
    // The sampler state and the position in the epoch only mean something at the same batch size.
    const saved = state.meta.batchSize;
    if (typeof saved === 'number' && saved !== opts.batchSize) {
      throw new TrainError(`--resume: the run in ${opts.dir} was trained with batch size ${saved}; resume with --batch-size ${saved}`);
    }
    // The sampler draws from other sequences with and without the validation items.
    if ((state.meta.trainOnValid ?? false) !== trainOnValid) {
      throw new TrainError(`--resume: the run in ${opts.dir} was trained ${trainOnValid ? 'without' : 'with'} --train-on-valid; resume it the same way`);
    }
    sampler.setState(state.samplerState as SamplerState);
    epoch = state.epoch;
    stepInEpoch = state.stepInEpoch;
    Object.assign(meta, state.meta.run as RunMeta);
  }
  const logger = new JsonlLogger(paths.log);
  const say = opts.log ?? (() => {});
  logger.write({ type: opts.resume ? 'resume' : 'start', step: session.step, epoch, time: new Date().toISOString(), batchSize: opts.batchSize, seed: session.seed, schedule: opts.schedule, trainOnValid });
  if (trainOnValid && opts.evalEvery > 0) say('--train-on-valid: the validation items are training targets, so validation is off and the last model is exported');
  const saveTo = (path: string) => {
    const extra: Partial<CheckpointState> = { epoch, stepInEpoch, samplerState: sampler.getState(), schedule: { step: session.step, config: opts.schedule }, meta: { run: meta, batchSize: opts.batchSize, trainOnValid } };
    session.saveCheckpoint(path, extra);
  };
  const started = Date.now();
  let tokens = 0;
  let lastLoss = NaN;
  let stoppedEarly = false;
  let timeUp = false;
  const K = Math.max(1, opts.fusedSteps);
  let lastSavedStep = session.step;
  let infer: ort.InferenceSession | null = null;
  try {
    while (epoch < opts.epochs && !stoppedEarly) {
      if (opts.maxSeconds !== undefined && (Date.now() - started) / 1000 >= opts.maxSeconds) {
        timeUp = true;
        break;
      }
      const steps = sampler.batchesPerEpoch;
      const progress = new Progress({ total: steps, label: `epoch ${epoch + 1}/${opts.epochs}`, json: opts.json });
      const epochStart = Date.now();
      let epochLoss = 0;
      let epochTokens = 0;
      let epochSteps = 0;
      while (stepInEpoch < steps) {
        if (opts.maxSteps !== undefined && session.step >= opts.maxSteps) break;
        const k = Math.min(K, steps - stepInEpoch, opts.maxSteps !== undefined ? opts.maxSteps - session.step : K);
        const batches = Array.from({ length: k }, () => sampler.nextBatch());
        const lrs = Float32Array.from({ length: k }, (_, i) => lrAt(opts.schedule, session.step + i + 1));
        const { losses, gradNorms } = await session.fusedSteps(stackBatches(batches, batchNames), lrs);
        for (let i = 0; i < k; i++) {
          const step = session.step - k + i + 1;
          if (!Number.isFinite(losses[i])) {
            throw new TrainError(`non-finite loss (${losses[i]}) at step ${step}; stopped without saving it. The last good checkpoint is ${paths.last} (step ${lastSavedStep}); lower --lr or check the data`);
          }
          logger.write({ type: 'step', step, epoch: epoch + 1, loss: losses[i], grad_norm: gradNorms[i], lr: lrs[i], tokens: batches[i].realTokens });
          epochLoss += losses[i];
          epochTokens += batches[i].realTokens;
          lastLoss = losses[i];
        }
        epochSteps += k;
        stepInEpoch += k;
        const secs = (Date.now() - epochStart) / 1000;
        progress.update(stepInEpoch, { loss: (epochLoss / epochSteps).toFixed(4), 'tok/s': Math.round(epochTokens / Math.max(secs, 1e-9)) });
        if (opts.checkpointEvery > 0 && session.step % opts.checkpointEvery < k && stepInEpoch < steps) {
          saveTo(paths.last);
          lastSavedStep = session.step;
        }
      }
      progress.finish();
      tokens += epochTokens;
      if (stepInEpoch < steps) break; // maxSteps reached mid-epoch
      const seconds = (Date.now() - epochStart) / 1000;
      epoch += 1;
      stepInEpoch = 0;
      const record: Record<string, unknown> = { type: 'epoch', epoch, step: session.step, loss: epochSteps ? epochLoss / epochSteps : null, seconds, tokens_per_s: epochTokens / Math.max(seconds, 1e-9) };
      if (evalEvery > 0 && epoch % evalEvery === 0) {
        // Training and validation each keep an onnxruntime arena at its peak; holding only the one
        // in use makes the run's peak the larger of the two, not their sum (README, "Memory").
        await session.release();
        infer ??= await createSession(join(opts.dir, GRAPH_FILES.inference_graph), opts.device ?? 'cpu', { threads: opts.threads, cudaLibDir: opts.cudaLibDir });
        const valid = await validate(infer, session, split);
        await infer.release();
        infer = null;
        record.valid = valid;
        const ndcg = valid['ndcg@10'];
        if (meta.bestNdcg === null || ndcg > meta.bestNdcg) {
          Object.assign(meta, { bestNdcg: ndcg, bestEpoch: epoch, badEvals: 0, best: valid });
          saveTo(paths.best);
        } else meta.badEvals += 1;
        if (opts.patience > 0 && meta.badEvals >= opts.patience) stoppedEarly = true;
        say(`epoch ${epoch}: loss ${(record.loss as number).toFixed(4)}, valid NDCG@10 ${ndcg.toFixed(4)} HR@10 ${valid['hr@10'].toFixed(4)}${meta.bestEpoch === epoch ? ' (best)' : ''}, ${seconds.toFixed(1)} s`);
      } else {
        say(`epoch ${epoch}: loss ${(record.loss as number).toFixed(4)}, ${seconds.toFixed(1)} s`);
      }
      logger.write(record);
      saveTo(paths.last);
      lastSavedStep = session.step;
    }
    if (stepInEpoch > 0) {
      saveTo(paths.last);
      lastSavedStep = session.step;
    }
    // Export the best model (by validation) when there is one, else the last.
    const exportFrom = meta.bestEpoch !== null && existsSync(paths.best) ? paths.best : paths.last;
    if (exportFrom === paths.best) session.loadCheckpoint(paths.best);
    session.exportModelForInferencing(paths.inference, { checkpoint: basename(exportFrom), epochs: String(epoch), step: String(session.step) });
    const seconds = (Date.now() - started) / 1000;
    const summary: TrainSummary = {
      steps: session.step,
      epochs: epoch,
      stoppedEarly,
      stoppedBy: stoppedEarly ? 'patience' : timeUp ? 'time limit' : epoch < opts.epochs ? 'max steps' : 'epochs',
      bestEpoch: meta.bestEpoch,
      best: meta.best,
      lastLoss,
      seconds,
      tokensPerSecond: tokens / Math.max(seconds, 1e-9),
      checkpoint: exportFrom,
      inference: paths.inference,
    };
    logger.write({ type: 'end', ...summary });
    return summary;
  } finally {
    logger.close();
    await infer?.release();
    await session.release();
  }
}
