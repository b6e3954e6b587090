// `reclm launch ARGS...` from the TypeScript sources, as a separate process (the two-host
// test runs it inside a network namespace). Exits as the real CLI would.
import { Errors } from '@oclif/core';
import Launch from '../../src/commands/launch.js';
import { PACKAGE_ROOT } from './cli.js';

try {
  await Launch.run(process.argv.slice(2), PACKAGE_ROOT);
} catch (e) {
  Errors.handle(e as Error);
}
