import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_FILES, stopBeforeEpoch, train } from '../src/runtime/trainer.js';
import { readJsonl } from '../src/util/jsonl.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';
import Compile from '../src/commands/compile.js';
import Train, { resumeCommand } from '../src/commands/train.js';
import { writeBuiltinDataset } from '../src/data/builtin.js';
import { plainText, runCommand } from './helpers/cli.js';

const TOTAL = 150;
const opts = { epochs: 1000, batchSize: 16, seed: 4, fusedSteps: 1, evalEvery: 0, patience: 0, json: true, schedule: { kind: 'constant' as const, lr: 5e-3 } };

function stepRecords(dir: string): { step: number; loss: number }[] {
  return (readJsonl(join(dir, RUN_FILES.log), { skipInvalid: true }) as { type: string; step: number; loss: number }[]).filter((r) => r.type === 'step');
}

describe('SIGKILL mid-epoch and --resume', function () {
  this.timeout(120000);

  it('repeats the per-step losses of an uninterrupted run', async () => {
    const reference = compileTiny('hstu', 'bce', { dropout: 0.2 });
    await train({ ...opts, dir: reference, data: tinyData(), checkpointEvery: 0, resume: false, maxSteps: TOTAL });
    const expected = new Map(stepRecords(reference).map((r) => [r.step, r.loss]));
    expect(expected.size).to.equal(TOTAL);

    const dir = compileTiny('hstu', 'bce', { dropout: 0.2 });
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./helpers/train-child.ts', import.meta.url)), dir, String(TOTAL)], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Kill once a few steps are logged; with a checkpoint after every step and 8 steps per
    // epoch, the kill (and so the resume point) almost always falls mid-epoch.
    for (;;) {
      await new Promise((r) => setTimeout(r, 5));
      if (existsSync(join(dir, RUN_FILES.log)) && stepRecords(dir).length >= 11) break;
    }
    child.kill('SIGKILL');
    expect(await exited).to.equal('SIGKILL');
    const before = stepRecords(dir).length;
    expect(before).to.be.below(TOTAL);

    await train({ ...opts, dir, data: tinyData(), checkpointEvery: 0, resume: true, maxSteps: TOTAL });
    const records = stepRecords(dir);
    // Steps logged after the last checkpoint are run again on resume; every occurrence must match.
    for (const r of records) expect(r.loss, `step ${r.step}`).to.equal(expected.get(r.step));
    expect(new Set(records.map((r) => r.step)).size).to.equal(TOTAL);
    expect(readFileSync(join(dir, RUN_FILES.log), 'utf8')).to.include('"type":"resume"');
  });

  it('through the CLI: a killed cosine run resumed with the bare --resume repeats the uninterrupted run', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'reclm-kill-cli-'));
    const data = join(tmp, 'tiny.txt');
    writeBuiltinDataset(data, tinyData());
    const model = ['--model', 'hstu', '--loss', 'bce', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'dqk=4', '--set', 'dv=8', '--set', 'maxlen=12', '--set', 'dropout=0.2'];
    // 15 epochs of ceil(120 / 16) = 8 steps, warm-up then cosine decay over all 120 steps; random
    // windows (histories of 6-30 items, maxlen 12) and shuffled epochs, so their draws are part of what must resume.
    const recipe = ['--cosine', '--lr', '5e-3', '--warmup', '10', '--min-lr', '1e-4', '--epochs', '15', '--batch-size', '16', '--fused-steps', '1', '--seed', '4', '--eval-every', '0', '--bucket', '4', '--window', 'random', '--epoch-users', 'shuffle'];
    const compileInto = async (name: string) => {
      const out = join(tmp, name);
      expect((await runCommand(Compile, [...model, '--data', data, '--out', out])).error).to.equal(undefined);
      return out;
    };
    const reference = await compileInto('reference');
    const r = await runCommand(Train, [reference, '--data', data, ...recipe]);
    expect(r.error, r.error?.message).to.equal(undefined);
    const expected = new Map(stepRecords(reference).map((x) => [x.step, x.loss]));
    expect(expected.size).to.equal(120);
    // The shuffle reaches the sampler: the same recipe with users drawn with replacement trains other batches.
    const drawn = await compileInto('replacement');
    const other = recipe.filter((a, i) => a !== '--epoch-users' && recipe[i - 1] !== '--epoch-users');
    expect((await runCommand(Train, [drawn, '--data', data, ...other, '--max-steps', '8'])).error).to.equal(undefined);
    const firstEpoch = stepRecords(drawn).map((x) => x.loss);
    expect(firstEpoch).to.have.length(8);
    expect(firstEpoch.filter((loss, i) => loss !== expected.get(i + 1))).to.have.length.above(0);

    const dir = await compileInto('killed');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./helpers/train-cli-child.ts', import.meta.url)), dir, '--data', data, ...recipe, '--checkpoint-every', '1'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    for (;;) {
      await new Promise((res) => setTimeout(res, 5));
      if (existsSync(join(dir, RUN_FILES.log)) && stepRecords(dir).length >= 11) break;
    }
    child.kill('SIGKILL');
    expect(await exited).to.equal('SIGKILL');
    expect(stepRecords(dir).length).to.be.below(120);

    // As the README shows it: no recipe flags; epochs, schedule, seed and the rest come from the checkpoint.
    const resumed = await runCommand(Train, [dir, '--data', data, '--resume']);
    expect(resumed.error, resumed.error?.message).to.equal(undefined);
    expect(resumed.stdout.split('\n')[0]).to.equal('training hstu with bce loss, 15 epochs (checkpoint), lr 0.005 cosine to 0.0001 at step 120 (checkpoint), warm-up 10 (checkpoint), batch size 16 (checkpoint), threads 1 (default), seed 4 (checkpoint), fused steps 1 (checkpoint), length buckets of 4 (checkpoint), random windows of long histories (checkpoint), users shuffled, each once before any twice (checkpoint), no validation (checkpoint)');
    const records = stepRecords(dir);
    for (const x of records) expect(x.loss, `step ${x.step}`).to.equal(expected.get(x.step));
    expect(new Set(records.map((x) => x.step)).size).to.equal(120);
  });
});

