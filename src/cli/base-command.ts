import { Command, Errors } from '@oclif/core';
import { toCliError } from './errors.js';

/**
 * The base of every reclm command. `--json` is oclif's: run() returns the summary, which oclif
 * prints as JSON with --json (and this.log stays quiet then). Errors end here: a user error
 * prints one line and exits non-zero, a bug keeps its stack (cli/errors.ts toCliError).
 */
export abstract class ReclmCommand extends Command {
  static override enableJsonFlag = true;

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    const cli = toCliError(err);
    // With --json a script reads stdout: it gets the failure as JSON there too (the line on stderr stays).
    if (this.jsonEnabled() && cli instanceof Errors.CLIError) this.logJson({ error: { message: cli.message, exit: cli.oclif?.exit ?? 1 } });
    throw cli;
  }

  /** Warnings go to stderr with --json too (oclif drops them there): stdout holds only the JSON. */
  override warn(input: string | Error): string | Error {
    Errors.warn(input);
    return input;
  }
}
