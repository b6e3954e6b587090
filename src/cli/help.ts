import { Errors, type Interfaces } from '@oclif/core';
import { Help, standardizeIDFromArgv } from '@oclif/core/help';
import { printedError, printJsonError } from './errors.js';
import { unknownCommandError } from './unknown-command.js';

/**
 * oclif's help, except that (1) a subject that is neither a command nor a topic (`reclm help
 * trian`) ends as `reclm trian` does (cli/unknown-command.ts), not with oclif's "Command trian
 * not found." and no list of what there is; and (2) the command is the longest run of leading
 * words that names one, so `--help` after a command's own arguments (`reclm train DIR --data F
 * --help`, `reclm compile extra --help`) shows that command's help, where oclif joins the
 * words of a command without arguments into an id it does not know; and (3) with `--json` among
 * the words (`reclm --help --json`, `reclm train --help --json`) it prints helpJson's object, as
 * `reclm help [COMMAND] --json` does, where oclif prints the text help.
 */
export default class ReclmHelp extends Help {
  public override async showHelp(argv: string[]): Promise<void> {
    const command = leadingCommand(this.config, argv);
    // `reclm --help --json`, `reclm train DIR --help --json`: the JSON that `reclm help [COMMAND] --json` prints.
    // oclif shows a topic's help (`reclm data --json`) with the topic's id alone, so --json is also looked for in the command line.
    const topicJson = argv.length === 1 && !command && Boolean(this.config.findTopic(argv[0])) && process.argv.slice(2).includes('--json');
    if (argv.includes('--json') || topicJson) {
      this.log(JSON.stringify(helpJson(this.config, command ? command.id.split(':') : argv.filter((a) => a !== 'help'))));
      return;
    }
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

/** One flag as `reclm help COMMAND --json` shows it. */
interface FlagJson {
  char?: string;
  description?: string;
  type: 'boolean' | 'option';
  required?: boolean;
  multiple?: boolean;
  options?: readonly string[];
  default?: unknown;
}

/**
 * `reclm help [COMMAND] --json`: with no subject, `{commands: [{command, summary}]}`; for a
 * command, `{command, summary, description, examples, args, flags}` (the description is the
 * summary for a command that has none) with the examples as typed
 * (`reclm train …`) and each visible flag's char, description, type, required, multiple, options
 * and a static default. A subject that is no command throws what `reclm help trian` throws (exit
 * 2), having printed it as `{"error": {"message", "exit"}}` on stdout.
 * @param argv the help command's words, `--json` taken out
 */
export function helpJson(config: Interfaces.Config, argv: readonly string[]): Record<string, unknown> {
  const sep = config.topicSeparator;
  const words = argv.filter((a) => !a.startsWith('-'));
  // `help help` is the help command's own help (leadingCommand skips the word 'help').
  const found = words.length === 1 && words[0] === 'help' ? { id: 'help', rest: [] } : leadingCommand(config, words);
  const render = (s: string, id = '') => s.replaceAll('<%= config.bin %>', config.bin).replaceAll('<%= command.id %>', id.replaceAll(':', sep));
  if (!found) {
    // Nothing, or one topic (`help data`): its commands. Anything else names no command (`help data bogus`).
    if (words.length > 1 || (words.length === 1 && !config.findTopic(words[0]))) {
      throw unknownCommandError(config, words.join(':'), (message) => printJsonError(message, 2));
    }
    const prefix = words.length === 0 ? '' : `${words[0]}:`;
    const listed = config.commands.filter((c) => !c.hidden && c.id.startsWith(prefix)).sort((a, b) => a.id.localeCompare(b.id));
    return { commands: listed.map((c) => ({ command: c.id.replaceAll(':', sep), summary: render(c.summary ?? c.description?.split('\n')[0] ?? '', c.id) })) };
  }
  const c = config.findCommand(found.id)!;
  const examples = (c.examples ?? []).map((e) => (typeof e === 'string' ? render(e, c.id) : { description: render(e.description, c.id), command: render(e.command, c.id) }));
  const flags: Record<string, FlagJson> = {};
  for (const [name, f] of Object.entries(c.flags)) {
    if (f.hidden) continue;
    const option = f.type === 'option' ? f : undefined;
    // A default computed at run time (a function) has no value to show here.
    const dflt = typeof f.default === 'function' ? undefined : f.default;
    flags[name] = { char: f.char, description: f.description, type: f.type, required: f.required || undefined, multiple: option?.multiple || undefined, options: option?.options, default: dflt };
  }
  const args = Object.fromEntries(Object.entries(c.args ?? {}).map(([name, a]) => [name, { description: a.description, required: a.required ?? false }]));
  return { command: c.id.replaceAll(':', sep), summary: render(c.summary ?? c.description?.split('\n')[0] ?? '', c.id), description: render(c.description ?? c.summary ?? '', c.id), examples, args, flags };
}
