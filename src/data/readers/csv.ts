/**
 * CSV/TSV with a header row, and RecBole atomic `.inter` files (tab separated, `name:type`
 * headers). Columns are found by name: the options (a `--columns` override), else the synonyms
 * of columns.ts (user_id, userId, user; item_id, movieId, item; timestamp, time, ts, date, ...).
 * A file without a header row (Amazon's ratings-only `user,item,rating,time` CSVs) is read when
 * every column is given by its 1-based position (`--columns user=1,item=2,time=4`): the first
 * line is then data, and the columns are named "column N" in messages and the read report.
 * Ids are opaque strings. With a time column, each user's rows are sorted by time (stable);
 * without one, file order is kept. Every other column is ignored and named (Interactions.ignoredColumns).
 *
 * The delimiter is ',' unless the header has tabs or semicolons and no commas. Quoted fields
 * ("a,b", "say ""hi""") are supported within one line; a quoted field spanning lines is reported
 * as malformed, because interaction files never need one and it keeps line numbers exact.
 */
import { DataFormatError } from '../errors.js';
import { ACTION_COLUMNS, ITEM_COLUMNS, TIME_COLUMNS, USER_COLUMNS, findColumnIndex, looksLikeHeader, normaliseColumn } from './columns.js';
import { GrowableInt32, IdInterner, newInteractions, type Interactions } from './interactions.js';
import { forEachLine, lineText, type Source } from './source.js';
import { TIME_FORMS, parseTime, whyNotTime } from './time.js';
import { withArticle } from '../../util/plural.js';

export interface CsvColumns {
  userCol?: string;
  itemCol?: string;
  /** A column name, or null to ignore any time column. */
  timeCol?: string | null;
  /** The action column (a rating or an event type), read when `actions` is set. */
  actionCol?: string;
  /** Read an action column: `actionCol`, else the first of ACTION_COLUMNS present. */
  actions?: boolean;
}

/**
 * The field separator of a CSV-like first line: the most frequent of ',', tab and ';' outside
 * double quotes (ties, and a line with none: in that order). So a TSV whose header names a column
 * `Title, The` stays tab-separated, and a European `1;10;4,5;100` (decimal commas) splits on ';'.
 */
export function sniffDelimiter(header: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  return DELIMITERS.reduce((best, d) => (counts.get(d)! > counts.get(best)! ? d : best));
}

/** Candidate field separators, in order of preference on a tie. */
const DELIMITERS = [',', '\t', ';'];

/** The label of the 1-based column `n` of a file without a header row. */
const positionLabel = (n: number): string => `column ${n}`;

/** A column in a message: `column 4` for a position, `column "time"` for a header name. */
const columnRef = (label: string): string => (/^column \d+$/.test(label) ? label : `column "${label}"`);

/** Matches a column given by position (a 1-based number) instead of a name. */
const POSITION = /^[1-9]\d*$/;

/**
 * For a row `fields` long under a header whose last names are empty: that the header ends with a
 * separator the row lacks (an export tool's trailing comma), the cause a bare count would leave
 * the user to find; '' otherwise.
 */
function trailingSeparatorHint(header: string[], fields: number, delim: string): string {
  let empty = 0;
  while (empty < header.length && header[header.length - 1 - empty].trim() === '') empty++;
  if (empty === 0 || fields !== header.length - empty) return '';
  return `; the header ends with ${empty === 1 ? `an empty name (column ${header.length})` : `${empty} empty names`}, a trailing ${delimName(delim)} this line does not have`;
}

/**
 * What is wrong with a `--columns` spec as positions, or null: positions that no file has (0, -1,
 * 1.5), or names and positions mixed (or user or item left out beside positions). The file is
 * not needed, so the command line checks it as it parses (exit code 2).
 */
export function columnPositionsProblem(cols: CsvColumns): string | null {
  const given = [cols.userCol, cols.itemCol, cols.timeCol, cols.actionCol].filter((c): c is string => typeof c === 'string');
  // 0, -1 or 1.5 are meant as positions, but not ones a file has: say so rather than call them names.
  const bad = given.find((c) => /^[+-]?\d*\.?\d+$/.test(c) && !POSITION.test(c));
  if (bad !== undefined) return `--columns: column positions are 1-based whole numbers (1 is the first column), got '${bad}'`;
  const numbers = given.filter((c) => POSITION.test(c)).length;
  if (numbers > 0 && (numbers < given.length || cols.userCol === undefined || cols.itemCol === undefined)) {
    return `--columns gives some columns by position and some by name (or leaves user or item out): give every column by name (a header row), or user, item and any others by 1-based position (no header row), e.g. user=1,item=2,time=4`;
  }
  return null;
}

/**
 * True when the columns are given by position: user and item are both 1-based numbers (and time
 * and action, when named, too). Throws a DataFormatError naming `file` for columnPositionsProblem's cases.
 */
