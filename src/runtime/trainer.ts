// The training loop, in phases around one run record: openRun, trainEpoch, endEpoch
// (validate, checkpoint, early stop), finishRun. The helpers it needs (batches, validation,
// the checkpoint record) come first; train() at the end reads top to bottom.
import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BatchInputName, DIM, GRAPH_FILES, Manifest, dimSize, seqDim, RUN_FILES, TensorSpec, batchInputs, readManifest, samplerNeeds } from '../contract/artifacts.js';
import { Dataset } from '../data/types.js';
import { dataContentFingerprint, dataFingerprint, sideDataFingerprint } from '../data/fingerprint.js';
import { loadItemMap } from '../data/item-map.js';
import { checkTimeBiasData } from '../data/time-bias.js';
import { Split, leaveOneOutSplit, onlyTrainOnValidTrains, requireEvaluableUsers, trainThroughValid } from '../data/split.js';
import { EpochUsers, SamplerError, SamplerState, TrainBatch, TrainSampler, TrainWindow, checkTrainWindow, padBatch } from '../data/sampler.js';
import { DataFormatError } from '../data/errors.js';
import { ReclmError } from '../errors.js';
import { RankingMetrics } from '../eval/metrics.js';
import { rankSplit } from '../eval/rank.js';
import { OnnxScorer } from '../eval/scorer.js';
import { removeIfExists } from '../util/atomic.js';
import { JsonlLogger, readJsonl } from '../util/jsonl.js';
import { Progress } from '../util/progress.js';
import { acquireLock } from '../util/run-lock.js';
import { CheckpointState, loadCheckpoint } from './checkpoint.js';
import { Feeds, stackInt64 } from './feeds.js';
import { WARN_FRACTION, checkTrainingFits, estimateTrainingMemory, formatBytes, holdTrainingDuringValidation, trainingRows, type MachineMemory, type MemoryEstimate } from './memory.js';
import { createSession, prepareDevice } from '../onnx/providers.js';
import { LrSchedule, lrAt, validateSchedule } from './schedule.js';
import { TrainingSession } from './session.js';
import { Collective, openCollective } from '../dist/collective.js';
import { broadcastJson, broadcastParameters, distributedStep, microBatches, sparseRowsFor, verifyParametersAgree } from './data-parallel.js';
import { OptimizerStateBytes, ShardGraphBuilder, ZeroOptimizer, describeOptimizerState, optimizerStateBytes } from './zero.js';
import { gatherRankHosts } from '../dist/hosts.js';
import { timeCollective } from '../dist/timing.js';
import { count } from '../util/plural.js';

export interface TrainOptions {
  dir: string;
  data: Dataset;
  epochs: number;
  batchSize: number;
  /** Where batchSize came from ('flag', 'preset NAME', 'default'), named in the note when it is capped at an epoch's rows; 'flag' when absent. */
  batchSizeFrom?: string;
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
  /** Continue the run in `dir`; its recipe must equal this one (see checkSameRun). */
  resume: boolean;
  /** Start again: the previous run's checkpoints, log and export are deleted first. */
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
  /** A given split (pre-split files, data/presplit.ts) instead of the leave-one-out split of `data`. */
  split?: Split;
  json?: boolean;
  log?: (line: string) => void;
  /** Notes on how the run was adapted to the data and machine (a capped batch size, a tight memory fit); default: `log`. */
  note?: (line: string) => void;
  /**
   * The shell command that continues this run from its last checkpoint (`… train DIR … --resume`):
   * a Ctrl-C prints it, because a second Ctrl-C ends the process before any end-of-run message.
   */
  resumeCommand?: string;
  /**
   * Called once the run is open (lock taken, checkpoint loaded), before the first step, with the
   * batch size it trains with (the asked one, capped at the rows of an epoch).
   */
  onOpen?: (effective: { batchSize: number }) => void;
  /**
   * Micro-batches accumulated into each optimizer step (default 1): each global batch is cut
   * into M pieces (per rank) whose gradients are summed weighted by target counts.
   */
  gradAccum?: number;
  /** The ranks this run trains on; default openCollective() (Open MPI under mpirun, else one process). */
  collective?: Collective;
  /**
   * ZeRO stage (default 0): 1 shards the AdamW moments over the ranks (zero.ts). Stored in
   * the recipe, but a run may resume with another value: checkpoints are the same either way.
   */
  zero?: 0 | 1;
  /** With `zero: 1`: buildShardOptimizerGraph of src/compiler/adamw.ts (see ShardGraphBuilder). */
  shardOptimizerGraph?: ShardGraphBuilder;
  /**
   * Length buckets: batches of rows of similar length, each trimmed to its longest row rounded
   * up to this multiple (TrainSampler); 0 or absent: every batch is maxlen wide. Applies only to
   * artifacts whose graphs take any T ≤ maxlen and whose model is padding-invariant (manifest
   * trimPadding); otherwise the run is unbucketed and its recipe says 0.
   */
  bucket?: number;
  /** Which maxlen pairs of a longer train prefix a row takes (TrainSampler; default 'last'). */
  window?: TrainWindow;
  /** How an epoch picks its rows' users (TrainSampler; default 'replacement'). */
  users?: EpochUsers;
  /** The machine's memory for the size check and the choice to hold the training session during validation; default machineMemory(). Tests inject it. */
  memory?: MachineMemory;
}

/** What defines a run: stored in every checkpoint, so that --resume continues the same run. */
export interface RunRecipe {
  epochs: number;
  batchSize: number;
  schedule: LrSchedule;
  seed: number;
  fusedSteps: number;
  evalEvery: number;
  patience: number;
  trainOnValid: boolean;
  /** Micro-batches per optimizer step (absent in runs of older reclm versions: 1). */
  gradAccum?: number;
  /** 1: the AdamW moments were sharded over the ranks (ZeRO-1); absent: 0. */
  zero?: 1;
  /** Length-bucket multiple (absent in runs of older reclm versions, and in unbucketed runs: 0). */
  bucket?: number;
  /** 'random': random windows of long histories (absent: the last maxlen pairs, as every older run). */
  window?: 'random';
  /** 'shuffle': the trainable users in consecutive shuffles, each once before any twice (absent: users drawn with replacement, as every older run). */
  users?: 'shuffle';
  /** true: trained on given pre-split files, every event of the train file a training event (absent: a leave-one-out split). */
  presplit?: true;
  /** dataFingerprint() of the training data (the train file's, for pre-split files). */
  data: string;
  /** dataContentFingerprint() of the training data: the same events in any row order (absent in runs of older reclm versions). */
  content?: string;
  /** sideDataFingerprint() of the training data: actions, positive mask, user profile (absent: none, or a run of an older reclm). */
  sideData?: string;
}

