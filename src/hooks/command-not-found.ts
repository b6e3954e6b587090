import { Errors, type Hook } from '@oclif/core';
import { printedError, printJsonError, switchGivenValue } from '../cli/errors.js';
import { helpJson, leadingCommand } from '../cli/help.js';
import { unknownCommandError } from '../cli/unknown-command.js';

/**
 * An unknown command (`reclm trian`) ends with one line naming the commands (cli/unknown-command.ts);
 * with --json among its words, also as `{"error": {"message", "exit"}}` on stdout, as every
 * command's refusals are (a script reading stdout would otherwise get nothing).
 *
 * `--json` typed before the command (`reclm --json train DIR`), which oclif takes for the command,
 * runs the command with `--json` moved after it; `reclm --json` alone (or with a topic: `reclm --json
 * data`) prints the list of commands that `reclm help [TOPIC] --json` prints. A repeated --json counts once.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  let argv = opts.argv ?? [];
  if (opts.id === '--json') {
    // `reclm --json --json presets`: one --json is enough, as a flag given twice after the command is.
    const firstWord = argv.findIndex((a) => a !== '--json');
    argv = firstWord === -1 ? [] : argv.slice(firstWord);
    // oclif also finds a topic for a command's own name (`presets`): only a topic without a command lists.
    if (argv.length === 0 || (argv.length === 1 && !opts.config.findCommand(argv[0]) && argv[0] !== 'help' && opts.config.findTopic(argv[0]))) {
      this.log(JSON.stringify(helpJson(opts.config, argv)));
      return;
    }
    // leadingCommand skips the word `help`, which is a command here (`reclm --json help train`).
    const id = argv[0] === 'help' ? 'help' : leadingCommand(opts.config, argv)?.id;
    const words = id?.split(':') ?? [];
    // The command's words must come first: `reclm --json --out X train` is not rearranged.
    // oclif reads a repeated --json once (`reclm --json presets --json`).
    if (id && words.every((w, i) => argv[i] === w)) return opts.config.runCommand(id, [...argv.slice(words.length), '--json']);
    throw unknownCommandError(opts.config, argv[0], (message) => printJsonError(message, 2));
  }
  // `reclm --json=true presets`: oclif takes the token for a command; a switch takes no value.
  const refusal = switchGivenValue([opts.id], { json: { type: 'boolean' } });
  if (refusal) throw printedError(new Errors.CLIError(`${refusal} (see --help)`, { exit: 2 }));
  const json = [...opts.id.split(':'), ...argv].includes('--json');
  throw unknownCommandError(opts.config, opts.id, json ? (message) => printJsonError(message, 2) : undefined);
};

export default hook;
