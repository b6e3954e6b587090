import { type Hook } from '@oclif/core';
import { printJsonError } from '../cli/errors.js';
import { unknownCommandError } from '../cli/unknown-command.js';

/**
 * An unknown command (`reclm trian`) ends with one line naming the commands (cli/unknown-command.ts);
 * with --json among its words, also as `{"error": {"message", "exit"}}` on stdout, as every
 * command's refusals are (a script reading stdout would otherwise get nothing).
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const words = [...opts.id.split(':'), ...(opts.argv ?? [])];
  const json = words.includes('--json');
  throw unknownCommandError(opts.config, opts.id, json ? (message) => printJsonError(message, 2) : undefined);
};

export default hook;