/** The typed `meta` of a run checkpoint: the recipe and the early-stopping state. */
export interface RunMeta {
  recipe: RunRecipe;
  /** The best validation so far (null: none yet, or validation off). */
  best: { epoch: number; metrics: RankingMetrics } | null;
  /** Validations since the best one. */
  badEvals: number;
}

export type StopReason = 'epochs' | 'patience' | 'time limit' | 'max steps' | 'interrupted';

export interface TrainSummary {
  /** Optimizer steps trained by this call (on --resume: since the checkpoint it started from). */
  steps: number;
  /** The run's optimizer step count at the end (the last step trained, not the best checkpoint's). */
  lastStep: number;
  epochs: number;
  stoppedEarly: boolean;
  /** Why training ended. */
  stoppedBy: StopReason;
  bestEpoch: number | null;
  best: RankingMetrics | null;
  lastLoss: number;
  seconds: number;
  tokensPerSecond: number;
  checkpoint: string;
  inference: string;
  /** AdamW state (m and v) held per rank, and unsharded. */
  optimizerState: OptimizerStateBytes;
}

export class TrainError extends ReclmError {}

export { RUN_FILES, dataFingerprint };
type RunPaths = Record<keyof typeof RUN_FILES, string>;

/** The recipe's `sideData` entry for `data`: empty for plain item-id data. */
function sideDataRecipe(data: Dataset): { sideData?: string } {
  const side = sideDataFingerprint(data);
  return side === null ? {} : { sideData: side };
}

/** The run meta of a checkpoint, or null when it holds none (init.ckpt, or a checkpoint of an older reclm). */
export function runMetaOf(state: CheckpointState): RunMeta | null {
  const m = state.meta as Partial<RunMeta>;
  return m.recipe && typeof m.recipe === 'object' ? { recipe: m.recipe, best: m.best ?? null, badEvals: m.badEvals ?? 0 } : null;
}

/** The recipe of the run in `dir` (from its last.ckpt), or null when there is none. */
export function storedRecipe(dir: string): RunRecipe | null {
  const path = join(dir, RUN_FILES.last);
  return existsSync(path) ? (runMetaOf(loadCheckpoint(path))?.recipe ?? null) : null;
}

/**
 * Refuses to continue `stored` with a different recipe: the sampler state, the dropout keys and
 * the lr of every step only mean the same run with the same values. The one override: a
 * constant schedule does not depend on the number of epochs, so `epochs` may change there.
 */
export function checkSameRun(stored: RunRecipe, asked: RunRecipe, dir: string): void {
  const say = (what: string, was: unknown, now: unknown) =>
    new TrainError(`--resume: the run in ${dir} was trained with ${what} ${was}, not ${now}; resume it with the same value (or start again with --overwrite)`);
  if (stored.data !== asked.data && stored.content !== undefined && stored.content === asked.content) {
    throw new TrainError(`--resume: the data holds the events the run in ${dir} was trained on, in another row order, which numbers users or items otherwise (data fingerprint ${asked.data.slice(0, 12)}, the run's ${stored.data.slice(0, 12)}); resume with the file as it was`);
  }
  if (stored.data !== asked.data) throw new TrainError(`--resume: the data is not the file the run in ${dir} was trained on (data fingerprint ${asked.data.slice(0, 12)}, the run's ${stored.data.slice(0, 12)}); resume with the same data file`);
  // Runs of older reclm versions did not record it: nothing to compare.
  if (stored.sideData !== undefined && stored.sideData !== asked.sideData) {
    throw new TrainError(`--resume: the actions or user features are not those the run in ${dir} was trained with (side-data fingerprint ${(asked.sideData ?? 'none').slice(0, 12)}, the run's ${stored.sideData.slice(0, 12)}); resume with the same data file and --user-features file`);
  }
  if (stored.trainOnValid !== asked.trainOnValid) throw new TrainError(`--resume: the run in ${dir} was trained ${stored.trainOnValid ? 'with' : 'without'} --train-on-valid; resume it the same way`);
  if (stored.batchSize !== asked.batchSize) throw new TrainError(`--resume: the run in ${dir} was trained with batch size ${stored.batchSize}; resume with --batch-size ${stored.batchSize}`);
  if (JSON.stringify(stored.schedule) !== JSON.stringify(asked.schedule)) throw say('the lr schedule', JSON.stringify(stored.schedule), JSON.stringify(asked.schedule));
  for (const key of ['seed', 'fusedSteps', 'evalEvery', 'patience'] as const) if (stored[key] !== asked[key]) throw say(key, stored[key], asked[key]);
  if ((stored.gradAccum ?? 1) !== (asked.gradAccum ?? 1)) throw say('--grad-accum', stored.gradAccum ?? 1, asked.gradAccum ?? 1);
  if ((stored.bucket ?? 0) !== (asked.bucket ?? 0)) throw say('--bucket', stored.bucket ?? 0, asked.bucket ?? 0);
  if ((stored.window ?? 'last') !== (asked.window ?? 'last')) throw say('--window', stored.window ?? 'last', asked.window ?? 'last');
  if ((stored.users ?? 'replacement') !== (asked.users ?? 'replacement')) throw say('--epoch-users', stored.users ?? 'replacement', asked.users ?? 'replacement');
  if (stored.epochs !== asked.epochs && stored.schedule.kind !== 'constant') throw say('epochs (its cosine decay ends with them)', stored.epochs, asked.epochs);
}

/**
 * Stacks k sampler batches into train_step.onnx's batch inputs, shaped as its manifest entry
 * says ([K, batch, ...]). The batches must share their row count and sequence length.
 */
function stackBatches(batches: TrainBatch[], specs: readonly TensorSpec[]): Feeds {
  const feeds: Feeds = {};
  const sizes = { batch: batches[0].batchSize, seq: batches[0].maxlen };
  for (const s of specs) {
    const dims = s.shape.slice(1).map((d) => dimSize(d, sizes));
    feeds[s.name] = stackInt64(batches.map((b) => b[s.name as BatchInputName]!), dims);
  }
  return feeds;
}

