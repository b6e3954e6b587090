import { Args, Flags } from '@oclif/core';
import { openDataset } from '../../data/open.js';
import { datasetStats } from '../../data/stats.js';
import { leaveOneOutSplit } from '../../data/split.js';
import { targetsInHistory } from '../../data/eval-inputs.js';
import { ReclmCommand } from '../../cli/base-command.js';
import { columnsFlag, dataReadOptions, featureFlags } from '../../cli/data-flags.js';
import { featureStatLines, featureStats } from '../../data/stats.js';
import { dataFormatFlag } from '../../cli/flags.js';
import { describePresplit, droppedWarning, readPresplit, resolvePresplit } from '../../data/presplit.js';
import type { DataFormat, KCoreReport } from '../../data/types.js';
import { count } from '../../util/plural.js';
import { UsageError } from '../../errors.js';
import { quoteIfNeeded } from '../../util/quoted-list.js';

/** The human lines' labels; --json keeps the field names. */
const LABEL: Record<string, string> = {
  seqLen: 'sequence length',
  hasTimestamps: 'timestamps',
  ignoredColumns: 'ignored columns',
  outOfOrder: 'out of time order',
  duplicateRows: 'duplicate rows',
  evalUsers: 'evaluated',
  excludedFromEval: 'not evaluated',
  trainableUsers: 'trainable',
  trainInteractions: 'train interactions',
  targetsInHistory: 'targets in history',
  kCore: 'k-core',
};

/** A scalar as a reader reads it: fractions (the mean sequence length) to 2 decimals (--json keeps full precision), booleans as yes/no, null (not known: no time column, no header) as '-'. */
function scalar(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number' && !Number.isInteger(v)) return String(Math.round(v * 100) / 100);
  return String(v);
}

/** One field's value on one line: a list joined by commas ('none' when empty), the columns as --columns spells them, other objects as `label value` pairs. */
function readableValue(key: string, v: unknown): string {
  if (Array.isArray(v)) return v.length ? v.map(scalar).join(', ') : 'none';
  if (v === null || typeof v !== 'object') return scalar(v);
  const entries = Object.entries(v as Record<string, unknown>);
  if (key === 'columns') return entries.map(([k, x]) => `${k}=${x === null ? 'none' : quoteIfNeeded(String(x))}`).join(',');
  if (key === 'kCore') {
    const k = v as KCoreReport;
    return `--min-user-count ${k.minUserCount}, --min-item-count ${k.minItemCount}; before it: ${count(k.before.users, 'user')}, ${count(k.before.items, 'item')}, ${count(k.before.interactions, 'interaction')}`;
  }
  if (key === 'targetsInHistory') {
    return (entries as [string, { inHistory: number; targets: number }][]).map(([k, x]) => `${k} ${x.inHistory} of ${x.targets}${x.targets ? ` (${((100 * x.inHistory) / x.targets).toFixed(1)}%)` : ''}`).join(', ');
  }
  return entries.map(([k, x]) => `${LABEL[k] ?? k} ${scalar(x)}`).join(', ');
}

export default class DataStats extends ReclmCommand {
  static override summary = 'Summarise an interaction file: users, items, interactions, sequence lengths, how ids and columns were read, time order and duplicates.';
  static override examples = [
    '<%= config.bin %> data stats ml-1m.seq.txt.gz',
    '<%= config.bin %> data stats u.data.gz --json',
    '<%= config.bin %> data stats ml-latest-small.zip',
    '<%= config.bin %> data stats reviews_Beauty_5.json.gz',
    '<%= config.bin %> data stats events.csv --columns user=visitorid,item=itemid,time=timestamp',
    "<%= config.bin %> data stats ratings.dat --positive 'rating>=4' --user-features users.dat --item-features movies.dat",
  ];
  static override args = { file: Args.string({ description: 'interaction file (.gz and .zip ok), a folder of pre-split files (train, validation, test), or builtin', required: true }) };
  static override flags = {
    format: dataFormatFlag(),
    columns: columnsFlag(),
    ...featureFlags(),
    'min-item-count': Flags.integer({ description: 'k-core filter: drop items with fewer than N interactions (repeated with --min-user-count until stable)', min: 1 }),
    'min-user-count': Flags.integer({ description: 'k-core filter: drop users with fewer than N interactions', min: 1 }),
  };

  async run(): Promise<Record<string, unknown>> {
    const { args, flags } = await this.parse(DataStats);
    // A pre-split folder (as train and eval take it): the train file's statistics and the split the files give.
    const presplit = resolvePresplit(args.file);
    if (presplit) {
      const unused = (['columns', 'positive', 'user-features', 'item-features', 'min-item-count', 'min-user-count'] as const).find((k) => flags[k] !== undefined) ?? (flags.actions ? 'actions' : undefined);
      if (unused) throw new UsageError(`--${unused}: ${args.file} is a folder of pre-split files, which are read as given`);
      if (!this.jsonEnabled()) this.log(describePresplit(presplit));
    }
    const given = presplit ? readPresplit(presplit, { format: flags.format as DataFormat }) : null;
    const ds = given ? given.data : openDataset(args.file, { ...dataReadOptions(flags), minItemCount: flags['min-item-count'], minUserCount: flags['min-user-count'] });
    const features = featureStats(ds);
    // Pre-split target files that repeat training events inflate every metric: eval warns, and so does this summary.
    const repeated = given ? { targetsInHistory: { valid: targetsInHistory(given.split, 'valid'), test: targetsInHistory(given.split, 'test') } } : {};
    // Targets whose user or item the train file lacks are dropped as eval drops them: said, as eval says it.
    const dropped = given && presplit ? droppedWarning(given.report, presplit.train) : null;
    const base = datasetStats(ds);
    if (dropped) base.notes = [...base.notes, dropped];
    const stats = { ...base, split: given ? given.split.summary : leaveOneOutSplit(ds).summary, ...repeated, ...(features ? { features } : {}) };
    const { notes, ids, features: side, ...rest } = stats;
    for (const [k, v] of Object.entries(rest)) this.log(`${(LABEL[k] ?? k).padEnd(18)} ${readableValue(k, v)}`);
    this.log(`${'ids'.padEnd(18)} ${ids.summary}`);
    if (side) for (const line of featureStatLines(side)) this.log(line);
    // On stderr as every command's notes are (the README's contract), so the table is statistics only.
    for (const n of notes) this.note(n);
    return stats;
  }
}
