import { Errors } from '@oclif/core';
import { ReclmError } from '../errors.js';
import { OUTPUT_ERROR_WORDS } from '../util/atomic.js';
import { ArgumentCheckError } from './flags.js';

export { UsageError } from '../errors.js';

/**
 * oclif's parse messages span several lines ("Parsing --lr \n\tExpected ...\nSee more help with
 * --help", "The following error occurred:\n  Missing required flag out ..."); this makes one line.
 * @param argv the command's arguments, when known: oclif's note on a multi-value flag is kept
 *   only when that flag was given (it explains an argument the flag swallowed)
 */
export function oneLineParseMessage(message: string, argv?: readonly string[]): string {
  const lines = message
    // oclif wraps an argument's description; its continuation lines are indented further (4+
    // spaces) than the items of an error list (2).
    .replace(/\n {4,}(?=\S)/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    // oclif adds its note on a multi-value flag to every missing-argument error; it only explains one when that flag was given.
    .filter((l) => {
      const flag = /^Note: (--[\w-]+) allows multiple values\./.exec(l)?.[1];
      return !flag || !argv || argv.some((a) => a === flag || a.startsWith(`${flag}=`));
    })
    .filter((l) => l && !/^See more help with --help$/.test(l) && !/^The following errors? occurred:$/.test(l) && !/^Alternatively, you can use "--"/.test(l))
    // oclif's note for a flag that takes several values, which swallows the arguments after it.
    .map((l) => l.replace(/^Note: (--[\w-]+) allows multiple values\..*$/, 'an argument given after $1 (which takes several values) is read as its value: give arguments first, or end the flags with --'))
    // oclif names a missing flag without its dashes ("Missing required flag data"); the user types --data.
    .map((l) => l.replace(/^(Missing required flag) ([\w-]+)$/, '$1 --$2'))
    // "Missing 1 required arg:" then "file  its description": "file (its description)".
    .map((l, i, all) => (i > 0 && /required args?:$/.test(all[i - 1]) ? l.replace(/^(\S+)\s{2,}(.+)$/, '$1 ($2)') : l));
  const joined = lines.reduce((out, l, i) => (i === 0 ? l : `${out}${/:$/.test(lines[i - 1]) ? ' ' : '; '}${l}`), '');
  // A message that already names the help to read (launch's check of a command's arguments) keeps it.
  const line = joined.replace(/^Parsing (--?[\w-]+);?\s*/, '$1: ');
  return /--help\)$/.test(line) ? line : `${line} (see --help)`;
}

/**
 * The refusal for a `--name=value` token (before `--`) whose flag is a switch (a boolean flag),
 * else null. oclif reads `--json=true` as `--json` followed by the argument `true`, so
 * `data stats FILE --json=true` would name a file "true" and call FILE unexpected.
 * @param flags the command's flag definitions by name (oclif's `type` and `allowNo`)
 */
export function switchGivenValue(argv: readonly string[], flags: Readonly<Record<string, { type: string; allowNo?: boolean }>>): string | null {
  for (const a of argv) {
    if (a === '--') break;
    const name = /^--([\w-]+)=/.exec(a)?.[1];
    if (name === undefined) continue;
    const base = flags[name] ? name : name.startsWith('no-') && flags[name.slice(3)]?.allowNo ? name.slice(3) : null;
    if (base === null || flags[base].type !== 'boolean') continue;
    const how = flags[base].allowNo ? `--${base} or --no-${base}` : `--${base}, or leave it out`;
    return `--${name} is a switch and takes no value: write ${how}, got '${a}'`;
  }
  return null;
}

/** What oclif wraps around an error thrown by a flag's own parser (cli/flags.ts). */
const FLAG_PARSER_WRAP = /^Parsing --[\w-]+ \n\t([\s\S]*)\nSee more help with --help$/;

/**
 * The error a command ends with. User errors (every ReclmError, a path the file system refuses:
 * the codes of OUTPUT_ERROR_WORDS, e.g. ENOENT, EACCES, ENOSPC) become one
 * line without a stack: exit code 2 for flag and argument errors (oclif's own and those of
 * reclm's flag parsers), 1 for the rest. Anything else is a bug and is returned as it is, so
 * oclif prints its stack.
 */
export function toCliError(e: unknown, argv?: readonly string[]): Error {
  if (e instanceof ReclmError) {
    const inner = FLAG_PARSER_WRAP.exec(e.message);
    return new Errors.CLIError(inner ? inner[1] : e.message, { exit: inner ? 2 : 1 });
  }
  // An argument's own check reads like a flag parser's error (`presets nope` as `compile --preset nope`).
  if (e instanceof ArgumentCheckError) return e;
  if (e instanceof Errors.CLIError) return e.oclif?.exit === 2 ? new Errors.CLIError(oneLineParseMessage(e.message, argv), { exit: 2 }) : e;
  // A path the machine refuses (missing, a file in the way, no permission, a full or read-only
  // disk) is the user's to fix, wherever reclm's own checks did not catch it first.
  const code = e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
  if (code !== undefined && code in OUTPUT_ERROR_WORDS) return new Errors.CLIError((e as Error).message, { exit: 1 });
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Prints `cli` as one unwrapped line, `Error: …`, on stderr and marks it so that oclif's handler
 * only exits with its code (oclif.exit): oclif would wrap the line at 80 columns whenever stderr
 * is not a terminal, cutting paths and commands in two. Returns `cli`, to be thrown.
 */
export function printedError(cli: Errors.CLIError): Errors.CLIError {
  process.stderr.write(`Error: ${cli.message}\n`);
  cli.skipOclifErrorHandling = true;
  return cli;
}

/**
 * Prints a refusal as `{"error": {"message", "exit"}}`, one line on stdout: what every command
 * prints with --json, for a script that reads stdout (the one-line message still goes to stderr).
 */
export function printJsonError(message: string, exit: number): void {
  process.stdout.write(`${JSON.stringify({ error: { message, exit } })}\n`);
}
