import { Args, Flags } from '@oclif/core';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ReclmCommand } from '../../cli/base-command.js';
import { columnsFlag, dataReadOptions } from '../../cli/data-flags.js';
import { dataFormatFlag } from '../../cli/flags.js';
import { openDataset } from '../../data/open.js';
import { datasetCsv, fileBytes } from '../../data/write.js';
import type { Dataset } from '../../data/types.js';
import { UsageError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { count } from '../../util/plural.js';

const total = (ds: Dataset) => ds.sequences.reduce((s, q) => s + q.length, 0);

export default class DataFilter extends ReclmCommand {
  static override summary = 'Write an interaction file as a CSV reclm reads, optionally k-core filtered (the 5-core datasets the SASRec papers train on).';
  static override description = `Reads FILE as every command does (any supported format, --format and --columns as there), drops users and items with too few events when asked (--min-user-count, --min-item-count: iterated until every user and item left has at least that many, the "5-core" of the Amazon benchmarks), and writes the rest to --out as a CSV: a header user,item[,time][,action], one row per event, original ids, times in unix seconds, each user's events in time order. compile, train and eval then read --out as it is. --out ending in .gz is gzip-compressed; --out - writes to stdout (the summary line then goes to stderr). An existing --out is replaced only with --force, and never the input file.`;
  static override examples = [
    '<%= config.bin %> data filter All_Beauty.jsonl.gz --min-user-count 5 --min-item-count 5 --out beauty-5core.csv.gz',
    '<%= config.bin %> data filter reviews_Beauty.json.gz --actions --min-user-count 5 --out beauty.csv',
    '<%= config.bin %> data filter u.data --out ml-100k.csv',
  ];
  static override args = { file: Args.string({ description: 'interaction file (.gz and .zip ok)', required: true }) };
  static override flags = {
    out: Flags.string({ description: 'CSV file to write (.gz: compressed; -: stdout)', required: true }),
    format: dataFormatFlag(),
    columns: columnsFlag(),
    actions: Flags.boolean({ description: "keep each event's action (a rating or an event type) as an action column" }),
    'min-item-count': Flags.integer({ description: 'k-core filter: drop items with fewer than N events (repeated with --min-user-count until stable)', min: 1 }),
    'min-user-count': Flags.integer({ description: 'k-core filter: drop users with fewer than N events', min: 1 }),
    force: Flags.boolean({ description: 'replace --out if it exists' }),
  };

  async run(): Promise<{ file: string; out: string; before: Record<string, number>; after: Record<string, number>; minItemCount: number; minUserCount: number }> {
    const { args, flags } = await this.parse(DataFilter);
    const out = flags.out;
    const toStdout = out === '-';
    if (toStdout && this.jsonEnabled()) throw new UsageError('--out - writes the CSV to stdout, where --json prints its summary too; give a file name');
    if (!toStdout && existsSync(out) && existsSync(args.file) && realpathSync(out) === realpathSync(args.file)) throw new UsageError(`--out ${out} is the input file; write to another file`);
    // --force cannot replace a folder: say so before suggesting it.
    if (!toStdout && existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a folder; give a file name, such as ${join(out, 'interactions.csv')}`);
    if (!toStdout && existsSync(out) && !flags.force) throw new UsageError(`--out ${out} exists; give --force to replace it`);
    const minItemCount = flags['min-item-count'] ?? 1;
    const minUserCount = flags['min-user-count'] ?? 1;
    const kept = openDataset(args.file, { ...dataReadOptions({ format: flags.format, columns: flags.columns, actions: flags.actions }, (line) => this.note(line)), minItemCount: flags['min-item-count'], minUserCount: flags['min-user-count'] });
    let text: string;
    try {
      text = datasetCsv(kept);
    } catch (e) {
      throw new UsageError(`${args.file}: ${(e as Error).message}`);
    }
    if (toStdout) process.stdout.write(text);
    else writeFileAtomic(out, fileBytes(out, text), { flag: '--out', path: out });
    const after = { users: kept.users.length, items: kept.numItems, interactions: total(kept) };
    // The file's sizes before the filter (the reader counts them); without a filter, what was written.
    const before = kept.read?.kCore?.before ?? after;
    // Only the thresholds given, as the reader's refusal names them.
    const given = [...(flags['min-user-count'] !== undefined ? [`--min-user-count ${minUserCount}`] : []), ...(flags['min-item-count'] !== undefined ? [`--min-item-count ${minItemCount}`] : [])];
    const filtered = !kept.read?.kCore ? '' : ` (k-core with ${given.join(', ')}: of ${count(before.users, 'user')}, ${count(before.items, 'item')} and ${count(before.interactions, 'interaction')})`;
    const line = `wrote ${toStdout ? 'stdout' : resolve(out)}: ${count(after.users, 'user')}, ${count(after.items, 'item')}, ${count(after.interactions, 'interaction')}${filtered}`;
    // With --out - stdout holds the CSV: the summary goes to stderr.
    if (toStdout) process.stderr.write(`${line}\n`);
    else this.log(line);
    return { file: args.file, out: toStdout ? '-' : resolve(out), before, after, minItemCount, minUserCount };
  }
}