export function columnsByPosition(cols: CsvColumns, file: string): boolean {
  const problem = columnPositionsProblem(cols);
  if (problem) throw new DataFormatError(file, null, problem);
  return POSITION.test(cols.userCol ?? '');
}

/**
 * Reads a CSV/TSV or `.inter` file as the file comment says, columns from `cols` or found by name;
 * times become unix seconds. Throws DataFormatError (naming the line where there is one) for
 * missing or ambiguous columns, a malformed row or time, or a file without data rows.
 */
export function parseCsv(src: Source, cols: CsvColumns = {}): Interactions {
  let header: string[] | null = null;
  let delim = ',';
  let ui = -1, ii = -1, ti = -1, ai = -1;
  let inter: Interactions | null = null;
  const byPosition = columnsByPosition(cols, src.file);
  forEachLine(src, (s, e, lineNo) => {
    const text = lineText(src, s, e);
    if (!header) {
      delim = sniffDelimiter(text);
      header = splitCsvLine(text, delim);
      if (!header) throw DataFormatError.atLine(src.file, lineNo, text, byPosition ? 'a CSV row' : 'a CSV header row');
      if (byPosition) {
        // Positions mean no header row: a first line naming the columns would be read as an event.
        if (looksLikeHeader(header)) throw DataFormatError.atLine(src.file, lineNo, text, `data on the first line, as --columns gives positions (a file without a header row), not a header; with a header row, name the columns: --columns user=NAME,item=NAME`);
        const fields = header.length;
        header = header.map((_, i) => positionLabel(i + 1));
        cols = positionsAsLabels(cols, fields, src.file, lineNo, text, delim);
      }
      ui = findColumn(header, cols.userCol, USER_COLUMNS, 'user', src.file, lineNo, text);
      ii = findColumn(header, cols.itemCol, ITEM_COLUMNS, 'item', src.file, lineNo, text);
      if (ui === ii) throw DataFormatError.atLine(src.file, lineNo, text, `different user and item columns (both are "${header[ui]}"); name them with --columns user=NAME,item=NAME`);
      ti = cols.timeCol === null ? -1 : cols.timeCol !== undefined ? findColumn(header, cols.timeCol, [], 'time', src.file, lineNo, text) : findColumnIndex(header, undefined, TIME_COLUMNS);
      if (ti === ui || ti === ii) ti = -1;
      if (cols.actions) {
        ai = findColumnIndex(header, cols.actionCol, cols.actionCol !== undefined ? [] : ACTION_COLUMNS);
        if (ai < 0 || ai === ui || ai === ii || ai === ti) {
          const why =
            cols.actionCol !== undefined ? `an action column named "${cols.actionCol}"` : byPosition ? "the action column's position too, e.g. --columns user=1,item=2,action=3" : `an action column (${ACTION_COLUMNS.join(', ')}); name it with --columns action=NAME`;
          throw DataFormatError.atLine(src.file, lineNo, text, why);
        }
      }
      // A header naming a read column twice: which copy holds the ids would be a guess, unless
      // --columns gave the one name exactly and the header spells it once (user_id beside userId).
      const exact = (i: number) => [cols.userCol, cols.itemCol, cols.timeCol, cols.actionCol].includes(header![i]) && header!.filter((h) => h === header![i]).length === 1;
      const twice = [ui, ii, ti, ai].find((i) => i >= 0 && !exact(i) && header!.filter((h) => normaliseColumn(h) === normaliseColumn(header![i])).length > 1);
      if (twice !== undefined) throw DataFormatError.atLine(src.file, lineNo, text, `a header that names the column "${header[twice]}" once (rename the other copies, or give its exact name with --columns)`);
      inter = newInteractions(src.file, ti >= 0, ti >= 0);
      inter.columns = { user: header[ui], item: header[ii], time: ti >= 0 ? header[ti] : null, ...(ai >= 0 ? { action: header[ai] } : {}) };
      // A header with a trailing separator has an empty last name: name it by position, as a headerless file's columns are, not "".
      inter.ignoredColumns = header.flatMap((name, i) => (i === ui || i === ii || i === ti || i === ai ? [] : [name.trim() === '' ? `column ${i + 1}` : name]));
      if (ai >= 0) inter.action = { values: new IdInterner(), key: new GrowableInt32(), column: header[ai], firstLine: [] };
      // Without a header row the first line is already data.
      if (!byPosition) return;
    }
    const row = splitCsvLine(text, delim);
    const want = header.length;
    if (!row) throw DataFormatError.atLine(src.file, lineNo, text, MALFORMED_QUOTES);
    if (row.length !== want) throw DataFormatError.atLine(src.file, lineNo, text, `${want} ${delimName(delim)}-separated fields ${byPosition ? 'as on the first line' : `matching the header${trailingSeparatorHint(header, row.length, delim)}`}`);
    const inn = inter!;
    const user = row[ui], item = row[ii];
    if (user === '' || item === '') throw DataFormatError.atLine(src.file, lineNo, text, `non-empty values in ${columnRef(header[ui])} and ${columnRef(header[ii])}`);
    if (inn.time) {
      const t = parseTime(row[ti]);
      if (Number.isNaN(t)) throw DataFormatError.atField(src.file, lineNo, text, row[ti], `a time in ${columnRef(header[ti])} (${TIME_FORMS})${whyNotTime(row[ti])}`);
      inn.time.push(t);
    }
    inn.user.push(inn.users.internString(user));
    inn.item.push(inn.items.internString(item));
    if (inn.action) {
      const a = row[ai].trim();
      if (a === '') throw DataFormatError.atLine(src.file, lineNo, text, `a non-empty action in ${columnRef(header[ai])}`);
      const key = inn.action.values.internString(a);
      // A new value: where it first appears, so a rule that cannot read it can name the line.
      if (inn.action.firstLine && key === inn.action.firstLine.length) inn.action.firstLine.push(lineNo);
      inn.action.key.push(key);
    }
  });
  if (!inter || (inter as Interactions).user.length === 0) throw new DataFormatError(src.file, null, 'the CSV file has a header but no data rows');
  return inter;
}

