// The oclif commands, run in-process as `reclm ...` would run them (test/helpers/cli.ts): the main
// job on a tiny config, and bad input, which must end in one clear line with a non-zero exit code
// (oclif prints a CLIError as "Error: <message>", without a stack trace) and leave no partial
// artifact folder behind.
import { CommandHelp, Config, Errors } from '@oclif/core';
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import Compile from '../src/commands/compile.js';
import DataFilter from '../src/commands/data/filter.js';
import DataStats from '../src/commands/data/stats.js';
import Eval from '../src/commands/eval.js';
import Train from '../src/commands/train.js';
import Presets from '../src/commands/presets.js';
import { PRESETS, presetNamed } from '../graphs/presets.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { writeBuiltinDataset } from '../src/data/builtin.js';
import { PACKAGE_ROOT, plainText, runCommand, type CliResult } from './helpers/cli.js';
import { capThreads } from '../src/cli/flags.js';
import ReclmHelp from '../src/cli/help.js';
import HelpCommand from '../src/commands/help.js';
import { tinyData } from './helpers/tiny-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'reclm-cli-'));
const DATA = join(tmp, 'tiny.txt');
const TINY = ['--model', 'llama-sasrec', '--loss', 'bce', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'maxlen=12', '--set', 'multiple_of=8'];

/** A fresh, empty parent folder and the --out path inside it. */
function freshOut(): { parent: string; out: string } {
  const parent = mkdtempSync(join(tmp, 'out-'));
  return { parent, out: join(parent, 'art') };
}

/** A user error as reclm reports it: exit code, one line matching `pattern`, nothing on stdout. */
function expectUserError(r: CliResult, exitCode: number, pattern: RegExp) {
  expect(r.error, 'expected the command to fail').to.not.equal(undefined);
  expect(r.error, `${r.error!.constructor.name}: ${r.error!.stack}`).to.be.instanceOf(Errors.CLIError);
  expect(r.error!.message).to.match(pattern);
  expect(r.error!.message, 'one line').to.not.include('\n');
  expect(r.error!.message, 'no stack trace').to.not.match(/\bat .*:\d+:\d+/);
  expect(r.exitCode).to.equal(exitCode);
  expect(r.stdout).to.equal('');
}

