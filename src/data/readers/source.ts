/**
 * Raw bytes of a data file and the byte-level helpers every text reader shares.
 *
 * Readers scan the (decompressed) Buffer directly instead of splitting a JS string into lines:
 * for a 1M-line file that avoids millions of short-lived strings and keeps reading well under
 * a second. Integers are parsed from the bytes; other tokens become strings only when needed.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataFormatError } from '../errors.js';
import { IdInterner } from './interactions.js';
import { isDecimal } from './time.js';
import { unzipMember } from './zip.js';

export interface Source {
  /** Path or label used in error messages (`archive.zip:member` for a zip member). */
  file: string;
  bytes: Buffer;
  /** How text is decoded: UTF-8, or Latin-1 for a file that is not valid UTF-8 (see decideEncoding). */
  encoding: 'utf8' | 'latin1';
  /** The name whose extension decides the format (the member's name inside a zip). */
  formatName: string;
  /** The path the default dataset name comes from (the archive for a zip member). */
  path: string;
  /** The zip member read, if any. */
  member?: string;
  /** Lines for Dataset.notes (encoding fallback, archive member). */
  notes: string[];
}

/**
 * Read a file; gzip and zip are recognised by their magic bytes, not by the extension. `what`
 * names the file in the error for one that cannot be read (default: the data file).
 */
export function loadSource(path: string, what = 'the data file'): Source {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw unreadable(path, e, what);
  }
  return sourceFromBytes(path, raw);
}

/**
 * Throws the DataFormatError loadSource would if `path` cannot be opened for reading (missing,
 * a directory, no permission), without reading it: a check before work that would read it later.
 */
export function checkReadable(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw unreadable(path, e);
  }
  try {
    // open(2) succeeds on a directory; fstat tells it from a file.
    if (fstatSync(fd).isDirectory()) throw unreadable(path, Object.assign(new Error('is a directory'), { code: 'EISDIR' }));
  } finally {
    closeSync(fd);
  }
}

function unreadable(path: string, e: unknown, what = 'the data file'): DataFormatError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : code === 'EACCES' ? 'permission denied' : code === 'ERR_FS_FILE_TOO_LARGE' ? `${(e as Error).message}; ${TOO_LARGE}` : (e as Error).message;
  return new DataFormatError(path, null, `cannot read ${what}: ${why}`);
}

/**
 * What to do about a file past Node's limits (2 GiB read at once, 4 GiB decompressed): Yelp's
 * review.json alone is over 5 GB, mostly review text that reclm never reads.
 */
const TOO_LARGE = "a data file is read whole, so keep only the columns reclm reads (user, item, time; an action or rating if used), e.g. jq -c '{user_id, business_id, date}' review.json > reviews.jsonl, or cut -d, -f1,2,4 data.csv > small.csv";

/**
 * A Source from a file's raw bytes: gunzipped, the interaction file taken from a zip, a UTF-8 BOM
 * dropped, decoded as UTF-8 or else Latin-1. `file` names it in messages. Throws DataFormatError
 * for a corrupt gzip or zip, a zip without exactly one interaction file, or a binary file.
 */
