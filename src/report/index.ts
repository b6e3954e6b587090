// `reclm report`: a run folder → one self-contained HTML page (inline SVG charts) or its data.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { finalSpec, gradNormSpec, lossSpec, lrSpec, renderSvg, throughputSpec, validationSpec } from './charts.js';
import { ChartSlot, GENERATOR, reportHtml } from './html.js';
import { DEFAULT_SMOOTHING, readRun, ReportError, RunData } from './run.js';
import { RUN_FILES } from '../contract/artifacts.js';

export { readRun, skippedLinesNote, smoothEma, ReportError, DEFAULT_SMOOTHING, type RunData, type StepPoint, type EpochPoint, type RunStatus } from './run.js';
export { saveEvalResult, readEvalRecords, EVAL_LOG, type EvalRecord } from './eval-results.js';
export { renderSvg, validationSpec } from './charts.js';

export const REPORT_FILE = RUN_FILES.report;

/**
 * Renders every chart of the report that has data; charts without data carry the reason instead.
 * Ids: loss, lr, grad_norm, throughput, validation, final-0 … final-(evals-1).
 */
export async function renderCharts(run: RunData, smoothing = DEFAULT_SMOOTHING): Promise<Map<string, ChartSlot>> {
  const slots = new Map<string, ChartSlot>();
  const add = async (id: string, ok: boolean, spec: () => Parameters<typeof renderSvg>[0], caption: string, missing: string) => {
    slots.set(id, ok ? { id, svg: await renderSvg(spec()), caption } : { id, missing });
  };
  const hasSteps = run.steps.length > 0;
  const noStep = 'No training step logged yet.';
  const clip = run.manifest.optimizer?.maxGradNorm;
  await add('loss', hasSteps, () => lossSpec(run.steps, run.epochs, smoothing), `The training loss of each step (thin) and its exponential moving average (thick, weight ${smoothing}, debiased as TensorBoard does); dashed lines: epoch ends.`, noStep);
  await add('lr', hasSteps, () => lrSpec(run.steps), 'The learning rate AdamW was given at each step (warm-up and decay of the schedule).', noStep);
  await add('grad_norm', hasSteps, () => gradNormSpec(run.steps, clip), `Global L2 norm of the gradient at each step, before clipping${clip ? `; dashed: the clipping threshold ${clip}` : ''}.`, noStep);
  await add('throughput', run.epochs.length > 0, () => throughputSpec(run.epochs), 'Real (non-padding) tokens per second of the training steps of each epoch, validation excluded.', 'No epoch finished yet.');
  const validated = run.epochs.some((e) => e['ndcg@10'] !== undefined);
  const why = run.options.trainOnValid ? 'Trained with --train-on-valid: no validation.' : run.epochs.length ? 'No epoch was validated (--eval-every).' : 'No epoch finished yet.';
  await add('validation', validated, () => validationSpec(run.epochs, run.best), 'NDCG@10 and HR@10 on the validation split (full ranking, leave-one-out) after each validated epoch; dashed: the best epoch by NDCG@10, whose checkpoint is best.ckpt.', why);
  for (const [i, e] of run.evals.entries()) await add(`final-${i}`, true, () => finalSpec(e), `${e.protocol}; ${e.users.toLocaleString('en-US')} users. Grey: the most-popular baseline on the same split and candidates.`, '');
  return slots;
}

/**
 * Builds the report of a run folder.
 * @param dir artifact folder with manifest.json and train.jsonl (eval.jsonl optional)
 * @returns the page (UTF-8 HTML, no external resources) and the data its charts show
 * @throws ArtifactError (user error) when the folder holds no readable run
 */
export async function buildReport(dir: string, opts: { smoothing?: number; now?: Date } = {}): Promise<{ html: string; run: RunData }> {
  const smoothing = opts.smoothing ?? DEFAULT_SMOOTHING;
  const run = readRun(dir, smoothing);
  const charts = await renderCharts(run, smoothing);
  return { html: reportHtml(run, charts, (opts.now ?? new Date()).toISOString()), run };
}

/** True when `path` is a page this command wrote (its generator meta tag in the first 4 KiB). */
export function isReportFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('utf8').includes(`<meta name="generator" content="${GENERATOR} `);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes the page atomically to `out` (default DIR/report.html). Replaces an earlier report but
 * never another file.
 * @throws ArtifactError (user error) when `out` is a folder or a file reclm report did not write
 */
export function writeReport(dir: string, html: string, out = join(dir, REPORT_FILE)): string {
  if (existsSync(out)) {
    if (statSync(out).isDirectory()) throw new ReportError(`--out ${out} is a folder; give a file name such as ${join(out, REPORT_FILE)}`);
    if (!isReportFile(out)) throw new ReportError(`${out} exists and was not written by reclm report; refusing to overwrite it (choose another --out or remove it)`);
  }
  writeFileAtomic(out, html);
  return out;
}

/**
 * Whether writeValidationSvg may write `path`: it is absent, or a validation curve written before
 * (an SVG whose marks carry "validation metric" labels, as validationSpec draws them).
 */
export function validationSvgReplaceable(path: string): boolean {
  if (!existsSync(path)) return true;
  if (!statSync(path).isFile()) return false;
  const text = readFileSync(path, 'utf8');
  return text.startsWith('<svg') && text.includes('validation metric: ');
}

/**
 * Writes the validation curve (NDCG@10 / HR@10 per validated epoch, best epoch marked) of a run
 * folder as a standalone SVG file, atomically; bench/quality.ts puts one beside its results table.
 * @returns the path written, or null when the run validated no epoch (e.g. --train-on-valid)
 * @throws ArtifactError (user error) when the folder holds no readable run; ReportError when
 *   `path` holds something else than an earlier validation curve (validationSvgReplaceable)
 */
export async function writeValidationSvg(runDir: string, path: string, title: string): Promise<string | null> {
  if (!validationSvgReplaceable(path)) throw new ReportError(`${path} exists and is not a validation curve written by reclm; refusing to overwrite it`);
  const run = readRun(runDir);
  if (!run.epochs.some((e) => e['ndcg@10'] !== undefined)) return null;
  writeFileAtomic(path, await renderSvg(validationSpec(run.epochs, run.best, title)));
  return path;
}
