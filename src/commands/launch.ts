import { Errors, Flags, Parser } from '@oclif/core';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ReclmCommand } from '../cli/base-command.js';
import { didYouMean } from '../cli/unknown-command.js';
import { oneLineParseMessage } from '../cli/errors.js';
import { UsageError } from '../errors.js';
import { CHECK_ENTRY } from '../dist/check.js';
import { HostfileError, HostSlots, IncludeError, applyInclude, readHostfile } from '../dist/hostfile.js';
import { LaunchError, buildMpirunCommand, shellQuote } from '../dist/mpirun.js';
import { SOURCE_ENTRY } from '../dist/source-entry.js';

const INSTALL_HINT = 'install Open MPI on every host (Debian/Ubuntu: apt-get install openmpi-bin)';

/**
 * The argv every rank runs for `-- COMMAND ARGS...`: this Node and reclm's entry point, or,
 * when launch itself runs from the TypeScript sources, the sources' entry through tsx (as
 * `--check` does), so that the ranks run the launcher's code and not a possibly stale build.
 */
export function rankProgram(root: string, rest: readonly string[], fromSources = import.meta.url.endsWith('.ts')): string[] {
  if (fromSources) return [process.execPath, '--import', tsxLoader(), SOURCE_ENTRY, ...rest];
  return [process.execPath, join(root, 'bin', 'run.js'), ...rest];
}

/** The argv of `--check`: the check module, through tsx when it runs from the TypeScript sources; `--json` makes it print one JSON line. */
function checkProgram(json: boolean): string[] {
  return [process.execPath, ...(CHECK_ENTRY.endsWith('.ts') ? ['--import', tsxLoader()] : []), CHECK_ENTRY, ...(json ? ['--json'] : [])];
}

/**
 * tsx's loader as a file URL resolved from this module: a bare `--import tsx` is resolved from
 * the rank's working folder, which fails when launch runs from the sources outside the project.
 */
function tsxLoader(): string {
  return import.meta.resolve('tsx');
}

/** Whether `word` is one of launch's flags (`-np`, `--dry-run`, `--hostfile=h`, ...) that the command after -- does not have (`commandFlags`). */
function isLaunchFlag(word: string, commandFlags: readonly string[] = []): boolean {
  return word === '-np' || Object.keys(Launch.flags).some((f) => !commandFlags.includes(f) && (word === `--${f}` || word.startsWith(`--${f}=`)));
}

/** oclif adds --json to a command's flags at parse time when it enables it; the cached manifest (`cached`) lists it. */
function jsonFlag(cached: Record<string, unknown>): Record<string, ReturnType<typeof Flags.boolean>> {
  return 'json' in cached ? { json: Flags.boolean() } : {};
}

/** The one-line refusal of launch's flag `word` typed after -- (before `command`'s words, or among them). */
function misplacedFlag(word: string, command: string): UsageError {
  return new UsageError(`${word.split('=')[0]} after -- is launch's flag, not reclm ${command}'s; put it before -- (reclm launch [launch flags] -- ${command} ...)`);
}

