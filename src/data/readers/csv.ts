/**
 * CSV with a header row. Columns are found by name (userCol/itemCol/timeCol options; defaults
 * user_id/item_id/timestamp, then user/item/timestamp). Ids are opaque strings. With a time column,
 * each user's rows are sorted by time (stable); without one, file order is kept.
 *
 * The delimiter is ',' unless the header has tabs or semicolons and no commas. Quoted fields
 * ("a,b", "say ""hi""") are supported within one line; a quoted field spanning lines is reported
 * as malformed, because interaction files never need one and it keeps line numbers exact.
 */
import { DataFormatError } from '../errors.js';
import { newInteractions, type Interactions } from './interactions.js';
import { forEachLine, lineText, type Source } from './source.js';

export interface CsvColumns {
  userCol?: string;
  itemCol?: string;
  timeCol?: string;
}

export function parseCsv(src: Source, cols: CsvColumns = {}): Interactions {
  let header: string[] | null = null;
  let delim = ',';
  let ui = -1, ii = -1, ti = -1;
  let inter: Interactions | null = null;
  forEachLine(src, (s, e, lineNo) => {
    const text = lineText(src, s, e);
    if (!header) {
      if (!text.includes(',') && text.includes('\t')) delim = '\t';
      else if (!text.includes(',') && text.includes(';')) delim = ';';
      header = splitCsvLine(text, delim);
      if (!header) throw DataFormatError.atLine(src.file, lineNo, text, 'a CSV header row');
      ui = findColumn(header, cols.userCol, ['user_id', 'user'], 'user', src.file, lineNo, text);
      ii = findColumn(header, cols.itemCol, ['item_id', 'item'], 'item', src.file, lineNo, text);
      ti = cols.timeCol !== undefined ? findColumn(header, cols.timeCol, [], 'time', src.file, lineNo, text) : header.findIndex((h) => h === 'timestamp');
      inter = newInteractions(src.file, ti >= 0, ti >= 0);
      return;
    }
    const row = splitCsvLine(text, delim);
    const want = header.length;
    if (!row || row.length !== want) throw DataFormatError.atLine(src.file, lineNo, text, `${want} ${delimName(delim)}-separated fields matching the header`);
    const inn = inter!;
    const user = row[ui], item = row[ii];
    if (user === '' || item === '') throw DataFormatError.atLine(src.file, lineNo, text, `non-empty "${header[ui]}" and "${header[ii]}" values`);
    if (inn.time) {
      const t = parseTime(row[ti]);
      if (Number.isNaN(t)) throw DataFormatError.atLine(src.file, lineNo, text, `a time in column "${header[ti]}" (unix seconds or an ISO date)`);
      inn.time.push(t);
    }
    inn.user.push(inn.users.internString(user));
    inn.item.push(inn.items.internString(item));
  });
  if (!inter || (inter as Interactions).user.length === 0) throw new DataFormatError(src.file, null, 'the CSV file has a header but no data rows');
  return inter;
}

function delimName(d: string): string {
  return d === '\t' ? 'tab' : d === ';' ? 'semicolon' : 'comma';
}

function findColumn(header: string[], wanted: string | undefined, defaults: string[], what: string, file: string, lineNo: number, text: string): number {
  const names = wanted !== undefined ? [wanted] : defaults;
  for (const n of names) {
    const i = header.indexOf(n);
    if (i >= 0) return i;
  }
  throw DataFormatError.atLine(file, lineNo, text, `a header with a ${what} column named ${names.map((n) => `"${n}"`).join(' or ')}`);
}

/** Unix seconds from a number, or from a date string (Date.parse), else NaN. */
function parseTime(v: string): number {
  const t = v.trim();
  if (t === '') return NaN;
  const x = Number(t);
  if (Number.isFinite(x)) return x;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? NaN : ms / 1000;
}

/** Split one CSV line; fields are trimmed of surrounding spaces; null for an unterminated quote. */
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
      out.push(line.slice(i, d).trim());
      i = d;
    }
    if (i >= n) return out;
    i++; // skip the delimiter
  }
}
