import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Launch, { rankProgram } from '../src/commands/launch.js';
import { ARTIFACT_FORMAT } from '../src/contract/artifacts.js';
import { HostfileError, IncludeError, applyInclude, parseHostfile } from '../src/dist/hostfile.js';
import { LaunchError, MpirunPlan, buildMpirunCommand, shellQuote } from '../src/dist/mpirun.js';
import { PACKAGE_ROOT, plainText, runCommand } from './helpers/cli.js';
import { trainedTiny } from './helpers/trained.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';
import { prepareDevice } from '../src/onnx/providers.js';
import { writeBuiltinDataset } from '../src/data/builtin.js';
import { RANDOM_WINDOW_WITH_POSITIVE_RULE } from '../src/data/sampler.js';
import { mpirun, requireMpirun } from './helpers/dist-mpirun.js';
import { DATA, RECLM, artifactFactory, expectLossesClose, ofType, reclm, stepLosses } from './helpers/dist-runs.js';

const LAUNCH_CLI = fileURLToPath(new URL('./helpers/dist-launch-cli.ts', import.meta.url));
const artifacts = artifactFactory('reclm-launch-train-');

describe('reclm launch', function () {
  // The two-host training case runs 3 trainings of 12 steps: 47 s measured on 2 cores with a
  // load average of 14 from other work, 71 s with 16-25.
  this.timeout(120000);

  describe('hostfile', () => {
    it('reads DeepSpeed / Open MPI hostfiles with comments, blank lines and max_slots', () => {
      const text = '# two workers\nnode1 slots=2\n\n  10.0.0.7   slots=4 max_slots=8   # the big one\r\nnode-3.example.org slots=1\n';
      expect(parseHostfile(text, 'hosts')).to.deep.equal([
        { host: 'node1', slots: 2, line: 2 },
        { host: '10.0.0.7', slots: 4, maxSlots: 8, line: 4 },
        { host: 'node-3.example.org', slots: 1, line: 5 },
      ]);
    });

    it('says which file and line is wrong, and what was expected, in one line', () => {
      const cases: [string, string][] = [
        ['node1 slots=2\nnode2\n', "hosts:2: no slots for 'node2'; expected 'HOST slots=N' (for example 'node1 slots=2')"],
        ['node1 slots=two\n', "hosts:1: slots must be a positive integer, got 'two'"],
        ['node1 slots=0\n', "hosts:1: slots must be a positive integer, got '0'"],
        ['node1 gpus=2\n', "hosts:1: unknown field 'gpus=2'; expected 'HOST slots=N' (for example 'node1 slots=2')"],
        ['node_1 slots=2\n', "hosts:1: 'node_1' is not a host name or IPv4 address; expected 'HOST slots=N' (for example 'node1 slots=2')"],
        ['a slots=1\nb slots=1\na slots=2\n', "hosts:3: host 'a' is listed twice (first on line 1); give it one line with its total slots"],
        ['a slots=4 max_slots=2\n', 'hosts:1: max_slots=2 is below slots=4'],
        ['# nothing\n\n', "hosts: no hosts; expected 'HOST slots=N' (for example 'node1 slots=2') on at least one line"],
      ];
      for (const [text, message] of cases) {
        expect(() => parseHostfile(text, 'hosts'), text).to.throw(HostfileError, message);
        expect(message).to.not.include('\n');
      }
    });

    it("applies DeepSpeed's --include filter", () => {
      const hosts = parseHostfile('a slots=4\nb slots=2\nc slots=1\n', 'h');
      expect(applyInclude(hosts, 'b@a:0,3')).to.deep.equal([{ host: 'b', slots: 2 }, { host: 'a', slots: 2 }]);
      expect(() => applyInclude(hosts, 'd')).to.throw(IncludeError, "--include: host 'd' is not in the hostfile (hosts: a, b, c); expected 'host1:0,1@host2'");
      expect(() => applyInclude(hosts, 'b:2')).to.throw(HostfileError, "--include: slot '2' of 'b' is not in 0..1 (the host has slots=2)");
      expect(() => applyInclude(hosts, 'a:1,1')).to.throw(HostfileError, "--include: 'a:1,1' names a slot twice");
      expect(() => applyInclude(hosts, 'a@a:1')).to.throw(HostfileError, "--include: host 'a' is named twice");
    });
  });

  describe('the mpirun command', () => {
    const base: MpirunPlan = { hosts: null, np: 2, root: false, env: { PATH: '/usr/bin', HOME: '/home/u' }, wdir: '/work', localCores: 2, program: ['/usr/bin/node', '/opt/reclm/bin/run.js', 'train', 'art'] };

    it('one machine: no core binding, yield when idle, PATH forwarded, no root or oversubscribe flags when not needed', () => {
      expect(buildMpirunCommand(base)).to.deep.equal([
        'mpirun', '-np', '2', '--bind-to', 'none', '--mca', 'mpi_yield_when_idle', '1', '--wdir', '/work', '-x', 'PATH',
        '/usr/bin/node', '/opt/reclm/bin/run.js', 'train', 'art',
      ]);
    });

    it('adds --allow-run-as-root only as root and --oversubscribe only when ranks exceed slots', () => {
      expect(buildMpirunCommand({ ...base, root: true })).to.include('--allow-run-as-root');
      expect(buildMpirunCommand({ ...base, np: 3 })).to.include('--oversubscribe');
      expect(buildMpirunCommand({ ...base, np: 3, hosts: [{ host: 'a', slots: 4 }] })).to.not.include('--oversubscribe');
      expect(buildMpirunCommand({ ...base, np: 5, hosts: [{ host: 'a', slots: 4 }] })).to.include('--oversubscribe');
    });

    it('forwards RECLM_* and the runtime variables that are set, nothing else', () => {
      const env = { PATH: '/bin', RECLM_CUDA_LIB_DIR: '/cuda', RECLM_MPI_LIBRARY: '/lib/libmpi.so.40', NODE_OPTIONS: '--max-old-space-size=8000', SECRET_TOKEN: 'x', LD_LIBRARY_PATH: undefined };
      const cmd = buildMpirunCommand({ ...base, env });
      const forwarded = cmd.flatMap((a, i) => (a === '-x' ? [cmd[i + 1]] : []));
      expect(forwarded).to.deep.equal(['NODE_OPTIONS', 'PATH', 'RECLM_CUDA_LIB_DIR', 'RECLM_MPI_LIBRARY']);
    });

    it('several hosts: their slots, TCP only, pinned to the network, extra --mca last', () => {
      const cmd = buildMpirunCommand({ ...base, np: 3, hosts: [{ host: 'a', slots: 2 }, { host: 'b', slots: 1 }], network: '10.1.0.0/16', mca: [['plm_rsh_agent', '/bin/agent']] });
      expect(shellQuote(cmd)).to.equal(
        'mpirun -np 3 --host a:2,b:1 --bind-to none --mca mpi_yield_when_idle 1 --mca btl tcp,self --mca btl_tcp_if_include 10.1.0.0/16 ' +
          '--mca oob_tcp_if_include 10.1.0.0/16 --mca btl_tcp_disable_family 6 --mca plm_rsh_agent /bin/agent --wdir /work -x PATH /usr/bin/node /opt/reclm/bin/run.js train art',
      );
      expect(() => buildMpirunCommand({ ...base, network: '10.1.0.0' })).to.throw(LaunchError, "--network: expected an IPv4 subnet in CIDR form such as 10.0.0.0/24, got '10.1.0.0'");
      expect(() => buildMpirunCommand({ ...base, program: [] })).to.throw(LaunchError, /nothing to launch/);
    });

    it('quotes for the shell only what needs it', () => {
      expect(shellQuote(['a', 'b c', "it's", '--x=1,2'])).to.equal(`a 'b c' 'it'\\''s' --x=1,2`);
    });
  });

  describe('the command line', () => {
    it('--help: a summary, examples, and a description for every flag', () => {
      expect(Launch.summary).to.be.a('string').with.length.above(20);
      expect(Launch.examples?.length).to.be.at.least(2);
      for (const [name, f] of Object.entries(Launch.flags)) expect(f.description, name).to.be.a('string').with.length.above(5);
    });

    it('--dry-run prints the mpirun command for a hostfile, -np and --include', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'reclm-launch-'));
      const hostfile = join(dir, 'hosts');
      writeFileSync(hostfile, 'h1 slots=2\nh2 slots=2\n');
      const r = await runCommand(Launch as never, ['--hostfile', hostfile, '--include', 'h1:1@h2', '-np', '3', '--network', '192.168.7.0/24', '--dry-run', '--', 'train', 'art dir', '--data', 'd.txt']);
      expect(r.exitCode, r.stderr).to.equal(0);
      const line = r.stdout.trim();
      expect(line).to.match(/^mpirun (--allow-run-as-root )?-np 3 --host h1:1,h2:2 --bind-to none --mca mpi_yield_when_idle 1 --mca btl tcp,self --mca btl_tcp_if_include 192\.168\.7\.0\/24 /);
      // From the sources (as here) the ranks run the sources' entry through tsx, its loader named by
      // a file URL so that a rank started in another folder finds it; installed, bin/run.js.
      const loader = pathToFileURL(join(PACKAGE_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
      expect(line.endsWith(` ${process.execPath} --import ${loader} ${join(PACKAGE_ROOT, 'src', 'dist', 'source-entry.ts')} train 'art dir' --data d.txt`), line).to.equal(true);
      expect(rankProgram('/opt/reclm', ['train', 'art'], false)).to.deep.equal([process.execPath, '/opt/reclm/bin/run.js', 'train', 'art']);
      expect(line.includes('--allow-run-as-root')).to.equal(process.getuid?.() === 0);
    });

    it('stops with one line and a non-zero exit on a bad hostfile, a missing command or a non-reclm command', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'reclm-launch-'));
      const hostfile = join(dir, 'hosts');
      writeFileSync(hostfile, 'h1 slots=2\nh2 slot=2\n');
      const bad = await runCommand(Launch as never, ['--hostfile', hostfile, '--dry-run', '--', 'train', 'x']);
      // A bad file, as a bad data file: exit 1 (README: 2 is for a command line that does not parse).
      expect(bad.exitCode).to.equal(1);
      expect(bad.error?.message).to.equal(`${hostfile}:2: unknown field 'slot=2'; expected 'HOST slots=N' (for example 'node1 slots=2')`);
      const none = await runCommand(Launch as never, ['-np', '2']);
      // A missing argument: exit 2, as oclif's own; so is a malformed --mca value.
      expect(none.exitCode).to.equal(2);
      const mca = await runCommand(Launch as never, ['-np', '2', '--mca', 'foo', '--check']);
      expect([mca.exitCode, mca.error?.message]).to.deep.equal([2, "--mca: expected KEY=VALUE, got 'foo'"]);
      expect(none.error?.message).to.match(/^nothing to launch: give a reclm command after --/);
      const unknown = await runCommand(Launch as never, ['-np', '2', '--', 'frobnicate']);
      expect(unknown.error?.message).to.match(/^'frobnicate' after -- is not a reclm command; launch runs data-parallel: train \(see --help\)$/);
      expect(unknown.exitCode).to.equal(2);
      const typo = await runCommand(Launch as never, ['-np', '2', '--', 'trian', 'x']);
      expect(typo.error?.message).to.match(/^'trian' after -- is not a reclm command \(did you mean 'train'\?\); launch runs data-parallel: train /);
      // A command that does not open the collective would run once per rank: refused.
      const single = await runCommand(Launch as never, ['-np', '2', '--', 'data', 'stats', 'f.txt']);
      expect(single.error?.message).to.equal('reclm data stats does not run data-parallel yet: each of the 2 ranks would run it alone; see --dry-run for the command');
      const help = await runCommand(Launch as never, ['-np', '2', '--', 'train', 'x', '-h']);
      expect([help.exitCode, help.error?.message]).to.deep.equal([1, "--help after -- would print reclm train's help once per rank; run reclm train --help"]);
      const dryHelp = await runCommand(Launch as never, ['-np', '2', '--dry-run', '--', 'train', 'x', '--help']);
      expect(dryHelp.error?.message).to.equal(help.error?.message);
      const helpCommand = await runCommand(Launch as never, ['-np', '2', '--', 'help', 'train']);
      expect([helpCommand.exitCode, helpCommand.error?.message]).to.deep.equal([1, 'help after -- would print the help once per rank; run reclm help train']);
      // Launch's flags typed after -- would fail on every rank; the command's own --json is its own.
      for (const flag of ['--dry-run', '-np', '--check', '--hostfile=h']) {
        const misplaced = await runCommand(Launch as never, ['-np', '2', '--', 'train', 'x', flag]);
        expect(misplaced.error?.message, flag).to.equal(`${flag.split('=')[0]} after -- is launch's flag, not reclm train's; put it before -- (reclm launch [launch flags] -- train ...)`);
      }
      const bareHelp = await runCommand(Launch as never, ['-np', '2', '--', '--help']);
      expect(bareHelp.error?.message).to.equal('--help after -- would print the help once per rank; run reclm launch --help, or reclm COMMAND --help');
      const first = await runCommand(Launch as never, ['--', '-np', '2', 'train', 'x']);
      expect(first.error?.message).to.equal("-np after -- is launch's flag, not reclm COMMAND's; put it before -- (reclm launch [launch flags] -- COMMAND ...)");
      // The command's own arguments are checked with its parser before any rank starts.
      for (const [args, message] of [
        [['train'], 'Missing 1 required arg: dir (artifact folder written by `reclm compile`)'],
        [['train', 'x'], 'Missing required flag --data'],
        [['train', 'x', '--data', 'f', '--bogus'], 'Nonexistent flag: --bogus'],
        [['train', 'x', '--data', 'f', '--lr', '-1'], "--lr must be a positive decimal number, got '-1'"],
      ] as const) {
        const r = await runCommand(Launch as never, ['-np', '2', '--dry-run', '--', ...args]);
        expect([r.exitCode, r.error?.message], args.join(' ')).to.deep.equal([2, `reclm train after --: ${message} (see reclm train --help)`]);
      }
      // So are the flag combinations the command refuses, with the command's exit code (1).
      const both = await runCommand(Launch as never, ['-np', '2', '--dry-run', '--', 'train', 'x', '--data', 'f', '--resume', '--overwrite']);
      expect([both.exitCode, both.error?.message]).to.deep.equal([1, 'reclm train after --: --resume continues the run in the folder and --overwrite deletes it; give one of them']);
      const own = await runCommand(Launch as never, ['-np', '2', '--dry-run', '--', 'train', 'x', '--data', 'f', '--json']);
      expect(own.error).to.equal(undefined);
    });

    it("checks the artifact folder, the manifest's refusals, data files (opened and parsed), batch split and a resume's flags before starting ranks on this machine, not remote hosts' or a --dry-run's", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'reclm-launch-'));
      // A stand-in mpirun that records being started: a refusal must come before it.
      const started = join(dir, 'started');
      const fake = join(dir, 'fake-mpirun');
      writeFileSync(fake, `#!/bin/sh\necho started >> '${started}'\n`);
      chmodSync(fake, 0o755);
      // Compiled for the tiny dataset, written out as the data file; a two-item file is another catalogue.
      const art = compileTiny('llama-sasrec');
      const data = join(dir, 'tiny.txt');
      writeBuiltinDataset(data, tinyData());
      const twoItems = join(dir, 'd.txt');
      writeFileSync(twoItems, '1 1\n1 2\n');
      const ruled = join(dir, 'ruled');
      mkdirSync(ruled);
      writeFileSync(join(ruled, 'manifest.json'), JSON.stringify({ format: ARTIFACT_FORMAT, files: {}, features: { positive: { kind: 'rating', min: 4 } } }));
      const trained = await trainedTiny('llama-sasrec');
      // A file that opens but does not parse (its third line lacks the item): refused once, not once per rank.
      const malformed = join(dir, 'bad.csv');
      writeFileSync(malformed, 'user,item\n1,2\n3\n');
      const launch = (...args: string[]) => runCommand(Launch as never, ['-np', '2', '--mpirun', fake, ...args]);
      for (const [args, message] of [
        [['train', join(dir, 'none'), '--data', data], `${join(dir, 'none')} is not a reclm artifact folder: it does not exist; run 'reclm compile --out ${join(dir, 'none')}' first`],
        [['train', art, '--data', join(dir, 'none.txt')], `${join(dir, 'none.txt')}: cannot read the data file: no such file`],
        [['train', art, '--data', dir], `${dir}: is a folder without a train file`],
        [['train', art, '--data', data, '--test-data', join(dir, 'none.txt')], `${join(dir, 'none.txt')}: cannot read the data file: no such file`],
        [['train', art, '--data', malformed], `${malformed}:3: expected 2 comma-separated fields matching the header, got "3"`],
        [['train', art, '--data', twoItems], `artifacts in ${art} were compiled for ${tinyData().numItems} items (model llama-sasrec) but the data has 2`],
        // A batch too small for the ranks' micro-batches, as the run itself would refuse it.
        [['train', art, '--data', data, '--batch-size', '1'], 'a batch of 1 rows cannot be split over 2 rank(s) × 1 micro-batch(es); use --batch-size 2 or more'],
        [['train', art, '--data', data, '--batch-size', '3', '--grad-accum', '2'], 'a batch of 3 rows cannot be split over 2 rank(s) × 2 micro-batch(es); use --batch-size 4 or more'],
        // What the manifest alone refuses, and a resumed run's flag that contradicts its checkpoint, as the run words them.
        [['train', art, '--data', data, '--positive', 'rating>=4'], `--positive: ${art} was compiled for item ids only`],
        [['train', ruled, '--data', data, '--window', 'random'], RANDOM_WINDOW_WITH_POSITIVE_RULE],
        [['train', trained, '--data', data, '--resume', '--seed', '9'], `--seed 9 contradicts the run in ${trained}, trained with --seed 4`],
        // The folder's run: there without --resume, or with nothing left to train.
        [['train', trained, '--data', data], `${trained} already holds a training run (last.ckpt); pass --resume to continue it or --overwrite to start again`],
        [['train', trained, '--data', data, '--resume', '--max-steps', '2'], `--resume --max-steps 2: --max-steps counts the run's steps from its start, and the run in ${trained} is at step 6`],
      ] as const) {
        const r = await launch('--', ...args);
        expect(r.exitCode, args.join(' ')).to.equal(1);
        expect(r.error?.message, args.join(' ')).to.include(message);
      }
      // A device this machine cannot ready (CUDA without its libraries, as here and in CI) is refused once,
      // with the run's own message; where CUDA is usable, mpirun starts.
      let cudaProblem: string | null = null;
      try {
        prepareDevice('cuda');
      } catch (e) {
        cudaProblem = (e as Error).message.split('\n')[0];
      }
      const cuda = await launch('--', 'train', art, '--data', data, '--device', 'cuda');
      if (cudaProblem) expect([cuda.exitCode, cuda.error?.message.split('\n')[0]]).to.deep.equal([1, cudaProblem]);
      else expect(cuda.exitCode).to.equal(0);
      expect(existsSync(started), 'mpirun was started despite a refusal').to.equal(cudaProblem === null);
      rmSync(started, { force: true });
      // Files in place: mpirun starts. A --dry-run only prints; remote ranks' files are on their hosts.
      expect((await launch('--', 'train', art, '--data', data)).exitCode).to.equal(0);
      expect((await launch('--dry-run', '--', 'train', join(dir, 'none'), '--data', data)).exitCode).to.equal(0);
      const hostfile = join(dir, 'hosts');
      writeFileSync(hostfile, `${hostname()} slots=2\n`);
      expect((await runCommand(Launch as never, ['--hostfile', hostfile, '--mpirun', fake, '--', 'train', join(dir, 'none'), '--data', data])).exitCode).to.equal(0);
      expect(readFileSync(started, 'utf8')).to.equal('started\nstarted\n');
    });

    it('a hostfile that cannot be read is one line naming it, exit 1 (a bad file)', async () => {
      const missing = await runCommand(Launch as never, ['--hostfile', '/no/such/hostfile', '--check']);
      expect(missing.exitCode).to.equal(1);
      expect(missing.error?.message).to.equal("--hostfile /no/such/hostfile: no such file; expected a file with one 'HOST slots=N' per line");
      const folder = await runCommand(Launch as never, ['--hostfile', tmpdir(), '--check']);
      expect(folder.exitCode).to.equal(1);
      expect(folder.error?.message).to.equal(`--hostfile ${tmpdir()}: is a folder, not a file; expected a file with one 'HOST slots=N' per line`);
    });

    it('--check --json prints an error as the JSON object on stdout, with its exit code', async () => {
      const json = (r: { stdout: string }) => JSON.parse(r.stdout) as { error: { message: string; exit: number } };
      const noRanks = await runCommand(Launch as never, ['--check', '--json']);
      expect(noRanks.exitCode).to.equal(2);
      expect(json(noRanks)).to.deep.equal({ error: { message: 'give -np N (ranks on this machine) or --hostfile FILE', exit: 2 } });
      const missing = await runCommand(Launch as never, ['--hostfile', '/no/such/hostfile', '--check', '--json']);
      expect(missing.exitCode).to.equal(1);
      expect(json(missing).error).to.deep.equal({ message: missing.error?.message, exit: 1 });
      const badFlag = await runCommand(Launch as never, ['-np', '0', '--check', '--json']);
      expect(badFlag.exitCode).to.equal(2);
      expect(json(badFlag).error.exit).to.equal(2);
      // Without --json stdout stays empty.
      expect((await runCommand(Launch as never, ['--check'])).stdout).to.equal('');
      // The command's --json after -- asks for launch's refusals as JSON too, before any rank starts:
      // launch's own, the command's arguments, its files.
      const noNp = await runCommand(Launch as never, ['--', 'train', 'x', '--json']);
      expect(json(noNp)).to.deep.equal({ error: { message: 'give -np N (ranks on this machine) or --hostfile FILE', exit: 2 } });
      const bogus = await runCommand(Launch as never, ['-np', '2', '--', 'train', 'x', '--data', 'f', '--bogus', '--json']);
      expect(json(bogus)).to.deep.equal({ error: { message: bogus.error?.message, exit: 2 } });
      // The sources' CLI in a process of its own: in this one, train's errors come from the build's
      // modules, whose error classes are not the sources' that tell a user error from a bug.
      const noDir = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin', 'dev.js'), 'launch', '-np', '2', '--', 'train', join(tmpdir(), 'no-such-artifacts'), '--data', 'f', '--json'], { encoding: 'utf8' });
      expect([noDir.status, json(noDir).error.exit]).to.deep.equal([1, 1]);
      expect(json(noDir).error.message).to.match(/no-such-artifacts is not a reclm artifact folder/);
    });
  });

  describe('on this machine', () => {
    before(requireMpirun);

    /** `reclm launch ARGS` as its own process; `onStdout` sees its output as it comes, `onStart` the process once spawned. */
    const launch = (args: string[], onStdout: (text: string, child: ReturnType<typeof spawn>) => void = () => {}, onStart: (child: ReturnType<typeof spawn>) => void = () => {}) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', LAUNCH_CLI, ...args], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        onStart(child);
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => {
          out += d;
          onStdout(out, child);
        });
        child.stderr.on('data', (d) => (err += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, out, err });
        });
      });

    it('--check prints its report as lines for a reader; --json as one JSON line; --json without --check is refused', async () => {
      const r = await launch(['-np', '2', '--check']);
      expect(r.code, r.err).to.equal(0);
      const lines = r.out.trim().split('\n');
      expect(lines[0]).to.equal('2 ranks (Open MPI):');
      expect(lines[1]).to.match(new RegExp(`^  rank 0: ${hostname()} \\(pid \\d+\\)$`));
      expect(lines[2]).to.match(/^ {2}rank 1: /);
      expect(lines[3]).to.match(/^allreduce of 1,048,576 floats: ok, [\d.]+ ms \(best of 3\); broadcast: ok$/);
      const j = await launch(['-np', '2', '--check', '--json']);
      expect(JSON.parse(j.out)).to.include({ size: 2, kind: 'mpi', allreduce: 'ok', broadcast: 'ok' });
      const refused = await runCommand(Launch as never, ['-np', '2', '--json', '--', 'train', 'x']);
      expect(refused.exitCode).to.equal(1);
      expect(refused.error?.message).to.equal("--json before -- goes with --check; put the command's own --json after --, e.g. -- train DIR --data FILE --json");
    });

    it('Ctrl-C stops every rank and says so (exit 130), not "mpirun exited with 1"', async () => {
      const dir = artifacts('interrupted');
      let sent = false;
      const r = await launch(['-np', '2', '--', 'train', dir, '--data', DATA, '--batch-size', '16', '--epochs', '50', '--eval-every', '0', '--threads', '1'], (out, child) => {
        // Once training has printed its recipe line, the ranks are up: interrupt as a user would.
        if (!sent && /epochs/.test(out)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      expect(sent, r.out + r.err).to.equal(true);
      expect(r.code, r.err).to.equal(130);
      expect(plainText(r.err)).to.include('interrupted: mpirun stopped every rank; a train run under launch keeps only its checkpoints (each epoch\'s end, or every --checkpoint-every N steps): continue from the last one with --resume');
      expect(r.err).not.to.include('mpirun exited with');
      // With the command's --json, rank 0 is stopped before it prints its summary: launch prints the refusal as JSON
      // (before: nothing on stdout). The ranks print nothing on stdout either, so the start of train.jsonl tells they are up.
      const jsonDir = artifacts('interrupted-json');
      const j = await launch(['-np', '2', '--', 'train', jsonDir, '--data', DATA, '--batch-size', '16', '--epochs', '50', '--eval-every', '0', '--threads', '1', '--json'], () => {}, (child) => {
        const poll = setInterval(() => {
          if (!existsSync(join(jsonDir, 'train.jsonl'))) return;
          clearInterval(poll);
          child.kill('SIGINT');
        }, 200);
        child.on('close', () => clearInterval(poll));
      });
      expect(j.code, j.err).to.equal(130);
      expect(JSON.parse(j.out.trim().split('\n').pop()!)).to.deep.equal({ error: { message: plainText(j.err).match(/Error: (interrupted: .*)$/m)![1], exit: 130 } });
    });
  });

  describe('two hosts: network namespaces on this machine', () => {
    // Two namespaces joined by a veth pair, with addresses that exist only inside them, each
    // with its own hostname (UTS namespace), so Open MPI sees two nodes; a script that enters
    // the other namespace stands in for ssh (plm_rsh_agent).
    const tag = `${process.pid % 100000}`;
    const ns = [`reclm${tag}a`, `reclm${tag}b`];
    const addr = ['10.251.7.1', '10.251.7.2'];
    const network = '10.251.7.0/24';
    const dir = mkdtempSync(join(tmpdir(), 'reclm-hosts-'));
    const hostfile = join(dir, 'hostfile');
    const agent = join(dir, 'agent.sh');
    const sh = (cmd: string) => {
      const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr || r.error?.message}`);
    };

    before(function () {
      requireMpirun();
      if (process.getuid?.() !== 0) throw new Error('the two-host test needs root (network namespaces); CI runs as root');
      for (const n of ns) sh(`ip netns add ${n}`);
      sh(`ip link add ${ns[0]}v type veth peer name ${ns[1]}v`);
      ns.forEach((n, i) => {
        sh(`ip link set ${n}v netns ${n}`);
        sh(`ip -n ${n} addr add ${addr[i]}/24 dev ${n}v`);
        sh(`ip -n ${n} link set lo up && ip -n ${n} link set ${n}v up`);
      });
      writeFileSync(hostfile, `# two "hosts"\n${addr[0]} slots=1\n${addr[1]} slots=1\n`);
      writeFileSync(
        agent,
        `#!/bin/sh
# ssh stand-in: AGENT HOST COMMAND... runs COMMAND in HOST's namespace, under its hostname, with a clean environment.
host=$1; shift
case "$host" in
  ${addr[0]}) ns=${ns[0]} ;;
  ${addr[1]}) ns=${ns[1]} ;;
  *) echo "unknown host $host" >&2; exit 255 ;;
esac
exec ip netns exec "$ns" unshare --uts sh -c "hostname $ns; exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root sh -c \\"\\$0\\"" "$*"
`,
      );
      chmodSync(agent, 0o755);
    });

    after(() => {
      for (const n of ns) spawnSync('ip', ['netns', 'del', n]);
    });

    /** `reclm launch --hostfile ... ARGS` run from the first namespace (under its hostname); killed after timeoutMs. */
    const launchFromFirstHost = (args: string[], timeoutMs = 60000) => {
      const launch = `hostname ${ns[0]}; exec ${shellQuote([process.execPath, '--import', 'tsx', LAUNCH_CLI, '--hostfile', hostfile, '--network', network, `--mca`, `plm_rsh_agent=${agent}`, ...args])}`;
      return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn('ip', ['netns', 'exec', ns[0], 'unshare', '--uts', 'sh', '-c', launch], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, out, err });
        });
      });
    };

    it('reclm launch --check runs one rank in each namespace and their allreduce is right', async () => {
      const r = await launchFromFirstHost(['--check', '--json']);
      expect(r.code, r.err).to.equal(0);
      const report = JSON.parse(r.out.trim().split('\n').pop()!); // --json: one line
      expect(report.size).to.equal(2);
      expect(report.allreduce).to.equal('ok');
      expect(report.ranks.map((x: { host: string }) => x.host)).to.deep.equal(ns);
    });

    it('reclm launch -- train: one rank per namespace, the losses of the one-host 2-rank run and of one process', async () => {
      // 12 steps of 32 rows, dropout on, 1 intra-op thread per rank (2 ranks on 2 cores).
      const recipe = ['--data', DATA, '--batch-size', '32', '--lr', '5e-3', '--seed', '3', '--epochs', '1', '--max-steps', '12', '--eval-every', '0', '--threads', '1'];
      const one = artifacts('one');
      reclm(['train', one, ...recipe]);
      const local = artifacts('local');
      const m = await mpirun(2, [RECLM, 'train', local, ...recipe]);
      expect(m.code, m.stderr).to.equal(0);
      const hosts = artifacts('hosts');
      const r = await launchFromFirstHost(['--', 'train', hosts, ...recipe]);
      expect(r.code, r.err).to.equal(0);
      // Rank 0 logs where every rank ran: here each in its own namespace (its own hostname);
      // on one host, both on this machine.
      const start = ofType(hosts, 'start')[0];
      expect(start.ranks).to.equal(2);
      expect(start.hosts).to.deep.equal(ns);
      expect(ofType(local, 'start')[0].hosts).to.deep.equal([hostname(), hostname()]);
      const want = stepLosses(local);
      expect(want).to.have.length(12);
      // With 2 ranks every allreduced element is a sum of two addends, which float addition
      // gives the same bits in either order, whatever algorithm or transport Open MPI picks
      // (shared memory here, TCP between the namespaces): the same bits, step by step.
      expect(stepLosses(hosts)).to.deep.equal(want);
      // One process sums each step's gradients in another order (its whole batch, not two
      // halves then the allreduce): ~1e-7 relative per step; 1e-4 leaves room for 12 steps of drift.
      expectLossesClose(want, stepLosses(one), 1e-4);
      // The step records carry the time inside the allreduce, a part of the step's time.
      for (const s of ofType(hosts, 'step')) expect(s.allreduce_ms).to.be.within(0, s.step_ms!);
    });
  });
});
