import { Flags } from '@oclif/core';
import type { DataFormat, ReadOptions } from '../data/types.js';
import { UsageError } from './errors.js';

/** `--columns user=…,item=…,time=…`: which header columns of a CSV/TSV or RecBole .inter file to read. */
export const columnsFlag = () =>
  Flags.string({
    description: 'CSV/TSV/.inter header columns to read, e.g. user=userId,item=movieId,time=timestamp (time=none ignores a time column); default: common names such as user_id, userId, item_id, movieId, timestamp, time, ts, date',
  });

/**
 * Parses a `--columns` value into ReadOptions column fields. Keys: user, item, time; `time=none`
 * (or an empty value) reads no time column. Throws UsageError naming the bad part.
 */
export function parseColumns(spec: string | undefined): Pick<ReadOptions, 'userCol' | 'itemCol' | 'timeCol'> {
  if (spec === undefined) return {};
  const out: Pick<ReadOptions, 'userCol' | 'itemCol' | 'timeCol'> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq).trim() : '';
    const value = eq > 0 ? part.slice(eq + 1).trim() : '';
    if (!['user', 'item', 'time'].includes(key)) throw new UsageError(`--columns expects user=NAME,item=NAME,time=NAME, got '${part}' in '${spec}'`);
    if (key === 'time') out.timeCol = value === '' || value === 'none' ? null : value;
    else if (value === '') throw new UsageError(`--columns: ${key}= needs a column name`);
    else if (key === 'user') out.userCol = value;
    else out.itemCol = value;
  }
  return out;
}

/**
 * ReadOptions from the shared data flags (--format, --columns); `onNote` receives the reader's
 * notes (events reordered by time, encoding fallback, ignored columns, zip member).
 */
export function dataReadOptions(flags: { format?: string; columns?: string }, onNote?: (line: string) => void): ReadOptions {
  return { format: (flags.format ?? 'auto') as DataFormat, ...parseColumns(flags.columns), onNote };
}
