import { Help, standardizeIDFromArgv } from '@oclif/core/help';
import { unknownCommandError } from './unknown-command.js';

/**
 * oclif's help, except for a subject that is neither a command nor a topic (`reclm help trian`):
 * that ends as `reclm trian` does (cli/unknown-command.ts), not with oclif's "Command trian not
 * found." and no list of what there is.
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
