import { ReclmError } from '../errors.js';

/** A data file does not match its format. The message names file, 1-based line, the text and what was expected. */
export class DataFormatError extends ReclmError {
  readonly file: string;
  readonly line: number | null;

  constructor(file: string, line: number | null, message: string) {
    super(line === null ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.file = file;
    this.line = line;
  }

  /** True for the error of a file with no lines with data (DataFormatError.empty), which a caller may rephrase to name its flag. */
  emptyFile = false;

  /** Error for a file with no lines with data (nothing, or only blank lines). */
  static empty(file: string): DataFormatError {
    const e = new DataFormatError(file, null, 'the file is empty (no lines with data)');
    e.emptyFile = true;
    return e;
  }

  /** Error for one offending line: quotes the text (shortened) so the user can find it. */
  static atLine(file: string, line: number, text: string, expected: string): DataFormatError {
    return new DataFormatError(file, line, `expected ${expected}, got ${quoted(text)}`);
  }

  /** Error for one field of a line: quotes the field's value first, then the line (both shortened). */
  static atField(file: string, line: number, text: string, value: string, expected: string): DataFormatError {
    return new DataFormatError(file, line, `expected ${expected}, got ${quoted(value)} in the line ${quoted(text)}`);
  }
}

/**
 * Characters that print as nothing or as a plain space: format characters (zero-width space
 * U+200B, byte-order mark U+FEFF, soft hyphen), line and paragraph separators, and spaces other
 * than U+0020 (no-break space U+00A0). An id holding one differs from the id it looks like.
 */
const INVISIBLE_CLASS = String.raw`\p{Cf}\p{Zl}\p{Zp}\p{Zs}`;
const INVISIBLE = new RegExp(`[${INVISIBLE_CLASS}]`, 'gu');

/** Characters an id may hold without showing them: INVISIBLE's, U+0020 aside, and control characters (a bell, a tab). */
const HIDDEN_IN_ID = new RegExp(`(?! )[\\p{Cc}${INVISIBLE_CLASS}]`, 'gu');

/**
 * True when `id` holds an invisible or control character (HIDDEN_IN_ID): such an id differs from
 * the id it looks like. O(length of id).
 */
export function hasInvisible(id: string): boolean {
  // search() ignores the global flag's lastIndex, which test() would carry from call to call.
  return id.search(HIDDEN_IN_ID) >= 0;
}

/** `id` without its invisible and control characters (HIDDEN_IN_ID): what a reader of the file sees. */
export function withoutInvisible(id: string): string {
  return id.replace(HIDDEN_IN_ID, '');
}

/** `c` as a JavaScript escape: `\u200b`, or `\u{e0001}` past the basic plane. */
function escapeChar(c: string): string {
  const hex = c.codePointAt(0)!.toString(16);
  return hex.length > 4 ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
}

/**
 * `text` cut at 200 characters, so that one line of a huge file stays readable, and quoted with
 * JSON's escapes, so a tab or a control character shows; invisible characters (INVISIBLE) are
 * escaped too, as JSON leaves them raw. Text that holds double quotes and no single quote (a JSON
 * Lines object, a CSV field in quotes) goes between single quotes with its double quotes and
 * backslashes as they are: `'{"user_id": 7}'` reads better than `"{\"user_id\": 7}"`.
 */
export function quoted(text: string): string {
  const json = JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text).replace(INVISIBLE, (c) => (c === ' ' ? c : escapeChar(c)));
  if (!text.includes('"') || text.includes("'")) return json;
  // Between single quotes, double quotes and backslashes show as the file has them, so the escape
  // `\u0007` inside a JSON line reads as written there, not as `\\u0007`.
  return `'${json.slice(1, -1).replace(/\\(["\\])/g, '$1')}'`;
}