/**
 * The length-bucket multiple the artifacts allow: `asked` when their training and inference
 * graphs take any T ≤ maxlen and the model is padding-invariant, else 0.
 */
export function bucketFor(manifest: Manifest, asked: number): number {
  const symbolic = seqDim(manifest, 'training') === DIM.seq && seqDim(manifest, 'inference_graph') === DIM.seq;
  return symbolic && manifest.trimPadding === true ? asked : 0;
}

/**
 * Validation with the artifacts' inference graph (one session per run), fed the current
 * parameters; the ranking step's default candidates (seen items excluded). Batches are trimmed
 * to a multiple of `trimMultiple` (0: maxlen wide), which leaves the metrics unchanged.
 */
async function validate(infer: ort.InferenceSession, session: TrainingSession, split: Split, trimMultiple: number): Promise<RankingMetrics> {
  const params = new Map<string, ort.Tensor>([...session.params].map(([k, b]) => [k, b.current]));
  const scorer = new OnnxScorer(infer, session.manifest.dataset.maxlen, session.manifest.dataset.numItems, params, trimMultiple);
  return rankSplit(scorer, split, { split: 'valid', ks: [10, 50] });
}

/** train.jsonl on rank 0; the other ranks of a data-parallel run write nothing. */
type Log = Pick<JsonlLogger, 'write' | 'close'>;
const NO_LOG: Log = { write: () => {}, close: () => {} };

/** Rank 0's value of a decision, on every rank (a broadcast): ranks must agree on when to stop. */
function agree(c: Collective, value: boolean): boolean {
  if (c.size === 1) return value;
  const b = Uint8Array.of(value ? 1 : 0);
  c.broadcast(b, 0);
  return b[0] === 1;
}

/** Everything one run holds while it trains; the phases below read and advance it. */
interface Run {
  opts: TrainOptions;
  collective: Collective;
  /** Micro-batches per optimizer step. */
  gradAccum: number;
  /** The shard's optimizer of a ZeRO-1 run; null without ZeRO. */
  zero: ZeroOptimizer | null;
  optimizerState: OptimizerStateBytes;
  paths: RunPaths;
  session: TrainingSession;
  sampler: TrainSampler;
  split: Split;
  /** Batch inputs of train_step.onnx (leading K dim), from the manifest. */
  batchSpecs: TensorSpec[];
  /** The length-bucket multiple in effect (0: off); also trims validation batches. */
  bucket: number;
  logger: Log;
  say: (line: string) => void;
  releaseLock: () => void;
  /** Validation epochs (0 with trainOnValid: the validation items are training targets). */
  evalEvery: number;
  meta: RunMeta;
  epoch: number;
  stepInEpoch: number;
  /** Step of the last checkpoint this run wrote (or resumed from); null while there is none. */
  savedStep: number | null;
  startStep: number;
  started: number;
  tokens: number;
  lastLoss: number;
  stoppedBy: StopReason | null;
  /** Keep the training session open while validating (memory for both arenas and the other ranks on the host), instead of releasing and reopening it; only rank 0 validates. */
  holdTrainingDuringValidation: boolean;
  /** Seconds the last validation pass of this process took (null before the first): the ETA's estimate for each one left. */
  validSeconds: number | null;
  /** Set by SIGINT/SIGTERM (one process): the run stops after the steps in flight and saves its position. */
  interrupted: boolean;
  /** Milliseconds this rank has spent inside collective calls so far. */
  collectiveMs?: () => number;
  /** Wall time of the last data-parallel step and the part of it inside collective calls (rank 0 logs both). */
  stepTiming?: { step_ms: number; allreduce_ms: number };
}

/**
 * Writes the run's checkpoint to `path`: tensors, sampler and epoch position, and the run meta.
 * Every rank calls it at the same point: the ranks' parameters are compared first (a
 * checksum; DataParallelError on every rank when one differs), then rank 0 writes.
 */
function saveRun(run: Run, path: string): void {
  verifyParametersAgree(run.session, run.collective);
  // ZeRO-1: rank 0 gathers every shard's moments, so the file is an ordinary checkpoint.
  const moments = run.zero?.gatherMoments();
  if (run.collective.rank !== 0) {
    if (path === run.paths.last) run.savedStep = run.session.step;
    return;
  }
  const state: Partial<CheckpointState> = { epoch: run.epoch, stepInEpoch: run.stepInEpoch, samplerState: run.sampler.getState(), meta: { ...run.meta }, ...(moments ?? {}) };
  run.session.saveCheckpoint(path, state);
  if (path === run.paths.last) run.savedStep = run.session.step;
}

/**
 * Opens a run: checks the data against the artifacts, takes the folder's lock, starts from
 * init.ckpt (deleting a previous run with `overwrite`) or continues last.ckpt with `resume`.
 */
/**
 * Throws TrainError when a global batch of `batchSize` rows cannot give each of `ranks` ranks
 * `gradAccum` non-empty micro-batches (data-parallel.ts shardRows needs B >= ranks · gradAccum).
 */
export function checkBatchSplit(batchSize: number, ranks: number, gradAccum: number): void {
  if (batchSize < ranks * gradAccum) {
    throw new TrainError(`a batch of ${batchSize} rows cannot be split over ${ranks} rank(s) × ${gradAccum} micro-batch(es); use --batch-size ${ranks * gradAccum} or more`);
  }
}

/**
 * Refuses data that does not number items as the artifacts in `dir` do: another item count than
 * the manifest's, or other item ids than its item map (items.json). Throws TrainError.
 */
export function checkDataAgainstArtifacts(dir: string, manifest: Manifest, data: Dataset): void {
  const V = manifest.dataset.numItems;
  if (data.numItems !== V) {
    throw new TrainError(`artifacts in ${dir} were compiled for ${V} items (model ${manifest.model}) but the data has ${data.numItems}; recompile with --data pointing at this file`);
  }
  // The same count is not the same catalogue: item i of the data must be the model's item i.
  if (manifest.dataset.itemMap) {
    const compiled = loadItemMap(join(dir, manifest.dataset.itemMap)).itemIds;
    let differ = 0;
    for (let i = 1; i <= V; i++) if (compiled[i] !== data.itemIds[i]) differ++;
    if (differ) throw new TrainError(`artifacts in ${dir} were compiled for other item ids: ${differ} of ${V} differ from ${manifest.dataset.itemMap} (the data's item 1 is '${data.itemIds[1]}', the model's '${compiled[1]}'); recompile with --data pointing at this file`);
  }
}

