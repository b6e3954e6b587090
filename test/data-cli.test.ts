// `reclm data stats` and the data flags through the commands, run in-process (test/helpers/cli.ts),
// and the time-bias refusal at each place a model meets data: compile, train, evaluate.
import { Errors } from '@oclif/core';
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../graphs/index.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import Compile from '../src/commands/compile.js';
import DataStats from '../src/commands/data/stats.js';
import Eval from '../src/commands/eval.js';
import Train from '../src/commands/train.js';
import { DataFormatError } from '../src/data/errors.js';
import { evaluate } from '../src/eval/evaluate.js';
import { train } from '../src/runtime/trainer.js';
import { plainText, runCommand } from './helpers/cli.js';
import { compileTiny, tinyData, TINY_CONFIGS } from './helpers/tiny-run.js';
import { trainedTiny } from './helpers/trained.js';

describe('data on the command line', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'reclm-data-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('the built-in dataset refuses the reading options it would ignore (k-core filters, --format, --columns)', async () => {
    for (const [flags, named] of [[['--min-user-count', '100'], '--min-user-count'], [['--min-item-count', '5', '--format', 'csv'], '--format and --min-item-count'], [['--columns', 'user=a,item=b'], '--columns']] as const) {
      const r = await runCommand(DataStats as never, ['builtin', ...flags]);
      expect(r.exitCode, flags.join(' ')).to.equal(1);
      expect(r.error?.message).to.equal(`builtin: the built-in dataset is generated, not read from a file, so ${named} cannot apply`);
    }
    expect((await runCommand(DataStats as never, ['builtin'])).exitCode).to.equal(0);
  });

  it('k-core filters that leave nothing: one line in the flags\' names', async () => {
    const p = write('kcore.csv', 'user,item\na,x\na,y\nb,x\n');
    const r = await runCommand(DataStats as never, [p, '--min-item-count', '3', '--min-user-count', '2']);
    expect(r.exitCode).to.equal(1);
    expect(r.error?.message).to.equal(`${p}: no interactions left after k-core filtering (--min-item-count 3, --min-user-count 2); lower them (the file holds 2 users, 2 items and 3 interactions; its most active user has 2 events, its most frequent item 2 events)`);
  });

  it('an empty side file is named as such, with its flag, not as interaction data', async () => {
    const data = write('side-data.csv', 'user,item\na,x\na,y\nb,x\n');
    for (const text of ['', '\n \n']) {
      for (const side of ['user', 'item']) {
        const file = write(`${side}s.csv`, text);
        const r = await runCommand(DataStats as never, [data, `--${side}-features`, file]);
        expect(r.exitCode).to.equal(1);
        expect(r.error?.message).to.equal(`${file}: the ${side}-feature file (--${side}-features) is empty (no lines with data)`);
      }
    }
    // A header and no rows: said so, not blamed on the ids (every user would be missing from it).
    const headerOnly = write('users.csv', 'user,age\n');
    const r = await runCommand(DataStats as never, [data, '--user-features', headerOnly]);
    expect(r.exitCode).to.equal(1);
    expect(r.error?.message).to.equal(`${headerOnly}: the user-feature file (--user-features) has a header but no data rows`);
  });

  it('--columns positions that no file has, or names mixed with positions, do not parse: exit 2 before any file is read', async () => {
    for (const [spec, why] of [['user=0,item=2', "column positions are 1-based whole numbers (1 is the first column), got '0'"], ['user=1,item=2.5', "column positions are 1-based whole numbers (1 is the first column), got '2.5'"], ['user=1,item=movieId', 'gives some columns by position and some by name']] as const) {
      const r = await runCommand(DataStats as never, [join(dir, 'absent.csv'), '--columns', spec]);
      expect(r.exitCode, spec).to.equal(2);
      expect(plainText(r.error!.message), spec).to.include(why);
    }
  });

  it('data stats reports time order, duplicates, ids, columns and notes', async () => {
    const p = write('ratings.csv', 'userId,movieId,rating,timestamp\nann,m1,4,300\nann,m2,4,100\nann,m1,5,300\nbob,m3,1,5\nbob,m1,2,6\n');
    const r = await runCommand(DataStats as never, [p]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const line = (key: string) => r.stdout.split('\n').find((l) => l.startsWith(`${key} `))?.slice(18).trim();
    expect(line('format')).to.equal('csv');
    // Objects and lists read as text, not JSON; the columns as --columns spells them.
    expect(line('out of time order')).to.equal('users 1, pairs 1');
    expect(line('duplicate rows')).to.equal('1');
    expect(line('columns')).to.equal('user=userId,item=movieId,time=timestamp');
    expect(line('ignored columns')).to.equal('rating');
    // A name with a comma is shown quoted, as --columns takes it back.
    const actions = write('actions.csv', 'user,item,time,kind\nu1,a,1,"add to cart, later"\nu1,b,2,click\nu1,c,3,view\n');
    // A --positive value no event has (here a value with a comma left unquoted) gets a note listing the values there are.
    const loose = await runCommand(DataStats as never, [actions, '--columns', 'user=user,item=item,time=time,action=kind', '--positive', 'action=click,add to cart, later']);
    expect(loose.stderr).to.include(`no event has the action values 'add to cart', 'later'; the action values are "add to cart, later", click, view`);
    const titled = await runCommand(DataStats as never, [write('titled.csv', 'user,"Title, The",when\nu1,a,20\nu1,b,10\n'), '--columns', 'user=user,item="Title, The",time=when']);
    expect(titled.stdout.split('\n').find((l) => l.startsWith('columns '))?.slice(18).trim()).to.equal('user=user,item="Title, The",time=when');
    expect(line('timestamps')).to.equal('yes');
    expect(line('split')).to.equal('users 2, evaluated 1, not evaluated 1, trainable 1, train interactions 3');
    expect(line('ids')).to.equal('ids read as opaque tokens (users: not all integers, items: not all integers); items remapped to 1..3 in order of first appearance (items.json maps them back)');
    // Notes go to stderr as every command's do; the table on stdout is statistics only.
    expect(r.stderr).to.include(`note: ${p}: 1 of 2 users had events out of time order in the file`);
    expect(r.stdout).to.not.include('out of time order in the file');
    const json = await runCommand(DataStats as never, [p, '--json', '--columns', 'user=userId,item=movieId,time=none']);
    const stats = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(stats.outOfOrder).to.equal(null);
    expect(stats.duplicateRows).to.equal(null);
    expect(stats.ignoredColumns).to.deep.equal(['rating', 'timestamp']);
  });

  it('data stats rounds the mean sequence length to 2 decimals; --json keeps full precision', async () => {
    // Three users with 3, 3 and 4 events: mean 10/3.
    const p = write('thirds.txt', '1 1\n1 2\n1 3\n2 1\n2 2\n2 3\n3 1\n3 2\n3 3\n3 4\n');
    const r = await runCommand(DataStats as never, [p]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^sequence length {4}min 3, median 3, mean 3\.33, p90 4, max 4$/m);
    const json = await runCommand(DataStats as never, [p, '--json']);
    expect((JSON.parse(json.stdout) as { seqLen: { mean: number } }).seqLen.mean).to.equal(10 / 3);
  });

  it('compile, train and eval print the reader notes (events reordered by time, ignored columns)', async () => {
    // The tiny dataset as a CSV with an extra column, one user's rows written newest first.
    const data = tinyData();
    const rows = ['user_id,item_id,timestamp,source'];
    data.sequences.forEach((s, u) => {
      const idx = Array.from(s.keys());
      if (u === 0) idx.reverse();
      for (const j of idx) rows.push(`${data.users[u]},${data.itemIds[s[j]]},${data.timestamps![u][j]},web`);
    });
    const p = write('tiny-shuffled.csv', rows.join('\n'));
    const expectNotes = (stderr: string, what: string) => {
      const text = plainText(stderr);
      expect(text, what).to.include(`${p}: 1 of 120 users had events out of time order in the file; each user's events were sorted by time`);
      expect(text, what).to.include(`${p}: columns ignored: source`);
    };
    const art = join(dir, 'notes-art');
    const c = await runCommand(Compile as never, ['--model', 'llama-sasrec', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'maxlen=12', '--set', 'multiple_of=8', '--data', p, '--out', art]);
    expect(c.exitCode, c.error?.message).to.equal(0);
    expectNotes(c.stderr, 'compile');
    const t = await runCommand(Train as never, [art, '--data', p, '--max-steps', '1', '--batch-size', '8', '--eval-every', '0', '--fused-steps', '1', '--threads', '1', '--json']);
    expect(t.exitCode, t.error?.message).to.equal(0);
    expectNotes(t.stderr, 'train');
    const e = await runCommand(Eval as never, [art, '--data', p, '--threads', '1', '--json']);
    expect(e.exitCode, e.error?.message).to.equal(0);
    expectNotes(e.stderr, 'eval');
  });

  it('a bad --columns value is one line with exit code 2, as for any flag its parser rejects', async () => {
    const r = await runCommand(DataStats as never, [write('a.csv', 'user,item\n1,2\n'), '--columns', 'who=user']);
    expect(r.error).to.be.instanceOf(Errors.CLIError);
    expect(r.error!.message).to.equal("--columns expects user=NAME,item=NAME,time=NAME,action=NAME, got 'who=user' in 'who=user'");
    expect(r.exitCode).to.equal(2);
    const twice = await runCommand(DataStats as never, [write('b.csv', 'u,i,t\n1,2,3\n'), '--columns', 'user=u,item=i,time=t,user=t']);
    expect([twice.exitCode, twice.error?.message]).to.deep.equal([2, "--columns: user= is given twice in 'user=u,item=i,time=t,user=t'"]);
    // One column for two roles (names compared as the reader matches them: case and separators aside).
    for (const [spec, roles] of [['user=1,item=2,time=3,action=3', 'time= and action='], ['user=u,item=i,time=U', 'user= and time='], ['user=user_id,item=User-ID', 'user= and item=']]) {
      const same = await runCommand(DataStats as never, [join(dir, 'absent.csv'), '--columns', spec]);
      expect([same.exitCode, same.error?.message]).to.deep.equal([2, `--columns: ${roles} name the same column in '${spec}'; each needs its own`]);
    }
  });

  it('compile --set time_bias=true on data without timestamps is refused in one line', async () => {
    const p = write('nots.txt', Array.from({ length: 30 }, (_, i) => `${1 + (i % 5)} ${1 + (i % 7)}`).join('\n'));
    const r = await runCommand(Compile as never, ['--model', 'hstu', '--data', p, '--set', 'time_bias=true', '--set', 'dim=8', '--set', 'maxlen=4', '--out', join(dir, 'art')]);
    expect(r.error).to.be.instanceOf(Errors.CLIError);
    expect(r.error!.message).to.equal(`${p}: cannot compile an HSTU model with time_bias=true on data without timestamps: every time bucket would be 0 and the numbers would silently differ; use data with timestamps, or compile with --set time_bias=false`);
    expect(r.exitCode).to.equal(1);
    // Without the flag it compiles, turning the bias off, and says so (a warning on stderr).
    const ok = await runCommand(Compile as never, ['--model', 'hstu', '--data', p, '--set', 'dim=8', '--set', 'maxlen=4', '--out', join(dir, 'art2')]);
    expect(ok.exitCode, ok.error?.message).to.equal(0);
    expect(plainText(ok.stderr)).to.include('time_bias=false');
  });

  it('compileJob, train and evaluate refuse a time-bias model on data without timestamps', async () => {
    const noTs = { ...tinyData(), timestamps: null };
    expect(() => compileJob({ model: MODELS.hstu as never, loss: 'bce', config: { ...TINY_CONFIGS.hstu, time_bias: true }, optimizer: SEED_ADAMW, data: noTs, initSeed: 3, outDir: join(dir, 'job') }))
      .to.throw(DataFormatError, /cannot compile an HSTU model with time_bias=true on data without timestamps/);
    const art = compileTiny('hstu'); // compiled on data with timestamps: time_bias=true
    let err: unknown;
    try {
      await train({ dir: art, data: noTs, epochs: 1, batchSize: 8, seed: 1, fusedSteps: 1, evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true, schedule: { kind: 'constant', lr: 1e-3 }, maxSteps: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DataFormatError);
    expect((err as Error).message).to.match(/cannot train an HSTU model with time_bias=true on data without timestamps/);
    // The exported model carries its config in the ONNX metadata; a text file without times is refused.
    const trained = await trainedTiny('hstu');
    const data = tinyData();
    const p = write('tiny-nots.txt', data.sequences.flatMap((s, u) => Array.from(s, (i) => `${data.users[u]} ${data.itemIds[i]}`)).join('\n'));
    err = undefined;
    try {
      await evaluate({ model: trained, data: p, split: 'test', negatives: 0, ks: [10], batchSize: 64, seed: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DataFormatError);
    expect((err as Error).message).to.equal(`${p}: cannot evaluate an HSTU model with time_bias=true on data without timestamps: every time bucket would be 0 and the numbers would silently differ; use data with timestamps, or compile with --set time_bias=false`);
  });
});
