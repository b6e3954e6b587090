/**
 * Side-information files: one row per user (user features) or per item (item features).
 *
 * Fixed layouts, recognised by file name, else by the first line:
 * - ML-1M `users.dat`  `UserID::Gender::Age::Occupation::Zip-code` → gender, age (ML-1M's age
 *   group code), occupation, zip_prefix (first 2 characters: ~100 regions instead of ~3,400 codes)
 * - ML-1M `movies.dat` `MovieID::Title::Genres` → genres (multi, `|`), year (from the title's
 *   `(1995)`, bucketed by decade)
 * - ML-100K `u.user`   `id|age|gender|occupation|zip` → age (bucketed with ML-1M's age groups),
 *   gender, occupation, zip_prefix
 * - ML-100K `u.item`   `id|title|release date|video date|url|19 genre flags` → genres (multi,
 *   the flagged genre names), year (from the release date, bucketed by decade)
 * - otherwise CSV/TSV with a header: the key column (user or item synonyms of columns.ts, else the
 *   first column), every other column a field, categorical unless a FieldSpec says otherwise.
 * Encoding: UTF-8, else Latin-1 (movies.dat and u.item are Latin-1), as for interaction files.
 */
import { basename } from 'node:path';
import { DataFormatError } from '../errors.js';
import { SPEC_KIND_OF_FIELD, fieldSpecLabel, type FeatureField, type FieldSpec } from '../features.js';
import { ITEM_COLUMNS, USER_COLUMNS, findColumnIndex, normaliseColumn } from './columns.js';
import { MALFORMED_QUOTES, sniffDelimiter, splitCsvLine } from './csv.js';
import { forEachLine, lineText, loadSource, sourceFromBytes, type Source } from './source.js';
import { isDecimal } from './time.js';
import { withArticle } from '../../util/plural.js';

/** One field of a side table as read: bucketed fields carry fixed edges or a quantile count. */
export interface SideColumn {
  name: string;
  kind: 'categorical' | 'multi' | 'bucketed';
  /** Fixed bucket edges (ascending). */
  edges?: number[];
  /** Quantile buckets computed over the training users/items (when no fixed edges). */
  buckets?: number;
  /** 'multi' read from a CSV file: the separator its values were split on. */
  separator?: string;
}

export interface SideTable {
  file: string;
  /** Which layout was read ('ml-1m users.dat', 'csv', …). */
  layout: string;
  side: 'user' | 'item';
  columns: SideColumn[];
  /** Key (the user or item id as in the interaction file) → per column its values ('' = missing). */
  rows: Map<string, string[][]>;
  notes: string[];
  /** The FieldSpec names that matched a column of this file (the others may be for the other side file). */
  usedSpecs: string[];
  /** CSV/TSV: the header name of the id column read (absent for the fixed layouts: their first field). */
  keyColumn?: string;
}

/** ML-1M's age groups (README of ml-1m): under 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+. */
export const ML_AGE_EDGES = [18, 25, 35, 45, 50, 56];
/** Release year by decade; MovieLens films run from 1919 to 2000. */
export const DECADE_EDGES = [1930, 1940, 1950, 1960, 1970, 1980, 1990, 2000];
/** ML-100K u.item genre flag columns, in file order (u.genre). */
export const ML100K_GENRES = ['unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy', 'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western'];

type Layout = 'ml1m-users' | 'ml1m-movies' | 'ml100k-user' | 'ml100k-item' | 'csv';
const LAYOUT_SIDE: Record<Exclude<Layout, 'csv'>, 'user' | 'item'> = { 'ml1m-users': 'user', 'ml1m-movies': 'item', 'ml100k-user': 'user', 'ml100k-item': 'item' };
const LAYOUT_NAME: Record<Layout, string> = { 'ml1m-users': 'ML-1M users.dat', 'ml1m-movies': 'ML-1M movies.dat', 'ml100k-user': 'ML-100K u.user', 'ml100k-item': 'ML-100K u.item', csv: 'CSV/TSV with a header' };

/**
 * Reads a user- or item-feature file (plain, gzip or zip). `specs` say how CSV columns are read.
 * `stored` (the fields a model was compiled with, for train and eval) gives the kind of each CSV
 * column that no spec names (a numeric field stays numeric, a multi-valued one keeps its
 * separator) and drops the columns the model has no field for, with a note.
 * Throws DataFormatError (file, line, what was expected) on malformed input, on a file of the
 * other side (users.dat given as item features) and on a key listed twice.
 */
