/** Reading a dataset file in any supported format (see readers/). */
import { DataFormatError } from './errors.js';
import { invisibleIdsNote } from './invisible-ids.js';
import { buildDataset } from './readers/build.js';
import { columnsByPosition, parseCsv } from './readers/csv.js';
import { ITEM_COLUMNS, TIME_COLUMNS, USER_COLUMNS, normaliseColumn } from './readers/columns.js';
import { detectFormat, type ConcreteFormat } from './readers/detect.js';
import type { Interactions } from './readers/interactions.js';
import { parseMl100k, parseMovieLensDat } from './readers/movielens.js';
import { parseJsonLines } from './readers/jsonl.js';
import { parseReczooJson } from './readers/reczoo.js';
import { parseSasrec } from './readers/sasrec.js';
import { defaultName, loadSource, sourceFromBytes, type Source } from './readers/source.js';
import { timesToSeconds } from './readers/time.js';
import { parseUserSeq } from './readers/user-seq.js';
import { DATA_FORMATS, type Dataset, type ReadOptions, type ReadReport } from './types.js';

/**
 * Read a file (plain, gzip or a zip archive, detected by magic bytes) into a Dataset, with
 * `read` (what the reader found) and `notes` filled in. Throws DataFormatError on bad input.
 */
export function readDataset(path: string, options: ReadOptions = {}): Dataset {
  return datasetFromSource(loadSource(path), options);
}

/** Same as readDataset for bytes already in memory; `file` labels error messages and names the format. */
export function parseDataset(file: string, bytes: Buffer | Uint8Array | string, options: ReadOptions = {}): Dataset {
  const raw = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return datasetFromSource(sourceFromBytes(file, raw), options);
}

