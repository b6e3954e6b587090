/**
 * Pre-split benchmark files: the train / validation / test files of a random per-user split, as
 * reczoo ships Movielens1M_m1 (`train_data.json`, `validation_data.json`, `test_data.json`, each
 * one JSON array of per-user item lists, the user index being the position). Not leave-one-out: a
 * user's validation and test lists may hold several items each.
 *
 * The catalogue is the train file's (read exactly as `reclm compile --data TRAIN` reads it, so the
 * item ids line up with the compiled model). Validation and test users are matched to train users
 * by user id (the position for reczoo JSON); items or users the train file does not have are
 * dropped and counted, since no model trained on that file can score them.
 *
 * The model reads the train list (and, for the test split, the validation list after it) as its
 * input sequence; the ranking protocol is in eval/rank.ts (SplitRanker).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataFormatError } from './errors.js';
import { BUILTIN } from './open.js';
import { readDataset } from './read.js';
import type { Split } from './split.js';
import type { Dataset, ReadOptions } from './types.js';
import { count } from '../util/plural.js';

export interface PresplitFiles {
  train: string;
  valid?: string;
  test?: string;
}

export interface PresplitReport {
  /** Validation/test interactions dropped: their item or user is not in the train file. */
  droppedInteractions: number;
  /** Of those, the interactions of users the train file does not have. */
  droppedUserInteractions: number;
  /** Distinct items of the validation/test files that the train file does not have. */
  droppedItems: number;
  /** Per split: users of the train file whose list had items, every one of them dropped (so that split does not rank them). */
  lostUsers: { valid: number; test: number };
}

/**
 * The warning for the validation/test interactions readPresplit dropped because their user or item
 * is not in the train file `train` (e.g. "1 validation/test interaction dropped: 1 with 1 item not
 * in train.json"), or null when none was. eval prints it, and so does data stats.
 */
export function droppedWarning(report: PresplitReport, train: string): string | null {
  const { droppedInteractions: dropped, droppedUserInteractions: ofUsers, droppedItems } = report;
  if (!dropped) return null;
  const why = [...(ofUsers ? [`${ofUsers} by users not in ${train}`] : []), ...(dropped > ofUsers ? [`${dropped - ofUsers} with ${count(droppedItems, 'item')} not in ${train}`] : [])];
  return `${count(dropped, 'validation/test interaction')} dropped: ${why.join(', ')}`;
}

/** File names looked for in a folder passed as --data, in order of preference (reczoo's first). */
export const PRESPLIT_NAMES = {
  train: ['train_data.json', 'train.json'],
  valid: ['validation_data.json', 'valid_data.json', 'validation.json', 'valid.json'],
  test: ['test_data.json', 'test.json'],
} as const;

/**
 * Which files make up the split: a folder `data` holding the PRESPLIT_NAMES files, or `data` as the
 * train file with `valid` / `test` beside it. Returns null when neither applies (leave-one-out on a
 * single file). Throws DataFormatError for a folder without a train or test file.
 */
export function resolvePresplit(data: string, valid?: string, test?: string): PresplitFiles | null {
  if (existsSync(data) && statSync(data).isDirectory()) {
    const pick = (names: readonly string[]) => names.map((n) => join(data, n)).find((p) => existsSync(p));
    const files = { train: pick(PRESPLIT_NAMES.train), valid: valid ?? pick(PRESPLIT_NAMES.valid), test: test ?? pick(PRESPLIT_NAMES.test) };
    if (!files.train) throw new DataFormatError(data, null, `is a folder without a train file (looked for ${PRESPLIT_NAMES.train.join(', ')})`);
    if (!files.test && !files.valid) throw new DataFormatError(data, null, `is a folder without a validation or test file (looked for ${[...PRESPLIT_NAMES.valid, ...PRESPLIT_NAMES.test].join(', ')})`);
    return files as PresplitFiles;
  }
  if (valid === undefined && test === undefined) return null;
  if (data === BUILTIN) throw new DataFormatError(data, null, `--${valid !== undefined ? 'valid' : 'test'}-data: pre-split files need their train file as --data; the built-in dataset is split leave-one-out`);
  return { train: data, valid, test };
}