/** Refuses a new run in a folder that holds one (without --overwrite), and --resume without one. Throws TrainError. */
export function checkRunFolder(dir: string, resume: boolean, overwrite: boolean): void {
  const last = join(dir, RUN_FILES.last);
  if (!resume && !overwrite && existsSync(last)) throw new TrainError(`${dir} already holds a training run (${RUN_FILES.last}); pass --resume to continue it or --overwrite to start again`);
  if (resume && !existsSync(last)) throw new TrainError(`--resume: no ${RUN_FILES.last} in ${dir}; start without --resume`);
}

/**
 * Refuses to resume the run in `dir` from `state` (its last.ckpt) when nothing is left to train:
 * it finished its `epochs`, early stopping ended it (`meta`: its patience ran out), or it is past
 * `maxSteps` (counted from the run's start). `constant`: its lr is constant, so a larger
 * --epochs would continue it. Throws TrainError.
 */
export function checkResumable(dir: string, state: Pick<CheckpointState, 'epoch' | 'stepInEpoch' | 'step'>, opts: { epochs: number; constant: boolean; maxSteps?: number; meta?: RunMeta | null }): void {
  // Resumed, such a run trained one more epoch, found no better one and stopped again, each time.
  const patience = opts.meta?.recipe.patience ?? 0;
  if (patience > 0 && (opts.meta?.badEvals ?? 0) >= patience) {
    throw new TrainError(`--resume: the run in ${dir} was stopped by early stopping (no better validation NDCG@10 in its last ${count(patience, 'validation')}; best at epoch ${opts.meta?.best?.epoch ?? '?'}); nothing to continue (start again with --overwrite and a larger --patience to train longer)`);
  }
  if (state.epoch >= opts.epochs && state.stepInEpoch === 0) {
    throw new TrainError(`--resume: the run in ${dir} already finished its ${count(opts.epochs, 'epoch')} (step ${state.step}); nothing to continue${opts.constant ? ' (pass a larger --epochs to train longer)' : ''}`);
  }
  if (opts.maxSteps !== undefined && state.step >= opts.maxSteps) {
    throw new TrainError(`--resume --max-steps ${opts.maxSteps}: --max-steps counts the run's steps from its start, and the run in ${dir} is at step ${state.step}; pass --max-steps ${state.step + opts.maxSteps} to train ${count(opts.maxSteps, 'step')} more`);
  }
}