export function sourceFromBytes(file: string, raw: Buffer | Uint8Array): Source {
  const input = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let bytes = gunzipIfGzip(file, input);
  let label = file;
  let member: string | undefined;
  const notes: string[] = [];
  // Content decides (a renamed file still reads), but a name that promises gzip gets a note.
  if (bytes === input && /\.gz$/i.test(file)) notes.push(`${file} ends in .gz but is not gzip-compressed: read as it is`);
  if (isZip(bytes)) {
    const m = unzipMember(file, bytes);
    member = m.name;
    label = `${file}:${m.name}`;
    bytes = gunzipIfGzip(label, Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
    notes.push(`${file} is a zip archive: read its member ${m.name}`);
  }
  rejectBinary(label, bytes);
  // A UTF-8 byte-order mark would otherwise end up inside the first token.
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const encoding = decideEncoding(label, bytes, notes);
  return { file: label, bytes, encoding, formatName: member ?? file, path: file, member, notes };
}

function gunzipIfGzip(file: string, bytes: Buffer): Buffer {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (e) {
    const tooLarge = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? `; ${TOO_LARGE}` : '';
    throw new DataFormatError(file, null, `looks gzip-compressed but could not be decompressed: ${(e as Error).message}${tooLarge}`);
  }
}

function isZip(b: Buffer): boolean {
  // Local file header, or the end-of-central-directory record of an empty archive.
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && ((b[2] === 3 && b[3] === 4) || (b[2] === 5 && b[3] === 6));
}

/** Magic numbers of binary files a user might pass by mistake, so the message names the kind. */
const BINARY_KINDS: { magic: number[]; at?: number; what: string }[] = [
  { magic: [0x42, 0x5a, 0x68], what: 'a bzip2 archive (decompress it first: bunzip2 -k FILE)' },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'an xz archive (decompress it first: unxz -k FILE)' },
  { magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: 'a 7-Zip archive (extract the interaction file first)' },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: 'a zstd archive (decompress it first: unzstd FILE)' },
  { magic: [0x50, 0x41, 0x52, 0x31], what: 'a Parquet file (export it as CSV first)' },
  { magic: [0x75, 0x73, 0x74, 0x61, 0x72], at: 257, what: 'a tar archive (extract the interaction file first: tar -xf FILE)' },
  { magic: [0xff, 0xfe], what: 'UTF-16 text (convert it: iconv -f UTF-16 -t UTF-8 FILE)' },
  { magic: [0xfe, 0xff], what: 'UTF-16 text (convert it: iconv -f UTF-16 -t UTF-8 FILE)' },
];

/**
 * Text formats never contain NUL bytes. A file whose head holds one is binary (its bytes must not
 * reach a message); a NUL after lines of text is a damaged line, refused with its line number.
 */
function rejectBinary(file: string, bytes: Buffer): void {
  for (const k of BINARY_KINDS) {
    const at = k.at ?? 0;
    if (bytes.length >= at + k.magic.length && k.magic.every((m, i) => bytes[at + i] === m)) {
      throw new DataFormatError(file, null, `this is ${k.what}, not a text interaction file`);
    }
  }
  // The whole file is searched (a NUL would otherwise end up inside an id), only its head judged.
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    // After whole lines of text, a NUL is a damaged line in a text file, not a binary file (a PNG's
    // signature holds a line break too, but is not UTF-8): name the line. Past the first 8 KiB of
    // NUL-free text the file is text.
    const lineStart = bytes.lastIndexOf(0x0a, nul) + 1;
    const head = bytes.subarray(0, Math.min(lineStart, 8192));
    if (lineStart > 0 && (nul >= 8192 || (isUtf8(head) && head.every((b) => b >= 0x20 || b === 0x09 || b === 0x0a || b === 0x0d)))) {
      let line = 1;
      for (let i = bytes.indexOf(0x0a); i >= 0 && i < lineStart; i = bytes.indexOf(0x0a, i + 1)) line++;
      throw new DataFormatError(file, line, 'expected text, got a NUL byte (0x00) in this line; a text interaction file holds none');
    }
    const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataFormatError(file, null, `this is a binary file (it starts with bytes ${hex}), not a text interaction file`);
  }
}

/**
 * UTF-8 when the bytes are valid UTF-8; otherwise the whole file is decoded as Latin-1
 * (ISO-8859-1), which maps each byte to one character, so ids that differ in any byte stay
 * distinct (a lossy UTF-8 decode would turn every invalid byte into U+FFFD and merge them).
 * The note names the first line that is not UTF-8.
 */
function decideEncoding(file: string, bytes: Buffer, notes: string[]): 'utf8' | 'latin1' {
  if (isUtf8(bytes)) return 'utf8';
  let start = 0;
  let lineNo = 1;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    if (!isUtf8(bytes.subarray(start, end))) break;
    start = end + 1;
    lineNo++;
  }
  notes.push(`${file} is not valid UTF-8 (first at line ${lineNo}): read as Latin-1 (ISO-8859-1), one character per byte, so distinct ids stay distinct`);
  return 'latin1';
}

