// Output paths the machine refuses: compile --out and report --out end with one line naming the
// path the user gave (never a temporary sibling), exit code 1, and with --json the documented
// {"error": {"message", "exit"}} on stdout. A path where mkdir loops (under /proc) ends too, and a
// temporary folder left by a killed compile is removed by the next compile into the same --out.
import { Errors } from '@oclif/core';
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Compile from '../src/commands/compile.js';
import Report from '../src/commands/report.js';
import { toCliError } from '../src/cli/errors.js';
import { makeDirs, OutputPathError, writeFileAtomic } from '../src/util/atomic.js';
import { checkReplaceableFile, UnsafePathError } from '../src/util/safe-paths.js';
import { PACKAGE_ROOT, runCommand, type CliResult } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'reclm-outpaths-'));
/** The fastest compile: the builtin data set, one layer. */
const COMPILE = ['--preset', 'builtin', '--data', 'builtin', '--set', 'n_layers=1'];
const CHILD = join(import.meta.dirname, 'helpers', 'compile-cli-child.ts');

/** A regular file where the tests put a folder. */
const AFILE = join(tmp, 'afile');

function expectJsonError(r: CliResult, message: string) {
  expect(r.error, 'expected a user error').to.be.instanceOf(Errors.CLIError);
  expect(r.error!.message).to.equal(message);
  expect(r.exitCode).to.equal(1);
  expect(JSON.parse(r.stdout)).to.deep.equal({ error: { message, exit: 1 } });
}

/** The pid of a process that has ended (spawned and waited for). */
function deadPid(): number {
  const p = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(p.stdout);
}