export default class Launch extends ReclmCommand {
  // The command after -- has its own flags (and its own --json); launch prints only mpirun's output.
  static override enableJsonFlag = false;
  static override summary = 'Run a reclm command on several processes and hosts with Open MPI (mpirun).';
  static override description = `Builds and runs the mpirun command of a data-parallel run: one rank per slot of the hostfile (DeepSpeed / Open MPI syntax, 'HOST slots=N' per line, # comments), or -np ranks on this machine without one.

The command line carries what Node and onnxruntime need under Open MPI: --bind-to none (the default binding squeezes onnxruntime's threads onto one core), --mca mpi_yield_when_idle 1 (waiting ranks otherwise busy-poll a core), -x for PATH, LD_LIBRARY_PATH, NODE_OPTIONS and every RECLM_* variable (remote ranks get nothing else), TCP between hosts (--mca btl tcp,self) pinned to --network, --oversubscribe only when ranks exceed slots, and --allow-run-as-root only as root.
Every host needs Open MPI, Node and reclm at the same paths, the data at the same path, and passwordless ssh from this host. --check verifies a set-up: every rank reports its host and a known allreduce is checked.`;
  static override examples = [
    '<%= config.bin %> launch -np 2 --dry-run -- train artifacts/llama --data ml-1m.seq.txt.gz',
    '<%= config.bin %> launch --hostfile hosts.txt --network 10.0.0.0/24 --check',
    '<%= config.bin %> launch --hostfile hosts.txt --include node1:0,1@node2 -- train artifacts/llama --data /data/ml-1m.seq.txt.gz',
  ];
  static override strict = false;
  static override flags = {
    hostfile: Flags.string({ description: "hosts to run on, one 'HOST slots=N' per line (DeepSpeed / Open MPI syntax)" }),
    include: Flags.string({ description: "use only these hosts and slots of the hostfile, DeepSpeed syntax: 'host1:0,1@host2'", dependsOn: ['hostfile'] }),
    np: Flags.integer({ description: 'number of ranks (also written -np); default: the selected slots of the hostfile', min: 1 }),
    network: Flags.string({ description: 'IPv4 subnet (CIDR) Open MPI must use between hosts, e.g. 10.0.0.0/24' }),
    mca: Flags.string({ description: "extra Open MPI parameter KEY=VALUE passed as --mca KEY VALUE (repeatable), e.g. plm_rsh_agent=ssh", multiple: true }),
    mpirun: Flags.string({ description: 'the mpirun to run', default: 'mpirun' }),
    check: Flags.boolean({ description: 'instead of a command: check the set-up (hosts of all ranks, a known allreduce and broadcast)' }),
    json: Flags.boolean({ description: 'with --check: print the report as one JSON line (a command after -- takes its own --json)' }),
    'dry-run': Flags.boolean({ description: 'print the mpirun command instead of running it' }),
  };

  async run(): Promise<void> {
    this.words = [...this.argv];
    const split = this.argv.indexOf('--');
    const own = (split < 0 ? this.argv : this.argv.slice(0, split)).map((a) => (a === '-np' ? '--np' : a));
    const rest = split < 0 ? [] : this.argv.slice(split + 1);
    const { flags, argv } = await this.parse(Launch, own);
    if (argv.length) throw new UsageError(`unexpected argument '${argv[0]}'; put the reclm command after --, e.g. -- train DIR --data FILE`);
    if (flags.check && rest.length) throw new UsageError('--check runs its own program; give no command after --');
    if (flags.json && !flags.check) throw new UsageError('--json before -- goes with --check; put the command\'s own --json after --, e.g. -- train DIR --data FILE --json');
    // A missing command is a missing argument: exit 2, as oclif's.
    if (!flags.check && !rest.length) throw new LaunchError('nothing to launch: give a reclm command after --, e.g. -- train DIR --data FILE, or --check');
    // A launch flag typed after -- would reach every rank and fail there, once per rank.
    if (isLaunchFlag(rest[0] ?? '')) throw misplacedFlag(rest[0], 'COMMAND');
    if (rest[0] === '--help' || rest[0] === '-h') throw new UsageError(`${rest[0]} after -- would print the help once per rank; run reclm launch --help, or reclm COMMAND --help`);
    let hosts: HostSlots[] | null = null;
    if (flags.hostfile) {
      hosts = readHostfile(flags.hostfile);
      if (flags.include) hosts = applyInclude(hosts, flags.include);
    }
    const np = flags.np ?? (hosts ? hosts.reduce((a, h) => a + h.slots, 0) : undefined);
    if (np === undefined) throw new LaunchError('give -np N (ranks on this machine) or --hostfile FILE');
    const mca = (flags.mca ?? []).map((kv) => {
      const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(kv);
      if (!m) throw new LaunchError(`--mca: expected KEY=VALUE, got '${kv}'`);
      return [m[1], m[2]] as const;
    });
    const program = flags.check ? checkProgram(flags.json) : rankProgram(this.config.root, rest);
    const cmd = buildMpirunCommand({
      mpirun: flags.mpirun, hosts, np, network: flags.network, root: process.getuid?.() === 0, env: process.env, wdir: process.cwd(), mca, localCores: availableParallelism(), program,
    });
    const { name, ready, flagNames, parseCommand } = flags.check ? { name: 'launch --check', ready: true, flagNames: [], parseCommand: undefined } : await this.runsDataParallel(rest);
    // oclif answers --help before the command runs, so every rank would print it.
    if (rest.some((a) => a === '--help' || a === '-h')) throw new UsageError(`--help after -- would print reclm ${name}'s help once per rank; run reclm ${name} --help`);
    if (name === 'help') throw new UsageError(`help after -- would print the help once per rank; run reclm ${rest.join(' ')}`);
    const misplaced = rest.find((a) => isLaunchFlag(a, flagNames)); // anywhere in the command's words
    if (misplaced) throw misplacedFlag(misplaced, name);
    if (ready && parseCommand) await parseCommand(rest.slice(name.split(' ').length), hosts === null && !flags['dry-run'], np);
    if (flags['dry-run']) {
      this.log(shellQuote(cmd));
      if (!ready) this.warn(`reclm ${name} does not run data-parallel yet: each rank would run it alone`);
      return;
    }
    if (!ready) throw new UsageError(`reclm ${name} does not run data-parallel yet: each of the ${np} ranks would run it alone; see --dry-run for the command`);
    this.ranksReport = true;
    const { code, interrupted } = await runInherited(cmd);
    if (interrupted && code !== 0) {
      // mpirun stopped the ranks before they could report (rank 0's --json summary included): launch reports for them.
      this.ranksReport = false;
      throw new Errors.CLIError('interrupted: mpirun stopped every rank; a train run under launch keeps only its checkpoints (each epoch\'s end, or every --checkpoint-every N steps): continue from the last one with --resume', { exit: 130 });
    }
    if (code !== 0) throw new Errors.CLIError(`mpirun exited with ${code} (its messages above name the failed rank)`, { exit: typeof code === 'number' ? code : 1 });
  }