export function readSideFile(path: string, side: 'user' | 'item', specs: readonly FieldSpec[] = [], stored?: readonly FeatureField[]): SideTable {
  const what = `the ${side}-feature file (--${side}-features)`;
  try {
    return parseSideSource(loadSource(path, what), side, specs, stored);
  } catch (e) {
    // The path alone does not say which side file it is; the flag does.
    if (e instanceof DataFormatError && e.emptyFile) throw new DataFormatError(e.file, null, `${what} is empty (no lines with data)`);
    throw e;
  }
}

/** Same as readSideFile for bytes in memory; `file` names the layout and labels messages. */
export function parseSideFile(file: string, bytes: Buffer | string, side: 'user' | 'item', specs: readonly FieldSpec[] = [], stored?: readonly FeatureField[]): SideTable {
  return parseSideSource(sourceFromBytes(file, typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes), side, specs, stored);
}

/** How a compiled field is read again from a CSV column: the spec its kind came from ('ignore' when the model has no such field). */
function specOfStored(stored: readonly FeatureField[], name: string): FieldSpec {
  const f = stored.find((x) => x.name === name);
  if (!f) return { name, kind: 'ignore' };
  return { name, kind: SPEC_KIND_OF_FIELD[f.kind], ...(f.kind === 'multi' ? { separator: f.separator ?? '|' } : {}) };
}

function parseSideSource(src: Source, side: 'user' | 'item', specs: readonly FieldSpec[], stored?: readonly FeatureField[]): SideTable {
  const layout = detectLayout(src);
  if (layout !== 'csv' && LAYOUT_SIDE[layout] !== side) {
    throw new DataFormatError(src.file, null, `this is ${LAYOUT_NAME[layout]}, ${LAYOUT_SIDE[layout] === 'item' ? 'an' : 'a'} ${LAYOUT_SIDE[layout]}-feature file, but it was given as ${side} features (--${side}-features)`);
  }
  let fixedSpecs: FieldSpec[] = [];
  if (layout !== 'csv') {
    const known = new Set(fixedColumns(layout).map((c) => c.name));
    fixedSpecs = specs.filter((s) => known.has(s.name));
    const bad = fixedSpecs.find((s) => s.kind !== 'ignore');
    if (bad) throw new DataFormatError(src.file, null, `--field ${fieldSpecLabel(bad)}=${bad.kind}: the fields of ${LAYOUT_NAME[layout]} have fixed kinds; only NAME=ignore applies to them (${[...known].join(', ')})`);
  }
  const table = layout === 'csv' ? parseCsvSide(src, side, specs, stored) : parseFixed(src, layout, side);
  if (layout !== 'csv') {
    table.usedSpecs = fixedSpecs.map((s) => s.name);
    const drop = new Set(table.usedSpecs);
    for (const c of table.columns) if (stored && !stored.some((f) => f.name === c.name)) drop.add(c.name);
    const keep = table.columns.map((c, i) => (drop.has(c.name) ? -1 : i)).filter((i) => i >= 0);
    if (keep.length < table.columns.length) {
      table.columns = keep.map((i) => table.columns[i]);
      for (const [k, v] of table.rows) table.rows.set(k, keep.map((i) => v[i]));
    }
  }
  if (table.columns.length === 0) throw new DataFormatError(src.file, null, 'no feature column left to read (every column is the key or ignored)');
  table.notes.push(...src.notes);
  return table;
}

function detectLayout(src: Source): Layout {
  const name = basename(src.formatName).toLowerCase().replace(/\.gz$/, '');
  if (name === 'users.dat' || name.endsWith('.users.dat')) return 'ml1m-users';
  if (name === 'movies.dat' || name.endsWith('.movies.dat')) return 'ml1m-movies';
  if (name === 'u.user' || name.endsWith('.u.user')) return 'ml100k-user';
  if (name === 'u.item' || name.endsWith('.u.item')) return 'ml100k-item';
  let end = src.bytes.indexOf(0x0a);
  if (end < 0) end = src.bytes.length;
  const first = src.bytes.toString(src.encoding, 0, end).replace(/\r$/, '');
  if (first.includes('::')) {
    const n = first.split('::').length;
    if (n === 5) return 'ml1m-users';
    if (n === 3) return 'ml1m-movies';
  }
  if (/^[0-9]+\|/.test(first)) {
    const n = first.split('|').length;
    if (n === 24) return 'ml100k-item';
    if (n === 5) return 'ml100k-user';
  }
  return 'csv';
}