/** File name without directories, `.gz` and the last extension: the default dataset name. */
export function defaultName(path: string): string {
  let b = basename(path).replace(/\.gz$/i, '');
  const dot = b.lastIndexOf('.');
  if (dot > 0) b = b.slice(0, dot);
  return b;
}

/** True when bytes[start, end) hold only spaces, tabs and carriage returns (or nothing). */
export function isBlank(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/**
 * Calls `fn(start, end, lineNo)` for every non-blank line (end excludes '\n' and a trailing '\r').
 * Throws a clear error for a file without any non-blank line.
 */
export function forEachLine(src: Source, fn: (start: number, end: number, lineNo: number) => void): void {
  const { bytes } = src;
  const n = bytes.length;
  let start = 0;
  let lineNo = 0;
  let seen = false;
  while (start < n) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = n;
    lineNo++;
    let e = end;
    if (e > start && bytes[e - 1] === 0x0d) e--;
    if (!isBlank(bytes, start, e)) {
      seen = true;
      fn(start, e, lineNo);
    }
    start = end + 1;
  }
  if (!seen) throw DataFormatError.empty(src.file);
}

/** bytes[start, end) of `src` as a string, decoded in the source's encoding (UTF-8 or Latin-1). */
export function lineText(src: Source, start: number, end: number): string {
  return src.bytes.toString(src.encoding, start, end);
}

/**
 * Interns bytes[start, end) as an id: ids are opaque tokens. A canonical non-negative integer
 * (below 2^53, no leading zero) shares the key of that number; anything else (strings, hashes,
 * "007", "-3", 17-digit numbers) is kept as its exact text.
 */
export function internToken(interner: IdInterner, src: Source, start: number, end: number): number {
  const v = parseCanonicalInt(src.bytes, start, end);
  return v >= 0 ? interner.internInt(v) : interner.internString(src.bytes.toString(src.encoding, start, end));
}

/**
 * Parse bytes[start, end) as a canonical non-negative integer (digits only, no leading zero,
 * below 2^53). Returns -1 when the token is anything else, so callers can fall back to strings.
 */
export function parseCanonicalInt(bytes: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len <= 0 || len > 15) return -1;
  if (len > 1 && bytes[start] === 0x30) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = bytes[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Parse a number token (integer fast path, otherwise a decimal number); NaN when it is not a finite decimal number. */
export function parseNumber(bytes: Buffer, start: number, end: number): number {
  const v = parseCanonicalInt(bytes, start, end);
  if (v >= 0) return v;
  const s = bytes.toString('latin1', start, end).trim();
  // Decimal text only (ratings, unix seconds): '0x10' is not 16 here.
  const x = isDecimal(s) ? Number(s) : NaN;
  return Number.isFinite(x) ? x : NaN;
}

/**
 * Split bytes[start, end) at runs of spaces/tabs into at most `max` fields, writing [s0, e0, s1, e1, ...]
 * into `out`. Returns the number of fields, or max + 1 when there are more.
 */
export function splitWhitespace(bytes: Buffer, start: number, end: number, out: Int32Array, max: number): number {
  let count = 0;
  let i = start;
  while (i < end) {
    while (i < end && (bytes[i] === 0x20 || bytes[i] === 0x09)) i++;
    if (i >= end) break;
    const s = i;
    while (i < end && bytes[i] !== 0x20 && bytes[i] !== 0x09) i++;
    if (count === max) return max + 1;
    out[2 * count] = s;
    out[2 * count + 1] = i;
    count++;
  }
  return count;
}

/** Split bytes[start, end) at every occurrence of a separator byte sequence (no trimming). */
export function splitExact(bytes: Buffer, start: number, end: number, sep: Buffer, out: Int32Array, max: number): number {
  let count = 0;
  let s = start;
  for (;;) {
    let idx = bytes.indexOf(sep, s);
    if (idx < 0 || idx >= end) idx = end;
    else if (idx + sep.length > end) idx = end;
    if (count === max) return max + 1;
    out[2 * count] = s;
    out[2 * count + 1] = idx;
    count++;
    if (idx >= end) return count;
    s = idx + sep.length;
  }
}
