import { Args, Flags } from '@oclif/core';
import { join } from 'node:path';
import { ReclmCommand } from '../cli/base-command.js';
import { checkedStringFlag } from '../cli/flags.js';
import { UsageError } from '../errors.js';
import { buildReport, DEFAULT_SMOOTHING, REPORT_FILE, skippedLinesNote, writeReport } from '../report/index.js';

export default class Report extends ReclmCommand {
  static override summary = 'Write a run report: one self-contained HTML page with the training curves, validation and final metrics.';
  static override description = `Reads a run folder (manifest.json, train.jsonl, and the results of \`reclm eval DIR --data FILE --save\` in eval.jsonl) and writes one HTML page with no network request (inline CSS, charts as inline SVG rendered by vega-lite): the model and config; training loss per step (raw and smoothed), learning rate, gradient norm and real tokens/s; validation NDCG@10 / HR@10 per epoch with the best epoch marked; the final ranking metrics next to the most-popular baseline; how and why the run stopped.

Works on a run that is still going or was killed (train.jsonl has no end record), and says so on the page. --out replaces an earlier report but never another file.
--json prints the same series as one JSON object instead of writing the page (with --out, both).`;
  static override examples = [
    { description: 'Report of a finished run, written to artifacts/llama/report.html', command: '<%= config.bin %> report artifacts/llama' },
    { description: 'Rank the test split first so that the page shows the final metrics', command: '<%= config.bin %> eval artifacts/llama --data ml-1m.seq.txt.gz --save && <%= config.bin %> report artifacts/llama --out llama.html' },
    { description: 'A run still training: look at it now, and again later', command: '<%= config.bin %> report artifacts/hstu --out /tmp/hstu-now.html' },
    { description: 'The series as data (steps, epochs, best epoch, evaluations, status)', command: '<%= config.bin %> report artifacts/llama --json > run.json' },
  ];
  static override args = { dir: Args.string({ description: 'run folder (artifacts trained by `reclm train`)', required: true }) };
  static override flags = {
    out: Flags.string({ description: `HTML file to write (default: DIR/${REPORT_FILE})` }),
    smoothing: checkedStringFlag(parseSmoothing)({ description: `weight of the loss curve's exponential moving average, in [0, 1)`, default: String(DEFAULT_SMOOTHING) }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(Report);
    const json = this.jsonEnabled();
    const smoothing = parseSmoothing(flags.smoothing);
    const { html, run } = await buildReport(args.dir, { smoothing });
    const write = !json || flags.out !== undefined;
    const out = write ? writeReport(args.dir, html, flags.out ?? join(args.dir, REPORT_FILE)) : null;
    const warned = run.evals.filter((e) => e.warnings?.length).length;
    this.log(`${run.status.line}${run.best ? `, best validation NDCG@10 ${run.best['ndcg@10'].toFixed(4)} at epoch ${run.best.epoch}` : ''}, ${run.evals.length} saved evaluation(s)${warned ? `, ${warned} with warnings (shown beside their numbers)` : ''}${run.staleEvals ? `, ${run.staleEvals} of an earlier export left out` : ''}`);
    const skipped = skippedLinesNote(run);
    if (skipped) this.warn(skipped);
    this.log(`wrote ${out}`);
    return { out, ...run };
  }
}

/** Parses `--smoothing`: the loss curve's moving-average weight, a number in [0, 1); throws a UsageError. */
function parseSmoothing(text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !(v >= 0 && v < 1)) throw new UsageError(`--smoothing must be a number in [0, 1), got '${text}'`);
  return v;
}
