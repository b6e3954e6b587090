// --help for the bench scripts: print the usage and exit before any work starts.

/** Prints `usage` and exits 0 when the command line holds --help or -h; call it before anything else runs. */
export function answerHelp(usage: string): void {
  if (!process.argv.slice(2).some((a) => a === '--help' || a === '-h')) return;
  process.stdout.write(`${usage.trim()}\n`);
  process.exit(0);
}
