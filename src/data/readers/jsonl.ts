/**
 * JSON Lines: one JSON object per line, one interaction per object. This is how the raw public
 * logs of the short-sequence benchmarks ship:
 * - Amazon reviews (McAuley et al., 2014/2018 dumps): `reviewerID`, `asin`, `unixReviewTime`
 *   (seconds), `overall` (the rating);
 * - Amazon Reviews 2023 (Hou et al.): `user_id`, `parent_asin`, `timestamp` (milliseconds), `rating`;
 * - Yelp's `review.json`: `user_id`, `business_id`, `date` (`2016-03-09 00:44:42`), `stars`.
 *
 * The first object's keys are the columns, found as CSV header names are (the synonyms of
 * columns.ts, or `--columns` names). Ids are strings or numbers, read as their text; times are
 * numbers (seconds, or milliseconds told by the column's size) or ISO 8601 strings, as in CSV.
 * Every other key, of any object, is ignored and named. A time key that the first object lacks and
 * a later one holds is refused: times for some events only cannot order a history. So is an object
 * holding a key it reads twice (JSON.parse would keep the last value). Lines are parsed with
 * JSON.parse.
 */
import { DataFormatError } from '../errors.js';
import { ACTION_COLUMNS, ITEM_COLUMNS, TIME_COLUMNS, USER_COLUMNS, findColumnIndex, normaliseColumn } from './columns.js';
import type { CsvColumns } from './csv.js';
import { GrowableInt32, IdInterner, newInteractions, type Interactions } from './interactions.js';
import { forEachLine, lineText, type Source } from './source.js';
import { TIME_FORMS, parseTime, whyNotTime } from './time.js';

/** What a line must be, for error messages. */
const ONE_OBJECT = 'one JSON object per line (JSON Lines), such as {"user_id": "A1", "item_id": "B7", "timestamp": 1451952000}';

/**
 * Reads JSON Lines interactions. `cols` names the keys to read (CsvColumns: user, item, time or
 * null for none, action), else they are found by the synonyms of columns.ts. Returns one row per
 * line, sorted later by time when a time key is read.
 * Throws DataFormatError (file, line, text) for a line that is not a JSON object, a key missing or
 * holding neither a string nor a number, an integer id past 2^53 (JSON.parse would round it), or
 * a time that is neither a number nor an ISO 8601 date.
 */
export function parseJsonLines(src: Source, cols: CsvColumns = {}): Interactions {
  let keys: { user: string; item: string; time: string | null; action: string | null } | null = null;
  let inter: Interactions | null = null;
  // Every key met so far, so a key first seen past the first object is named among the ignored (nothing dropped unsaid).
  const seen = new Set<string>();
  let firstLine = 0;
  // The keys read, as JSON writes them, for the repeated-key check (built once, not per line).
  let quotedKeys: string[] = [];
  forEachLine(src, (s, e, lineNo) => {
    const text = lineText(src, s, e);
    const record = parseObject(src.file, lineNo, text);
    if (keys) {
      for (const key in record) if (!seen.has(key)) laterKey(key, keys.time, cols, inter!, seen, { file: src.file, firstLine, lineNo, text });
    } else {
      firstLine = lineNo;
      for (const key in record) seen.add(key);
      keys = findKeys(Object.keys(record), cols, src.file, lineNo, text);
      quotedKeys = [keys.user, keys.item, keys.time, keys.action].filter((q): q is string => q !== null).map((q) => JSON.stringify(q));
      inter = newInteractions(src.file, keys.time !== null, keys.time !== null);
      inter.columns = { user: keys.user, item: keys.item, time: keys.time, ...(keys.action !== null ? { action: keys.action } : {}) };
      const used = new Set<string>([keys.user, keys.item, keys.time, keys.action].filter((k): k is string => k !== null));
      inter.ignoredColumns = Object.keys(record).filter((k) => !used.has(k));
      if (keys.action !== null) inter.action = { values: new IdInterner(), key: new GrowableInt32(), column: keys.action, firstLine: [] };
    }
    const inn = inter!;
    const k = keys;
    refuseRepeatedKey(text, quotedKeys, src.file, lineNo);
    const user = idText(record, k.user, src.file, lineNo, text);
    const item = idText(record, k.item, src.file, lineNo, text);
    if (inn.time) inn.time.push(timeOf(record, k.time!, src.file, lineNo, text));
    inn.user.push(inn.users.internString(user));
    inn.item.push(inn.items.internString(item));
    if (inn.action) {
      const a = idText(record, k.action!, src.file, lineNo, text);
      const key = inn.action.values.internString(a);
      // A new value: where it first appears, so a rule that cannot read it can name the line.
      if (inn.action.firstLine && key === inn.action.firstLine.length) inn.action.firstLine.push(lineNo);
      inn.action.key.push(key);
    }
  });
  return inter!;
}

