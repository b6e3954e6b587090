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

/** Where the run stands: finished (an 'end' record), or no end record (still going, or killed). */
export interface RunStatus {
  finished: boolean;
  /** 'epochs' | 'patience' | 'time limit' | 'max steps', from the end record. */
  stoppedBy: TrainSummary['stoppedBy'] | null;
  /** One or two sentences for the page: how and why the run stopped, or that it has not. */
  text: string;
  /** Number of --resume segments since the last fresh start. */
  resumes: number;
  /** ISO time of the last fresh start. */
  startedAt: string | null;
  /** ISO time train.jsonl was last written. */
  lastWriteAt: string;
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

function describeStop(records: LogRecord[], end: LogRecord | undefined, lastWrite: Date, best: RunData['best']): string {
  const lastStep = [...records].reverse().find((r) => r.type === 'step' || r.type === 'epoch');
  if (!end) {
    const ago = Math.max(0, (Date.now() - lastWrite.getTime()) / 60000);
    const where = lastStep ? `step ${num(lastStep.step)} of epoch ${num(lastStep.epoch)}` : 'no step yet';
    return `Not finished: train.jsonl has no end record. The run is still going, or it was killed or crashed before the end (last record: ${where}, written ${lastWrite.toISOString()}, ${ago < 1 ? 'under a minute' : `${ago.toFixed(0)} min`} ago). It can be continued with reclm train DIR --data FILE --resume.`;
  }
  const s = end as unknown as TrainSummary;
  const why: Record<string, string> = {
    epochs: s.epochs === 1 ? 'it ran the 1 epoch it was given' : `it ran all ${s.epochs} epochs it was given`,
    patience: `early stopping: validation NDCG@10 did not improve after epoch ${s.bestEpoch} (--patience)`,
    'time limit': `the time limit (--time-limit) was reached after epoch ${s.epochs}`,
    'max steps': `the step limit (--max-steps) was reached at step ${s.steps}`,
  };
  const exported = s.checkpoint ? ` inference.onnx was exported from ${s.checkpoint.split(/[\\/]/).pop()}${best ? ` (best validation, epoch ${best.epoch})` : ''}.` : '';
  return `Finished: ${count(s.steps, 'step')}, ${count(s.epochs, 'epoch')} in ${(num(s.seconds) / 60).toFixed(1)} min; stopped because ${why[s.stoppedBy] ?? s.stoppedBy}.${exported}`;
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
  // A run killed mid-write can leave a torn last line.
  const all = readJsonl(logPath, { skipInvalid: true }).filter((r): r is LogRecord => r !== null && typeof r === 'object' && typeof (r as LogRecord).type === 'string');
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
  const end = [...records].reverse().find((r) => r.type === 'end');
  const lastWrite = statSync(logPath).mtime;
  const { type: _t, ...summary } = end ?? { type: '' };
  const status: RunStatus = {
    finished: end !== undefined,
    stoppedBy: end ? (end.stoppedBy as TrainSummary['stoppedBy']) : null,
    text: describeStop(records, end, lastWrite, best),
    resumes: records.filter((r) => r.type === 'resume').length,
    startedAt: typeof records[0]?.time === 'string' ? records[0].time : null,
    lastWriteAt: lastWrite.toISOString(),
    summary: end ? (summary as Partial<TrainSummary>) : null,
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
    evals: readEvalRecords(dir),
  };
}
