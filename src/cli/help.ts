import { Errors, type Interfaces } from '@oclif/core';
import { Help, standardizeIDFromArgv } from '@oclif/core/help';
import { printedError } from './errors.js';
import { unknownCommandError } from './unknown-command.js';

/**
 * oclif's help, except for a subject that is neither a command nor a topic (`reclm help trian`):
 * that ends as `reclm trian` does (cli/unknown-command.ts), not with oclif's "Command trian not
 * found." and no list of what there is. Also serves `--help` after a command's own arguments
 * (`reclm train DIR --data F --help`), so words after the command are fine here.
 */
export default class ReclmHelp extends Help {
  public override async showHelp(argv: string[]): Promise<void> {
    const words = standardizeIDFromArgv(argv.filter((a) => a !== 'help'), this.config);
    const subject = words.find((a) => !a.startsWith('-'));
    if (subject !== undefined && words.indexOf(subject) === 0 && !this.config.findCommand(subject) && !this.config.findTopic(subject)) {
      throw unknownCommandError(this.config, subject);
    }
    return super.showHelp(argv);
  }
}

/**
 * The error for `reclm help COMMAND WORD...` (`reclm help train extra`), where oclif shows the
 * command's help as if the extra words had not been typed; null for anything else. Only the
 * help command asks: `reclm train DIR --help` passes DIR after the command on purpose.
 * @param argv the help command's arguments (what follows `reclm help`).
 * @returns a printed one-line CLIError with exit code 2, or null.
 */
export function helpExtraWordsError(config: Interfaces.Config, argv: readonly string[]): Errors.CLIError | null {
  const words = standardizeIDFromArgv(argv.filter((a) => !a.startsWith('-')), config);
  if (words.length < 2 || !config.findCommand(words[0])) return null;
  const name = words[0].replaceAll(':', config.topicSeparator);
  return printedError(new Errors.CLIError(`reclm help takes one command: '${words[1]}' after '${name}' is not part of it (reclm help ${name} shows its help)`, { exit: 2 }));
}
