import { Errors } from '@oclif/core';

/** Known, user-facing failures: printed as one clear line with a non-zero exit, never a stack trace. */
const USER_ERRORS = new Set(['DataFormatError', 'ConfigError', 'DslError', 'CheckpointError', 'ProviderError', 'ArtifactError', 'TrainError', 'FeedError', 'RangeError', 'UsageError']);

export function isUserError(e: unknown): e is Error {
  return e instanceof Error && (USER_ERRORS.has(e.name) || USER_ERRORS.has(e.constructor.name) || (e as NodeJS.ErrnoException).code === 'ENOENT');
}

/** Rethrows `e` as an oclif error (exit code 1, message only) when it is a user error. */
export function asCliError(e: unknown): never {
  if (isUserError(e)) throw new Errors.CLIError(e.message, { exit: 1 });
  throw e;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