describe('--resume mid-epoch: the loss shown', function () {
  this.timeout(120000);

  it("the progress line's loss is the epoch's mean over all its steps, as the epoch summary's", async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'reclm-resume-loss-'));
    const data = join(tmp, 'tiny.txt');
    writeBuiltinDataset(data, tinyData());
    const dir = join(tmp, 'run');
    const model = ['--model', 'hstu', '--loss', 'bce', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'dqk=4', '--set', 'dv=8', '--set', 'maxlen=12'];
    expect((await runCommand(Compile, [...model, '--data', data, '--out', dir])).error).to.equal(undefined);
    // ceil(120 users / 16) = 8 steps an epoch: stop after 3, then finish the epoch in a second process.
    const recipe = ['--data', data, '--epochs', '2', '--batch-size', '16', '--fused-steps', '1', '--seed', '4', '--eval-every', '0', '--lr', '5e-3'];
    expect((await runCommand(Train, [dir, ...recipe, '--max-steps', '3'])).error).to.equal(undefined);
    const resumed = await runCommand(Train, [dir, '--data', data, '--resume', '--max-steps', '8']);
    expect(resumed.error, resumed.error?.message).to.equal(undefined);
    const losses = stepRecords(dir).filter((r) => r.step <= 8).map((r) => r.loss);
    expect(losses).to.have.length(8);
    const mean = losses.reduce((a, x) => a + x, 0) / 8;
    // Without a terminal the bar prints its last line at the epoch's end: 8/8 with the epoch's loss (4 decimals).
    const last = resumed.stderr.split('\n').filter((l) => l.startsWith('epoch 1/2  8/8')).pop();
    expect(last, resumed.stderr).to.be.a('string');
    expect(last).to.include(`loss=${mean.toFixed(4)}`);
    // Steps 4-8 alone (this process's) give another mean, so the check can tell the two apart.
    expect((losses.slice(3).reduce((a, x) => a + x, 0) / 5).toFixed(4)).to.not.equal(mean.toFixed(4));
  });
});