async function openRun(opts: TrainOptions, collective: Collective): Promise<Run> {
  const lead = collective.rank === 0;
  const gradAccum = opts.gradAccum ?? 1;
  if (!(Number.isInteger(gradAccum) && gradAccum >= 1)) throw new TrainError(`--grad-accum must be a positive integer, got ${gradAccum}`);
  const zeroStage = opts.zero ?? 0;
  if (zeroStage !== 0 && zeroStage !== 1) throw new TrainError(`--zero must be 0 or 1, got ${String(zeroStage)}`);
  if (zeroStage === 1 && !opts.shardOptimizerGraph) throw new Error('train: zero 1 needs shardOptimizerGraph (buildShardOptimizerGraph of src/compiler/adamw.ts)');
  checkBatchSplit(opts.batchSize, collective.size, gradAccum);
  validateSchedule(opts.schedule);
  const manifest = readManifest(opts.dir);
  checkTimeBiasData(manifest.config, opts.data, 'train');
  checkDataAgainstArtifacts(opts.dir, manifest, opts.data);
  if (opts.resume && opts.overwrite) throw new TrainError('--resume continues the run in the folder and --overwrite deletes it; give one of them');
  // Refuse a run that cannot fit before anything is allocated; a batch larger than an epoch's rows is capped.
  const rows = trainingRows(opts.data, manifest.dataset.maxlen);
  const fit = checkTrainingFits(manifest, { batchSize: opts.batchSize, batchSizeFrom: opts.batchSizeFrom, fusedSteps: opts.fusedSteps, ...rows, memory: opts.memory });
  // What one process holds while it trains: off the fused path, its share of the global batch,
  // one micro-batch at a time; the validation hold is decided on it.
  const perProcess = fusesSteps(collective.size, gradAccum, zeroStage === 1) ? fit.estimate : estimateTrainingMemory(manifest, { batchSize: Math.ceil(fit.batchSize / (collective.size * gradAccum)), fusedSteps: 1, ...rows });
  opts = { ...opts, batchSize: fit.batchSize };
  const paths = Object.fromEntries(Object.entries(RUN_FILES).map(([k, f]) => [k, join(opts.dir, f)])) as RunPaths;
  const trainOnValid = opts.trainOnValid ?? false;
  const bucket = bucketFor(manifest, opts.bucket ?? 0);
  if (!(Number.isInteger(bucket) && bucket >= 0)) throw new TrainError(`--bucket must be a non-negative integer, got ${opts.bucket}`);
  const trainWindow = opts.window ?? 'last';
  const epochUsers = opts.users ?? 'replacement';
  const recipe: RunRecipe = {
    epochs: opts.epochs, batchSize: opts.batchSize, schedule: opts.schedule, seed: opts.seed, fusedSteps: opts.fusedSteps,
    evalEvery: opts.evalEvery, patience: opts.patience, trainOnValid, ...(gradAccum > 1 ? { gradAccum } : {}), ...(zeroStage === 1 ? { zero: 1 as const } : {}), ...(bucket > 0 ? { bucket } : {}), ...(trainWindow === 'random' ? { window: trainWindow } : {}), ...(epochUsers === 'shuffle' ? { users: epochUsers } : {}), ...(opts.split ? { presplit: true as const } : {}), data: dataFingerprint(opts.data),
    content: dataContentFingerprint(opts.data),
    ...sideDataRecipe(opts.data),
  };
  const split = opts.split ?? leaveOneOutSplit(opts.data);
  // Errors about the data name the file as given (the dataset's name drops folders and extensions).
  const source = opts.data.read?.file ?? opts.data.name;
  requireEvaluableUsers(split, opts.evalEvery > 0 && !trainOnValid ? 'valid' : 'test', source);
  checkTrainWindow(split, trainWindow);
  // Fused steps take K batches of one T: length-sorted batches are shuffled K at a time. The
  // grouping depends only on the recipe, so data-parallel ranks and --grad-accum (one step per
  // call) draw the batches of the one-process fused run. Built here, before the folder is
  // touched: data that gives no training example must not cost an --overwrite its old run.
  const groupSize = Math.max(1, opts.fusedSteps);
  let sampler: TrainSampler;
  try {
    sampler = new TrainSampler(trainOnValid ? trainThroughValid(split) : split, { maxlen: manifest.dataset.maxlen, batchSize: opts.batchSize, ...samplerNeeds(manifest), userIds: opts.data.users, bucket, groupSize, window: trainWindow, users: epochUsers }, opts.seed);
  } catch (e) {
    if (!(e instanceof SamplerError)) throw e;
    // Training through the validation item gives each history one more training item: say so when that would help.
    const way = !trainOnValid && onlyTrainOnValidTrains(split) ? '; --train-on-valid trains through the validation item, which gives some users one' : '';
    throw new DataFormatError(source, null, `${e.message}${way}`);
  }
  // Rank 0 alone owns the folder: the lock, deleting an old run, every write.
  const releaseLock = lead ? acquireLock(paths.lock, opts.dir) : () => {};
  let session: TrainingSession | undefined;
  let zero: ZeroOptimizer | null = null;
  try {
    if (lead) checkRunFolder(opts.dir, opts.resume ?? false, opts.overwrite ?? false);
    // Everything that can refuse the run goes first: --overwrite deletes nothing for a run that cannot start.
    prepareDevice(opts.device ?? 'cpu', { cudaLibDir: opts.cudaLibDir, threads: opts.threads });
    // Said once nothing can refuse the run any more: a refusal stays one line.
    fit.notes.forEach((line) => (opts.note ?? opts.log)?.(line));
    // A new run must never be mistaken for the old one by a later --resume, by eval or by report.
    if (opts.overwrite && lead) for (const f of [paths.last, paths.best, paths.log, paths.inference, paths.evalLog, paths.report]) removeIfExists(f);
    session = await TrainingSession.open(opts.dir, null, { device: opts.device, threads: opts.threads, cudaLibDir: opts.cudaLibDir, seed: opts.seed, ...(zeroStage === 1 ? { optimizerState: false } : {}) });
    // Only rank 0 reads the run's checkpoint; the others get its state by broadcast below, so
    // their hosts need the compiled artifacts but not the run's files.
    const resume = opts.resume && lead;
    const state = session.loadCheckpoint(resume ? paths.last : paths.init);
    let meta: RunMeta = { recipe, best: null, badEvals: 0 };
    if (resume) {
      const stored = runMetaOf(state);
      if (!stored) throw new TrainError(`--resume: ${paths.last} holds no run recipe (written by an older reclm); start again with --overwrite`);
      checkSameRun(stored.recipe, recipe, opts.dir);
      checkResumable(opts.dir, state, { epochs: opts.epochs, constant: recipe.schedule.kind === 'constant', maxSteps: opts.maxSteps, meta: stored });
      meta = { ...stored, recipe };
    }
    session.seed = recipe.seed;
    // Every rank starts from rank 0's parameters and moments (whatever files the others read).
    broadcastParameters(session, collective, { optimizerState: true });
    if (zeroStage === 1) {
      zero = new ZeroOptimizer(session, collective, opts.shardOptimizerGraph!, { device: opts.device, threads: opts.threads, cudaLibDir: opts.cudaLibDir });
      zero.loadMoments(lead ? state : null);
    }
    const optimizerState = zero?.stateBytes() ?? optimizerStateBytes(manifest.params, collective.size, 0);
    const position = broadcastJson(collective, { epoch: state.epoch, stepInEpoch: state.stepInEpoch, samplerState: state.samplerState, meta });
    meta = position.meta;
    if (opts.resume) sampler.setState(position.samplerState as SamplerState);
    // Every rank takes part in gathering the host names (before the run's clock starts); rank 0 logs them.
    const hosts = collective.size > 1 ? gatherRankHosts(collective).map((h) => h.host) : [];
    const ranks = collective.size > 1 ? { ranks: collective.size, hosts } : {};
    // Rank 0 validates; the ranks on its host (itself included) share its memory.
    const ranksOnHost = Math.max(1, hosts.filter((h) => h === hosts[0]).length);
    const run: Run = {
      opts, collective, gradAccum, zero, optimizerState, paths, session, sampler, split,
      batchSpecs: batchInputs(manifest, 'train_step'),
      bucket,
      logger: lead ? new JsonlLogger(paths.log) : NO_LOG,
      say: lead ? (opts.log ?? (() => {})) : () => {},
      releaseLock,
      evalEvery: trainOnValid ? 0 : opts.evalEvery,
      meta,
      epoch: opts.resume ? position.epoch : 0,
      stepInEpoch: opts.resume ? position.stepInEpoch : 0,
      savedStep: opts.resume ? session.step : null,
      startStep: session.step,
      started: Date.now(),
      tokens: 0,
      lastLoss: NaN,
      stoppedBy: null,
      holdTrainingDuringValidation: holdTrainingDuringValidation(perProcess, fit.memory, ranksOnHost),
      validSeconds: null,
      interrupted: false,
    };
    run.logger.write({ type: opts.resume ? 'resume' : 'start', step: session.step, epoch: run.epoch, time: new Date().toISOString(), recipe, ...ranks, optimizer_state: { per_rank_bytes: optimizerState.perRank, unsharded_bytes: optimizerState.unsharded, zero: optimizerState.zero, ranks: optimizerState.ranks }, memory: memoryRecord(perProcess, fit.memory, run.holdTrainingDuringValidation, ranksOnHost) });
    if (lead) opts.onOpen?.({ batchSize: opts.batchSize });
    if (zero || collective.size > 1) run.say(describeOptimizerState(optimizerState));
    if (!run.holdTrainingDuringValidation && run.evalEvery > 0) {
      const others = ranksOnHost > 1 ? `, with the training of the ${ranksOnHost - 1} other rank${ranksOnHost > 2 ? 's' : ''} on this host,` : '';
      run.say(`validation releases the training session while it runs (training and validation together${others} need more than ${Math.round(WARN_FRACTION * 100)}% of the ${formatBytes(fit.memory.available)} available), so the first step after each pass is slower`);
    }
    if (trainOnValid && opts.evalEvery > 0) run.say('--train-on-valid: the validation items are training targets, so validation is off and the last model is exported');
    return run;
  } catch (e) {
    await zero?.release();
    await session?.release();
    releaseLock();
    throw e;
  }
}