function fixedColumns(layout: Exclude<Layout, 'csv'>): SideColumn[] {
  switch (layout) {
    case 'ml1m-users':
      return [{ name: 'gender', kind: 'categorical' }, { name: 'age', kind: 'categorical' }, { name: 'occupation', kind: 'categorical' }, { name: 'zip_prefix', kind: 'categorical' }];
    case 'ml100k-user':
      return [{ name: 'age', kind: 'bucketed', edges: ML_AGE_EDGES }, { name: 'gender', kind: 'categorical' }, { name: 'occupation', kind: 'categorical' }, { name: 'zip_prefix', kind: 'categorical' }];
    case 'ml1m-movies':
    case 'ml100k-item':
      return [{ name: 'genres', kind: 'multi' }, { name: 'year', kind: 'bucketed', edges: DECADE_EDGES }];
  }
}

function parseFixed(src: Source, layout: Exclude<Layout, 'csv'>, side: 'user' | 'item'): SideTable {
  const rows = new Map<string, string[][]>();
  const columns = fixedColumns(layout);
  const expected: Record<typeof layout, string> = {
    'ml1m-users': '5 fields "UserID::Gender::Age::Occupation::Zip-code"',
    'ml1m-movies': '3 fields "MovieID::Title::Genres"',
    'ml100k-user': '5 fields "user id|age|gender|occupation|zip code"',
    'ml100k-item': '24 fields "movie id|title|release date|video release date|URL|19 genre flags"',
  };
  forEachLine(src, (s, e, lineNo) => {
    const text = lineText(src, s, e);
    const f = layout.startsWith('ml1m') ? text.split('::') : text.split('|');
    const want = layout === 'ml1m-users' || layout === 'ml100k-user' ? 5 : layout === 'ml1m-movies' ? 3 : 24;
    if (f.length !== want || f[0].trim() === '') throw DataFormatError.atLine(src.file, lineNo, text, expected[layout]);
    let values: string[][];
    if (layout === 'ml1m-users') values = [[f[1]], [f[2]], [f[3]], [zipPrefix(f[4])]];
    else if (layout === 'ml100k-user') values = [[f[1]], [f[2]], [f[3]], [zipPrefix(f[4])]];
    else if (layout === 'ml1m-movies') values = [f[2].split('|').filter((g) => g !== ''), [/\(([0-9]{4})\)\s*$/.exec(f[1])?.[1] ?? '']];
    else {
      const flags = f.slice(5);
      if (flags.some((x) => x !== '0' && x !== '1')) throw DataFormatError.atLine(src.file, lineNo, text, '19 genre flags of 0 or 1 after the URL');
      values = [ML100K_GENRES.filter((_, i) => flags[i] === '1'), [/([0-9]{4})\s*$/.exec(f[2])?.[1] ?? '']];
    }
    const trimmed = values.map((v) => v.map((x) => x.trim()));
    // A numeric field (u.user's age) holds a number or nothing; other text is a broken line, not a missing value.
    columns.forEach((col, c) => {
      const v = trimmed[c][0] ?? '';
      checkNumeric(col, v, src.file, lineNo, text);
    });
    addRow(rows, f[0].trim(), trimmed, src.file, lineNo, text);
  });
  return { file: src.file, layout: LAYOUT_NAME[layout], side, columns, rows, notes: [], usedSpecs: [] };
}

function zipPrefix(zip: string): string {
  return zip.trim().slice(0, 2);
}

/** Throws DataFormatError (file, line) when a numeric (bucketed) field holds text other than a decimal number or nothing. */
function checkNumeric(col: SideColumn, v: string, file: string, lineNo: number, text: string): void {
  if (col.kind === 'bucketed' && v !== '' && !(isDecimal(v) && Number.isFinite(Number(v)))) throw DataFormatError.atLine(file, lineNo, text, `a number (or nothing) in the numeric field "${col.name}", not "${v}"`);
}

function addRow(rows: Map<string, string[][]>, key: string, values: string[][], file: string, lineNo: number, text: string): void {
  if (rows.has(key)) throw DataFormatError.atLine(file, lineNo, text, `one row per id, but id ${key} was listed before`);
  rows.set(key, values);
}

