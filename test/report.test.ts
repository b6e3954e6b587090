// `reclm report`: the run reader (restarts, resumes, unfinished runs), the refusal to overwrite a
// foreign file, and the acceptance test: a report built from a short real training run, opened
// in headless Chromium (Debian's `chromium`, driven by playwright-core), must draw marks in every
// chart and make no network request. A screenshot of the page is kept in .tmp/test-artifacts/.
import { CommandHelp, Config } from '@oclif/core';
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import Compile from '../src/commands/compile.js';
import Eval from '../src/commands/eval.js';
import Report from '../src/commands/report.js';
import Train from '../src/commands/train.js';
import { buildReport, readRun, skippedLinesNote, smoothEma, writeReport } from '../src/report/index.js';
import { PACKAGE_ROOT, plainText, runCommand } from './helpers/cli.js';
import { trainTinyOn } from './helpers/trained.js';
import { tinyData } from './helpers/tiny-run.js';
import { writeBuiltinDataset } from '../src/data/builtin.js';

const tmp = mkdtempSync(join(tmpdir(), 'reclm-report-'));
const CHROMIUM = '/usr/bin/chromium';
/** Where the acceptance test leaves the page and its screenshot (git-ignored). */
const ARTIFACTS = join(PACKAGE_ROOT, '.tmp', 'test-artifacts');

/** A run folder with a real manifest (compiled, not trained) and a hand-written train.jsonl. */
async function fakeRun(name: string, log: object[], tail = ''): Promise<string> {
  const dir = join(tmp, name);
  const r = await runCommand(Compile, ['--preset', 'builtin', '--data', 'builtin', '--set', 'n_layers=1', '--out', dir]);
  expect(r.error, r.error?.message).to.equal(undefined);
  writeFileSync(join(dir, 'train.jsonl'), log.map((x) => JSON.stringify(x)).join('\n') + '\n' + tail);
  return dir;
}

const step = (s: number, loss: number, epoch = 1) => ({ type: 'step', step: s, epoch, loss, grad_norm: 1 + s / 10, lr: 1e-3, tokens: 100 });