/** Steps of the whole run still to train from the current position (for the ETA). */
function stepsLeftInRun(run: Run, stepsPerEpoch: number): number {
  const left = (run.meta.recipe.epochs - run.epoch) * stepsPerEpoch - run.stepInEpoch;
  return run.opts.maxSteps === undefined ? left : Math.min(left, run.opts.maxSteps - run.session.step);
}

/** Whether the end of (1-based) epoch `epoch` of an `epochs`-epoch run is validated: every evalEvery-th and the last. */
function validatedEpoch(epoch: number, evalEvery: number, epochs: number): boolean {
  return evalEvery > 0 && (epoch % evalEvery === 0 || epoch === epochs);
}

/**
 * Validation passes still to come in a run that is `stepInEpoch` steps into epoch `epoch + 1`
 * (0-based `epoch` epochs done) at optimizer step `step`: one after every evalEvery-th epoch and
 * after the last, counting only epochs that `maxSteps` (the run's last step, when given) lets
 * finish. Early stopping is not foreseen. Counts, no units.
 */
export function validationPassesLeft(at: { epoch: number; stepInEpoch: number; step: number }, plan: { stepsPerEpoch: number; epochs: number; evalEvery: number; maxSteps?: number }): number {
  let passes = 0;
  for (let e = at.epoch + 1; e <= plan.epochs; e++) {
    const endStep = at.step + (e - at.epoch) * plan.stepsPerEpoch - at.stepInEpoch;
    if (plan.maxSteps !== undefined && endStep > plan.maxSteps) break;
    if (validatedEpoch(e, plan.evalEvery, plan.epochs)) passes += 1;
  }
  return passes;
}

/** Seconds of validation still to come, for the ETA: passes left times the last pass's seconds (0 before this process validated once). */
function validationSecondsLeft(run: Run, stepsPerEpoch: number): number {
  if (run.validSeconds === null) return 0;
  const passes = validationPassesLeft({ epoch: run.epoch, stepInEpoch: run.stepInEpoch, step: run.session.step }, { stepsPerEpoch, epochs: run.meta.recipe.epochs, evalEvery: run.evalEvery, maxSteps: run.opts.maxSteps });
  return passes * run.validSeconds;
}

interface EpochResult {
  /** Mean loss over all the epoch's steps, those before a resume included. */
  loss: number | null;
  /** Seconds and tokens of the steps this process ran. */
  seconds: number;
  tokens: number;
  /** Steps of this epoch run before the resume (0 for an epoch run whole). */
  stepsBefore: number;
}

/**
 * Why the run stops before starting epoch `epochsDone + 1`, or null to go on (the time limit is
 * decided apart, by rank 0's clock). A run whose last epoch is done is finished ('epochs'), even
 * when a Ctrl-C came during its last call: an 'interrupted' run would offer a --resume that
 * then refuses a finished run.
 */
export function stopBeforeEpoch(epochsDone: number, epochs: number, interrupted: boolean): 'epochs' | 'interrupted' | null {
  if (epochsDone >= epochs) return 'epochs';
  return interrupted ? 'interrupted' : null;
}

/**
 * Lets a signal that arrived during an onnxruntime call reach its handler. That call runs on the
 * JS thread (queued with setImmediate), and the promises after it resolve as microtasks, so
 * without a turn of the event loop's poll phase a Ctrl-C waits until some I/O happens to run one.
 */