/**
 * A key first met past the first object: named among the ignored columns, or refused when the
 * synonyms of columns.ts make it the time key that the first object
 * lacked, since the file's events would then be read without times (`--columns time=none` reads
 * them so on purpose).
 * Throws DataFormatError (file, line, text) for such a time key.
 */
function laterKey(key: string, time: string | null, cols: CsvColumns, inter: Interactions, seen: Set<string>, at: { file: string; firstLine: number; lineNo: number; text: string }): void {
  seen.add(key);
  // Only keys found by synonym: a time key named with --columns and missing from the first object is refused there (findKeys).
  if (time === null && cols.timeCol === undefined && findColumnIndex([key], undefined, TIME_COLUMNS) === 0) {
    throw DataFormatError.atLine(at.file, at.lineNo, at.text, `a time key in every object or in none; the first object (line ${at.firstLine}) has none and this line has "${key}": give every object its time, or pass --columns time=none to read the file without times`);
  }
  (inter.ignoredColumns ??= []).push(key);
}

/**
 * Refuses an object that holds a key it reads twice: JSON.parse keeps the last value, so the
 * first would be dropped unsaid. The scan of the top-level keys runs only when the key's quoted
 * name occurs twice in the line's text, so an ordinary line costs two indexOf calls per key.
 * Throws DataFormatError (file, line, text).
 */
function refuseRepeatedKey(text: string, quotedKeys: readonly string[], file: string, lineNo: number): void {
  for (const quoted of quotedKeys) {
    const first = text.indexOf(quoted);
    if (first < 0 || text.indexOf(quoted, first + quoted.length) < 0) continue;
    const key = JSON.parse(quoted) as string;
    if (topLevelKeys(text).filter((k) => k === key).length > 1) throw DataFormatError.atLine(file, lineNo, text, `one "${key}" per object; this one has it twice, and only the last would be read`);
  }
}

