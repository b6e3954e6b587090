/**
 * Format detection for format 'auto': the file name decides when it is conclusive, otherwise the
 * content does.
 *
 * Content rules, in order:
 * 1. `[` first: reczoo JSON; `{` first: JSON Lines (so a `.json` name is decided by its first character).
 * 2. `::` in the first line: MovieLens `ratings.dat`.
 * 3. A header row (a field named like a user or item column, or a RecBole `name:type` field),
 *    or a first line with commas or semicolons: CSV/TSV.
 * 4. Whitespace-separated lines, judged on the first 1,000 non-blank lines:
 *    - 4 numeric tab-separated fields on the first line and 4 fields on every line, or on all
 *      but one line in 100 (at least 10 lines looked at, at least one line allowed): ML-100K
 *      `u.data`, whose reader then names the malformed line;
 *    - any line has more than 3 fields: one user per line (`user item1 … itemN`);
 *    - otherwise (2 or 3 fields on every line): SASRec `user item [timestamp]`, where a third
 *      field is a timestamp. A one-user-per-line file whose users all have at most 2 items looks
 *      the same; name its format (user-seq).
 */
import { basename } from 'node:path';
import { DataFormatError } from '../errors.js';
import type { DataFormat } from '../types.js';
import { looksLikeHeader } from './columns.js';
import { splitCsvLine } from './csv.js';
import { isBlank, type Source } from './source.js';

export type ConcreteFormat = Exclude<DataFormat, 'auto'>;

/** Lines looked at to tell whitespace formats apart. */
const SAMPLE_LINES = 1000;

/** The format of `src` for format 'auto': the file name's when it is conclusive (formatFromName), else the content's (formatFromContent, which throws DataFormatError). */
export function detectFormat(src: Source): ConcreteFormat {
  return formatFromName(src.formatName) ?? formatFromContent(src);
}

/**
 * The format a file name settles (`.csv`, `.tsv`, `.inter`, `.jsonl`, `.ndjson`, `u.data`, `.dat`;
 * a `.gz` suffix ignored), or null when the content must decide: a `.json` file is reczoo's array
 * or JSON Lines by its first character.
 */
export function formatFromName(path: string): ConcreteFormat | null {
  const name = basename(path).toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  if (name.endsWith('.csv') || name.endsWith('.tsv') || name.endsWith('.inter')) return 'csv';
  if (name === 'u.data' || name.endsWith('.u.data')) return 'ml100k';
  if (name.endsWith('.dat')) return 'movielens';
  return null;
}

/**
 * The format the content of `src` shows, by the rules of the file comment. Throws DataFormatError
 * for an empty file, a first line that looks like a space-separated header, or a first line that
 * no rule matches.
 */
export function formatFromContent(src: Source): ConcreteFormat {
  const { bytes } = src;
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  if (i >= bytes.length) throw DataFormatError.empty(src.file);
  if (bytes[i] === 0x5b /* [ */) return 'reczoo';
  if (bytes[i] === 0x7b /* { */) return 'jsonl';
  // A .json name is JSON: reczoo's array, else JSON Lines (whose reader names a line that is neither).
  if (/\.json(\.gz)?$/i.test(src.formatName)) return 'reczoo';
  let end = bytes.indexOf(0x0a, i);
  if (end < 0) end = bytes.length;
  const line = bytes.toString(src.encoding, i, end).replace(/\r$/, '');
  if (line.includes('::')) return 'movielens';
  for (const d of [',', '\t', ';']) {
    const fields = line.includes(d) ? splitCsvLine(line, d) : null;
    if (fields && fields.length >= 2 && looksLikeHeader(fields)) return 'csv';
  }
  if (line.includes(',') || line.includes(';')) return 'csv';
  if (looksLikeHeader(line.trim().split(/ +/))) {
    throw new DataFormatError(src.file, 1, `the first line ${JSON.stringify(line.slice(0, 200))} looks like a header separated by spaces; a header row needs commas or tabs between column names (or remove it for "user item [timestamp]" lines)`);
  }
  const counts = fieldCounts(src, i);
  const first = counts[0];
  const numeric = line.trim().split(/[ \t]+/).every((f) => Number.isFinite(Number(f)));
  // A u.data file with a malformed line is still u.data: read as one user per line it would fail
  // on a good line with advice for another format. A one-user-per-line file would need almost
  // every user to have exactly three items to pass this.
  const off = counts.filter((c) => c !== 4).length;
  const allBut = off === 0 || (counts.length >= 10 && off <= Math.max(1, Math.floor(counts.length / 100)));
  if (first === 4 && numeric && line.includes('\t') && allBut) return 'ml100k';
  if (counts.some((c) => c > 3)) return 'user-seq';
  if (first === 2 || first === 3) return 'sasrec';
  throw new DataFormatError(
    src.file,
    1,
    `cannot detect the format from the first line ${JSON.stringify(line.slice(0, 200))}; name it with the format option ` +
      '(sasrec: "user item [timestamp]", user-seq: "user item1 item2 …", movielens: "UserID::MovieID::Rating::Timestamp", ml100k: tab-separated "user item rating timestamp", csv with a header, jsonl: one JSON object per line, reczoo JSON)',
  );
}

/** Whitespace field counts of the first SAMPLE_LINES non-blank lines from byte `from`. */
function fieldCounts(src: Source, from: number): number[] {
  const { bytes } = src;
  const counts: number[] = [];
  let start = from;
  while (start < bytes.length && counts.length < SAMPLE_LINES) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    if (!isBlank(bytes, start, end)) {
      let n = 0;
      let inField = false;
      for (let j = start; j < end; j++) {
        const c = bytes[j];
        const ws = c === 0x20 || c === 0x09 || c === 0x0d;
        if (!ws && !inField) n++;
        inField = !ws;
      }
      counts.push(n);
    }
    start = end + 1;
  }
  return counts;
}