describe('reclm report', function () {
  this.timeout(60000);

  describe('smoothEma', () => {
    it('is the debiased exponential moving average', () => {
      // w = 0.5: m = 0.5, 1.25, 2.125; divided by 1 - 0.5^t = 0.5, 0.75, 0.875.
      const s = smoothEma([1, 2, 3], 0.5);
      // 1e-12: a few float64 roundings of numbers near 1.
      [1, 1.25 / 0.75, 2.125 / 0.875].forEach((v, i) => expect(s[i]).to.be.closeTo(v, 1e-12));
      expect(smoothEma([4, 5, 6], 0)).to.deep.equal([4, 5, 6]);
      expect(() => smoothEma([1], 1)).to.throw(RangeError);
    });
  });

  describe('reading a run', () => {
    it('keeps the records since the last fresh start, the latest record of a repeated step, and flags a run with no end record', async () => {
      const dir = await fakeRun('unfinished', [
        { type: 'start', step: 0, epoch: 0, time: '2026-01-01T00:00:00Z', batchSize: 8, seed: 1 },
        step(1, 99), // an earlier run, started again with --overwrite
        { type: 'start', step: 0, epoch: 0, time: '2026-01-02T00:00:00Z', batchSize: 64, seed: 3 },
        step(1, 6.0), step(2, 5.0), step(3, 4.5),
        { type: 'resume', step: 2, epoch: 0, time: '2026-01-02T01:00:00Z', batchSize: 64, seed: 3 },
        step(3, 4.0), step(4, 3.5),
        { type: 'epoch', epoch: 1, step: 4, loss: 4.6, seconds: 2, tokens_per_s: 200, valid: { 'ndcg@10': 0.2, 'hr@10': 0.4, users: 10 } },
        [1, 2], // JSON, but no log record
        { type: 'step', epoch: 1, loss: 3 }, // a step record with no step: not drawn at a made-up x
        { type: 'step', step: 6, epoch: 1, loss: 'x' }, // a loss that is no number
      ], '{"type":"step","step":5,"ep'); // a torn last line, as a kill mid-write leaves it
      const run = readRun(dir);
      expect(run.steps.map((s) => [s.step, s.loss])).to.deep.equal([[1, 6], [2, 5], [3, 4], [4, 3.5]]);
      expect(run.options).to.include({ batchSize: 64, seed: 3 });
      expect(run.best).to.deep.equal({ epoch: 1, 'ndcg@10': 0.2, 'hr@10': 0.4 });
      expect(run.status).to.include({ finished: false, stoppedBy: null, resumes: 1, startedAt: '2026-01-02T00:00:00Z' });
      expect(run.status.text).to.match(/^Unfinished run \(no end record: still running, or killed\): .*last record: step 4 of epoch 1,/);
      const { html } = await buildReport(dir);
      expect(html).to.include('class="status unfinished"').and.include('Unfinished run (no end record: still running, or killed)');
      // The torn line is skipped, and said: on the page and as a warning of the command.
      expect(run.skippedLogLines).to.deep.equal([11, 12, 13, 14]);
      const note = `4 lines of ${join(dir, 'train.jsonl')} are not a well-formed log record and were skipped (lines 11, 12, 13, 14); a run killed mid-write leaves one torn line per kill, so more lines than kills point to something else writing to the file`;
      expect(html).to.include(`<p class="missing" id="skipped">${note}.</p>`);
      expect(skippedLinesNote({ dir: 'd', skippedLogLines: [3] })).to.equal(`1 line of ${join('d', 'train.jsonl')} is not a well-formed log record and was skipped (line 3); a run killed mid-write leaves a torn line`);
      const r = await runCommand(Report, [dir]);
      expect(r.error, r.error?.message).to.equal(undefined);
      expect(plainText(r.stderr)).to.include(`Warning: ${note}`);
    });

    it('a finished run of one step and one epoch is described in the singular', async () => {
      const dir = await fakeRun('one-epoch', [
        { type: 'start', step: 0, epoch: 0, time: '2026-01-02T00:00:00Z', batchSize: 64, seed: 1 },
        step(1, 6),
        { type: 'epoch', epoch: 1, step: 1, loss: 6, seconds: 2, tokens_per_s: 200 },
        { type: 'end', step: 1, epoch: 1, steps: 1, epochs: 1, seconds: 6, stoppedBy: 'epochs', checkpoint: 'last.ckpt' },
      ]);
      expect(readRun(dir).status.text).to.match(/^Finished: 1 step, 1 epoch in 0\.1 min; stopped because it ran the 1 epoch it was given\./);
      const r = await runCommand(Report, [dir]);
      expect(r.error, r.error?.message).to.equal(undefined);
      expect(r.stdout).to.include('run ended (stopped by epochs): 1 step, 1 epoch, 0 saved evaluation(s)');
      expect(readRun(dir).skippedLogLines).to.deep.equal([]);
      expect(r.stderr).to.not.include('not a well-formed log record');
    });

    describe('the status describes the last invocation', () => {
      const epochRec = (epoch: number, stepN: number, ndcg?: number) => ({ type: 'epoch', epoch, step: stepN, loss: 5, seconds: 1, tokens_per_s: 100, ...(ndcg === undefined ? {} : { valid: { 'ndcg@10': ndcg, 'hr@10': 2 * ndcg, users: 10 } }) });
      /** Step records a..b, `perEpoch` steps an epoch, with an epoch record at each epoch's last step. */
      const stepsThrough = (a: number, b: number, perEpoch: number, ndcg = (e: number) => e / 100) => {
        const out: object[] = [];
        for (let s = a; s <= b; s++) {
          const epoch = Math.ceil(s / perEpoch);
          out.push(step(s, 6 - s / 100, epoch));
          if (s % perEpoch === 0) out.push(epochRec(epoch, s, ndcg(epoch)));
        }
        return out;
      };

      it('a run killed before its first step says so in plain words', async () => {
        const dir = await fakeRun('no-step', [{ type: 'start', step: 0, epoch: 0, time: '2026-01-02T00:00:00Z', batchSize: 64, seed: 1 }]);
        expect(readRun(dir).status.line).to.equal('unfinished run (no end record: still running, or killed): no step logged yet, 0 epochs done');
      });

      it('a resume with no end record after it is unfinished, whatever an earlier invocation ended with', async () => {
        // A run stopped by --max-steps at step 16 (2 epochs of 8 steps), resumed, then killed at step 28.
        const dir = await fakeRun('resumed-killed', [
          { type: 'start', step: 0, epoch: 0, time: '2026-01-02T00:00:00Z', batchSize: 64, seed: 1 },
          ...stepsThrough(1, 16, 8),
          { type: 'end', steps: 16, lastStep: 16, epochs: 2, seconds: 30, stoppedBy: 'max steps', bestEpoch: 2, checkpoint: '/runs/x/best.ckpt' },
          { type: 'resume', step: 16, epoch: 2, time: '2026-01-02T01:00:00Z', batchSize: 64, seed: 1 },
          ...stepsThrough(17, 28, 8),
        ]);
        const run = readRun(dir);
        expect(run.status).to.include({ finished: false, stoppedBy: null, summary: null, lastStep: 28, lastEpoch: 4, epochsDone: 3, resumedAt: 16 });
        expect(run.status.text).to.match(/^Unfinished run \(no end record: still running, or killed\): .*last record: step 28 of epoch 4,/);
        expect(run.status.text).to.not.match(/Finished|exported|stopped because/);
        expect(run.status.line).to.equal('unfinished run (no end record: still running, or killed): last record at step 28 of epoch 4, 3 epochs done; the last invocation was a --resume from step 16');
        expect(run.status.text).to.include(`It can be continued with reclm train ${dir} --data FILE --resume, FILE being the data it trained on.`);
        const { html } = await buildReport(dir);
        expect(html).to.include('class="status unfinished"').and.include('no end record: still running, or killed');
        expect(html).to.not.include('Finished:').and.not.include('Summary (end record)').and.not.include('exported from');
        const r = await runCommand(Report, [dir]);
        expect(r.error, r.error?.message).to.equal(undefined);
        expect(r.stdout).to.include('unfinished run (no end record: still running, or killed): last record at step 28 of epoch 4, 3 epochs done; the last invocation was a --resume from step 16, best validation NDCG@10 0.0300 at epoch 3');
      });

      it("a resume that ended counts the run's steps, and that invocation's steps apart", async () => {
        // Interrupted (Ctrl-C) at step 5, then resumed with --max-steps 24 (10 steps an epoch).
        const dir = await fakeRun('interrupted-resumed', [
          { type: 'start', step: 0, epoch: 0, time: '2026-01-02T00:00:00Z', batchSize: 64, seed: 1 },
          ...stepsThrough(1, 5, 10),
          { type: 'end', steps: 5, lastStep: 5, epochs: 0, seconds: 3, stoppedBy: 'interrupted', bestEpoch: null, checkpoint: '/runs/x/last.ckpt' },
          { type: 'resume', step: 5, epoch: 0, time: '2026-01-02T01:00:00Z', batchSize: 64, seed: 1 },
          ...stepsThrough(6, 24, 10),
          { type: 'end', steps: 19, lastStep: 24, epochs: 2, seconds: 18, stoppedBy: 'max steps', bestEpoch: 2, checkpoint: '/runs/x/best.ckpt' },
        ]);
        const run = readRun(dir);
        expect(run.status).to.include({ finished: true, stoppedBy: 'max steps', lastStep: 24, lastEpoch: 3, epochsDone: 2, resumedAt: 5 });
        expect(run.status.summary).to.include({ steps: 19, lastStep: 24 });
        expect(run.status.text).to.equal('Finished: 24 steps, 2 epochs; the last invocation (reclm train --resume from step 5) trained 19 steps in 0.3 min; stopped because the step limit (--max-steps) was reached at step 24. inference.onnx was exported from best.ckpt (best validation, epoch 2).');
        expect(run.status.line).to.equal('run ended (stopped by max steps): 24 steps, 2 epochs; the last invocation (--resume from step 5) trained 19 steps');
        const { html } = await buildReport(dir);
        expect(html).to.include('class="status finished"').and.include('Finished: 24 steps, 2 epochs; the last invocation');
        expect(html).to.include('<tr><th>steps (last invocation)</th><td>19</td></tr>').and.include('<tr><th>last step (run)</th><td>24</td></tr>');
        const r = await runCommand(Report, [dir]);
        expect(r.error, r.error?.message).to.equal(undefined);
        expect(r.stdout).to.include('run ended (stopped by max steps): 24 steps, 2 epochs; the last invocation (--resume from step 5) trained 19 steps, best validation NDCG@10 0.0200 at epoch 2');
      });

      it('an interrupted run says where it was saved and how to continue', async () => {
        const dir = await fakeRun('interrupted', [
          { type: 'start', step: 0, epoch: 0, time: '2026-01-02T00:00:00Z', batchSize: 64, seed: 1 },
          ...stepsThrough(1, 5, 10),
          { type: 'end', steps: 5, lastStep: 5, epochs: 0, seconds: 3, stoppedBy: 'interrupted', bestEpoch: null, checkpoint: '/runs/x/last.ckpt' },
        ]);
        const run = readRun(dir);
        // The folder is named (the log does not record the data file's path, only its fingerprint).
        expect(run.status.text).to.equal(`Finished: 5 steps, 0 epochs in 0.1 min; stopped because it was interrupted (Ctrl-C or SIGTERM) at step 5 and saved there; continue with reclm train ${dir} --data FILE --resume, FILE being the data it trained on. inference.onnx was exported from last.ckpt.`);
        expect(run.status.line).to.equal('run ended (interrupted): 5 steps, 0 epochs');
      });
    });

    it('--json prints the series; a folder with no train.jsonl is one clear error line', async () => {
      const dir = await fakeRun('json', [{ type: 'start', step: 0, epoch: 0, time: '2026-01-02T00:00:00Z', batchSize: 64, seed: 1 }, step(1, 6), step(2, 5)]);
      const r = await runCommand(Report, [dir, '--json']);
      expect(r.error, r.error?.message).to.equal(undefined);
      const data = JSON.parse(r.stdout);
      expect(data.out).to.equal(null);
      expect(data.steps.map((s: { loss: number }) => s.loss)).to.deep.equal([6, 5]);
      expect(existsSync(join(dir, 'report.html')), '--json alone writes no page').to.equal(false);
      const empty = join(tmp, 'json-empty');
      await runCommand(Compile, ['--preset', 'builtin', '--data', 'builtin', '--set', 'n_layers=1', '--out', empty]);
      const e = await runCommand(Report, [empty]);
      expect(e.exitCode).to.equal(1);
      expect(e.error!.message).to.match(/train\.jsonl does not exist: no training run in .* yet/).and.not.include('\n');
      // A flag value out of range is refused as the flags are parsed (exit 2), before the folder is read.
      const s = await runCommand(Report, [empty, '--smoothing', '1']);
      expect([s.exitCode, s.error?.message]).to.deep.equal([2, "--smoothing must be a number in [0, 1), got '1'"]);
    });

    it('shows the latest saved evaluation of each model file, data file, split and protocol, naming the data', async () => {
      const dir = await fakeRun('evals', [{ type: 'start', step: 0, epoch: 0, time: '2026-01-02T00:00:00Z' }, step(1, 6)]);
      const ev = (time: string, protocol: string, hr: number, data = 'builtin') => ({ type: 'eval', time, model: join(dir, 'inference.onnx'), data, split: 'test', protocol, users: 10, metrics: { 'hr@10': hr, mrr: 0.1 }, popularity: { 'hr@10': 0.05, mrr: 0.01 } });
      const warning = 'other.txt is not the data this run was trained on';
      const records = [ev('t1', 'full', 0.1), ev('t2', 'sampled', 0.5), ev('t3', 'full', 0.2), { ...ev('t4', 'full', 0.3, 'other.txt'), warnings: [warning] }];
      // Another model file of the same folder, on the same data and protocol, and the same model named by a relative path.
      const other = { ...ev('t5', 'full', 0.4), model: join(dir, 'pruned.onnx') };
      const relative = { ...ev('t6', 'sampled', 0.6), model: 'inference.onnx' };
      // One data file spelled two ways (`../d/ml.txt` from one folder, `/x/d/ml.txt` from another): one result, the later.
      const spelled = [{ ...ev('t7', 'full', 0.7, '../d/ml.txt'), dataPath: '/x/d/ml.txt' }, { ...ev('t8', 'full', 0.8, '/x/d/ml.txt'), dataPath: '/x/d/ml.txt' }];
      // Another positive rule, or other cut-offs, rank other targets or report other metrics: kept apart, not replaced.
      const ruled = { ...ev('t9', 'full', 0.9), positive: 'rating>=4' };
      const cutoffs = { ...ev('t10', 'full', 0.95), metrics: { 'hr@5': 0.5, mrr: 0.1 } };
      // A result of an earlier export (its hash is not the model file's now; here the file is gone): left out, counted.
      const earlier = { ...ev('t11', 'full', 0.99), modelSha256: 'e'.repeat(64) };
      writeFileSync(join(dir, 'eval.jsonl'), [...records, other, relative, ...spelled, ruled, cutoffs, earlier].map((x) => JSON.stringify(x)).join('\n') + '\n');
      const run = readRun(dir);
      expect(run.evals.map((e) => [e.data, e.protocol, e.metrics['hr@10'] ?? e.metrics['hr@5']])).to.deep.equal([['builtin', 'full', 0.2], ['other.txt', 'full', 0.3], ['builtin', 'full', 0.4], ['builtin', 'sampled', 0.6], ['/x/d/ml.txt', 'full', 0.8], ['builtin', 'full', 0.9], ['builtin', 'full', 0.5]]);
      expect(run.staleEvals).to.equal(1);
      writeFileSync(join(dir, 'eval.jsonl'), records.map((x) => JSON.stringify(x)).join('\n') + '\n');
      const { html } = await buildReport(dir);
      expect(html).to.include('data-chart="final-2"').and.not.include('data-chart="final-3"');
      expect(html).to.include('test split of other.txt, full').and.include('test split of builtin, full');
      // eval's warning is shown with the numbers it qualifies, and only with them.
      expect(html.split('<p class="warn">').length - 1).to.equal(1);
      expect(html).to.match(new RegExp(`test split of other\\.txt, full.*<p class="warn">Warning: ${warning}</p><table`));
    });

    it('leaves out the saved evaluations of an earlier export: train --resume exports another model', async () => {
      const dir = await trainTinyOn('llama-sasrec', tinyData());
      const data = join(dir, 'tiny.txt');
      writeBuiltinDataset(data, tinyData());
      expect((await runCommand(Eval, [dir, '--data', data, '--threads', '1', '--save'])).error).to.equal(undefined);
      expect(readRun(dir).evals).to.have.length(1);
      // A constant lr allows more epochs on resume: a new inference.onnx from later weights.
      const resumed = await runCommand(Train, [dir, '--data', data, '--resume', '--epochs', '2', '--threads', '1']);
      expect(resumed.error, resumed.error?.message).to.equal(undefined);
      const after = readRun(dir);
      // Before, the report showed the first export's numbers as the final metrics of the new model.
      expect([after.evals.length, after.staleEvals]).to.deep.equal([0, 1]);
      expect((await runCommand(Report, [dir])).stdout).to.include('0 saved evaluation(s), 1 of an earlier export left out');
      expect((await runCommand(Eval, [dir, '--data', data, '--threads', '1', '--save'])).error).to.equal(undefined);
      expect([readRun(dir).evals.length, readRun(dir).staleEvals]).to.deep.equal([1, 1]);
    });

    it('replaces an earlier report but refuses to overwrite any other file at --out', async () => {
      const dir = await fakeRun('overwrite', [{ type: 'start', step: 0, epoch: 0, time: '2026-01-02T00:00:00Z' }, step(1, 6)]);
      const { html } = await buildReport(dir);
      const out = writeReport(dir, html);
      expect(out).to.equal(join(dir, 'report.html'));
      expect(writeReport(dir, html.replace('</body>', '<!-- again --></body>'))).to.equal(out);
      expect(readFileSync(out, 'utf8')).to.include('<!-- again -->');
      const foreign = join(tmp, 'notes.html');
      writeFileSync(foreign, '<html>my notes</html>');
      const r = await runCommand(Report, [dir, '--out', foreign]);
      expect(r.exitCode).to.equal(1);
      expect(r.error!.message).to.equal(`${foreign} exists and was not written by reclm report; refusing to overwrite it (choose another --out or remove it)`);
      expect(readFileSync(foreign, 'utf8')).to.equal('<html>my notes</html>');
    });
  });

  it('--help has a summary, examples and a description of every flag', async () => {
    const config = await Config.load(PACKAGE_ROOT);
    // As oclif's manifest gives them to the help renderer: flags and args carry their names.
    const named = (o: Record<string, object>) => Object.fromEntries(Object.entries(o).map(([name, f]) => [name, { ...f, name }]));
    const loadable = { id: 'report', summary: Report.summary, description: Report.description, examples: Report.examples, flags: named(Report.flags), args: named(Report.args), aliases: [], hiddenAliases: [], load: async () => Report };
    const text = new CommandHelp(loadable as never, config, { maxWidth: 100 } as never).generate();
    for (const part of ['USAGE', 'FLAGS', 'EXAMPLES', '$ reclm report DIR', '--out=<value>', '--json', '--smoothing', 'eval.jsonl', '$ reclm report artifacts/llama --json']) expect(text).to.include(part);
  });

  describe('acceptance: a real run in a real browser', function () {
    // Compile + 3 epochs on the built-in data + eval + Chromium took 12 s for this whole file on
    // 2 idle cores and about 2 min under a load average of 20; 10 minutes leaves room for a
    // loaded CI machine.
    this.timeout(600000);
    const run = join(tmp, 'real');
    let page: string;
    let context: BrowserContext;
    const requests: string[] = [];

    before(async () => {
      if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), as .ci/run does`);
      for (const [cmd, argv] of [
        [Compile, ['--preset', 'builtin', '--data', 'builtin', '--out', run]],
        [Train, [run, '--data', 'builtin', '--epochs', '3', '--eval-every', '1', '--threads', '1', '--json']],
        [Eval, [run, '--data', 'builtin', '--threads', '1', '--save']],
        [Report, [run]],
      ] as const) {
        const r = await runCommand(cmd, [...argv]);
        expect(r.error, `${cmd.name}: ${r.error?.message}`).to.equal(undefined);
      }
      page = join(run, 'report.html');
      mkdirSync(ARTIFACTS, { recursive: true });
      copyFileSync(page, join(ARTIFACTS, 'report.html'));
      context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'reclm-chromium-')), {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1320, height: 900 },
      });
      // Record every request; let only file:// loads through, so a page that did reach out
      // would fail here rather than hang on the network.
      context.on('request', (req) => requests.push(req.url()));
      await context.route('**/*', (route) => (route.request().url().startsWith('file://') ? route.continue() : route.abort()));
    });

    after(async () => {
      await context?.close();
    });

    it('the request recorder sees a request a page makes (control)', async () => {
      const control = join(tmp, 'control.html');
      writeFileSync(control, '<!doctype html><img src="http://example.invalid/x.png">');
      const p = await context.newPage();
      const seen: string[] = [];
      p.on('request', (r) => seen.push(r.url()));
      await p.goto(pathToFileURL(control).href, { waitUntil: 'load' });
      await p.close();
      expect(seen).to.include('http://example.invalid/x.png');
      requests.length = 0;
    });

    it('draws marks in every chart, makes no network request, and is kept as a screenshot', async () => {
      const url = pathToFileURL(page).href;
      const p = await context.newPage();
      await p.goto(url, { waitUntil: 'load' });
      const charts = await p.$$eval('figure.chart', (figs) =>
        figs.map((f) => {
          // Data marks only (vega's role-mark groups), not axes, grid lines or legends.
          const marks = [...f.querySelectorAll('g.role-mark.mark-line path, g.role-mark.mark-rect path, g.role-mark.mark-symbol path')] as SVGPathElement[];
          const drawn = marks.filter((m) => {
            const b = m.getBBox();
            return (m.getAttribute('d') ?? '').length > 2 && b.width + b.height > 0;
          });
          return { id: f.getAttribute('data-chart'), marks: marks.length, drawn: drawn.length, width: f.querySelector('svg')!.getBoundingClientRect().width };
        }),
      );
      await p.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
      const missing = await p.$$eval('[data-chart-missing]', (els) => els.map((e) => e.getAttribute('data-chart-missing')));
      const status = await p.textContent('#status');
      await p.close();

      expect(missing, 'charts without data').to.deep.equal([]);
      expect(charts.map((c) => c.id)).to.deep.equal(['loss', 'lr', 'grad_norm', 'throughput', 'validation', 'final-0']);
      for (const c of charts) {
        expect(c.drawn, `${c.id}: drawn marks`).to.be.above(0);
        expect(c.drawn, `${c.id}: every data mark has geometry`).to.equal(c.marks);
        expect(c.width, `${c.id}: rendered width`).to.be.above(300);
      }
      expect(status).to.match(/^Finished: \d+ steps, 3 epochs/);
      expect(requests, 'requests besides the page itself').to.deep.equal([url]);
      expect(existsSync(join(ARTIFACTS, 'report.png'))).to.equal(true);
    });
  });
});
