import { Errors } from '@oclif/core';

/** Known, user-facing failures: printed as one clear line with a non-zero exit, never a stack trace. */
const USER_ERRORS = new Set(['DataFormatError', 'ConfigError', 'DslError', 'CheckpointError', 'ProviderError', 'ArtifactError', 'TrainError', 'FeedError', 'RangeError', 'UsageError', 'SizeError']);

export function isUserError(e: unknown): e is Error {
  return e instanceof Error && (USER_ERRORS.has(e.name) || USER_ERRORS.has(e.constructor.name) || (e as NodeJS.ErrnoException).code === 'ENOENT');
}

/** oclif's flag and argument parsing errors: CLIErrors with exit code 2. */
function isParseError(e: unknown): e is Errors.CLIError {
  return e instanceof Errors.CLIError && e.oclif?.exit === 2;
}

/**
 * oclif's parse messages span several lines ("Parsing --lr \n\tExpected ...\nSee more help with
 * --help", "The following error occurred:\n  Missing required flag out ..."); this makes one line.
 */
export function oneLineParseMessage(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^See more help with --help$/.test(l) && !/^The following errors? occurred:$/.test(l));
  return `${lines.join('; ').replace(/^Parsing (--?[\w-]+);?\s*/, '$1: ')} (see --help)`;
}

/**
 * Rethrows `e` as an oclif error with its message only (no stack trace) when it is a user error:
 * exit code 1, or 2 for flag/argument parsing errors, whose message is put on one line and which
 * no longer dump the whole help text.
 */
export function asCliError(e: unknown): never {
  if (isParseError(e)) throw new Errors.CLIError(oneLineParseMessage(e.message), { exit: 2 });
  if (isUserError(e)) throw new Errors.CLIError(e.message, { exit: 1 });
  throw e;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
