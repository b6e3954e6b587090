import { Errors, Flags } from '@oclif/core';
import { commands } from '@oclif/plugin-help';
import { printedError, printJsonError, toCliError } from '../cli/errors.js';
import { helpExtraWordsError, helpJson } from '../cli/help.js';

/**
 * `reclm help [COMMAND]`: oclif's help command (its text comes from cli/help.ts), except that a
 * bad flag ends as in every reclm command, with one line and exit 2, where oclif follows its
 * error with the root help; words after the command (`reclm help train extra`) are refused the
 * same way, where oclif ignores them; and `--json` prints the help as one JSON object (cli/help.ts
 * helpJson), an unknown subject as `{"error": …}`, as every other command's --json does.
 */
export default class Help extends commands.help {
  static override flags = {
    ...commands.help.flags,
    json: Flags.boolean({ description: "print one JSON object: every command's summary, or one command's summary, description, examples, arguments and flags" }),
  };

  public override async run(): Promise<void> {
    const json = this.argv.includes('--json');
    const extra = helpExtraWordsError(this.config, this.argv);
    if (extra) {
      if (json) printJsonError(extra.message, 2);
      throw extra;
    }
    if (json) {
      // Not strict (oclif's help takes any words), so an unknown flag is left in argv for the check
      // below. The options are spelled out: spreading the class would drop the statics it inherits.
      const rest = (await this.parse({ flags: Help.flags, args: Help.args, strict: false })).argv.map(String);
      const bad = rest.find((a) => a.startsWith('-'));
      if (bad) throw new Errors.CLIError(`Nonexistent flag: ${bad}`, { exit: 2 });
      this.log(JSON.stringify(helpJson(this.config, rest)));
      return;
    }
    return super.run();
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    // Already printed as one line (an unknown subject, cli/unknown-command.ts): only its exit code is left.
    if (err instanceof Errors.CLIError && err.skipOclifErrorHandling) throw err;
    const cli = toCliError(err, this.argv);
    // With --json a script reads stdout, so it gets the failure there too (as from every command).
    if (this.argv.includes('--json') && cli instanceof Errors.CLIError) printJsonError(cli.message, cli.oclif?.exit ?? 1);
    throw cli instanceof Errors.CLIError && !(cli instanceof Errors.ExitError) ? printedError(cli) : cli;
  }
}