describe('output paths the machine refuses', function () {
  this.timeout(120000);
  before(() => writeFileSync(AFILE, 'not a folder\n'));

  it('stdout that cannot be written (a full disk) ends with one line and exit code 1, not a stack trace', () => {
    // Linux's /dev/full fails every write with ENOSPC (the suite runs on Linux, as CI does).
    const full = openSync('/dev/full', 'w');
    try {
      // The built CLI (`npm ci` builds dist/), in a process of its own: the handler exits it. oclif
      // loads the package's built commands even when a test runs one from the sources.
      const p = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin', 'run.js'), 'data', 'stats', 'builtin'], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
      expect([p.status, p.stderr]).to.deep.equal([1, 'Error: cannot write the output to stdout (no space left on device)\n']);
    } finally {
      closeSync(full);
    }
  });

  describe('compile --out', () => {
    it('under /proc (where recursive mkdir loops forever) ends within the time limit with one line and exit code 1', async () => {
      // A separate process: the loop was synchronous, so it would never hand control back to mocha.
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...COMPILE, '--out', '/proc/reclm-no-such/art'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // 90 s: a compile of the builtin preset takes a few seconds here, even on a busy machine.
      const killer = setTimeout(() => child.kill('SIGKILL'), 90000);
      const [code, signal] = await new Promise<[number | null, string | null]>((res) => child.on('exit', (c, s) => res([c, s])));
      clearTimeout(killer);
      expect(signal, 'the compile did not end by itself').to.equal(null);
      expect(code).to.equal(1);
      expect(stderr).to.equal('Error: --out /proc/reclm-no-such/art: cannot create the folder /proc/reclm-no-such (no such file or folder)\n');
    });

    it('whose parent is a regular file is one line naming that file, also as JSON on stdout', async () => {
      const out = join(AFILE, 'sub');
      expectJsonError(await runCommand(Compile, [...COMPILE, '--out', out, '--json']), `--out ${out}: ${AFILE} is not a folder`);
      const r = await runCommand(Compile, [...COMPILE, '--out', join(AFILE, 'a', 'b')]);
      expect(r.error?.message).to.equal(`--out ${join(AFILE, 'a', 'b')}: ${AFILE} is not a folder`);
      expect(r.exitCode).to.equal(1);
    });

    it('still creates missing parent folders', async () => {
      const out = join(tmp, 'new', 'deeper', 'art');
      const r = await runCommand(Compile, [...COMPILE, '--out', out]);
      expect(r.error, r.error?.message).to.equal(undefined);
      expect(existsSync(join(out, 'manifest.json'))).to.equal(true);
      expect(readdirSync(join(tmp, 'new', 'deeper'))).to.deep.equal(['art']);
    });

    it("removes the temporary folder a killed compile left (its pid ended), but not one holding a file reclm did not write", async () => {
      const parent = mkdtempSync(join(tmp, 'stale-'));
      const out = join(parent, 'art');
      const stale = `${out}.tmp-${deadPid()}`;
      mkdirSync(stale);
      writeFileSync(join(stale, 'train_step.onnx'), 'half written');
      const foreign = `${out}.tmp-${deadPid()}`;
      mkdirSync(foreign);
      writeFileSync(join(foreign, 'notes.md'), 'mine\n');
      const r = await runCommand(Compile, [...COMPILE, '--out', out]);
      expect(r.error, r.error?.message).to.equal(undefined);
      expect(readdirSync(parent).sort()).to.deep.equal(['art', foreign.slice(parent.length + 1)].sort());
    });

    it('removes the replaced folder a compile killed after its swap left (art.old-PID) once art exists; keeps it while it is the only copy', async () => {
      const parent = mkdtempSync(join(tmp, 'old-'));
      const out = join(parent, 'art');
      expect((await runCommand(Compile, [...COMPILE, '--out', out])).error).to.equal(undefined);
      // A compile killed between its two renames leaves art.old-PID and no art: the only copy stays.
      const orphan = `${out}.old-${deadPid()}`;
      renameSync(out, orphan);
      expect((await runCommand(Compile, [...COMPILE, '--out', out])).error).to.equal(undefined);
      expect(readdirSync(parent).sort()).to.deep.equal(['art', orphan.slice(parent.length + 1)].sort());
      // Once art exists again, the next compile removes it; a foreign .old-PID folder stays.
      const foreign = `${out}.old-${deadPid()}`;
      mkdirSync(foreign);
      writeFileSync(join(foreign, 'notes.md'), 'mine\n');
      expect((await runCommand(Compile, [...COMPILE, '--out', out, '--force'])).error).to.equal(undefined);
      expect(readdirSync(parent).sort()).to.deep.equal(['art', foreign.slice(parent.length + 1)].sort());
    });
  });

  describe('report --out', () => {
    let run = '';
    before(async () => {
      run = join(tmp, 'run');
      const r = await runCommand(Compile, [...COMPILE, '--out', run]);
      expect(r.error, r.error?.message).to.equal(undefined);
      writeFileSync(join(run, 'train.jsonl'), JSON.stringify({ type: 'step', step: 1, epoch: 1, loss: 5, grad_norm: 1, lr: 1e-3, tokens: 100 }) + '\n');
    });

    it('in a missing folder is one line naming the file and the folder, not the temporary file', async () => {
      const out = join(tmp, 'nodir', 'x.html');
      const r = await runCommand(Report, [run, '--out', out]);
      expect(r.error?.message).to.equal(`cannot write ${out}: the folder ${join(tmp, 'nodir')} does not exist`);
      expect(r.exitCode).to.equal(1);
    });

    it('under a regular file is one line, also as JSON on stdout', async () => {
      const out = join(AFILE, 'x.html');
      expectJsonError(await runCommand(Report, [run, '--out', out, '--json']), `cannot write ${out}: ${AFILE} is not a folder`);
    });
  });

  describe('the helpers', () => {
    it('makeDirs ends under /proc and names the folder it could not create', () => {
      expect(() => makeDirs('/proc/reclm-no-such/a/b', { flag: '--out', path: '/proc/reclm-no-such/a/b' })).to.throw(
        OutputPathError,
        '--out /proc/reclm-no-such/a/b: cannot create the folder /proc/reclm-no-such (no such file or folder)',
      );
    });

    it('writeFileAtomic over a folder says so and leaves no temporary file', () => {
      const dir = mkdtempSync(join(tmp, 'isdir-'));
      mkdirSync(join(dir, 'out.html'));
      expect(() => writeFileAtomic(join(dir, 'out.html'), 'x', { flag: '--out', path: join(dir, 'out.html') })).to.throw(
        OutputPathError,
        `--out ${join(dir, 'out.html')}: cannot write ${join(dir, 'out.html')} (it is a folder)`,
      );
      expect(readdirSync(dir)).to.deep.equal(['out.html']);
      // With a trailing slash the rename fails with ENOTDIR, a folder or not.
      const slashed = join(dir, 'out.html') + '/';
      expect(() => writeFileAtomic(slashed, 'x', { flag: '--out', path: slashed })).to.throw(OutputPathError, `--out ${slashed}: cannot write ${slashed} (it is a folder)`);
      const none = join(dir, 'new') + '/';
      expect(() => writeFileAtomic(none, 'x', { flag: '--out', path: none })).to.throw(OutputPathError, `--out ${none}: cannot write ${none} (a file name cannot end in /)`);
      expect(readdirSync(dir)).to.deep.equal(['out.html']);
    });

    it('checkReplaceableFile (eval --ranks) says which parent is a file, and which folder is missing', () => {
      const opts = { flag: '--ranks', header: 'user,target,rank\n' };
      const under = join(AFILE, 'sub', 'r.csv');
      expect(() => checkReplaceableFile(under, opts)).to.throw(UnsafePathError, `--ranks ${under}: ${AFILE} is not a folder`);
      const missing = join(tmp, 'nodir', 'r.csv');
      expect(() => checkReplaceableFile(missing, opts)).to.throw(UnsafePathError, `--ranks ${missing}: the folder ${join(tmp, 'nodir')} does not exist`);
    });

    it('toCliError makes a raw permission or disk-full error one line with exit code 1, and keeps a bug as it is', () => {
      for (const code of ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EISDIR']) {
        const e = Object.assign(new Error(`${code}: refused, open '/x/y'`), { code });
        const cli = toCliError(e);
        expect(cli, code).to.be.instanceOf(Errors.CLIError);
        expect((cli as Errors.CLIError).oclif.exit).to.equal(1);
      }
      const bug = new TypeError('x is undefined');
      expect(toCliError(bug)).to.equal(bug);
    });
  });
});
