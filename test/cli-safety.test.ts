// The command line protects its user: compile never replaces what reclm did not write, a run is
// one run (--resume continues it with its own recipe and data, or refuses), one train per
// folder, conflicting flags refused. Each case checks the exact message and exit code.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Compile from '../src/commands/compile.js';
import Eval from '../src/commands/eval.js';
import Train from '../src/commands/train.js';
import { writeBuiltinDataset } from '../src/data/builtin.js';
import { RUN_FILES, storedRecipe } from '../src/runtime/trainer.js';
import { readJsonl } from '../src/util/jsonl.js';
import { onnx } from '../src/onnx/proto.js';
import { runCommand, type CliResult } from './helpers/cli.js';
import { tinyData } from './helpers/tiny-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'reclm-safety-'));
const DATA = join(tmp, 'tiny.txt');
const TINY = ['--model', 'llama-sasrec', '--loss', 'bce', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'maxlen=12', '--set', 'multiple_of=8'];
const FAST = ['--threads', '1', '--eval-every', '0', '--batch-size', '16'];

function expectRefusal(r: CliResult, exitCode: number, message: string) {
  expect(r.error, 'expected a refusal').to.not.equal(undefined);
  expect(r.error!.message).to.equal(message);
  expect(r.exitCode).to.equal(exitCode);
  expect(r.stdout).to.equal('');
}

