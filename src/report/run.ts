// Reads a training run folder (manifest.json, train.jsonl, eval.jsonl) into plain series for the
// report. The log is append-only: a run restarted with --overwrite appends a new 'start' record,
// and a resumed run repeats the steps between its last checkpoint and the kill, so the series
// are taken from the last 'start' on, each step keeping its latest record.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Manifest, readManifest } from '../compiler/artifacts.js';
import { RUN_FILES, TrainSummary } from '../runtime/trainer.js';
import { readJsonl } from '../util/jsonl.js';
import { EvalRecord, readEvalRecords } from './eval-results.js';
import { ReclmError } from '../errors.js';
import { count } from '../util/plural.js';
import { shellQuote } from '../dist/mpirun.js';

/** One optimizer step as train.jsonl logs it. */
export interface StepPoint {
  step: number;
  epoch: number;
  /** Training loss of the batch (the compiled loss: BCE, sampled or full softmax CE). */
  loss: number;
  /** Exponential moving average of `loss`, debiased (see smoothEma). */
  loss_smoothed: number;
  /** Global L2 norm of the gradient before clipping. */
  grad_norm: number;
  lr: number;
  /** Non-padding positions of the batch. */
  tokens: number;
}

/** One finished epoch. */
export interface EpochPoint {
  epoch: number;
  step: number;
  /** Mean training loss over the epoch's steps (null for an epoch with no steps). */
  loss: number | null;
  /** Wall seconds of the epoch's training steps (validation excluded). */
  seconds: number;
  /** Real (non-padding) tokens per second over the epoch's training steps. */
  tokens_per_s: number;
  /** Validation NDCG@10 / HR@10 when the epoch was validated. */
  'ndcg@10'?: number;
  'hr@10'?: number;
}

/**
 * Where the run stands, as of its LAST invocation (the last 'start' or 'resume' record): finished
 * when an 'end' record follows it, else unfinished (still running, or killed). An end record of
 * an earlier invocation never describes a later one.
 */
export interface RunStatus {
  /** True when the last invocation wrote its end record. */
  finished: boolean;
  /** The end record's stop reason ('epochs' | 'patience' | 'time limit' | 'max steps' | 'interrupted'), or null. */
  stoppedBy: TrainSummary['stoppedBy'] | null;
  /** One or two sentences for the page: how and why the run stopped, or that it has not. */
  text: string;
  /** The same status in one line, as `reclm report` prints it. */
  line: string;
  /** The run's step where the log stops (optimizer steps since the fresh start); 0 before the first step. */
  lastStep: number;
  /** The epoch (1-based) of that step; 0 before the first step. */
  lastEpoch: number;
  /** Epochs finished (the last epoch record, or the end record's count). */
  epochsDone: number;
  /** The step the last invocation resumed from, or null when it was a fresh start. */
  resumedAt: number | null;
  /** Number of --resume segments since the last fresh start. */
  resumes: number;
  /** ISO time of the last fresh start. */
  startedAt: string | null;
  /** ISO time train.jsonl was last written. */
  lastWriteAt: string;
  /** The last invocation's end record (its `steps` count that invocation only; `lastStep` the run), or null. */
  summary: Partial<TrainSummary> | null;
}

export interface RunData {
  dir: string;
  manifest: Pick<Manifest, 'model' | 'loss' | 'config' | 'dataset' | 'recipe' | 'optimizer' | 'opset' | 'createdAt'> & { parameters: number };
  /** The training options of the last start/resume record (batch size, seed, lr schedule, ...). */
  options: Record<string, unknown>;
  steps: StepPoint[];
  epochs: EpochPoint[];
  /** The validated epoch with the highest NDCG@10 (the first of ties, as the trainer keeps it), or null. */
  best: { epoch: number; 'ndcg@10': number; 'hr@10': number } | null;
  status: RunStatus;
  /** Saved `reclm eval --save` results, oldest first. */
  evals: EvalRecord[];
  /** Saved results of an earlier export (train --resume re-exported the model since), left out. */
  staleEvals: number;
  /** 1-based numbers of train.jsonl lines skipped: not JSON (a run killed mid-write leaves one) or not a record (no `type`). */
  skippedLogLines: number[];
}