function signalsDelivered(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The start record's memory figures (bytes): one process's estimates, the machine's available memory, and whether validation holds the training session. */
function memoryRecord(estimate: MemoryEstimate, memory: MachineMemory, held: boolean, ranksOnHost: number): Record<string, unknown> {
  return { estimate_bytes: Math.round(estimate.total), both_arenas_bytes: Math.round(estimate.bothArenas), available_bytes: memory.available, ranks_on_host: ranksOnHost, training_session_during_validation: held ? 'held' : 'released' };
}

/** One process without gradient accumulation or ZeRO takes K optimizer steps per call (train_step.onnx); otherwise one per call. */
function fusesSteps(ranks: number, gradAccum: number, zero: boolean): boolean {
  return ranks === 1 && gradAccum === 1 && !zero;
}

function usesFusedSteps(run: Run): boolean {
  return fusesSteps(run.collective.size, run.gradAccum, run.zero !== null);
}

/**
 * Trains the rest of the current epoch, K fused steps per onnxruntime call. Returns null when
 * the run stopped mid-epoch (max steps: stoppedBy is set). A non-finite loss throws before the
 * step is logged or saved, naming the last checkpoint this run wrote.
 */
async function trainEpoch(run: Run): Promise<EpochResult | null> {
  const { session, sampler, opts } = run;
  const steps = sampler.batchesPerEpoch;
  const K = Math.max(1, opts.fusedSteps);
  const fused = usesFusedSteps(run);
  // Loading the graphs takes seconds; done inside the bar, it would inflate the rate of the
  // first steps and so the ETA. (Kept open across epochs; after a validation pass that
  // released them, this reopens them.) The epoch's seconds start after it.
  await session.openGraphs(fused);
  // The ETA covers the rest of the run: later epochs and their validation, or only part of this
  // epoch with --max-steps.
  const progress = new Progress({ total: steps, start: run.stepInEpoch, workLeft: stepsLeftInRun(run, steps), laterSec: validationSecondsLeft(run, steps), label: `epoch ${run.epoch + 1}/${run.meta.recipe.epochs}`, json: opts.json || run.collective.rank !== 0 });
  const epochStart = Date.now();
  // Resumed mid-epoch: the epoch's loss (in the bar and the summary) is the mean over all its
  // steps, the earlier ones read back from train.jsonl; seconds and tokens/s stay those of the
  // steps this process runs.
  const earlier = run.stepInEpoch > 0 && run.collective.rank === 0 ? loggedLosses(run.paths.log, run.epoch + 1, session.step) : [];
  const earlierSum = earlier.reduce((a, x) => a + x, 0);
  let loss = 0;
  let tokens = 0;
  let done = 0;
  while (run.stepInEpoch < steps) {
    await signalsDelivered();
    if (run.interrupted) {
      run.stoppedBy = 'interrupted';
      break;
    }
    if (opts.maxSteps !== undefined && session.step >= opts.maxSteps) break;
    const k = fused ? Math.min(K, steps - run.stepInEpoch, opts.maxSteps !== undefined ? opts.maxSteps - session.step : K, sampler.batchesLeftInGroup()) : 1;
    let batches = Array.from({ length: k }, () => sampler.nextBatch());
    // One fused call takes one T: batches of a group share it, others are padded to the longest.
    const T = Math.max(...batches.map((b) => b.maxlen));
    if (batches.some((b) => b.maxlen !== T)) batches = batches.map((b) => padBatch(b, T));
    const lrs = Float32Array.from({ length: k }, (_, i) => lrAt(opts.schedule, session.step + i + 1));
    const { losses, gradNorms } = fused ? await session.fusedSteps(stackBatches(batches, run.batchSpecs), lrs) : await parallelStep(run, batches[0], lrs[0]);
    for (let i = 0; i < k; i++) {
      const step = session.step - k + i + 1;
      if (!Number.isFinite(losses[i])) {
        const kept = run.savedStep === null ? 'no checkpoint of this run was written yet' : `the last good checkpoint is ${run.paths.last} (step ${run.savedStep})`;
        throw new TrainError(`non-finite loss (${losses[i]}) at step ${step}; stopped without saving it; ${kept}. Lower --lr or check the data`);
      }
      run.logger.write({ type: 'step', step, epoch: run.epoch + 1, loss: losses[i], grad_norm: gradNorms[i], lr: lrs[i], tokens: batches[i].realTokens, ...(fused ? {} : run.stepTiming) });
      loss += losses[i];
      tokens += batches[i].realTokens;
      run.lastLoss = losses[i];
    }
    done += k;
    run.stepInEpoch += k;
    const secs = (Date.now() - epochStart) / 1000;
    progress.update(run.stepInEpoch, { loss: ((earlierSum + loss) / (earlier.length + done)).toFixed(4), 'tok/s': Math.round(tokens / Math.max(secs, 1e-9)) });
    if (opts.checkpointEvery > 0 && session.step % opts.checkpointEvery < k && run.stepInEpoch < steps) saveRun(run, run.paths.last);
  }
  progress.finish();
  run.tokens += tokens;
  if (run.stepInEpoch < steps) {
    run.stoppedBy ??= 'max steps';
    return null;
  }
  const epochLoss = earlier.length + done ? (earlierSum + loss) / (earlier.length + done) : null;
  return { loss: epochLoss, seconds: (Date.now() - epochStart) / 1000, tokens, stepsBefore: earlier.length };
}

/** Losses of epoch `epoch`'s steps up to `lastStep` in a train.jsonl (a re-logged step counts once, its latest record). */
function loggedLosses(path: string, epoch: number, lastStep: number): number[] {
  const byStep = new Map<number, number>();
  for (const r of readJsonl(path, { skipInvalid: true }) as { type?: string; epoch?: number; step?: number; loss?: number }[]) {
    if (r?.type === 'step' && r.epoch === epoch && typeof r.step === 'number' && r.step <= lastStep && typeof r.loss === 'number') byStep.set(r.step, r.loss);
  }
  return [...byStep.values()];
}

/**
 * One optimizer step on a global batch: this rank's micro-batches, gradients allreduced
 * weighted by target counts, the same AdamW step on every rank (distributedStep).
 */
async function parallelStep(run: Run, batch: TrainBatch, lr: number): Promise<{ losses: Float32Array; gradNorms: Float32Array }> {
  // Several ranks exchange only the item-embedding rows the global batch touched, where the loss allows it.
  const sparseRows = run.collective.size > 1 ? sparseRowsFor(run.session, batch) : undefined;
  const t0 = performance.now();
  const c0 = run.collectiveMs?.() ?? 0;
  const r = await distributedStep(run.session, run.collective, microBatches(batch, run.session, run.collective, run.gradAccum), batch.realTokens, lr, { sparseRows, optimizer: run.zero ?? undefined });
  if (run.collective.size > 1 && run.collectiveMs) run.stepTiming = { step_ms: performance.now() - t0, allreduce_ms: run.collectiveMs() - c0 };
  return { losses: Float32Array.of(r.loss), gradNorms: Float32Array.of(r.gradNorm) };
}

/** Ends an epoch: validation (keeping best.ckpt), early stopping, the epoch record and last.ckpt. */
async function endEpoch(run: Run, result: EpochResult): Promise<void> {
  const { opts, meta } = run;
  run.epoch += 1;
  run.stepInEpoch = 0;
  const record: Record<string, unknown> = { type: 'epoch', epoch: run.epoch, step: run.session.step, loss: result.loss, seconds: result.seconds, tokens_per_s: result.tokens / Math.max(result.seconds, 1e-9) };
  // seconds and tokens_per_s then cover only the steps after the resume.
  if (result.stepsBefore) record.steps_before_resume = result.stepsBefore;
  const lossText = `epoch ${run.epoch}: loss ${(result.loss as number).toFixed(4)}`;
  // The recipe's last epoch is always validated, so the exported model is chosen on validation
  // whatever --eval-every (e.g. 70 epochs validated every 2: epoch 70 is, 71 would be too).
  if (validatedEpoch(run.epoch, run.evalEvery, opts.epochs)) {
    // Rank 0 validates; the others learn its verdict (a new best, early stop) by broadcast.
    let best = false;
    if (run.collective.rank === 0) {
      // Training and validation each keep an onnxruntime arena at its peak. When both do not fit
      // comfortably, holding only the one in use makes the run's peak the larger of the two, not
      // their sum, at the price of a slow first step after each pass (README, "Memory"). A
      // released session is reopened when the next epoch starts, if one does.
      const validStart = Date.now();
      if (!run.holdTrainingDuringValidation) await run.session.release();
      const infer = await createSession(join(opts.dir, GRAPH_FILES.inference_graph), opts.device ?? 'cpu', { threads: opts.threads, cudaLibDir: opts.cudaLibDir });
      let valid: RankingMetrics;
      try {
        valid = await validate(infer, run.session, run.split, run.bucket);
      } finally {
        await infer.release();
      }
      run.validSeconds = (Date.now() - validStart) / 1000;
      record.valid = valid;
      record.valid_seconds = run.validSeconds;
      const ndcg = valid['ndcg@10'];
      best = meta.best === null || ndcg > meta.best.metrics['ndcg@10'];
      if (best) Object.assign(meta, { best: { epoch: run.epoch, metrics: valid }, badEvals: 0 });
      else meta.badEvals += 1;
      run.say(`${lossText}, valid NDCG@10 ${ndcg.toFixed(4)} HR@10 ${valid['hr@10'].toFixed(4)}${best ? ' (best)' : ''}, ${result.seconds.toFixed(1)} s`);
    }
    if (agree(run.collective, best)) saveRun(run, run.paths.best);
    if (agree(run.collective, opts.patience > 0 && meta.badEvals >= opts.patience)) run.stoppedBy = 'patience';
  } else {
    run.say(`${lossText}, ${result.seconds.toFixed(1)} s`);
  }
  // When the record is written (after validation): wall clock, and seconds since this process
  // started the run (bench/lib/time-to-quality.ts reads when validation first reached a quality).
  Object.assign(record, { time: new Date().toISOString(), elapsed_s: (Date.now() - run.started) / 1000 });
  run.logger.write(record);
  saveRun(run, run.paths.last);
}

/** Saves a mid-epoch position, exports inference.onnx from the best checkpoint (else the last) and logs the summary. */
function finishRun(run: Run): TrainSummary {
  const { session, paths, meta } = run;
  if (run.stepInEpoch > 0) saveRun(run, paths.last);
  const lastStep = session.step;
  const exportFrom = meta.best !== null && existsSync(paths.best) ? paths.best : paths.last;
  const exported = run.collective.rank === 0 && exportFrom === paths.best ? session.loadCheckpoint(paths.best) : null;
  // The exported checkpoint's epoch, as its step: the same weights exported again (a resume that
  // found no better epoch) give the same file, whose saved evaluations then still apply.
  if (run.collective.rank === 0) session.exportModelForInferencing(paths.inference, { checkpoint: basename(exportFrom), epochs: String(exported ? exported.epoch : run.epoch), step: String(session.step), data_fingerprint: meta.recipe.data, ...(meta.recipe.content ? { data_content_fingerprint: meta.recipe.content } : {}), ...(meta.recipe.sideData ? { side_data_fingerprint: meta.recipe.sideData } : {}), ...(meta.recipe.trainOnValid ? { train_on_valid: 'true' } : {}), ...(meta.recipe.presplit ? { presplit: 'true' } : {}) });
  const seconds = (Date.now() - run.started) / 1000;
  const summary: TrainSummary = {
    steps: lastStep - run.startStep,
    lastStep,
    epochs: run.epoch,
    stoppedEarly: run.stoppedBy === 'patience',
    stoppedBy: run.stoppedBy ?? 'epochs',
    bestEpoch: meta.best?.epoch ?? null,
    best: meta.best?.metrics ?? null,
    lastLoss: run.lastLoss,
    seconds,
    tokensPerSecond: run.tokens / Math.max(seconds, 1e-9),
    checkpoint: exportFrom,
    inference: paths.inference,
    optimizerState: run.optimizerState,
  };
  run.logger.write({ type: 'end', ...summary });
  return summary;
}

/**
 * The training loop of the seed's recipe: leave-one-out split, one training row per user
 * drawn with replacement, K fused AdamW steps per onnxruntime call, validation NDCG@10 with
 * early stopping, atomic best/last checkpoints, and exact resumption (sampler state, step and
 * dropout keys are restored).
 * Throws TrainError (wrong data, a conflicting --resume, a non-finite loss), LockError
 * (another process trains in the folder) and CheckpointError.
 */
export async function train(opts: TrainOptions): Promise<TrainSummary> {
  // Collective calls are timed (two clock reads each) for the allreduce share of a step.
  const timer = timeCollective(opts.collective ?? openCollective());
  const collective = timer.collective;
  const run = await openRun(opts, collective);
  run.collectiveMs = timer.elapsedMs;
  // Ctrl-C (or SIGTERM) in one process: finish the steps in flight, save the position, export,
  // and say how to continue. Under mpirun, mpirun handles signals.
  const onSignal = (signal: NodeJS.Signals) => {
    run.interrupted = true;
    // A signal after this handler ran (its line is printed) takes the default action and ends
    // the process at once, even inside an onnxruntime call (which holds the JS thread, so no
    // handler could run before it returns). Signals that arrive within one call, before the
    // handler ran, reach it as one.
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, onSignal);
    const last = run.savedStep === null ? 'no checkpoint of this run was written yet' : `the run then continues from its last checkpoint, step ${run.savedStep}${opts.resumeCommand ? ', with:' : ''}`;
    // The command on a line of its own so that it can be pasted as it is; one write with its
    // line, so that a reader of the pipe never sees the line without the command.
    const command = run.savedStep !== null && opts.resumeCommand ? `  ${opts.resumeCommand}\n` : '';
    process.stderr.write(`\n${signal}: stopping after the current steps and saving the run; again to quit at once without saving (${last})\n${command}`);
  };
  if (collective.size === 1) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);
  try {
    while (run.stoppedBy === null) {
      await signalsDelivered();
      const stop = stopBeforeEpoch(run.epoch, run.meta.recipe.epochs, run.interrupted);
      if (stop) run.stoppedBy = stop;
      // Rank 0's clock decides, so that every rank starts the same epochs.
      else if (agree(collective, opts.maxSeconds !== undefined && (Date.now() - run.started) / 1000 >= opts.maxSeconds)) run.stoppedBy = 'time limit';
      else {
        const result = await trainEpoch(run);
        if (result) await endEpoch(run, result);
      }
    }
    const summary = finishRun(run);
    // Every rank ends the group together; a rank that fails skips this, and mpirun stops the others.
    collective.barrier();
    if (!opts.collective) collective.finalize();
    return summary;
  } finally {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, onSignal);
    run.logger.close();
    await run.zero?.release();
    await run.session.release();
    run.releaseLock();
  }
}
