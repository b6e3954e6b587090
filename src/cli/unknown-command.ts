import { Errors, type Interfaces } from '@oclif/core';
import { distance } from 'fastest-levenshtein';
import { printedError } from './errors.js';

/**
 * The error for a command reclm does not have (`reclm trian`, `reclm help trian`): one unwrapped
 * line naming the commands, and the closest one when it is a likely typo (Levenshtein distance
 * of at most 2), exit code 2 as for a bad flag. oclif's own messages ("command trian not found",
 * "Command trian not found.") name neither.
 * @param id oclif's command id: argv's words joined by ':' (`trian x` → `trian:x`)
 * @param onMessage receives the message before it is printed (the JSON form for --json)
 */
export function unknownCommandError(config: Interfaces.Config, id: string, onMessage?: (message: string) => void): Errors.CLIError {
  const sep = config.topicSeparator;
  const commands = config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', sep)).sort();
  // The command is the first word, or the first two under a topic (`data stats`).
  const words = id.split(':');
  const topics = new Set(commands.filter((c) => c.includes(sep)).map((c) => c.split(sep)[0]));
  const asked = words.slice(0, topics.has(words[0]) ? 2 : 1).join(sep);
  const message = `'${asked}' is not a reclm command${didYouMean(asked, commands)}; commands: ${commands.join(', ')} (reclm help COMMAND for one)`;
  onMessage?.(message);
  return printedError(new Errors.CLIError(message, { exit: 2 }));
}

/**
 * ` (did you mean 'train'?)` for the command of `commands` closest to `asked` (case folded)
 * when it is a likely typo, a Levenshtein distance of at most 2; '' otherwise.
 */
export function didYouMean(asked: string, commands: readonly string[]): string {
  const closest = commands.map((c) => ({ c, d: distance(asked.toLowerCase(), c) })).sort((x, y) => x.d - y.d)[0];
  return closest && closest.d <= 2 ? ` (did you mean '${closest.c}'?)` : '';
}