function savedEvals(dir: string): Pick<RunData, 'evals' | 'staleEvals'> {
  const { records, stale } = readEvalRecords(dir);
  return { evals: records, staleEvals: stale };
}

/** Default EMA weight of the smoothed loss; 0.9 averages over roughly the last 10 steps. */
export const DEFAULT_SMOOTHING = 0.9;

/** A run folder the report cannot read: a user error (one line, non-zero exit). */
export class ReportError extends ReclmError {}

/**
 * Debiased exponential moving average, as TensorBoard smooths scalar curves
 * (tensorboard/components/vz_line_chart2/line-chart.ts, `resmoothDataset`):
 * m_t = w·m_{t-1} + (1-w)·x_t with m_0 = 0, reported as m_t / (1 - w^t) so that the first
 * points are not pulled towards 0. Non-finite values are passed through and not accumulated.
 * @param values the raw series (any length)
 * @param weight w in [0, 1); 0 returns the series unchanged
 * @throws RangeError for a weight outside [0, 1)
 */
export function smoothEma(values: readonly number[], weight = DEFAULT_SMOOTHING): number[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`);
  let m = 0;
  let n = 0;
  return values.map((x) => {
    if (!Number.isFinite(x)) return x;
    m = weight * m + (1 - weight) * x;
    n += 1;
    return m / (1 - weight ** n);
  });
}

interface LogRecord {
  type: string;
  [key: string]: unknown;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN);

/** Short names of the stop reasons for the one-line status. */
const STOP_LABEL: Record<string, string> = { interrupted: 'interrupted' };

/**
 * The run's status from its records since the last fresh start: the page's text and the CLI's
 * line come from here, so that they never disagree.
 * @param dir the run's folder, named in the --resume command
 * @param records the log since the last 'start' record, in file order
 * @param lastWrite mtime of train.jsonl
 * @param best the best validated epoch since the last fresh start
 */
function describeStatus(dir: string, records: LogRecord[], lastWrite: Date, best: RunData['best']): Omit<RunStatus, 'resumes' | 'startedAt' | 'lastWriteAt'> {
  const lastIndexOf = (from: number, types: string[]) => {
    for (let i = records.length - 1; i >= from; i--) if (types.includes(records[i].type)) return i;
    return -1;
  };
  const lastOf = (from: number, types: string[]): LogRecord | undefined => records[lastIndexOf(from, types)];
  const invIndex = lastIndexOf(0, ['start', 'resume']);
  const invocation = invIndex >= 0 ? records[invIndex] : undefined;
  const from = invIndex + 1;
  const end = lastOf(from, ['end']);
  const resumedAt = invocation?.type === 'resume' ? num(invocation.step) : null;
  // A resumed invocation repeats the steps after its checkpoint: the records since it say where the run is.
  const lastRec = lastOf(from, ['step', 'epoch']);
  let lastStep = 0;
  let lastEpoch = 0;
  let where = 'no step yet';
  if (lastRec) {
    lastStep = num(lastRec.step);
    lastEpoch = num(lastRec.epoch);
    where = `step ${lastStep} of epoch ${lastEpoch}`;
  } else if (resumedAt !== null) {
    lastStep = resumedAt;
    where = `step ${lastStep}, where it resumed (no step trained since)`;
  }
  const lastEpochRec = lastOf(from, ['epoch']);
  const endEpochs = end ? num(end.epochs) : NaN;
  const epochsDone = Number.isFinite(endEpochs) ? endEpochs : lastEpochRec ? num(lastEpochRec.epoch) : invocation ? num(invocation.epoch) || 0 : 0;
  const totals = `${count(lastStep, 'step')}, ${count(epochsDone, 'epoch')}`;
  // The run's folder is known here; the data file is not recorded in the log (only its fingerprint).
  const continueWith = `reclm train ${shellQuote([dir])} --data FILE --resume, FILE being the data it trained on`;

  if (!end) {
    const ago = Math.max(0, (Date.now() - lastWrite.getTime()) / 60000);
    const since = resumedAt === null ? 'after the last start' : `after the last reclm train --resume (from step ${resumedAt})`;
    return {
      finished: false, stoppedBy: null, summary: null, lastStep, lastEpoch, epochsDone, resumedAt,
      text: `Unfinished run (no end record: still running, or killed): train.jsonl has no end record ${since}, so the run is still going, or it was killed or crashed before the end (last record: ${where}, written ${lastWrite.toISOString()}, ${ago < 1 ? 'under a minute' : `${ago.toFixed(0)} min`} ago; ${count(epochsDone, 'epoch')} done). It can be continued with ${continueWith}.`,
      line: `unfinished run (no end record: still running, or killed): ${lastRec || resumedAt !== null ? `last record at ${where}` : 'no step logged yet'}, ${count(epochsDone, 'epoch')} done${resumedAt === null ? '' : `; the last invocation was a --resume from step ${resumedAt}`}`,
    };
  }
  const { type: _t, ...summary } = end;
  const s = summary as unknown as TrainSummary;
  const why: Record<string, string> = {
    epochs: epochsDone === 1 ? 'it ran the 1 epoch it was given' : `it ran all ${epochsDone} epochs it was given`,
    patience: `early stopping: validation NDCG@10 did not improve after epoch ${s.bestEpoch} (--patience)`,
    'time limit': `the time limit (--time-limit) was reached after epoch ${epochsDone}`,
    'max steps': `the step limit (--max-steps) was reached at step ${lastStep}`,
    interrupted: `it was interrupted (Ctrl-C or SIGTERM) at step ${lastStep} and saved there; continue with ${continueWith}`,
  };
  const minutes = `${(num(s.seconds) / 60).toFixed(1)} min`;
  // The end record's `steps` are this invocation's; on a resume they differ from the run's step.
  const took = resumedAt === null ? ` in ${minutes}` : `; the last invocation (reclm train --resume from step ${resumedAt}) trained ${count(num(s.steps), 'step')} in ${minutes}`;
  const exportedFrom = typeof s.checkpoint === 'string' ? s.checkpoint.split(/[\\/]/).pop() : undefined;
  const bestEpoch = s.bestEpoch ?? best?.epoch;
  const exported = exportedFrom ? ` inference.onnx was exported from ${exportedFrom}${exportedFrom === RUN_FILES.best && bestEpoch != null ? ` (best validation, epoch ${bestEpoch})` : ''}.` : '';
  const label = STOP_LABEL[s.stoppedBy] ?? `stopped by ${s.stoppedBy ?? 'its end'}`;
  return {
    finished: true, stoppedBy: s.stoppedBy ?? null, summary: summary as Partial<TrainSummary>, lastStep, lastEpoch, epochsDone, resumedAt,
    text: `Finished: ${totals}${took}; stopped because ${why[s.stoppedBy] ?? s.stoppedBy}.${exported}`,
    line: `run ended (${label}): ${totals}${resumedAt === null ? '' : `; the last invocation (--resume from step ${resumedAt}) trained ${count(num(s.steps), 'step')}`}`,
  };
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;
/** A loss as the trainer writes it: a number, or null for a non-finite one (JSON has no NaN). */
const isLoss = (v: unknown): boolean => v === null || (typeof v === 'number' && Number.isFinite(v));

/**
 * True for a train.jsonl line the report can draw: an object with a string `type`, and for the
 * 'step' and 'epoch' records the fields the charts index by (integer step / epoch, a loss).
 * A record failing this is skipped and counted rather than drawn as NaN at a made-up x.
 */
function isLogRecord(r: unknown): r is LogRecord {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return false;
  const rec = r as LogRecord;
  if (typeof rec.type !== 'string') return false;
  if (rec.type === 'step') return isCount(rec.step) && isCount(rec.epoch) && isLoss(rec.loss);
  if (rec.type === 'epoch') return isCount(rec.epoch) && isCount(rec.step) && isLoss(rec.loss);
  return true;
}

/** One line on the train.jsonl lines `readRun` skipped, or '' when none: for the page and the command's summary. */
export function skippedLinesNote(run: Pick<RunData, 'dir' | 'skippedLogLines'>): string {
  const n = run.skippedLogLines;
  if (!n.length) return '';
  const shown = n.length > 5 ? `${n.slice(0, 5).join(', ')}, …` : n.join(', ');
  const one = n.length === 1;
  return `${count(n.length, 'line')} of ${join(run.dir, RUN_FILES.log)} ${one ? 'is' : 'are'} not a well-formed log record and ${one ? 'was' : 'were'} skipped (${one ? 'line' : 'lines'} ${shown}); ${one ? 'a run killed mid-write leaves a torn line' : 'a run killed mid-write leaves one torn line per kill, so more lines than kills point to something else writing to the file'}`;
}

/**
 * Reads a run folder written by `reclm compile` + `reclm train`.
 * @param dir the artifact folder (manifest.json; train.jsonl may be missing for a run not started)
 * @param smoothing EMA weight of the smoothed loss, in [0, 1)
 * @throws ArtifactError (a user error) when manifest.json is missing or unreadable, or train.jsonl is missing
 */
export function readRun(dir: string, smoothing = DEFAULT_SMOOTHING): RunData {
  // Not verified: the report only reads the config, and hashing every graph is slow.
  const manifest = readManifest(dir, false);
  const logPath = join(dir, RUN_FILES.log);
  if (!existsSync(logPath)) throw new ReportError(`${logPath} does not exist: no training run in ${dir} yet (run reclm train ${dir} --data FILE)`);
  // A run killed mid-write can leave a torn last line: skipped, and counted so the report can say so.
  const skippedLogLines: number[] = [];
  const all = readJsonl(logPath, { skipInvalid: true, keep: isLogRecord, onSkip: (line) => skippedLogLines.push(line) }) as LogRecord[];
  const lastStart = all.map((r) => r.type).lastIndexOf('start');
  const records = lastStart >= 0 ? all.slice(lastStart) : all;
  const starts = records.filter((r) => r.type === 'start' || r.type === 'resume');
  const options = { ...(starts.at(-1) ?? {}) };
  for (const k of ['type', 'step', 'epoch', 'time']) delete options[k];

  const byStep = new Map<number, LogRecord>();
  const byEpoch = new Map<number, LogRecord>();
  for (const r of records) {
    if (r.type === 'step') byStep.set(num(r.step), r);
    if (r.type === 'epoch') byEpoch.set(num(r.epoch), r);
  }
  const rawSteps = [...byStep.values()].sort((a, b) => num(a.step) - num(b.step));
  const smoothed = smoothEma(rawSteps.map((r) => num(r.loss)), smoothing);
  const steps: StepPoint[] = rawSteps.map((r, i) => ({
    step: num(r.step), epoch: num(r.epoch), loss: num(r.loss), loss_smoothed: smoothed[i], grad_norm: num(r.grad_norm), lr: num(r.lr), tokens: num(r.tokens),
  }));
  const epochs: EpochPoint[] = [...byEpoch.values()]
    .sort((a, b) => num(a.epoch) - num(b.epoch))
    .map((r) => {
      const p: EpochPoint = { epoch: num(r.epoch), step: num(r.step), loss: r.loss === null ? null : num(r.loss), seconds: num(r.seconds), tokens_per_s: num(r.tokens_per_s) };
      const v = r.valid as Record<string, unknown> | undefined;
      if (v) Object.assign(p, { 'ndcg@10': num(v['ndcg@10']), 'hr@10': num(v['hr@10']) });
      return p;
    });
  let best: RunData['best'] = null;
  for (const e of epochs) {
    if (e['ndcg@10'] !== undefined && (best === null || e['ndcg@10'] > best['ndcg@10'])) best = { epoch: e.epoch, 'ndcg@10': e['ndcg@10'], 'hr@10': e['hr@10']! };
  }
  const lastWrite = statSync(logPath).mtime;
  const status: RunStatus = {
    ...describeStatus(dir, records, lastWrite, best),
    resumes: records.filter((r) => r.type === 'resume').length,
    startedAt: typeof records[0]?.time === 'string' ? records[0].time : null,
    lastWriteAt: lastWrite.toISOString(),
  };
  const { model, loss, config, dataset, recipe, optimizer, opset, createdAt } = manifest;
  const parameters = manifest.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  return {
    dir,
    manifest: { model, loss, config, dataset, recipe, optimizer, opset, createdAt, parameters },
    options,
    steps,
    epochs,
    best,
    status,
    ...savedEvals(dir),
    skippedLogLines,
  };
}
