import { Errors, type Interfaces } from '@oclif/core';
import { Help, standardizeIDFromArgv } from '@oclif/core/help';
import { printedError } from './errors.js';
import { unknownCommandError } from './unknown-command.js';

/**
 * oclif's help, except that (1) a subject that is neither a command nor a topic (`reclm help
 * trian`) ends as `reclm trian` does (cli/unknown-command.ts), not with oclif's "Command trian
 * not found." and no list of what there is; and (2) the command is the longest run of leading
 * words that names one, so `--help` after a command's own arguments (`reclm train DIR --data F
 * --help`, `reclm compile extra --help`) shows that command's help, where oclif joins the
 * words of a command without arguments into an id it does not know.
 */
export default class ReclmHelp extends Help {
  public override async showHelp(argv: string[]): Promise<void> {
    const command = leadingCommand(this.config, argv);
    if (command) return super.showHelp(command.id.split(':'));
    const words = standardizeIDFromArgv(argv.filter((a) => a !== 'help'), this.config);
    const subject = words.find((a) => !a.startsWith('-'));
    if (subject !== undefined && words.indexOf(subject) === 0 && !this.config.findTopic(subject)) {
      throw unknownCommandError(this.config, subject);
    }
    return super.showHelp(argv);
  }
}

/**
 * The longest run of leading words of argv (flags and the word `help` left out) that names a
 * command (`data stats` → `data:stats`), with the words after it; null when no run does.
 */
export function leadingCommand(config: Interfaces.Config, argv: readonly string[]): { id: string; rest: string[] } | null {
  const words = argv.filter((a) => a !== 'help' && !a.startsWith('-'));
  for (let i = words.length; i >= 1; i--) {
    const id = words.slice(0, i).join(':');
    if (config.findCommand(id)) return { id, rest: words.slice(i) };
  }
  return null;
}

/**
 * The error for `reclm help COMMAND WORD...` (`reclm help train extra`), where oclif shows the
 * command's help as if the extra words had not been typed; null for anything else. Only the
 * help command asks: `reclm train DIR --help` passes DIR after the command on purpose.
 * @param argv the help command's arguments (what follows `reclm help`).
 * @returns a printed one-line CLIError with exit code 2, or null.
 */
export function helpExtraWordsError(config: Interfaces.Config, argv: readonly string[]): Errors.CLIError | null {
  const command = leadingCommand(config, argv);
  if (!command || command.rest.length === 0) return null;
  const name = command.id.replaceAll(':', config.topicSeparator);
  return printedError(new Errors.CLIError(`reclm help takes one command: '${command.rest[0]}' after '${name}' is not part of it (reclm help ${name} shows its help)`, { exit: 2 }));
}
