import { Command, Errors } from '@oclif/core';
import { OUTPUT_ERROR_WORDS } from '../util/atomic.js';
import { printedError, switchGivenValue, toCliError } from './errors.js';

/**
 * stdout that cannot be written (a full disk, `> /dev/full`): one line and exit 1 instead of
 * oclif's listener, which rethrows everything but EPIPE and so ends the command with a stack
 * trace. EPIPE (a reader such as `head` that stopped) stays silent, as oclif has it.
 */
export function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') return;
  if (err.code === undefined || !(err.code in OUTPUT_ERROR_WORDS)) throw err;
  process.stderr.write(`Error: cannot write the output to stdout (${OUTPUT_ERROR_WORDS[err.code]})\n`);
  process.exit(1);
}

/**
 * The base of every reclm command. `--json` is oclif's: run() returns the summary, which oclif
 * prints as JSON with --json (and this.log stays quiet then). Errors end here: a user error
 * prints one line and exits non-zero, a bug keeps its stack (cli/errors.ts toCliError).
 */
export abstract class ReclmCommand extends Command {
  static override enableJsonFlag = true;

  /** Replaces oclif's stdout error listener when a command runs, not when this module is imported. */
  public override async init(): Promise<void> {
    await super.init();
    process.stdout.removeAllListeners('error');
    process.stdout.on('error', onStdoutError);
    // Before oclif parses: it would split `--json=true` into a switch and a stray argument.
    const flags = { ...(this.ctor.enableJsonFlag ? { json: { type: 'boolean' } } : {}), ...this.ctor.baseFlags, ...this.ctor.flags };
    const refusal = switchGivenValue(this.argv, flags);
    if (refusal) throw new Errors.CLIError(refusal, { exit: 2 });
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    return this.failWith(toCliError(err, this.argv));
  }

  /**
   * Ends the command with `cli`: a user error (CLIError) is printed here as one unwrapped line
   * (printedError). With --json a script reads stdout, so it gets the failure as JSON there too.
   * A bug keeps oclif's printing with its stack.
   */
  protected failWith(cli: Error): never {
    this.logJsonError(cli);
    throw cli instanceof Errors.CLIError && !(cli instanceof Errors.ExitError) ? printedError(cli) : cli;
  }

  /** Whether errors are printed as JSON on stdout: with --json (a command with its own JSON flag overrides this). */
  protected jsonErrors(): boolean {
    return this.jsonEnabled();
  }

  /** With jsonErrors(), prints a user error as `{"error": {"message", "exit"}}` on stdout; bugs print nothing there. */
  protected logJsonError(cli: Error): void {
    if (this.jsonErrors() && cli instanceof Errors.CLIError) this.logJsonLine({ error: { message: cli.message, exit: cli.oclif?.exit ?? 1 } });
  }

  /** `value` as one line of JSON on stdout, so that a script can read it as JSON Lines too (logJson indents it over several). */
  protected logJsonLine(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /**
   * A note on stderr: something the reader did that the user should know (events reordered by
   * time, a column ignored, an encoding fallback), as opposed to a warning that the numbers may
   * mislead. One unwrapped line, `note: …`, also with --json (stdout holds only the JSON).
   */
  note(line: string): void {
    this.notesGiven.push(line);
    process.stderr.write(`note: ${line}\n`);
  }

  /** The notes printed so far, in order; the --json summary carries them as `notes`. */
  protected readonly notesGiven: string[] = [];

  /**
   * The --json summary: run()'s object with a `notes` array added when notes were printed, so a
   * script reading stdout alone does not lose them (they went to stderr). A summary with its own
   * `notes` (data stats) keeps them, the others appended once. Arrays and scalars pass as they are.
   */
  protected override toSuccessJson(result: unknown): unknown {
    if (!this.notesGiven.length || result === null || typeof result !== 'object' || Array.isArray(result)) return result;
    const own = (result as { notes?: unknown }).notes;
    const notes = Array.isArray(own) ? [...own] : [];
    for (const n of this.notesGiven) if (!notes.includes(n)) notes.push(n);
    return { ...result, notes };
  }

  /**
   * Warnings go to stderr with --json too (oclif drops them there): stdout holds only the JSON.
   * One unwrapped line, `Warning: …`, for the reason printedError gives.
   */
  override warn(input: string | Error): string | Error {
    process.stderr.write(`Warning: ${typeof input === 'string' ? input : input.message}\n`);
    return input;
  }
}
