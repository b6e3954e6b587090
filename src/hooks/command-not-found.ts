import { type Hook } from '@oclif/core';
import { unknownCommandError } from '../cli/unknown-command.js';

/** An unknown command (`reclm trian`) ends with one line naming the commands (cli/unknown-command.ts). */
const hook: Hook.CommandNotFound = async function (opts) {
  throw unknownCommandError(opts.config, opts.id);
};

export default hook;
