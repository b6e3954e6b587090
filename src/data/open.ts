import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { builtinDataset } from './builtin.js';
import { DataFormatError } from './errors.js';
import { readDataset } from './read.js';
import { attachSideData, wantsSideData } from './attach.js';
import { Dataset, ReadOptions } from './types.js';

/** The name under which the CLI accepts the generated built-in dataset instead of a file. */
export const BUILTIN = 'builtin';

/**
 * A data file, or the built-in synthetic dataset when `spec` is 'builtin'. When a file named
 * `builtin` exists in the working directory the built-in dataset still wins, and a note (through
 * `opts.onNote` and Dataset.notes) says so and how to read the file instead (`./builtin`).
 */
export function openDataset(spec: string, opts: ReadOptions = {}): Dataset {
  // The positive rule needs the actions even when they are not a model input.
  const needActions = opts.actions === true || (opts.positive !== undefined && opts.positive.kind !== 'all');
  const ds = openInteractions(spec, needActions === (opts.actions === true) ? opts : { ...opts, actions: needActions });
  if (wantsSideData(opts)) attachSideData(ds, spec, opts);
  if (!opts.actions) delete ds.actions;
  return ds;
}

function openInteractions(spec: string, opts: ReadOptions): Dataset {
  if (spec !== BUILTIN) return readDataset(spec, opts);
  if (opts.actions) throw new DataFormatError(BUILTIN, null, 'the built-in dataset has item ids only, no actions (ratings or event types)');
  // It is generated, not read: a reading option would be silently ignored.
  const ignored = [
    ...(opts.format !== undefined && opts.format !== 'auto' ? ['--format'] : []),
    ...(opts.userCol !== undefined || opts.itemCol !== undefined || opts.timeCol !== undefined || opts.actionCol !== undefined ? ['--columns'] : []),
    ...(opts.minItemCount !== undefined ? ['--min-item-count'] : []),
    ...(opts.minUserCount !== undefined ? ['--min-user-count'] : []),
  ];
  if (ignored.length) throw new DataFormatError(BUILTIN, null, `the built-in dataset is generated, not read from a file, so ${ignored.join(' and ')} cannot apply`);
  const ds = builtinDataset();
  if (existsSync(BUILTIN)) {
    const note = `--data builtin: using the built-in synthetic dataset, not the file ${resolve(BUILTIN)}; pass ./builtin to read the file`;
    ds.notes = [...(ds.notes ?? []), note];
    opts.onNote?.(note);
  }
  return ds;
}