/** The keys of a JSON object's text at its top level, in order, repeats kept (the text parsed already, so it is valid JSON). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

function parseObject(file: string, lineNo: number, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Some older dumps (Amazon's 2014 metadata among them) are Python dict literals, not JSON: say what they are.
    const python = /^\s*\{\s*'/.test(text) ? '; this line is a Python dict literal (single quotes), not JSON: convert it first (Python: json.dumps(ast.literal_eval(line)))' : '';
    throw DataFormatError.atLine(file, lineNo, text, `${ONE_OBJECT}${python}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw DataFormatError.atLine(file, lineNo, text, ONE_OBJECT);
  return value as Record<string, unknown>;
}

/** The keys to read, from the first object's keys and the `--columns` names. */
function findKeys(names: string[], cols: CsvColumns, file: string, lineNo: number, text: string): { user: string; item: string; time: string | null; action: string | null } {
  const find = (wanted: string | undefined, synonyms: string[], role: string): string => {
    const i = findColumnIndex(names, wanted, synonyms);
    if (i >= 0) return names[i];
    const which = wanted !== undefined ? `"${wanted}"` : `one of ${synonyms.join(', ')} (case and "_" ignored)`;
    throw DataFormatError.atLine(file, lineNo, text, `a first object with a ${role} key named ${which}; name the keys with --columns user=KEY,item=KEY,time=KEY`);
  };
  const user = find(cols.userCol, USER_COLUMNS, 'user');
  const item = find(cols.itemCol, ITEM_COLUMNS, 'item');
  if (user === item) throw DataFormatError.atLine(file, lineNo, text, `different user and item keys (both are "${user}"); name them with --columns user=KEY,item=KEY`);
  const t = cols.timeCol === null ? -1 : findColumnIndex(names, cols.timeCol, cols.timeCol !== undefined ? [] : TIME_COLUMNS);
  if (cols.timeCol != null && t < 0) throw DataFormatError.atLine(file, lineNo, text, `a first object with a time key named "${cols.timeCol}"`);
  const time = t >= 0 && names[t] !== user && names[t] !== item ? names[t] : null;
  let action: string | null = null;
  if (cols.actions) {
    const a = findColumnIndex(names, cols.actionCol, cols.actionCol !== undefined ? [] : ACTION_COLUMNS);
    if (a < 0 || [user, item, time].includes(names[a])) {
      const why = cols.actionCol !== undefined ? `an action key named "${cols.actionCol}"` : `an action key (${ACTION_COLUMNS.join(', ')}); name it with --columns action=KEY`;
      throw DataFormatError.atLine(file, lineNo, text, why);
    }
    action = names[a];
  }
  // Two keys that normalise alike ("userId" and "user_id"): which one holds the ids would be a guess,
  // unless --columns gave the key exactly (JSON keys are unique, so that names one).
  const exact = new Set([cols.userCol, cols.itemCol, cols.timeCol, cols.actionCol].filter((c): c is string => typeof c === 'string' && names.includes(c)));
  const twice = [user, item, time, action].find((k) => k !== null && !exact.has(k) && names.filter((n) => normaliseColumn(n) === normaliseColumn(k)).length > 1);
  if (twice) throw DataFormatError.atLine(file, lineNo, text, `one key spelled like "${twice}" (name the one to read with --columns)`);
  return { user, item, time, action };
}

/** The text of an id (or action) value: a string as it is, a number as JSON writes it. */
function idText(record: Record<string, unknown>, key: string, file: string, lineNo: number, text: string): string {
  const v = record[key];
  if (typeof v === 'string' && v.trim() !== '') return v;
  if (typeof v === 'number') {
    // JSON.parse rounds integers past 2^53 to the nearest double, and two ids could become one.
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) throw DataFormatError.atLine(file, lineNo, text, `"${key}" as a JSON string: the number ${numberText(text, key) ?? v} is past 2^53, where JSON numbers lose digits`);
    return String(v);
  }
  throw DataFormatError.atLine(file, lineNo, text, `a non-empty string or a number in "${key}"${v === undefined ? ' (the key is missing)' : ''}`);
}

/** The digits of `key`'s number as the line writes them (JSON.parse has already rounded the value), or null. */
function numberText(text: string, key: string): string | null {
  const quotedKey = JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${quotedKey}\\s*:\\s*(-?\\d+)`).exec(text)?.[1] ?? null;
}

/** A time value: a number as it is (the column's unit is decided later), a string as CSV reads it. */
function timeOf(record: Record<string, unknown>, key: string, file: string, lineNo: number, text: string): number {
  const v = record[key];
  const t = typeof v === 'number' ? v : typeof v === 'string' ? parseTime(v) : NaN;
  if (v === undefined) throw DataFormatError.atLine(file, lineNo, text, `a time in "${key}" (${TIME_FORMS}); the key is missing`);
  if (!Number.isFinite(t)) throw DataFormatError.atField(file, lineNo, text, typeof v === 'string' ? v : JSON.stringify(v), `a time in "${key}" (${TIME_FORMS})${typeof v === 'string' ? whyNotTime(v) : ''}`);
  return t;
}