  /**
   * A malformed --include or launch flag, or a missing -np or command, is a command-line error:
   * exit 2, as oclif's own flag errors. A hostfile that cannot be read or parsed is a bad file: exit 1.
   */
  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof IncludeError || err instanceof LaunchError) return this.failWith(new Errors.CLIError(err.message, { exit: 2 }));
    if (err instanceof HostfileError) return this.failWith(new Errors.CLIError(err.message, { exit: 1 }));
    return super.catch(err);
  }

  /**
   * Errors as JSON with launch's own --json (before --, with --check), and, until mpirun starts,
   * with the command's --json after -- (a script reading the command's JSON reads launch's
   * refusals too; once the ranks run, rank 0 prints its own errors). Read from argv, as launch
   * may fail before its flags parse.
   */
  protected override jsonErrors(): boolean {
    const words = this.words ?? this.argv;
    const split = words.indexOf('--');
    const own = split < 0 ? words : words.slice(0, split);
    return own.includes('--json') || (!this.ranksReport && split >= 0 && words.slice(split + 1).includes('--json'));
  }

  /** The whole command line, kept at the start of run(): parsing launch's own flags replaces this.argv with them. */
  private words: string[] | undefined;

  /** Set when mpirun starts: from then on the ranks report the command's errors (unless mpirun interrupts them). */
  private ranksReport = false;

  /**
   * The reclm command at the start of `words`: its name, whether it opens the collective
   * (declares `static distributed = true`), its flag names, and a check of its own arguments
   * with its parser (a missing DIR, an unknown flag), so that a mistake is one line here
   * instead of the same error once per rank.
   */
  private async runsDataParallel(words: readonly string[]): Promise<{ name: string; ready: boolean; flagNames: string[]; parseCommand: (argv: string[], local: boolean, ranks: number) => Promise<void> }> {
    // Topic commands are several words (`data stats`); oclif joins them with ':'.
    const ids = words.map((_, i) => words.slice(0, i + 1).join(':')).reverse();
    const found = ids.map((id) => this.config.findCommand(id)).find((c) => c !== undefined);
    if (!found) {
      const commandIds = this.config.commandIDs.filter((c) => c !== 'launch' && c !== 'help');
      const known = commandIds.map((c) => c.replace(/:/g, ' '));
      // The list names what launch runs on every rank, not every command (a typo is still matched against all).
      const parallel: string[] = [];
      for (const id of commandIds) if (((await this.config.findCommand(id)?.load()) as { distributed?: boolean } | undefined)?.distributed === true) parallel.push(id.replace(/:/g, ' '));
      // Exit 2, as for an unknown command at the top level (cli/unknown-command.ts).
      throw new Errors.CLIError(`'${words[0] ?? ''}' after -- is not a reclm command${didYouMean(words[0] ?? '', known)}; launch runs data-parallel: ${parallel.join(', ')}`, { exit: 2 });
    }
    const cls = (await found.load()) as unknown as {
      distributed?: boolean;
      flags?: Parser.FlagInput;
      baseFlags?: Parser.FlagInput;
      args?: Parser.ArgInput;
      strict?: boolean;
      checkFlags?: (flags: Record<string, unknown>) => void;
      preflight?: (args: Record<string, unknown>, flags: Record<string, unknown>, ranks: number) => void;
    };
    const name = found.id.replace(/:/g, ' ');
    const parseCommand = async (argv: string[], local: boolean, ranks: number) => {
      let parsed: { args: Record<string, unknown>; flags: Record<string, unknown> };
      try {
        // The flags as the command aggregates them (its --json included), parsed as the command would.
        parsed = await Parser.parse(argv, { flags: { ...(cls.baseFlags ?? {}), ...(cls.flags ?? {}), ...jsonFlag(found.flags) }, args: cls.args ?? {}, strict: cls.strict ?? true, context: this });
      } catch (e) {
        // One line as the command itself would print it; a flag's own parser already names the flag.
        const line = oneLineParseMessage((e as Error).message, argv).replace(/ \(see --help\)$/, '').replace(/^(--[\w-]+): (?=\1 )/, '');
        // Exit 2, as the command itself exits on an argument its parser rejects.
        throw new Errors.CLIError(`reclm ${name} after --: ${line} (see reclm ${name} --help)`, { exit: 2 });
      }
      // The command's own refusals of flag combinations, with the exit code the command gives them.
      try {
        cls.checkFlags?.(parsed.flags);
      } catch (e) {
        throw new UsageError(`reclm ${name} after --: ${(e as Error).message}`);
      }
      // Its files and rank count, when every rank runs here and so sees this machine's files
      // (remote ranks see their own hosts' paths, which this host cannot check), and not for
      // --dry-run (a command printed for later); the command's error as it is.
      if (local) cls.preflight?.(parsed.args, parsed.flags, ranks);
    };
    return { name, ready: cls.distributed === true, flagNames: Object.keys(found.flags), parseCommand };
  }
}

/**
 * Runs argv with this process's stdio; forwards SIGINT/SIGTERM; resolves the exit code (or the
 * signal's name) and whether this process was interrupted meanwhile (then a non-zero exit is the
 * interrupt's doing, not a failed rank's).
 */
function runInherited(argv: readonly string[]): Promise<{ code: number | string; interrupted: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
    let interrupted = false;
    const forward = (sig: NodeJS.Signals) => {
      interrupted = true;
      child.kill(sig);
    };
    process.on('SIGINT', forward).on('SIGTERM', forward);
    const done = () => process.off('SIGINT', forward).off('SIGTERM', forward);
    child.on('error', (e: NodeJS.ErrnoException) => {
      done();
      reject(e.code === 'ENOENT' ? new UsageError(`${argv[0]} not found: ${INSTALL_HINT}`) : e);
    });
    child.on('exit', (code, signal) => {
      done();
      resolve({ code: code ?? signal ?? 1, interrupted });
    });
  });
}
