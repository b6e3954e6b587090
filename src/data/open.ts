import { builtinDataset } from './builtin.js';
import { readDataset } from './read.js';
import { Dataset, ReadOptions } from './types.js';

/** The name under which the CLI accepts the generated built-in dataset instead of a file. */
export const BUILTIN = 'builtin';

/** A data file, or the built-in synthetic dataset when `spec` is 'builtin'. */
export function openDataset(spec: string, opts: ReadOptions = {}): Dataset {
  return spec === BUILTIN ? builtinDataset() : readDataset(spec, opts);
}
