import { Command } from '@oclif/core';
import { toCliError } from './errors.js';

/**
 * The base of every reclm command. `--json` is oclif's: run() returns the summary, which oclif
 * prints as JSON with --json (and this.log/this.warn stay quiet then). Errors end here: a user
 * error prints one line and exits non-zero, a bug keeps its stack (cli/errors.ts toCliError).
 */
export abstract class ReclmCommand extends Command {
  static override enableJsonFlag = true;

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    throw toCliError(err);
  }
}
