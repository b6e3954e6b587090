// `reclm compile|train ARGS...` from the TypeScript sources, as a separate process (a rank under
// mpirun in the data-parallel tests). A user error prints its one line and exits non-zero.
import { Errors } from '@oclif/core';
import Compile from '../../src/commands/compile.js';
import Train from '../../src/commands/train.js';
import { PACKAGE_ROOT } from './cli.js';

const [name, ...argv] = process.argv.slice(2);
try {
  if (name === 'compile') await Compile.run(argv, PACKAGE_ROOT);
  else if (name === 'train') await Train.run(argv, PACKAGE_ROOT);
  else throw new Error(`dist-reclm: unknown command ${name}`);
} catch (e) {
  // As oclif's handler: what the command printed already (its one-line user error) is not printed again.
  if (!(e as Errors.CLIError).skipOclifErrorHandling) process.stderr.write(`${(e as Error).message}\n`);
  process.exit(e instanceof Errors.CLIError ? (e.oclif?.exit ?? 1) : 70);
}