/** Every file under `dir` with its bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => [join(e.parentPath, e.name), readFileSync(join(e.parentPath, e.name))]));
}

function expectUnchanged(before: Map<string, Buffer>, dir: string) {
  const after = snapshot(dir);
  expect([...after.keys()].sort()).to.deep.equal([...before.keys()].sort());
  for (const [f, bytes] of before) expect(after.get(f)!.equals(bytes), f).to.equal(true);
}

async function compiled(): Promise<string> {
  const out = join(mkdtempSync(join(tmp, 'run-')), 'art');
  const r = await runCommand(Compile, [...TINY, '--data', DATA, '--out', out]);
  expect(r.error, r.error?.message).to.equal(undefined);
  return out;
}

describe('the command line protects its user', function () {
  this.timeout(120000);
  before(() => writeBuiltinDataset(DATA, tinyData()));

  describe('compile --out never destroys what reclm did not create', () => {
    it('refuses a folder holding a data file and a plain file, and both survive byte for byte', async () => {
      const folder = mkdtempSync(join(tmp, 'mine-'));
      const data = join(folder, 'ratings.txt');
      writeFileSync(data, readFileSync(DATA));
      writeFileSync(join(folder, 'notes.md'), 'my notes\n');
      const before = snapshot(folder);
      // Reading the data from that folder: the folder holds the file being read.
      expectRefusal(await runCommand(Compile, [...TINY, '--data', data, '--out', folder]), 1, `--out ${folder} contains ${data}, which this command reads; give a new folder for the artifacts`);
      expectUnchanged(before, folder);
      // With --force, and with data from elsewhere: still a folder reclm did not create.
      expectRefusal(await runCommand(Compile, [...TINY, '--data', DATA, '--out', folder, '--force']), 1, `--out ${folder} is a folder reclm did not create (no reclm manifest.json); give a new or empty folder`);
      expectUnchanged(before, folder);
    });

    it('refuses a plain file, a parent of the data and the working directory', async () => {
      const file = join(tmp, 'plain.txt');
      writeFileSync(file, 'keep me\n');
      expectRefusal(await runCommand(Compile, [...TINY, '--data', DATA, '--out', file, '--force']), 1, `--out ${file} is a file, not a folder; reclm does not replace files it did not create, give a new folder`);
      expect(readFileSync(file, 'utf8')).to.equal('keep me\n');
      // A device is named as one (Linux's /dev/full; the suite runs on Linux, as CI does).
      expectRefusal(await runCommand(Compile, [...TINY, '--data', DATA, '--out', '/dev/full', '--force']), 1, '--out /dev/full is a device, pipe or socket, not a folder; reclm does not replace files it did not create, give a new folder');
      expectRefusal(await runCommand(Compile, [...TINY, '--data', DATA, '--out', tmp, '--force']), 1, `--out ${tmp} contains ${DATA}, which this command reads; give a new folder for the artifacts`);
      const cwd = process.cwd();
      const work = mkdtempSync(join(tmp, 'cwd-'));
      process.chdir(work);
      try {
        expectRefusal(await runCommand(Compile, [...TINY, '--num-items', '50', '--out', '.', '--force']), 1, '--out . is the working directory or one of its parents; give a new folder for the artifacts');
        expectRefusal(await runCommand(Compile, [...TINY, '--num-items', '50', '--out', '..', '--force']), 1, '--out .. is the working directory or one of its parents; give a new folder for the artifacts');
      } finally {
        process.chdir(cwd);
      }
      expect(existsSync(join(tmp, 'tiny.txt'))).to.equal(true);
    });

    it('replaces reclm artifacts only with --force, and never files it did not write', async () => {
      const out = await compiled();
      const manifest = readFileSync(join(out, 'manifest.json'));
      expectRefusal(await runCommand(Compile, [...TINY, '--data', DATA, '--out', out]), 1, `--out ${out} already holds reclm artifacts; pass --force to replace them`);
      expect(readFileSync(join(out, 'manifest.json')).equals(manifest)).to.equal(true);
      writeFileSync(join(out, 'my-data.csv'), 'user,item\n');
      expectRefusal(await runCommand(Compile, [...TINY, '--data', DATA, '--out', out, '--force']), 1, `--out ${out} holds files reclm did not write (my-data.csv); move them away or give another folder`);
      expect(readFileSync(join(out, 'my-data.csv'), 'utf8')).to.equal('user,item\n');
      const r = await runCommand(Compile, [...TINY, '--data', DATA, '--out', join(out, '..', 'other')]);
      expect(r.error, r.error?.message).to.equal(undefined);
      const again = await runCommand(Compile, [...TINY, '--set', 'dim=8', '--data', DATA, '--out', join(out, '..', 'other'), '--force']);
      expect(again.error, again.error?.message).to.equal(undefined);
      expect(JSON.parse(readFileSync(join(out, '..', 'other', 'manifest.json'), 'utf8')).config.dim).to.equal(8);
    });

    it('a folder holding a training run is replaced only with --force', async () => {
      const out = await compiled();
      expect((await runCommand(Train, [out, '--data', DATA, ...FAST, '--max-steps', '1'])).error).to.equal(undefined);
      expectRefusal(await runCommand(Compile, [...TINY, '--data', DATA, '--out', out]), 1, `${out} holds a training run (last.ckpt); compile into another folder, or pass --force to replace it`);
      expect((await runCommand(Compile, [...TINY, '--data', DATA, '--out', out, '--force'])).error).to.equal(undefined);
      expect(existsSync(join(out, RUN_FILES.last))).to.equal(false);
    });

    it('a folder a train is running in is not replaced, even with --force', async () => {
      const out = await compiled();
      const lock = join(out, RUN_FILES.lock);
      writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), since: 'now' }));
      expectRefusal(await runCommand(Compile, [...TINY, '--data', DATA, '--out', out, '--force']), 1,
        `${out} is in use by process ${process.pid} on ${hostname()} since now (lock file ${lock}); wait for it to finish, or delete the lock file if that process is gone`);
      expect(existsSync(join(out, 'manifest.json'))).to.equal(true);
    });

    it('--preset X --model Y is refused when Y is not the preset\'s model', async () => {
      const out = join(tmp, 'never');
      expectRefusal(await runCommand(Compile, ['--preset', 'ml-1m-llama', '--model', 'hstu', '--num-items', '50', '--out', out]), 1, '--preset ml-1m-llama is a llama-sasrec model, but --model is hstu; drop --model (or pick a hstu preset)');
      expect(existsSync(out)).to.equal(false);
    });
  });

  describe('a run is one run', () => {
    let dir: string;
    before(async () => {
      dir = await compiled();
      // A cosine run of 3 epochs (8 steps each), stopped after 5 steps.
      const r = await runCommand(Train, [dir, '--data', DATA, ...FAST, '--cosine', '--lr', '0.004', '--warmup', '2', '--epochs', '3', '--seed', '7', '--max-steps', '5']);
      expect(r.error, r.error?.message).to.equal(undefined);
    });

    it('a flag that contradicts the stored run is refused, naming the flag and the stored value', async () => {
      const refuse = (flags: string[], message: string) => runCommand(Train, [dir, '--data', DATA, '--resume', '--threads', '1', ...flags]).then((r) => expectRefusal(r, 1, message));
      const tail = `; drop the flag to continue that run, or start a new one with --overwrite`;
      await refuse(['--lr', '0.001'], `--lr 0.001 contradicts the run in ${dir}, trained with --lr 0.004${tail}`);
      await refuse(['--no-cosine'], `--no-cosine contradicts the run in ${dir}, trained with --cosine${tail}`);
      await refuse(['--batch-size', '8'], `--batch-size 8 contradicts the run in ${dir}, trained with --batch-size 16${tail}`);
      await refuse(['--seed', '1'], `--seed 1 contradicts the run in ${dir}, trained with --seed 7${tail}`);
      await refuse(['--warmup', '0'], `--warmup 0 contradicts the run in ${dir}, trained with --warmup 2${tail}`);
      await refuse(['--eval-every', '1'], `--eval-every 1 contradicts the run in ${dir}, trained with --eval-every 0${tail}`);
      await refuse(['--train-on-valid'], `--train-on-valid contradicts the run in ${dir}, trained without --train-on-valid${tail}`);
      // A cosine decay ends with the run's last epoch: more epochs would change every later lr.
      await refuse(['--epochs', '5'], `--epochs 5 contradicts the run in ${dir}, trained with --epochs 3 (its cosine decay ends at the last step of those epochs; only a constant-lr run may change --epochs)${tail}`);
    });

    it('--resume with a --max-steps the run has already reached is refused, naming the total that trains that many more', async () => {
      const d = await compiled();
      expect((await runCommand(Train, [d, '--data', DATA, ...FAST, '--epochs', '2', '--max-steps', '3'])).error).to.equal(undefined);
      const r = await runCommand(Train, [d, '--data', DATA, '--resume', '--threads', '1', '--max-steps', '2']);
      expect(r.error?.message).to.equal(`--resume --max-steps 2: --max-steps counts the run's steps from its start, and the run in ${d} is at step 3; pass --max-steps 5 to train 2 steps more`);
    });

    it('a model that is never trimmed resumes with any --bucket, and repeats the uninterrupted run', async () => {
      // TINY is LLaMA2-SASRec without key_padding_mask: it reads its padding, so no batch is trimmed and the run records no buckets.
      const recipe = [...FAST, '--epochs', '2', '--seed', '3', '--fused-steps', '1'];
      const steps = (d: string) => (readJsonl(join(d, RUN_FILES.log)) as { type: string; step: number; loss: number }[]).filter((x) => x.type === 'step').map((x) => [x.step, x.loss]);
      const ref = await compiled();
      expect((await runCommand(Train, [ref, '--data', DATA, ...recipe, '--bucket', '16', '--max-steps', '6'])).error).to.equal(undefined);
      const d = await compiled();
      expect((await runCommand(Train, [d, '--data', DATA, ...recipe, '--bucket', '16', '--max-steps', '3'])).error).to.equal(undefined);
      const r = await runCommand(Train, [d, '--data', DATA, '--resume', '--threads', '1', '--bucket', '8', '--max-steps', '6']);
      expect(r.error, r.error?.message).to.equal(undefined);
      // A note (stderr, marked), as the other notes are: it printed as a plain stdout line.
      expect(r.stderr).to.include('note: --bucket 8: batches stay maxlen wide, this model reads its padding');
      expect(steps(d)).to.deep.equal(steps(ref));
      expect(steps(d)).to.have.length(6);
      // The stored recipe is unchanged: no buckets, before and after the resume.
      expect(storedRecipe(d)!.bucket).to.equal(undefined);
      expect((readJsonl(join(d, RUN_FILES.log)) as { type: string; recipe?: { bucket?: number } }[]).filter((x) => x.recipe).map((x) => [x.type, x.recipe!.bucket])).to.deep.equal([['start', undefined], ['resume', undefined]]);
    });

    it('--resume with other data of the same item count is refused', async () => {
      const other = join(tmp, 'other.txt');
      const d = tinyData();
      // The same users and items, one user's history in another order.
      d.sequences[0] = d.sequences[0].slice().reverse();
      writeBuiltinDataset(other, d);
      const r = await runCommand(Train, [dir, '--data', other, '--resume', '--threads', '1']);
      expect(r.exitCode).to.equal(1);
      expect(r.error!.message).to.match(new RegExp(`^--resume: the data is not the file the run in ${dir} was trained on \\(data fingerprint [0-9a-f]{12}, the run's [0-9a-f]{12}\\); resume with the same data file$`));
    });

    it('--resume --overwrite together is refused', async () => {
      expectRefusal(await runCommand(Train, [dir, '--data', DATA, '--resume', '--overwrite']), 1, '--resume continues the run in the folder and --overwrite deletes it; give one of them');
    });

    it('a constant schedule may be extended with --epochs on --resume', async () => {
      const d = await compiled();
      expect((await runCommand(Train, [d, '--data', DATA, ...FAST, '--epochs', '1', '--json'])).error).to.equal(undefined);
      const r = await runCommand(Train, [d, '--data', DATA, '--resume', '--epochs', '2', '--threads', '1', '--json']);
      expect(r.error, r.error?.message).to.equal(undefined);
      const s = JSON.parse(r.stdout);
      expect(s).to.include({ steps: 8, lastStep: 16, epochs: 2 });
      expect(s.recipe.from).to.include({ epochs: 'flag', lr: 'checkpoint', batchSize: 'checkpoint', seed: 'checkpoint' });
    });

    it('--overwrite deletes the old run before the new one starts', async () => {
      const d = await compiled();
      expect((await runCommand(Train, [d, '--data', DATA, '--threads', '1', '--batch-size', '16', '--epochs', '1', '--eval-every', '1'])).error).to.equal(undefined);
      expect(existsSync(join(d, RUN_FILES.best))).to.equal(true);
      // What eval --save and report wrote about the old model must not describe the new one.
      writeFileSync(join(d, RUN_FILES.evalLog), '{"type":"eval"}\n');
      writeFileSync(join(d, RUN_FILES.report), '<html></html>\n');
      const r = await runCommand(Train, [d, '--data', DATA, ...FAST, '--overwrite', '--max-steps', '2']);
      expect(r.error, r.error?.message).to.equal(undefined);
      expect(existsSync(join(d, RUN_FILES.best)), 'the old best.ckpt').to.equal(false);
      expect(existsSync(join(d, RUN_FILES.evalLog)), 'the old eval.jsonl').to.equal(false);
      expect(existsSync(join(d, RUN_FILES.report)), 'the old report.html').to.equal(false);
      const log = readJsonl(join(d, RUN_FILES.log)) as { type: string; step: number }[];
      expect(log.filter((x) => x.type === 'start')).to.have.length(1);
      expect(log.filter((x) => x.type === 'step').map((x) => x.step)).to.deep.equal([1, 2]);
    });
  });

  describe('nothing is deleted or repeated by a run that cannot start', () => {
    it('--overwrite with a device that cannot be used deletes nothing', async () => {
      const d = await compiled();
      expect((await runCommand(Train, [d, '--data', DATA, ...FAST, '--max-steps', '2'])).error).to.equal(undefined);
      const before = snapshot(d);
      // This machine has no CUDA provider libraries (CI neither): the device check refuses the run.
      const r = await runCommand(Train, [d, '--data', DATA, ...FAST, '--overwrite', '--max-steps', '2', '--device', 'cuda']);
      expect(r.exitCode).to.equal(1);
      expect(r.error!.message).to.match(/CUDA/);
      expectUnchanged(before, d);
      // eval takes the same --cuda-lib-dir, and names it among the folders searched.
      const e = await runCommand(Eval, [d, '--data', DATA, '--device', 'cuda', '--cuda-lib-dir', '/nonexistent/capi']);
      expect(e.exitCode).to.equal(1);
      expect(e.error!.message).to.include('/nonexistent/capi  (--cuda-lib-dir, does not exist)');
    });

    it('data with the compiled item count but other item ids is refused, and the run is left as it was', async () => {
      // Two logs of 3 users over 4 string item ids each: the same count, other catalogues.
      const dir = mkdtempSync(join(tmp, 'ids-'));
      const log = (prefix: string) => ['user,item', ...[0, 1, 2].flatMap((u) => [1, 2, 3, 4].map((i) => `u${u},${prefix}${(i + u) % 4}`))].join('\n') + '\n';
      writeFileSync(join(dir, 'a.csv'), log('a'));
      writeFileSync(join(dir, 'b.csv'), log('b'));
      const out = join(dir, 'art');
      expect((await runCommand(Compile, [...TINY, '--data', join(dir, 'a.csv'), '--out', out])).error).to.equal(undefined);
      expect((await runCommand(Train, [out, '--data', join(dir, 'a.csv'), ...FAST, '--max-steps', '1'])).error).to.equal(undefined);
      const before = snapshot(out);
      const r = await runCommand(Train, [out, '--data', join(dir, 'b.csv'), ...FAST, '--max-steps', '1', '--overwrite']);
      expect(r.exitCode).to.equal(1);
      expect(r.error!.message).to.equal(`artifacts in ${out} were compiled for other item ids: 4 of 4 differ from items.json (the data's item 1 is 'b1', the model's 'a1'); recompile with --data pointing at this file`);
      expectUnchanged(before, out);
    });

    it('--resume of a run that finished its epochs is refused, and the run is left as it was', async () => {
      const d = await compiled();
      expect((await runCommand(Train, [d, '--data', DATA, ...FAST, '--epochs', '1'])).error).to.equal(undefined);
      const before = snapshot(d);
      expectRefusal(await runCommand(Train, [d, '--data', DATA, '--resume']), 1, `--resume: the run in ${d} already finished its 1 epoch (step 8); nothing to continue (pass a larger --epochs to train longer)`);
      expectUnchanged(before, d);
    });

    it('--resume of a run stopped by early stopping is refused; its model carries the best checkpoint\'s epoch', async () => {
      const d = await compiled();
      // An lr far too large: validation gets no better after the first epoch, so patience 1 stops the run.
      const t = await runCommand(Train, [d, '--data', DATA, '--threads', '1', '--batch-size', '16', '--epochs', '12', '--eval-every', '1', '--patience', '1', '--lr', '1', '--no-cosine', '--json']);
      expect(t.error, t.error?.message).to.equal(undefined);
      const summary = JSON.parse(t.stdout) as { stoppedBy: string; bestEpoch: number | null };
      expect(summary.stoppedBy, 'the run must stop by patience for this check to mean anything').to.equal('patience');
      const meta = Object.fromEntries((onnx.ModelProto.decode(readFileSync(join(d, 'inference.onnx'))).metadataProps ?? []).map((p) => [p.key!, p.value!]));
      expect([meta.checkpoint, meta.epochs]).to.deep.equal(['best.ckpt', String(summary.bestEpoch)]);
      const before = snapshot(d);
      // Before, each bare --resume trained one more epoch, found no better one and stopped again.
      expectRefusal(await runCommand(Train, [d, '--data', DATA, '--resume']), 1, `--resume: the run in ${d} was stopped by early stopping (no better validation NDCG@10 in its last 1 validation; best at epoch ${summary.bestEpoch}); nothing to continue (start again with --overwrite and a larger --patience to train longer)`);
      expectUnchanged(before, d);
    });

    it('after a resume mid-epoch, the epoch loss is the mean over all the epoch\'s steps', async () => {
      const d = await compiled();
      expect((await runCommand(Train, [d, '--data', DATA, ...FAST, '--epochs', '1', '--max-steps', '3'])).error).to.equal(undefined);
      expect((await runCommand(Train, [d, '--data', DATA, '--resume'])).error).to.equal(undefined);
      const log = readJsonl(join(d, RUN_FILES.log)) as { type: string; step: number; loss: number; steps_before_resume?: number }[];
      const steps = log.filter((x) => x.type === 'step');
      expect(steps.map((x) => x.step)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
      const epoch = log.find((x) => x.type === 'epoch')!;
      // The same additions in the same order as the trainer's, so equal to the last bit.
      const mean = (steps.slice(0, 3).reduce((a, x) => a + x.loss, 0) + steps.slice(3).reduce((a, x) => a + x.loss, 0)) / 8;
      expect(epoch.loss).to.equal(mean);
      expect(epoch.steps_before_resume).to.equal(3);
    });

    it('compile --force replaces a folder holding what eval --save and report wrote', async () => {
      const out = await compiled();
      writeFileSync(join(out, RUN_FILES.evalLog), '{"type":"eval"}\n');
      writeFileSync(join(out, RUN_FILES.report), '<html></html>\n');
      const r = await runCommand(Compile, [...TINY, '--data', DATA, '--out', out, '--force']);
      expect(r.error, r.error?.message).to.equal(undefined);
      expect(existsSync(join(out, RUN_FILES.evalLog))).to.equal(false);
    });
  });

  describe('one writer per run folder', () => {
    it('a second train on a folder in use is refused; a lock left by a dead process is taken over', async () => {
      const dir = await compiled();
      const lock = join(dir, RUN_FILES.lock);
      // A live process on this host holds the lock.
      const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
      try {
        writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
        expectRefusal(await runCommand(Train, [dir, '--data', DATA, ...FAST, '--max-steps', '1']), 1,
          `${dir} is in use by process ${holder.pid} on ${hostname()} since 2026-01-01T00:00:00.000Z (lock file ${lock}); wait for it to finish, or delete the lock file if that process is gone`);
        expect(existsSync(join(dir, RUN_FILES.log)), 'nothing written').to.equal(false);
        // Another host: its pids cannot be checked from here, so the lock holds.
        writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', since: 'then' }));
        expectRefusal(await runCommand(Train, [dir, '--data', DATA, ...FAST, '--max-steps', '1']), 1,
          `${dir} is in use by process 1 on elsewhere since then (lock file ${lock}); wait for it to finish, or delete the lock file if that process is gone`);
      } finally {
        holder.kill('SIGKILL');
      }
      await new Promise((r) => holder.on('exit', r));
      writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: hostname(), since: 'then' }));
      const r = await runCommand(Train, [dir, '--data', DATA, ...FAST, '--max-steps', '1']);
      expect(r.error, r.error?.message).to.equal(undefined);
      expect(existsSync(lock), 'released at the end').to.equal(false);
    });

    it('two train processes started together: one trains, the other is refused', async () => {
      const dir = await compiled();
      const child = (n: number) =>
        new Promise<{ code: number | null; err: string }>((resolve) => {
          const p = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'helpers', 'train-cli-child.ts'), dir, '--data', DATA, ...FAST, '--max-steps', '40', '--fused-steps', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          p.stderr.on('data', (c) => (err += String(c)));
          p.on('exit', (code) => resolve({ code, err: `${n}: ${err}` }));
        });
      const results = await Promise.all([child(1), child(2)]);
      const codes = results.map((r) => r.code).sort();
      expect(codes, results.map((r) => r.err).join('\n')).to.deep.equal([0, 1]);
      expect(results.find((r) => r.code === 1)!.err).to.match(/is in use by process \d+ on .* \(lock file .*train\.lock\)|already holds a training run/);
      const steps = (readJsonl(join(dir, RUN_FILES.log)) as { type: string; step: number }[]).filter((x) => x.type === 'step').map((x) => x.step);
      expect(steps).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
    });
  });
});