/** `cols` with each position replaced by its label, after checking that the first row has that many fields. */
function positionsAsLabels(cols: CsvColumns, fields: number, file: string, lineNo: number, text: string, delim: string): CsvColumns {
  const label = (c: string | undefined, key: string): string | undefined => {
    if (c === undefined) return undefined;
    const n = Number(c);
    if (n > fields) throw DataFormatError.atLine(file, lineNo, text, `at least ${n} ${delimName(delim)}-separated fields (--columns ${key}=${c})`);
    return positionLabel(n);
  };
  // Without a header no time column is guessed: file order is kept unless time=N is given.
  return { ...cols, userCol: label(cols.userCol, 'user'), itemCol: label(cols.itemCol, 'item'), timeCol: cols.timeCol == null ? null : label(cols.timeCol, 'time'), actionCol: label(cols.actionCol, 'action') };
}

function delimName(d: string): string {
  return d === '\t' ? 'tab' : d === ';' ? 'semicolon' : 'comma';
}

function findColumn(header: string[], wanted: string | undefined, synonyms: string[], what: string, file: string, lineNo: number, text: string): number {
  const i = findColumnIndex(header, wanted, synonyms);
  if (i >= 0) return i;
  const names = wanted !== undefined ? `"${wanted}"` : `one of ${synonyms.join(', ')} (case, "_" and RecBole ":type" suffixes ignored)`;
  // A first row of numbers is data, not a header: a .csv/.tsv name chose this reader, not the content.
  // The other formats split on whitespace, so their advice only fits a tab-separated row.
  const numbers = header.every((h) => h.trim() !== '' && Number.isFinite(Number(h))) && !/[,;]/.test(text);
  const noHeader = numbers ? '; a file without a header row needs its format named with --format (ml100k: tab-separated "user item rating timestamp"; sasrec: "user item [timestamp]"; user-seq: "user item1 item2 …")' : '';
  throw DataFormatError.atLine(file, lineNo, text, `a header with ${withArticle(what)} column named ${names}; name the columns with --columns user=NAME,item=NAME,time=NAME, or, for a file without a header row, give their 1-based positions: --columns user=1,item=2,time=4${noHeader}`);
}

/**
 * What a line whose quotes splitCsvLine cannot read should have had. Titles in item files may
 * hold a line break inside quotes (RFC 4180 allows it); reclm reads one record per line, which
 * keeps every error's line number exact.
 */
export const MALFORMED_QUOTES = 'each quoted field closed on its own line and followed by a separator (a quoted field spanning lines is not supported: put it on one line)';

/**
 * Split one CSV line; unquoted fields are trimmed of surrounding ASCII spaces, tabs and carriage
 * returns only: a no-break space or byte-order mark at an id's edge stays in the id, as in every
 * other format, where the invisible-id note (invisible-ids.ts) shows it. Null for an unterminated quote.
 */
export function splitCsvLine(line: string, delim: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && line[i] === ' ') i++;
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return null;
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      while (i < n && line[i] === ' ') i++;
      if (i < n && line[i] !== delim) return null;
      out.push(v);
    } else {
      let d = line.indexOf(delim, i);
      if (d < 0) d = n;
      let a = i;
      let b = d;
      while (a < b && isAsciiBlank(line.charCodeAt(a))) a++;
      while (b > a && isAsciiBlank(line.charCodeAt(b - 1))) b--;
      out.push(line.slice(a, b));
      i = d;
    }
    if (i >= n) return out;
    i++; // skip the delimiter
  }
}

/** Space, tab, vertical tab, form feed or carriage return: what a CSV field loses at its edges. */
function isAsciiBlank(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13 && c !== 10);
}
