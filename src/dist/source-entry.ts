/**
 * `reclm COMMAND ARGS...` from the TypeScript sources, through tsx: what `reclm launch` starts
 * on every rank when launch itself runs from the sources (development, the tests), so that
 * the ranks run the same code as the launcher. The installed package runs bin/run.js, which
 * loads the compiled commands.
 */
import { Errors } from '@oclif/core';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of this module, the program mpirun runs on every rank (through `node --import tsx`). */
export const SOURCE_ENTRY = fileURLToPath(import.meta.url);

const COMMANDS = new URL('../commands/', import.meta.url);
const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The source module of the longest command id at the start of `argv` (`data stats` → commands/data/stats.ts), and the words after it. */
function findCommand(argv: readonly string[]): { url: URL; rest: string[] } {
  for (let n = argv.length; n >= 1; n--) {
    const words = argv.slice(0, n);
    if (!words.every((w) => /^[a-z][a-z0-9-]*$/.test(w))) continue;
    const url = new URL(`${words.join('/')}.ts`, COMMANDS);
    if (existsSync(url)) return { url, rest: argv.slice(n) };
  }
  throw new Errors.CLIError(`'${argv[0] ?? ''}' is not a reclm command`);
}

if (process.argv[1] === SOURCE_ENTRY) {
  try {
    const { url, rest } = findCommand(process.argv.slice(2));
    const command = (await import(url.href)) as { default: { run(argv: string[], root: string): Promise<unknown> } };
    await command.default.run(rest, PACKAGE_ROOT);
  } catch (e) {
    // As bin/run.js: a user error prints its one line and exits with its code; a bug keeps its stack.
    Errors.handle(e as Error);
  }
}
