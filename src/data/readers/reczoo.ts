/**
 * reczoo-style JSON: one array holding, per user, the list of that user's item ids in
 * chronological order: `[[3, 1, 7], [2, 5], ...]`. The user index is the position; users with an
 * empty list are kept so positions stay valid. Ids may be numbers or strings. There is no time.
 *
 * The format is scanned by hand instead of JSON.parse so that an error can name the line and the
 * text of the line (V8's JSON.parse messages do not always give a position).
 */
import { DataFormatError } from '../errors.js';
import { newInteractions, type Interactions } from './interactions.js';
import type { Source } from './source.js';

/** Reads reczoo JSON (see the file comment): user index = position in the array, ids kept as text; no time. Throws DataFormatError, naming the line, for malformed JSON, and for an empty file or one without interactions. */
export function parseReczooJson(src: Source): Interactions {
  const text = src.bytes.toString(src.encoding);
  const inter = newInteractions(src.file, false, false);
  inter.keepEmptyUsers = true;
  let i = 0;
  const n = text.length;

  const lineAt = (pos: number): number => {
    let line = 1;
    for (let j = 0; j < pos && j < n; j++) if (text.charCodeAt(j) === 10) line++;
    return line;
  };
  const fail = (pos: number, expected: string): never => {
    const line = lineAt(pos);
    const ls = text.lastIndexOf('\n', pos - 1) + 1;
    let le = text.indexOf('\n', pos);
    if (le < 0) le = n;
    const whole = text.slice(ls, le).replace(/\r$/, '');
    if (whole.length <= 200) throw DataFormatError.atLine(src.file, line, whole, expected);
    // The whole array on one line, as reczoo's files are written: the line's first 200 characters
    // would not show the fault, so quote the text around it and say where in the line it is.
    const at = pos - ls;
    const from = Math.max(0, at - 60);
    const to = Math.min(whole.length, at + 60);
    const around = `${from > 0 ? '…' : ''}${whole.slice(from, to)}${to < whole.length ? '…' : ''}`;
    throw DataFormatError.atLine(src.file, line, around, `${expected} at character ${at + 1} of the line`);
  };
  const skipWs = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };

  skipWs();
  if (i >= n) throw new DataFormatError(src.file, null, 'the file is empty (expected a JSON array of per-user item lists)');
  if (text[i] !== '[') fail(i, 'a JSON array of per-user item lists, starting with "["');
  i++;
  skipWs();
  let user = 0;
  /** After a list element: consumes "," (more follows, false) or "]" (the list ends, true). `expected` is only built for an error: it runs once per item. */
  const listClosed = (expected: () => string): boolean => {
    skipWs();
    if (text[i] === ',' || text[i] === ']') return text[i++] === ']';
    return fail(i, expected());
  };
  if (text[i] === ']') {
    i++;
  } else {
    for (;;) {
      skipWs();
      // An array of event objects (a JSON export of a log) is JSON Lines' content in another layout;
      // an object after users' lists is one bad element of a per-user array, where that advice misleads.
      const objects = text[i] === '{' && user === 0 ? `; this is an array of objects, one per event: write them one per line as JSON Lines (jq -c '.[]' FILE > events.jsonl), which reclm reads` : '';
      if (text[i] !== '[') fail(i, `a list of item ids for user ${user} ("[...]")${objects}`);
      i++;
      const u = inter.users.internInt(user);
      // The user's place in the array: on a one-line file the line number alone does not find it.
      const inList = ` in the list of user ${user} (element ${user} of the array, counting from 0)`;
      skipWs();
      if (text[i] === ']') {
        i++;
      } else {
        for (;;) {
          skipWs();
          const item = readId(text, i);
          if (!item) return fail(i, `an item id (a number or a string)${inList}`);
          inter.user.push(u);
          inter.item.push(inter.items.internString(item.value));
          i = item.end;
          if (listClosed(() => `"," or "]" after an item id${inList}`)) break;
        }
      }
      user++;
      if (listClosed(() => `"," or "]" after the list of user ${user - 1}`)) break;
    }
  }
  skipWs();
  if (i < n) fail(i, 'nothing after the closing "]"');
  if (inter.user.length === 0) throw new DataFormatError(src.file, null, 'the JSON array has no interactions');
  return inter;
}

/** A JSON number (integer or not) or string starting at i; null if neither. */
function readId(text: string, i: number): { value: string; end: number } | null {
  if (text[i] === '"') {
    let j = i + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    if (j >= text.length) return null;
    try {
      return { value: JSON.parse(text.slice(i, j + 1)) as string, end: j + 1 };
    } catch {
      return null;
    }
  }
  const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 40));
  if (!m) return null;
  return { value: m[0], end: i + m[0].length };
}
