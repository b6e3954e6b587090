import { Errors, type Hook } from '@oclif/core';
import { distance } from 'fastest-levenshtein';
import { printedError } from '../cli/errors.js';

/**
 * An unknown command (`reclm trian`) ends with one unwrapped line naming the commands, and the
 * closest one when it is a likely typo (Levenshtein distance of at most 2), exit code 2 as for a
 * bad flag. oclif's own message says only "command trian not found", wrapped and indented.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const sep = opts.config.topicSeparator;
  const commands = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', sep)).sort();
  // oclif's id joins the words of argv (`trian x` → `trian:x`): the command is the first word,
  // or the first two under a topic (`data stats`).
  const words = opts.id.split(':');
  const topics = new Set(commands.filter((c) => c.includes(sep)).map((c) => c.split(sep)[0]));
  const asked = words.slice(0, topics.has(words[0]) ? 2 : 1).join(sep);
  const closest = commands.map((c) => ({ c, d: distance(asked.toLowerCase(), c) })).sort((x, y) => x.d - y.d)[0];
  const hint = closest && closest.d <= 2 ? ` (did you mean '${closest.c}'?)` : '';
  const message = `'${asked}' is not a reclm command${hint}; commands: ${commands.join(', ')} (reclm help COMMAND for one)`;
  throw printedError(new Errors.CLIError(message, { exit: 2 }));
};

export default hook;