function parseCsvSide(src: Source, side: 'user' | 'item', specs: readonly FieldSpec[], stored?: readonly FeatureField[]): SideTable {
  let header: string[] | null = null;
  let delim = ',';
  let key = -1;
  let cols: { index: number; col: SideColumn }[] = [];
  const rows = new Map<string, string[][]>();
  const notes: string[] = [];
  let used: string[] = [];
  forEachLine(src, (s, e, lineNo) => {
    const text = lineText(src, s, e);
    if (!header) {
      delim = sniffDelimiter(text);
      header = splitCsvLine(text, delim);
      if (!header || header.length < 2) throw DataFormatError.atLine(src.file, lineNo, text, `a header row naming the ${side} id column and at least one feature column`);
      key = findColumnIndex(header, undefined, side === 'user' ? USER_COLUMNS : ITEM_COLUMNS);
      // The other side's id and none of this side's: the user file given as item features, or the reverse.
      const other = side === 'user' ? 'item' : 'user';
      const otherKey = key < 0 ? findColumnIndex(header, undefined, side === 'user' ? ITEM_COLUMNS : USER_COLUMNS) : -1;
      if (otherKey >= 0) throw new DataFormatError(src.file, null, `has ${withArticle(other)} id column ("${header[otherKey]}") and no ${side} id column: ${withArticle(other)}-feature file given as --${side}-features? (give it as --${other}-features)`);
      if (key < 0) {
        key = 0;
        notes.push(`${src.file}: no column named like ${withArticle(side)} id; the first column "${header[0]}" is the ${side} id`);
      }
      const norm = header.map(normaliseColumn);
      used = specs.filter((sp) => header!.includes(sp.name) || norm.includes(normaliseColumn(sp.name))).map((sp) => sp.name);
      // The id column is each row's key whatever a --field says of it: say so rather than ignore the flag silently.
      for (const sp of specs.filter((x) => x.name === header![key] || normaliseColumn(x.name) === norm[key])) {
        notes.push(`${src.file}: --field ${fieldSpecLabel(sp)}=${sp.kind} has no effect: "${header[key]}" is the ${side} id column (each row's key), not a feature`);
      }
      cols = [];
      const unread: string[] = [];
      header.forEach((name, index) => {
        if (index === key) return;
        const sp = specs.find((x) => x.name === name || normaliseColumn(x.name) === norm[index]) ?? (stored ? specOfStored(stored, name) : undefined);
        if (sp?.kind === 'ignore') {
          if (stored && !specs.includes(sp)) unread.push(name);
          return;
        }
        if (sp?.kind === 'multi') cols.push({ index, col: { name, kind: 'multi', separator: sp.separator ?? '|' } });
        else if (sp?.kind === 'numeric') cols.push({ index, col: { name, kind: 'bucketed', buckets: sp.buckets ?? 10 } });
        else cols.push({ index, col: { name, kind: 'categorical' } });
      });
      if (unread.length) notes.push(`${src.file}: ${unread.map((n) => `"${n}"`).join(', ')} not read (the model was compiled without ${unread.length > 1 ? 'these fields' : 'this field'})`);
      if (side === 'user') {
        const multi = cols.find((c) => c.col.kind === 'multi');
        if (multi) {
          // Not a bad line: the flag asks what a user field cannot be. An unscoped flag may have meant the item file's column.
          const sp = specs.find((x) => x.kind === 'multi' && (x.name === multi.col.name || normaliseColumn(x.name) === normaliseColumn(multi.col.name)))!;
          const hint = sp.side === undefined ? `; for the item file's column of that name only, scope it: --field item:${sp.name}=multi` : '';
          throw new DataFormatError(src.file, null, `--field ${fieldSpecLabel(sp)}=multi: user fields are single-valued (one profile token per field), so "${multi.col.name}" of this user file cannot be multi-valued${hint}`);
        }
      }
      return;
    }
    const row = splitCsvLine(text, delim);
    if (!row) throw DataFormatError.atLine(src.file, lineNo, text, MALFORMED_QUOTES);
    if (row.length !== header.length) throw DataFormatError.atLine(src.file, lineNo, text, `${header.length} fields matching the header`);
    const id = row[key].trim();
    if (id === '') throw DataFormatError.atLine(src.file, lineNo, text, `a non-empty ${side} id in column "${header[key]}"`);
    const values = cols.map(({ index, col }) => {
      const v = row[index].trim();
      if (col.kind === 'multi') return v.split(col.separator!).map((x) => x.trim()).filter((x) => x !== '');
      checkNumeric(col, v, src.file, lineNo, text);
      return [v];
    });
    addRow(rows, id, values, src.file, lineNo, text);
  });
  if (!header) throw DataFormatError.empty(src.file);
  // Else every user (item) would be '<unk>' and the error would blame the ids.
  if (rows.size === 0) throw new DataFormatError(src.file, null, `the ${side}-feature file (--${side}-features) has a header but no data rows`);
  return { file: src.file, layout: LAYOUT_NAME.csv, side, columns: cols.map((c) => c.col), rows, notes, usedSpecs: used, keyColumn: (header as string[])[key] };
}