/**
 * One line saying how pre-split files are used, printed before training or ranking: a plain
 * interaction log passed as --valid-data or --test-data switches the split off, which is easy
 * to miss. Shapes: none; pure.
 */
export function describePresplit(files: PresplitFiles): string {
  const targets = [files.valid ? `validation targets from ${files.valid}` : null, files.test ? `test targets from ${files.test}` : null].filter(Boolean).join(', ');
  return `pre-split files: every event of ${files.train} is a training event, ${targets}; no leave-one-out split`;
}

/**
 * Reads the files into the train Dataset (the catalogue) and a Split whose `targetSets` hold each
 * user's validation and test lists (`valid[u]` / `test[u]`: the first item, 0 when none).
 * Shapes: train[u] Int32Array of item ids 1..V; no timestamps. Errors: DataFormatError from the
 * readers. `opts` read the train file (an interaction log's columns too); the validation and
 * test files take its format, and its columns when the train file is a CSV/TSV log.
 */
export function readPresplit(files: PresplitFiles, opts: ReadOptions = {}): { data: Dataset; split: Split; report: PresplitReport } {
  const data = readDataset(files.train, opts);
  const V = data.numItems;
  const userIndex = new Map(data.users.map((id, u) => [id, u]));
  const itemIndex = new Map<string, number>();
  for (let i = 1; i <= V; i++) itemIndex.set(data.itemIds[i], i);
  const n = data.users.length;
  const report: PresplitReport = { droppedInteractions: 0, droppedUserInteractions: 0, droppedItems: 0, lostUsers: { valid: 0, test: 0 } };
  const unknownItems = new Set<string>();
  const lists = (file: string | undefined, which: 'valid' | 'test'): Int32Array[] => {
    const out: Int32Array[] = Array.from({ length: n }, () => new Int32Array(0));
    if (!file) return out;
    // A log's columns name the same columns in its validation and test logs.
    const ds = readDataset(file, { format: opts.format, ...(data.read?.format === 'csv' ? { userCol: opts.userCol, itemCol: opts.itemCol, timeCol: opts.timeCol } : {}) });
    ds.sequences.forEach((seq, su) => {
      const u = userIndex.get(ds.users[su]);
      const keep: number[] = [];
      for (const v of seq) {
        const id = ds.itemIds[v];
        const item = itemIndex.get(id);
        if (u === undefined || item === undefined) {
          report.droppedInteractions++;
          if (u === undefined) report.droppedUserInteractions++;
          if (item === undefined) unknownItems.add(id);
        } else keep.push(item);
      }
      if (u !== undefined) out[u] = Int32Array.from(keep);
      if (u !== undefined && seq.length > 0 && keep.length === 0) report.lostUsers[which]++;
    });
    return out;
  };
  const validSets = lists(files.valid, 'valid');
  const testSets = lists(files.test, 'test');
  report.droppedItems = unknownItems.size;
  const train = data.sequences;
  const first = (sets: Int32Array[]) => Int32Array.from(sets, (s) => (s.length ? s[0] : 0));
  const valid = first(validSets);
  const test = first(testSets);
  // Evaluated: users the reported split ranks (the test split; the validation split without a
  // test file), so the count does not change with whether a validation file is given.
  const ranked = files.test ? test : valid;
  let evalUsers = 0;
  for (let u = 0; u < n; u++) if (ranked[u] && train[u].length >= 1) evalUsers++;
  const split: Split = {
    numItems: V,
    train,
    trainTs: null,
    valid,
    test,
    validTs: null,
    testTs: null,
    summary: {
      users: n,
      evalUsers,
      excludedFromEval: n - evalUsers,
      trainableUsers: train.filter((s) => s.length >= 2).length,
      trainInteractions: train.reduce((a, s) => a + s.length, 0),
    },
    users: data.users,
    targetSets: { valid: validSets, test: testSets },
  };
  // The split's targets carry no times, so the train file's are dropped too (a time bias would see gaps that the evaluation cannot give).
  const read = data.read ? { ...data.read, timestampsDropped: 'pre-split files are read without timestamps' } : undefined;
  return { data: { ...data, timestamps: null, read }, split, report };
}
