import { Errors } from '@oclif/core';
import { commands } from '@oclif/plugin-help';
import { printedError, toCliError } from '../cli/errors.js';
import { helpExtraWordsError } from '../cli/help.js';

/**
 * `reclm help [COMMAND]`: oclif's help command (its text comes from cli/help.ts), except that a
 * bad flag ends as in every reclm command, with one line and exit 2 (`reclm help --json`:
 * "Nonexistent flag: --json (see --help)"), where oclif follows its error with the root help;
 * and words after the command (`reclm help train extra`) are refused the same way, where oclif
 * ignores them.
 */
export default class Help extends commands.help {
  public override async run(): Promise<void> {
    const extra = helpExtraWordsError(this.config, this.argv);
    if (extra) throw extra;
    return super.run();
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    // Already printed as one line (an unknown subject, cli/unknown-command.ts): only its exit code is left.
    if (err instanceof Errors.CLIError && err.skipOclifErrorHandling) throw err;
    const cli = toCliError(err, this.argv);
    throw cli instanceof Errors.CLIError && !(cli instanceof Errors.ExitError) ? printedError(cli) : cli;
  }
}
