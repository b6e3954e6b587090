// Runs oclif command classes in-process, as `reclm <command>` would, capturing what they print.
// Command.run(argv, root) loads the package's oclif config from the package root; the TS command
// classes come in through tsx, so the tests exercise the sources, not a possibly stale dist/.
import { Command, Errors } from '@oclif/core';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  stdout: string;
  stderr: string;
  /** What the command threw (oclif prints it and exits with error.oclif.exit); undefined on success. */
  error?: Errors.CLIError;
  /** The exit code `reclm` would return: 0 on success, else the error's oclif exit code (1 by default). */
  exitCode: number;
}

type CommandClass = { run(argv?: string[], opts?: string): Promise<unknown> } & typeof Command;

export async function runCommand(cmd: CommandClass, argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  const exitCode = process.exitCode;
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  let error: Errors.CLIError | undefined;
  try {
    await cmd.run(argv, PACKAGE_ROOT);
  } catch (e) {
    error = e as Errors.CLIError;
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    // Command.catch sets process.exitCode for the real CLI; do not let it fail the test run.
    process.exitCode = exitCode;
  }
  return { stdout: out.join(''), stderr: err.join(''), error, exitCode: error ? (error.oclif?.exit ?? 1) : 0 };
}

/** oclif's warnings are wrapped and prefixed (" ›   Warning: ..."); this joins them back into plain text. */
export function plainText(s: string): string {
  return s.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ').trim();
}