function datasetFromSource(src: Source, options: ReadOptions): Dataset {
  const format = options.format ?? 'auto';
  if (!DATA_FORMATS.includes(format)) throw new Error(`unknown data format "${format}"; expected one of ${DATA_FORMATS.join(', ')}`);
  for (const k of ['minItemCount', 'minUserCount'] as const) {
    const v = options[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new Error(`${k} must be a non-negative integer, got ${v}`);
  }
  if (src.bytes.length === 0) throw DataFormatError.empty(src.file);
  // Columns given by position mean a delimited file without a header row, whatever the content looks like.
  const byPosition = columnsByPosition({ userCol: options.userCol, itemCol: options.itemCol, timeCol: options.timeCol, actionCol: options.actionCol }, src.file);
  const concrete: ConcreteFormat = format === 'auto' ? (byPosition ? 'csv' : detectFormat(src)) : format;
  // ratings.dat / u.data have one action column, the rating: `--columns action=rating` names it.
  const mlRating = (concrete === 'movielens' || concrete === 'ml100k') && options.actionCol === 'rating';
  const named = (['userCol', 'itemCol', 'timeCol', 'actionCol'] as const).filter((k) => options[k] !== undefined && !(k === 'actionCol' && mlRating));
  if (named.length && concrete !== 'csv' && !(concrete === 'jsonl' && !byPosition)) {
    throw new DataFormatError(src.file, null, `columns (--columns) apply to CSV/TSV and RecBole .inter files (and, by name, to JSON Lines keys), but this file is read as ${concrete}`);
  }
  if (options.actions && !['movielens', 'ml100k', 'csv', 'jsonl'].includes(concrete)) {
    throw new DataFormatError(src.file, null, `actions (a rating or event column) need ratings.dat, u.data, a CSV/TSV or JSON Lines with an action column, but this file is read as ${concrete} (item ids only)`);
  }
  let inter: Interactions;
  try {
    inter = parse(src, concrete, options);
  } catch (e) {
    // Detection takes a file whose lines nearly all have 4 tab-separated fields for u.data (one
    // malformed line allowed); a one-user-per-line file whose users nearly all have three items
    // reads the same, so the error says how the format was chosen.
    if (format === 'auto' && concrete === 'ml100k' && e instanceof DataFormatError && e.line !== null) {
      e.message += '; the format was detected from the content as u.data (nearly every line has 4 tab-separated fields): if each line is one user and their items, give --format user-seq';
    }
    throw e;
  }
  // Looked at before the unit conversion: YYYYMMDDhhmmss values are large enough to pass for milliseconds.
  const compact = inter.time ? compactDatesAsTimes(inter.time.view()) : null;
  const unit = inter.time ? timesToSeconds(inter.time, src.file) : null;
  const built = buildDataset(inter, {
    name: options.name ?? defaultName(src.path),
    minItemCount: options.minItemCount,
    minUserCount: options.minUserCount,
  });
  const ds = built.dataset;
  const read: ReadReport = {
    file: src.file,
    format: concrete,
    ...(src.member ? { archiveMember: src.member } : {}),
    encoding: src.encoding === 'utf8' ? 'utf-8' : 'latin-1',
    integerUserIds: inter.users.allIntegers,
    integerItemIds: inter.items.allIntegers,
    ...(inter.columns ? { columns: inter.columns } : {}),
    ignoredColumns: inter.ignoredColumns ?? [],
    reorderedUsers: built.reorderedUsers,
    outOfOrderPairs: built.outOfOrderPairs,
    duplicateRows: built.duplicateRows,
    ...(built.kCore ? { kCore: built.kCore } : {}),
  };
  const notes = [...src.notes];
  const ratingLike = concrete === 'sasrec' && inter.time ? ratingsAsTimes(inter.time.view()) : null;
  if (ratingLike) {
    notes.push(`${src.file}: the third column, read as timestamps, holds only ${ratingLike.distinct} distinct values from ${ratingLike.min} to ${ratingLike.max} over ${inter.time!.length} events: ratings rather than times? Each user's events were sorted by them; for "user item rating" write the file as CSV and name the columns (--columns user=1,item=2,action=3)`);
  }
  if (compact) {
    const as = unit === 'ms' ? 'milliseconds' : unit === 'µs' ? 'microseconds' : 'seconds';
    notes.push(`${src.file}: every time is a date written as a number (${compact.min} to ${compact.max}, ${compact.pattern}): it is read as unix ${as}, not as the date it spells, so the gaps between events that HSTU's time bias buckets are wrong; write dates as ISO (2017-06-11, or 2017-06-11T08:30:00 with the time of day)`);
  }
  if (unit) notes.push(`${src.file}: times read as ${unit === 'ms' ? 'milliseconds' : 'microseconds'} (values of 1e${unit === 'ms' ? 11 : 14} and above would be past the year 5000 in seconds) and converted to unix seconds`);
  if (built.reorderedUsers > 0) {
    notes.push(`${src.file}: ${built.reorderedUsers} of ${ds.users.length} users had events out of time order in the file; each user's events were sorted by time (stable: equal times keep file order)`);
  }
  // Fixed-layout formats document their ignored rating column; header formats name what they drop.
  if (inter.columns && read.ignoredColumns.length) notes.push(`${src.file}: columns ignored: ${read.ignoredColumns.join(', ')}`);
  // A column found by its synonyms beside another synonym of the same role: the choice follows the synonym order, so say which.
  if (inter.columns) {
    const roles = [['user', options.userCol, USER_COLUMNS, inter.columns.user], ['item', options.itemCol, ITEM_COLUMNS, inter.columns.item], ['time', options.timeCol, TIME_COLUMNS, inter.columns.time]] as const;
    for (const [role, given, synonyms, used] of roles) {
      const also = given === undefined && used !== null ? read.ignoredColumns.filter((c) => (synonyms as readonly string[]).includes(normaliseColumn(c))) : [];
      if (also.length) notes.push(`${src.file}: ${also.map((c) => `"${c}"`).join(', ')} also ${also.length === 1 ? 'looks' : 'look'} like the ${role} column; read "${used}" (choose with --columns ${role}=NAME)`);
    }
  }
  // Ids are read as text: an invisible character makes a different id that no message would show.
  for (const [side, ids] of [['user', ds.users], ['item', ds.remapped ? ds.itemIds.slice(1) : []]] as const) {
    const note = invisibleIdsNote(src.file, side, ids);
    if (note) notes.push(note);
  }
  // Naming the action column does not make actions a model input: say so rather than leave it among the ignored.
  if ((concrete === 'csv' || concrete === 'jsonl') && options.actionCol !== undefined && !inter.action) notes.push(`${src.file}: the action column (--columns action=${options.actionCol}) is read only with --actions or --positive`);
  ds.read = read;
  ds.notes = notes;
  for (const n of notes) options.onNote?.(n);
  return ds;
}

/**
 * For a whitespace file's third column: its distinct values and range when it looks like ratings
 * read as times (at least 100 events taking at most 10 distinct values, all in 0..10), else null.
 * A real time column of that many events has many more values.
 */
function ratingsAsTimes(time: Float64Array): { distinct: number; min: number; max: number } | null {
  if (time.length < 100) return null;
  const seen = new Set<number>();
  for (const t of time) {
    if (!(t >= 0 && t <= 10)) return null;
    seen.add(t);
    if (seen.size > 10) return null;
  }
  return { distinct: seen.size, min: Math.min(...seen), max: Math.max(...seen) };
}

/** The compact date-time layouts a number can spell, by digit count. */
const COMPACT_DATES: Record<number, string> = { 8: 'YYYYMMDD', 12: 'YYYYMMDDhhmm', 14: 'YYYYMMDDhhmmss' };

/**
 * The range and layout of a time column whose every value spells a date in one compact layout
 * (YYYYMMDD, YYYYMMDDhhmm or YYYYMMDDhhmmss, years 1900-2100, valid month, day, hour, minute and
 * second), else null. As unix seconds, YYYYMMDD lies within 1970-08-08..1970-08-31, where no real
 * log of events falls; the longer layouts would pass for milliseconds or microseconds.
 */
function compactDatesAsTimes(time: Float64Array): { min: number; max: number; pattern: string } | null {
  if (time.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  let digits = 0;
  for (const t of time) {
    if (!(Number.isInteger(t) && t > 0)) return null;
    const s = String(t);
    if (digits === 0) digits = s.length;
    if (s.length !== digits || !(digits in COMPACT_DATES)) return null;
    const [year, month, day, hour, minute, second] = [s.slice(0, 4), s.slice(4, 6), s.slice(6, 8), s.slice(8, 10) || '0', s.slice(10, 12) || '0', s.slice(12, 14) || '0'].map(Number);
    if (year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
    min = Math.min(min, t);
    max = Math.max(max, t);
  }
  return { min, max, pattern: COMPACT_DATES[digits] };
}

function parse(src: Source, format: ConcreteFormat, options: ReadOptions): Interactions {
  switch (format) {
    case 'sasrec':
      return parseSasrec(src);
    case 'user-seq':
      return parseUserSeq(src);
    case 'movielens':
      return parseMovieLensDat(src, options.actions === true);
    case 'ml100k':
      return parseMl100k(src, options.actions === true);
    case 'csv':
      return parseCsv(src, { userCol: options.userCol, itemCol: options.itemCol, timeCol: options.timeCol, actionCol: options.actionCol, actions: options.actions });
    case 'jsonl':
      return parseJsonLines(src, { userCol: options.userCol, itemCol: options.itemCol, timeCol: options.timeCol, actionCol: options.actionCol, actions: options.actions });
    case 'reczoo':
      return parseReczooJson(src);
  }
}