function write(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe('reclm command line', function () {
  this.timeout(60000);
  before(() => writeBuiltinDataset(DATA, tinyData()));

  describe('the main job', () => {
    let dir: string;

    it('compile --data builtin --json prints the manifest summary', async () => {
      const { out } = freshOut();
      const r = await runCommand(Compile, [...TINY, '--data', 'builtin', '--out', out, '--json']);
      expect(r.error, r.error?.message).to.equal(undefined);
      const s = JSON.parse(r.stdout);
      expect(s).to.include({ out, model: 'llama-sasrec', loss: 'bce', numItems: 500 });
      expect(s).to.not.have.property('labelSmoothing');
      const smoothed = JSON.parse((await runCommand(Compile, ['--model', 'llama-sasrec', '--loss', 'full-ce', ...TINY.slice(4), '--set', 'label_smoothing=0.1', '--data', 'builtin', '--out', freshOut().out, '--json'])).stdout);
      expect(smoothed).to.include({ loss: 'full-ce', labelSmoothing: 0.1 });
      expect(s.parameters).to.be.a('number').above(500 * 16);
      expect(Object.keys(s.graphs).sort()).to.deep.equal(['inference_graph', 'optimizer', 'train_step', 'training']);
      for (const g of Object.values(s.graphs) as { file: string; nodes: number }[]) expect(existsSync(join(out, g.file)), g.file).to.equal(true);
      for (const f of ['manifest.json', 'init.ckpt', 'items.json']) expect(existsSync(join(out, f)), f).to.equal(true);
    });

    it("compile --beta1/--beta2/--max-grad-norm set AdamW's constants in the manifest", async () => {
      const { out } = freshOut();
      const r = await runCommand(Compile, [...TINY, '--data', 'builtin', '--out', out, '--beta1', '0.8', '--beta2', '0.999', '--max-grad-norm', '0']);
      expect(r.error, r.error?.message).to.equal(undefined);
      const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
      expect(m.optimizer).to.include({ beta1: 0.8, beta2: 0.999, maxGradNorm: 0 });
    });

    it('compile, train and eval a tiny config from a data file', async () => {
      dir = freshOut().out;
      const c = await runCommand(Compile, [...TINY, '--data', DATA, '--out', dir]);
      expect(c.error, c.error?.message).to.equal(undefined);
      expect(c.stdout).to.match(/^compiled llama-sasrec \(bce loss\) for 60 items, [\d,]+ parameters -> /);

      // 120 users / 16 = 8 steps, one validation, so inference.onnx comes from best.ckpt.
      const t = await runCommand(Train, [dir, '--data', DATA, '--epochs', '1', '--batch-size', '16', '--lr', '5e-3', '--eval-every', '1', '--fused-steps', '4', '--threads', '1', '--json']);
      expect(t.error, t.error?.message).to.equal(undefined);
      const s = JSON.parse(t.stdout);
      expect(s).to.include({ steps: 8, epochs: 1, bestEpoch: 1, inference: join(dir, 'inference.onnx'), checkpoint: join(dir, 'best.ckpt') });
      expect(s.lastLoss).to.be.a('number').and.satisfy(Number.isFinite);
      for (const f of ['inference.onnx', 'best.ckpt', 'last.ckpt', 'train.jsonl']) expect(existsSync(join(dir, f)), f).to.equal(true);

      const e = await runCommand(Eval, [dir, '--data', DATA, '--k', '5,10', '--threads', '1', '--json']);
      expect(e.error, e.error?.message).to.equal(undefined);
      const m = JSON.parse(e.stdout);
      expect(m).to.include({ users: 120, excluded_users: 0, num_items: 60, split: 'test', unknown_interactions: 0 });
      for (const k of ['hr@5', 'ndcg@5', 'hr@10', 'ndcg@10', 'mrr']) expect(m[k], k).to.be.within(0, 1);
      expect(m.popularity).to.have.keys(['hr@5', 'ndcg@5', 'hr@10', 'ndcg@10', 'mrr']);
    });

    it('train prints a readable summary without --json', async () => {
      const t = await runCommand(Train, [dir, '--data', DATA, '--overwrite', '--max-steps', '2', '--batch-size', '16', '--eval-every', '0', '--threads', '1']);
      expect(t.error, t.error?.message).to.equal(undefined);
      const lines = t.stdout.trimEnd().split('\n');
      // The effective recipe first, each value with where it came from.
      expect(lines[0]).to.equal('training llama-sasrec with bce loss, 20 epochs (default), lr 0.001 constant (default), warm-up 0 (default), batch size 16 (flag), threads 1 (flag), seed 1 (default), fused steps 8 (default), no validation (flag)');
      expect(lines[1]).to.match(/^trained 2 steps in \d+\.\d s \([\d,]+ tokens\/s\), stopped by max steps$/);
      expect(lines.at(-1)).to.equal(`exported ${join(dir, 'inference.onnx')} (from ${join(dir, 'last.ckpt')})`);
    });

    it('train warns when a constant-lr warm-up is not shorter than the run, and counts one step in the singular', async () => {
      // 120 users in batches of 16: 8 steps per epoch, 2 epochs, so 16 steps; a warm-up of 16 never reaches the lr.
      const t = await runCommand(Train, [dir, '--data', DATA, '--overwrite', '--epochs', '2', '--warmup', '16', '--max-steps', '1', '--batch-size', '16', '--eval-every', '0', '--threads', '1']);
      expect(t.error, t.error?.message).to.equal(undefined);
      expect(plainText(t.stderr)).to.include('--warmup 16 is not shorter than the run (16 steps: 2 epochs of 8), so the learning rate never reaches 0.001');
      expect(t.stdout).to.match(/^trained 1 step in /m);
      // A cosine decay may end at 0.
      const toZero = await runCommand(Train, [dir, '--data', DATA, '--overwrite', '--cosine', '--min-lr', '0', '--max-steps', '1', '--batch-size', '16', '--eval-every', '0', '--threads', '1']);
      expect(toZero.error, toZero.error?.message).to.equal(undefined);
      const shorter = await runCommand(Train, [dir, '--data', DATA, '--overwrite', '--epochs', '2', '--warmup', '15', '--max-steps', '1', '--batch-size', '16', '--eval-every', '0', '--threads', '1']);
      expect(plainText(shorter.stderr)).to.not.include('is not shorter than the run');
      // But --max-steps 1 stops inside those 15 steps of warm-up: step 1 trains at lr/15.
      expect(plainText(shorter.stderr)).to.include('--max-steps 1 stops inside the 15 steps of warm-up, so the learning rate never reaches 0.001 (at most 0.0000667)');
    });

    it('--train-on-valid says that --patience and --eval-every change nothing; more threads than cores are capped, with a warning', async () => {
      const t = await runCommand(Train, [dir, '--data', DATA, '--overwrite', '--train-on-valid', '--patience', '3', '--max-steps', '1', '--batch-size', '16', '--threads', '1']);
      expect(t.error, t.error?.message).to.equal(undefined);
      expect(plainText(t.stderr)).to.include('--patience has no effect with --train-on-valid: there is no validation (the last model is exported)');
      expect(plainText(t.stderr)).to.not.include('--eval-every has no effect');
      // Its valid split was trained on: ranking it is said to be no held-out figure, from the folder or the lone export.
      for (const model of [dir, join(dir, 'inference.onnx')]) {
        const valid = await runCommand(Eval, [model, '--data', DATA, '--split', 'valid', '--threads', '1', '--json']);
        expect(JSON.parse(valid.stdout).warnings, model).to.deep.equal([`${model} was trained with --train-on-valid: the validation items were its training targets, so these valid-split figures are not held-out metrics (rank the test split)`]);
      }
      expect(JSON.parse((await runCommand(Eval, [dir, '--data', DATA, '--threads', '1', '--json'])).stdout).warnings).to.deep.equal([]);
      expect(capThreads(4, 2)).to.deep.equal({ threads: 2, warning: "--threads 4 is more than this machine's 2 cores, where the threads would wait on each other and the run would crawl: using 2" });
      expect(capThreads(2, 2)).to.deep.equal({ threads: 2, warning: null });
      expect(capThreads(undefined, 1)).to.deep.equal({ threads: undefined, warning: null });
      // Through the command: the recipe line names the count used.
      const many = await runCommand(Train, [dir, '--data', DATA, '--overwrite', '--max-steps', '1', '--batch-size', '16', '--eval-every', '0', '--threads', '1000']);
      expect(many.error, many.error?.message).to.equal(undefined);
      expect(many.stderr).to.include(`Warning: ${capThreads(1000).warning}\n`);
      expect(many.stdout).to.include(`threads ${availableParallelism()} (flag)`);
    });

    it("a reader's note (events sorted by time) is one 'note:' line on stderr, not a warning", async () => {
      const file = join(tmp, 'unsorted.csv');
      writeFileSync(file, ['user,item,time', ...Array.from({ length: 40 }, (_, i) => `${1 + (i % 4)},${1 + (i % 9)},${1000 - i}`)].join('\n') + '\n');
      const r = await runCommand(Compile, [...TINY, '--data', file, '--out', join(tmp, 'unsorted-art')]);
      expect(r.error, r.error?.message).to.equal(undefined);
      expect(r.stderr).to.include(`note: ${file}: 4 of 4 users had events out of time order in the file; each user's events were sorted by time`);
      expect(r.stderr).to.not.include('Warning');
      // With --json the notes also reach stdout's summary, for a script that reads stdout alone; a run without notes has no field.
      const note = `${file}: 4 of 4 users had events out of time order in the file; each user's events were sorted by time (stable: equal times keep file order)`;
      const j = await runCommand(Compile, [...TINY, '--data', file, '--out', join(tmp, 'unsorted-art'), '--force', '--json']);
      expect(j.error, j.error?.message).to.equal(undefined);
      expect(JSON.parse(j.stdout).notes).to.deep.equal([note]);
      const s = await runCommand(DataStats, [file, '--json']);
      expect(JSON.parse(s.stdout).notes).to.deep.equal([note]);
      const plain = await runCommand(Compile, [...TINY, '--data', DATA, '--out', join(tmp, 'unsorted-art'), '--force', '--json']);
      expect(JSON.parse(plain.stdout).notes, plain.stderr).to.equal(undefined);
    });

    it('data stats --json summarises the file', async () => {
      const r = await runCommand(DataStats, [DATA, '--json']);
      expect(r.error, r.error?.message).to.equal(undefined);
      const s = JSON.parse(r.stdout);
      expect(s).to.include({ name: 'tiny', users: 120, items: 60, hasTimestamps: true, remapped: false });
      expect(s.interactions).to.equal(tinyData().sequences.reduce((a, q) => a + q.length, 0));
      expect(s.seqLen.min).to.be.at.least(6);
      expect(s.seqLen.max).to.be.at.most(30);
      expect(s.split).to.include({ users: 120, evalUsers: 120, excludedFromEval: 0 });
      const plain = await runCommand(DataStats, [DATA]);
      expect(plain.stdout).to.match(/^users\s+120$/m);
    });

    it('eval of a folder compiled but never trained says to train first', async () => {
      const { out } = freshOut();
      expect((await runCommand(Compile, [...TINY, '--data', DATA, '--out', out])).error).to.equal(undefined);
      expectUserError(await runCommand(Eval, [out, '--data', DATA]), 1, /inference\.onnx does not exist; train first/);
      // A folder compile never wrote (a typo'd run name, an empty folder) is not told to train.
      const empty = freshOut().out;
      mkdirSync(empty, { recursive: true });
      expectUserError(await runCommand(Eval, [empty, '--data', DATA]), 1, /holds neither inference\.onnx nor a compiled model \(no manifest\.json\); give the folder reclm compile --out wrote/);
      expectUserError(await runCommand(Eval, [join(empty, 'typo'), '--data', DATA]), 1, /typo does not exist; give the folder reclm compile --out wrote, or an \.onnx file$/);
      // A file that is no ONNX model at all.
      // A text file (decoding as a protobuf message or not) is said not to be ONNX, not to lack a 'seq' input.
      expectUserError(await runCommand(Eval, [DATA, '--data', DATA]), 1, /tiny\.txt (cannot be read as an ONNX model|is not an ONNX model \(it decodes, but holds no graph with inputs\))/);
      // An ONNX file cut short (a copy interrupted, a full disk) says it may be truncated.
      const whole = readFileSync(join(out, 'inference_graph.onnx'));
      const cut = join(out, 'cut.onnx');
      writeFileSync(cut, whole.subarray(0, whole.length >> 1));
      expectUserError(await runCommand(Eval, [cut, '--data', DATA]), 1, /cut\.onnx cannot be read as an ONNX model: truncated, corrupted or not ONNX \(/);
      writeFileSync(cut, '');
      expectUserError(await runCommand(Eval, [cut, '--data', DATA]), 1, /cut\.onnx is empty \(0 bytes\): an interrupted copy or write/);
    });

    it('train rejects out-of-range values before reading the data', async () => {
      // Flag values are checked as the flags are parsed: exit code 2, as for oclif's own checks.
      expectUserError(await runCommand(Train, [dir, '--data', DATA, '--lr', '-1']), 2, /^--lr must be a positive decimal number, got '-1'$/);
      expectUserError(await runCommand(Train, [dir, '--data', join(tmp, 'nope.txt'), '--lr', 'fast']), 2, /^--lr must be a positive decimal number, got 'fast'$/);
      expectUserError(await runCommand(Train, [dir, '--data', DATA, '--batch-size', '0']), 2, /^--batch-size: Expected an integer greater than or equal to 1 but received: 0 \(see --help\)$/);
      expectUserError(await runCommand(Train, [dir, '--data', join(tmp, 'nope.txt'), '--device', 'gpu7']), 2, /invalid device "gpu7"/);
      expectUserError(await runCommand(Train, [join(tmp, 'no-such-dir'), '--data', DATA]), 1, /no-such-dir is not a reclm artifact folder: it does not exist; run 'reclm compile --out \S+no-such-dir' first$/);
      mkdirSync(join(tmp, 'empty-dir'), { recursive: true });
      expectUserError(await runCommand(Train, [join(tmp, 'empty-dir'), '--data', DATA]), 1, /empty-dir is not a reclm artifact folder: it has no manifest\.json; run 'reclm compile --out \S+empty-dir' first$/);
      // A seed past 2^53 − 1 (the random generators' limit) is refused with the flags, before
      // --overwrite deletes anything; compile and eval take the same seed flag.
      const before = readdirSync(dir).sort();
      // The folder holds a run (trained by the tests above), so a deletion would show.
      expect(before).to.include.members(['last.ckpt', 'train.jsonl']);
      expectUserError(await runCommand(Train, [dir, '--data', DATA, '--overwrite', '--seed', '99999999999999999999']), 2, /^--seed: Expected an integer less than or equal to 9007199254740991 but received: 99999999999999999999 \(see --help\)$/);
      expect(readdirSync(dir).sort()).to.deep.equal(before);
      expectUserError(await runCommand(Eval, [dir, '--data', DATA, '--seed', '9007199254740993']), 2, /^--seed: Expected an integer less than or equal to 9007199254740991/);
    });
  });

  describe('bad input: one clear line, non-zero exit, no stack trace, no partial artifacts', () => {
    const malformed = () => write('malformed.txt', '1 5 100\n1 6 101\n\n2 x7 soon\n');

    /** Runs a compile that must fail, and checks its --out folder was never created. */
    async function failingCompile(argv: string[], exitCode: number, pattern: RegExp) {
      const { parent, out } = freshOut();
      expectUserError(await runCommand(Compile, [...argv, '--out', out]), exitCode, pattern);
      expect(readdirSync(parent), 'nothing left in the parent of --out').to.deep.equal([]);
    }

    it('a user error and a warning are one unwrapped line each on stderr, however long', async () => {
      // oclif wraps its own printing at 80 columns when stderr is not a terminal (a pipe, a log).
      const missing = join(tmp, `no-such-model-${'x'.repeat(100)}`);
      const r = await runCommand(Eval, [missing, '--data', DATA, '--threads', '1000']);
      expect(r.error!.message.length).to.be.above(100);
      expect(r.stderr).to.equal(`Warning: ${capThreads(1000).warning}\nError: ${r.error!.message}\n`);
      expect(r.exitCode).to.equal(1);
    });

    it('an unknown flag', async () => {
      await failingCompile([...TINY, '--data', DATA, '--colour', 'red'], 2, /^Nonexistent flags?: --colour/);
      expectUserError(await runCommand(DataStats, [DATA, '--verbose']), 2, /Nonexistent flag: --verbose/);
    });

    it('out-of-range and malformed values', async () => {
      await failingCompile([...TINY, '--num-items', '0'], 2, /^--num-items: Expected an integer greater than or equal to 1 but received: 0/);
      await failingCompile([...TINY, '--num-items', '50', '--weight-decay', '-0.1'], 2, /^--weight-decay must be a non-negative decimal number, got '-0.1'$/);
      await failingCompile([...TINY, '--num-items', '50', '--beta2', '1'], 2, /^--beta2 must be a decimal number in \[0, 1\), got '1'$/);
      // Decimal numbers only: Number() reads 0x10 as 16.
      await failingCompile([...TINY, '--num-items', '50', '--weight-decay', '0x10'], 2, /^--weight-decay must be a non-negative decimal number, got '0x10'$/);
      await failingCompile([...TINY, '--num-items', '50', '--set', 'dim'], 1, /^--set expects key=value, got 'dim'$/);
      await failingCompile([...TINY, '--num-items', '50', '--set', 'dim=-4'], 1, /'dim' must be a positive integer, got -4/);
      await failingCompile([...TINY, '--data', DATA, '--set', 'num_items=7'], 1, /num_items is 7, but .*tiny\.txt has 60 items/);
      // The config's model field (a fixture's config block has one) must name the model compiled.
      await failingCompile([...TINY, '--num-items', '50', '--set', 'model=hstu'], 1, /^config field model is "hstu", but --model is llama-sasrec; leave model out/);
      await failingCompile(['--preset', 'builtin', '--num-items', '50', '--config', write('cfg-model.json', '{"model": "hstu"}')], 1, /^config field model is "hstu", but --preset builtin is a llama-sasrec model; /);
      expect((await runCommand(Compile, [...TINY, '--num-items', '50', '--set', 'model=llama_sasrec', '--out', freshOut().out])).error).to.equal(undefined);
      // A name reclm does not know is said to be one, not a second model.
      await failingCompile([...TINY, '--num-items', '50', '--set', 'model=LLAMA'], 1, /^config field model is "LLAMA", not a model reclm knows \(llama-sasrec, llama_sasrec or hstu\)$/);
      // Without --model or --preset, a config naming its model (as a fixture's does) chooses it.
      const hstu = await runCommand(Compile, ['--num-items', '50', '--config', write('cfg-hstu.json', '{"model": "hstu", "dim": 8, "n_layers": 1, "maxlen": 8}'), '--out', freshOut().out, '--json']);
      expect(hstu.error, hstu.error?.message).to.equal(undefined);
      expect(JSON.parse(hstu.stdout).model).to.equal('hstu');
      await failingCompile(['--model', 'gpt', '--num-items', '50'], 2, /^Expected --model=gpt to be one of: llama-sasrec, hstu \(see --help\)$/);
      await failingCompile(['--preset', 'nope', '--num-items', '50'], 2, /^unknown preset 'nope'; presets: builtin, ml-1m-llama, ml-1m-hstu, ml-1m-hstu-large, auto$/);
      await failingCompile(['--set', 'dim=16', '--num-items', '50'], 1, /^give --model \(llama-sasrec or hstu\), --preset, or a --config whose model field names the model$/);
      await failingCompile([...TINY], 1, /give --data FILE .* or --num-items N/);
      expectUserError(await runCommand(Compile, [...TINY, '--num-items', '50']), 2, /Missing required flag --out \(see --help\)$/);
      expectUserError(await runCommand(Eval, [join(tmp, 'x'), '--data', DATA, '--k', '10,0']), 2, /--k expects positive integers separated by commas, got '10,0'/);
      // Decimal digits only (Number() reads 0x10 as 16 and 1e1 as 10).
      expectUserError(await runCommand(Eval, [join(tmp, 'x'), '--data', DATA, '--k', '0x10']), 2, /--k expects positive integers separated by commas, got '0x10'/);
      expectUserError(await runCommand(Eval, [join(tmp, 'x'), '--data', DATA, '--k', '10,5,10']), 2, /^--k lists 10 twice, got '10,5,10'$/);
      expectUserError(await runCommand(Eval, [join(tmp, 'x'), '--data', DATA, '--negatives', '-5']), 2, /--negatives: Expected an integer greater than or equal to 0/);
    });

    it('a missing data file: the message names it', async () => {
      const missing = join(tmp, 'missing.seq.txt');
      await failingCompile([...TINY, '--data', missing], 1, new RegExp(`^${missing.replace(/\./g, '\\.')}: cannot read the data file: no such file$`));
      expectUserError(await runCommand(DataStats, [missing]), 1, /missing\.seq\.txt: cannot read the data file: no such file/);
      // A folder is read as pre-split files, as train and eval read it: this one has none.
      expectUserError(await runCommand(DataStats, [tmp]), 1, /: is a folder without a train file \(looked for train_data\.json, train\.json\)$/);
      await failingCompile([...TINY, '--data', tmp], 1, /cannot read the data file: is a directory/);
    });

    it('a malformed data line: file, line number and text', async () => {
      const file = malformed();
      await failingCompile([...TINY, '--data', file], 1, new RegExp(`^${file.replace(/\./g, '\\.')}:4: expected .*, got "2 x7 soon"$`));
      expectUserError(await runCommand(DataStats, [file]), 1, /malformed\.txt:4: .*"2 x7 soon"/);
    });

    it('data every user of which has fewer than 3 events: compile says train will refuse it, and train does', async () => {
      const short = write('two-each.txt', Array.from({ length: 20 }, (_, i) => `${1 + (i % 10)} ${1 + (i % 7)}`).join('\n'));
      const { out } = freshOut();
      const c = await runCommand(Compile, [...TINY, '--data', short, '--out', out]);
      expect(c.error, c.error?.message).to.equal(undefined);
      expect(plainText(c.stderr)).to.include(`no user of ${short} has a validation and a test item (3 or more interactions), so a leave-one-out split has no one to evaluate: reclm train refuses it unless given pre-split --valid-data/--test-data files`);
      expectUserError(await runCommand(Train, [out, '--data', short]), 1, new RegExp(`^${short.replace(/\./g, '\\.')}: no user has 3 or more interactions \\(10 users, at most 2 each\\)`));
      // Users with three events: evaluable, but no training example without --train-on-valid.
      const three = write('three-each.txt', Array.from({ length: 30 }, (_, i) => `${1 + (i % 10)} ${1 + (i % 7)}`).join('\n'));
      const out3 = freshOut().out;
      const c3 = await runCommand(Compile, [...TINY, '--data', three, '--out', out3]);
      expect(c3.error, c3.error?.message).to.equal(undefined);
      expect(plainText(c3.stderr)).to.include(`no user of ${three} has a training example (2 training items before the validation item), so reclm train refuses it unless given --train-on-valid or pre-split files`);
      expectUserError(await runCommand(Train, [out3, '--data', three]), 1, /no user has at least 2 training interactions/);
      expect((await runCommand(Train, [out3, '--data', three, '--train-on-valid', '--epochs', '1'])).error).to.equal(undefined);
      // Four events: no note.
      const four = write('four-each.txt', Array.from({ length: 40 }, (_, i) => `${1 + (i % 10)} ${1 + (i % 7)}`).join('\n'));
      const ok = await runCommand(Compile, [...TINY, '--data', four, '--out', freshOut().out]);
      expect(ok.error, ok.error?.message).to.equal(undefined);
      expect(ok.stderr).to.not.include('no user of');
    });

    it('an empty data file', async () => {
      const empty = write('empty.txt', '');
      await failingCompile([...TINY, '--data', empty], 1, /empty\.txt: the file is empty/);
      expectUserError(await runCommand(DataStats, [write('blank.txt', '\n  \n\n')]), 1, /blank\.txt: the file is empty/);
    });

    it('a --config file that is not JSON, or not an object', async () => {
      await failingCompile([...TINY, '--num-items', '50', '--config', write('cfg.txt', 'dim: 16\n')], 1, /^--config .*cfg\.txt: cannot read a JSON object \(/);
      await failingCompile([...TINY, '--num-items', '50', '--config', write('cfg-array.json', '[1, 2]')], 1, /^--config .*cfg-array\.json: expected a JSON object$/);
      await failingCompile([...TINY, '--num-items', '50', '--config', join(tmp, 'no-config.json')], 1, /--config .*no-config\.json: cannot read/);
    });

    it('an unknown config field: the message lists the valid ones', async () => {
      const valid = /valid fields: model, num_items, dim, n_layers, n_heads, maxlen\b.*/;
      await failingCompile([...TINY, '--num-items', '50', '--set', 'hidden_size=32'], 1, new RegExp(`unknown llama-sasrec config field 'hidden_size'; ${valid.source}`));
      await failingCompile(['--model', 'hstu', '--num-items', '50', '--config', write('cfg.json', '{"dim": 16, "layers": 2}')], 1, /unknown hstu config field 'layers'; valid fields: model, num_items, .*dqk/);
    });

    it('a failing compile leaves an existing artifact folder as it was', async () => {
      const { out } = freshOut();
      expect((await runCommand(Compile, [...TINY, '--num-items', '50', '--out', out])).error).to.equal(undefined);
      const before = readFileSync(join(out, 'manifest.json'));
      expectUserError(await runCommand(Compile, [...TINY, '--num-items', '50', '--set', 'bogus=1', '--out', out]), 1, /unknown llama-sasrec config field 'bogus'/);
      expect(readFileSync(join(out, 'manifest.json')).equals(before)).to.equal(true);
      expect(readdirSync(join(out, '..'))).to.deep.equal(['art']);
    });
  });

  describe('presets', () => {
    it('lists every preset and auto, one line each', async () => {
      const r = await runCommand(Presets, []);
      expect(r.exitCode, r.stderr).to.equal(0);
      const names = r.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/)[0]);
      expect(names).to.include.members([...Object.keys(PRESETS), 'auto']);
      expect(r.stdout).to.match(/^ml-1m-hstu-large +hstu, full-ce, d=50, 8 layers, maxlen 200; 60 epochs at lr 0\.002 \(cosine\)$/m);
    });

    it("shows one preset's config, optimiser and recipe as compile stores them, and as JSON", async () => {
      const p = presetNamed('ml-1m-hstu-large');
      const r = await runCommand(Presets, ['ml-1m-hstu-large']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout).to.include('config     dim=50 n_layers=8 n_heads=2 dqk=25 dv=25 maxlen=200 dropout=0.2');
      expect(r.stdout).to.include(`recipe     ${p.recipe.epochs} epochs, lr ${p.recipe.lr} cosine to ${p.recipe.minLr} at the last step`);
      // The optimiser line is what compile stores: the AdamW defaults overridden by the preset (HSTU: beta2 0.98, no weight decay).
      expect(r.stdout).to.include('AdamW beta1=0.9 beta2=0.98 eps=1e-8 weightDecay=0 maxGradNorm=1');
      const j = await runCommand(Presets, ['ml-1m-llama', '--json']);
      const got = JSON.parse(j.stdout);
      const llama = presetNamed('ml-1m-llama');
      expect(got.recipe).to.deep.equal(llama.recipe);
      expect(got.config).to.deep.equal(llama.config);
      expect(got.optimizer).to.deep.equal({ ...SEED_ADAMW, ...llama.optimizer });
    });

    it('an unknown name: one line listing the presets, exit 2; auto says how it is chosen', async () => {
      const r = await runCommand(Presets, ['nope']);
      expect(r.exitCode).to.equal(2);
      // Worded as compile --preset nope words it (no "(see --help)" that only this one had).
      expect(r.error?.message).to.equal("unknown preset 'nope'; presets: builtin, ml-1m-llama, ml-1m-hstu, ml-1m-hstu-large, auto");
      const a = await runCommand(Presets, ['auto']);
      expect(a.exitCode, a.stderr).to.equal(0);
      expect(a.stdout).to.include('--preset auto --data FILE');
    });
  });

  it('the README synopsis lists every flag of every command', () => {
    const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The command line'));
    const synopsis = section.slice(section.indexOf('```\n') + 4, section.indexOf('\n```', section.indexOf('```\n') + 4));
    // Each command's block runs from its 'reclm <id>' line to the next command's.
    const blocks = synopsis.split(/\n(?=reclm )/);
    const COMMANDS = { compile: Compile, train: Train, eval: Eval, 'data stats': DataStats, 'data filter': DataFilter, presets: Presets } as const;
    for (const [id, cmd] of Object.entries(COMMANDS)) {
      const block = blocks.find((b) => b.startsWith(`reclm ${id} `));
      expect(block, id).to.be.a('string');
      // oclif adds --json to commands with enableJsonFlag when it parses their flags.
      expect(cmd.enableJsonFlag, id).to.equal(true);
      const flags = [...Object.keys(cmd.flags ?? {}), 'json'];
      for (const name of flags) expect(block, `${id} --${name}`).to.match(new RegExp(`--${name}(?![\\w-])`));
    }
  });

  describe('--help', () => {
    const COMMANDS = { compile: Compile, train: Train, eval: Eval, 'data stats': DataStats, 'data filter': DataFilter, presets: Presets } as const;
    let config: Config;
    before(async () => {
      config = await Config.load(PACKAGE_ROOT);
    });

    for (const [id, cmd] of Object.entries(COMMANDS)) {
      it(`${id}: a summary, examples, and a description for every flag and argument`, () => {
        expect(cmd.summary, 'summary').to.be.a('string').with.length.above(20);
        expect(cmd.examples?.length, 'examples').to.be.at.least(1);
        for (const [name, f] of [...Object.entries(cmd.flags ?? {}), ...Object.entries(cmd.args ?? {})]) {
          expect(f.description, name).to.be.a('string').with.length.above(5);
        }
        // The help oclif renders from these (flags and args get their names when oclif caches them).
        const named = (o: Record<string, object> = {}) => Object.fromEntries(Object.entries(o).map(([name, f]) => [name, { ...f, name }]));
        const loadable = { id, summary: cmd.summary, description: cmd.description, examples: cmd.examples, flags: named(cmd.flags), args: named(cmd.args), aliases: [], hiddenAliases: [], load: async () => cmd };
        const text = new CommandHelp(loadable as never, config, { maxWidth: 100 } as never).generate();
        expect(text).to.include('USAGE').and.include('EXAMPLES');
        // A command without flags of its own (presets) has only oclif's --json, which the help shows once parsed.
        if (Object.keys(cmd.flags ?? {}).length) expect(text).to.include('FLAGS');
        for (const name of Object.keys(cmd.flags ?? {})) expect(text, name).to.include(`--${name}`);
        expect(text, 'no empty default').to.not.include('[default: ]');
        expect(text, 'no raw JSON').to.not.match(/\{"/);
        expect(text).to.include(`$ reclm ${id}`);
        // Every example is a command line to copy: oclif marks it with '$' (its text starts with the bin, or with '$ ').
        const examples = text.slice(text.indexOf('EXAMPLES') + 'EXAMPLES'.length).split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
        expect(examples.length).to.equal(cmd.examples!.length);
        for (const e of examples) expect(e, 'example').to.match(/^\$ /);
        // '>' unquoted is a shell redirection.
        for (const e of examples) expect(e, 'example').to.not.match(/ [^ ']*>/);
        if (id === 'compile') {
          expect(examples.some((e) => e.includes('--data builtin')), 'an example with --data builtin').to.equal(true);
          expect(examples.some((e) => ["--positive 'rating>=4'", '--actions', '--user-features users.dat', '--item-features movies.dat'].every((f) => e.replace(/\s+/g, ' ').includes(f))), 'an example with the side inputs').to.equal(true);
        }
      });
    }

    it('reclm help refuses words after a command (oclif shows its help as if they were not there); --help after a command\'s arguments still shows help', async () => {
      const extra = await runCommand(HelpCommand, ['train', 'extra']);
      expect(extra.exitCode).to.equal(2);
      expect(extra.stderr).to.equal("Error: reclm help takes one command: 'extra' after 'train' is not part of it (reclm help train shows its help)\n");
      expect(extra.stdout).to.equal('');
      const topic = await runCommand(HelpCommand, ['data', 'stats', 'more']);
      expect([topic.exitCode, topic.stderr]).to.deep.equal([2, "Error: reclm help takes one command: 'more' after 'data stats' is not part of it (reclm help data stats shows its help)\n"]);
      // compile takes no argument: oclif would join 'compile extra' into one unknown id.
      const strict = await runCommand(HelpCommand, ['compile', 'extra']);
      expect([strict.exitCode, strict.stderr]).to.deep.equal([2, "Error: reclm help takes one command: 'extra' after 'compile' is not part of it (reclm help compile shows its help)\n"]);
      // `reclm train DIR --data F --help` reaches the help class with the command's arguments.
      const shown = async (argv: string[]) => {
        const stdout = process.stdout.write;
        const out: string[] = [];
        process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
        try {
          await new ReclmHelp(config).showHelp(argv);
        } finally {
          process.stdout.write = stdout;
        }
        return out.join('');
      };
      expect(await shown(['train', 'artifacts/run', '--data', 'u.data', '--help'])).to.match(/USAGE\n\s+\$ reclm train DIR --data <value>/);
      expect(await shown(['compile', 'extra', '--help'])).to.match(/USAGE\n\s+\$ reclm compile /);
      expect(await shown(['data', 'stats', 'u.data', '--help'])).to.match(/USAGE\n\s+\$ reclm data stats /);
    });
  });
});
