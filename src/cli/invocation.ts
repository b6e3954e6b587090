import { basename, isAbsolute, relative, sep } from 'node:path';

/**
 * The words that run this CLI again from the user's shell, for commands printed to be pasted
 * (the resume line after Ctrl-C). A clone has no `bin` on PATH, so a run started as
 * `./bin/run.js` (or `bin/dev.js`) gets that script's path relative to the working directory;
 * one started from a project's own node_modules gets `npx BIN`; anything else (a global
 * install, a test harness) gets `BIN`.
 * @param bin the command name (oclif's config.bin, e.g. "reclm")
 * @param script the script node was started with (process.argv[1])
 * @param cwd the working directory the printed command will run in
 */
export function invocation(bin: string, script: string | undefined = process.argv[1], cwd: string = process.cwd()): string[] {
  if (!script) return [bin];
  const rel = relative(cwd, script);
  const inside = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  // An installed package: on PATH when installed globally, through npx when in the project's own node_modules.
  if (script.split(sep).includes('node_modules')) return inside ? ['npx', bin] : [bin];
  if (['run.js', 'dev.js'].includes(basename(script))) return [inside ? `.${sep}${rel}` : script];
  return [bin];
}
