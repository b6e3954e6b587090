// Child process running `reclm train ARGS...` from the sources, as the real CLI would: a user
// error prints its one line on stderr and exits with the command's exit code.
import { Errors } from '@oclif/core';
import Train from '../../src/commands/train.js';
import { PACKAGE_ROOT } from './cli.js';

try {
  await Train.run(process.argv.slice(2), PACKAGE_ROOT);
} catch (e) {
  // As oclif's handler: what the command printed already (its one-line user error) is not printed again.
  if (!(e as Errors.CLIError).skipOclifErrorHandling) process.stderr.write(`${(e as Error).message}\n`);
  process.exit(e instanceof Errors.CLIError ? (e.oclif?.exit ?? 1) : 70);
}
