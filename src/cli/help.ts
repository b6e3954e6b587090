import { Errors } from '@oclif/core';
import { Help, standardizeIDFromArgv } from '@oclif/core/help';
import { printedError } from './errors.js';
import { unknownCommandError } from './unknown-command.js';

/**
 * oclif's help, except for a subject that is neither a command nor a topic (`reclm help trian`):
 * that ends as `reclm trian` does (cli/unknown-command.ts), not with oclif's "Command trian not
 * found." and no list of what there is; and except for words after a command (`reclm help train
 * extra`), which oclif ignores, showing train's help as if the rest had not been typed.
 */
export default class ReclmHelp extends Help {
  public override async showHelp(argv: string[]): Promise<void> {
    const words = standardizeIDFromArgv(argv.filter((a) => a !== 'help'), this.config);
    const subject = words.find((a) => !a.startsWith('-'));
    if (subject !== undefined && words.indexOf(subject) === 0) {
      const command = this.config.findCommand(subject);
      if (!command && !this.config.findTopic(subject)) throw unknownCommandError(this.config, subject);
      const extra = words.slice(1).find((a) => !a.startsWith('-'));
      if (command && extra !== undefined) {
        const name = subject.replaceAll(':', this.config.topicSeparator);
        throw printedError(new Errors.CLIError(`reclm help takes one command: '${extra}' after '${name}' is not part of it (reclm help ${name} shows its help)`, { exit: 2 }));
      }
    }
    return super.showHelp(argv);
  }
}