describe('Ctrl-C during training', function () {
  this.timeout(120000);

  it('saves the run at the step it reached, exits 130 naming the step, and the printed --resume command continues from there', async () => {
    // A CSV with its own column names, actions, a positive rule and a user-feature CSV read with
    // --field, in a folder whose name needs quoting: the printed command must carry all of it.
    const tmp = mkdtempSync(join(tmpdir(), 'reclm-sigint-'));
    const folder = join(tmp, "runs & data's");
    mkdirSync(folder);
    const data = join(folder, 'events.csv');
    const lines = ['uid,iid,stars,ts'];
    tinyData().sequences.forEach((seq, u) => seq.forEach((item, j) => lines.push(`${u + 1},${item},${1 + ((u * 7 + j * 3) % 5)},${1000 + j}`)));
    writeFileSync(data, lines.join('\n') + '\n');
    const users = join(folder, 'users.csv');
    writeFileSync(users, ['uid,segment,score', ...tinyData().sequences.map((_, u) => `${u + 1},s${u % 3},${u % 7}`)].join('\n') + '\n');
    const dir = join(folder, 'run');
    const inputs = ['--columns', 'user=uid,item=iid,time=ts,action=stars', '--actions', '--positive', 'rating>=3', '--user-features', users, '--field', 'score=numeric:3'];
    const model = ['--model', 'llama-sasrec', '--loss', 'bce', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'maxlen=12', '--set', 'multiple_of=8'];
    const compiled = await runCommand(Compile, [...model, '--data', data, ...inputs, '--out', dir]);
    expect(compiled.error, compiled.error?.message).to.equal(undefined);
    // 1000 epochs of 8 steps: far more than the test lets it run, so the interrupt lands mid-run.
    const recipe = ['--epochs', '1000', '--batch-size', '16', '--fused-steps', '1', '--eval-every', '0', '--threads', '1'];
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./helpers/train-cli-child.ts', import.meta.url)), dir, '--data', data, ...inputs, ...recipe], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (;;) {
      await new Promise((r) => setTimeout(r, 5));
      if (existsSync(join(dir, RUN_FILES.log)) && stepRecords(dir).length >= 11) break;
    }
    child.kill('SIGINT');
    expect(await exited, stderr).to.equal(130);
    const reached = Math.max(...stepRecords(dir).map((r) => r.step));
    expect(plainText(stderr), stderr).to.include(`interrupted at step ${reached}: the run is saved in ${dir}; continue it with:`);
    // The command is a line of its own, unwrapped, so that it can be pasted into a shell.
    const lines2 = stderr.split('\n');
    const command = lines2[lines2.findIndex((l) => l.includes('continue it with:')) + 1].trim();
    expect(command.startsWith('reclm train ')).to.equal(true);
    expect(existsSync(join(dir, RUN_FILES.lock)), 'the run lock is released').to.equal(false);
    expect(existsSync(join(dir, RUN_FILES.inference)), 'the model is exported').to.equal(true);
    const end = (readJsonl(join(dir, RUN_FILES.log)) as { type: string; stoppedBy?: string; lastStep?: number }[]).find((x) => x.type === 'end')!;
    expect(end).to.include({ stoppedBy: 'interrupted', lastStep: reached });

    // What a shell makes of the pasted command (after `reclm`) is the argv of the resumed run.
    const argv = spawnSync('sh', ['-c', `set -- ${command.slice('reclm '.length)}; printf '%s\\0' "$@"`], { encoding: 'utf8' }).stdout.split('\0').slice(0, -1);
    // --positive and --actions are left out: --resume takes them from the manifest.
    expect(argv).to.deep.equal(['train', dir, '--data', data, '--columns', inputs[1], '--user-features', users, '--field', 'score=numeric:3', '--threads', '1', '--resume']);
    const resumed = await runCommand(Train, [...argv.slice(1), '--max-steps', String(reached + 3)]);
    expect(resumed.error, resumed.error?.message).to.equal(undefined);
    // Nothing after the interrupt is run twice: the next step logged is the one after it.
    const steps = stepRecords(dir).map((r) => r.step);
    expect(steps.slice(-3)).to.deep.equal([reached + 1, reached + 2, reached + 3]);
    expect(new Set(steps).size).to.equal(steps.length);
  });

  it('Ctrl-C stops after the fused call in flight, and a second Ctrl-C ends the process at once', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'reclm-sigint2-'));
    const data = join(tmp, 'data.txt');
    writeBuiltinDataset(data, tinyData());
    const dir = join(tmp, 'run');
    const model = ['--model', 'llama-sasrec', '--loss', 'bce', '--set', 'dim=32', '--set', 'n_layers=2', '--set', 'n_heads=2', '--set', 'maxlen=12', '--set', 'multiple_of=8'];
    expect((await runCommand(Compile, [...model, '--data', data, '--out', dir])).error).to.equal(undefined);
    // Batches of 2 rows: 60 steps per epoch, 15 fused calls of K = 4, so one epoch spans many calls.
    const K = 4;
    const recipe = ['--epochs', '1000', '--batch-size', '2', '--fused-steps', String(K), '--eval-every', '0', '--threads', '1'];
    const start = (extra: string[]) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./helpers/train-cli-child.ts', import.meta.url)), dir, '--data', data, ...recipe, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      // 'close', not 'exit': it comes after the child's stderr is read to its end, so the tests see every line it wrote.
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      return { child, exited, stderr: () => stderr };
    };
    const waitForSteps = async (n: number) => {
      for (;;) {
        await new Promise((r) => setTimeout(r, 5));
        if (existsSync(join(dir, RUN_FILES.log)) && stepRecords(dir).length >= n) return;
      }
    };

    const first = start([]);
    await waitForSteps(10);
    first.child.kill('SIGINT');
    // Read right after the signal: every call that ended before it is logged by now (or a
    // call ending in this very instant is counted here, which only makes the bound looser).
    const atSignal = Math.max(...stepRecords(dir).map((r) => r.step));
    expect((await first.exited).code, first.stderr()).to.equal(130);
    const reached = Math.max(...stepRecords(dir).map((r) => r.step));
    // At most the call in flight (K steps) runs after the signal; before, the next call was
    // already queued when the handler ran, so 2K steps ran.
    expect(reached - atSignal, first.stderr()).to.be.at.most(K);

    // Resumed, then two signals: the first asks to stop, the second ends the process by its
    // default action (killed by SIGINT, not exit 130), whatever it was doing.
    const second = start(['--resume']);
    await waitForSteps(reached + 10);
    second.child.kill('SIGINT');
    for (;;) {
      await new Promise((r) => setTimeout(r, 2));
      if (second.stderr().includes('again to quit at once')) break;
    }
    second.child.kill('SIGINT');
    expect((await second.exited).signal, second.stderr()).to.equal('SIGINT');
    expect(plainText(second.stderr())).to.not.include('continue it with:');
    // The first signal's line already gave the command that continues from the last checkpoint,
    // since the second one ends the process without another word.
    expect(second.stderr()).to.match(/again to quit at once without saving \(the run then continues from its last checkpoint, step \d+, with:\)\n {2}\S+ train \S+ --data \S+ --threads 1 --resume\n/);
  });

  it('a Ctrl-C during the last epoch\'s last call leaves a finished run, not one to resume', () => {
    expect(stopBeforeEpoch(3, 3, true)).to.equal('epochs');
    expect(stopBeforeEpoch(2, 3, true)).to.equal('interrupted');
    expect(stopBeforeEpoch(2, 3, false)).to.equal(null);
  });

  it('the --resume command carries pre-split files, --format, the item-feature file and the device, quoted for the shell', () => {
    const line = resumeCommand('reclm', 'art/run 1', {
      data: 'split', 'valid-data': 'split/valid.txt', 'test-data': 'split/test.txt', format: 'sasrec', 'item-features': 'movies.dat', field: ['genres=multi:|', 'year=ignore'], device: 'cuda:1', 'cuda-lib-dir': '/opt/ort cuda',
    });
    expect(line).to.equal("reclm train 'art/run 1' --data split --valid-data split/valid.txt --test-data split/test.txt --format sasrec --item-features movies.dat --field 'genres=multi:|' --field year=ignore --device cuda:1 --cuda-lib-dir '/opt/ort cuda' --resume");
    // Defaults are left out: --format auto, --device cpu.
    expect(resumeCommand('reclm', 'a', { data: 'd.txt', format: 'auto', device: 'cpu' })).to.equal('reclm train a --data d.txt --resume');
  });
});
