/**
 * Raw bytes of a data file and the byte-level helpers every text reader shares.
 *
 * Readers scan the (decompressed) Buffer directly instead of splitting a JS string into lines:
 * for a 1M-line file that avoids millions of short-lived strings and keeps reading well under
 * a second. Integers are parsed from the bytes; other tokens become strings only when needed.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataFormatError } from '../errors.js';

export interface Source {
  /** Path or label used in error messages. */
  file: string;
  bytes: Buffer;
}

/** Read a file; gzip is recognised by its magic bytes (1f 8b), not by the extension. */
export function loadSource(path: string): Source {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a data file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new DataFormatError(path, null, `cannot read the data file: ${why}`);
  }
  return sourceFromBytes(path, raw);
}

export function sourceFromBytes(file: string, raw: Buffer | Uint8Array): Source {
  let bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new DataFormatError(file, null, `looks gzip-compressed but could not be decompressed: ${(e as Error).message}`);
    }
  }
  // A UTF-8 byte-order mark would otherwise end up inside the first token.
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  return { file, bytes };
}

/** File name without directories, `.gz` and the last extension: the default dataset name. */
export function defaultName(path: string): string {
  let b = basename(path).replace(/\.gz$/i, '');
  const dot = b.lastIndexOf('.');
  if (dot > 0) b = b.slice(0, dot);
  return b;
}

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
  if (!seen) throw new DataFormatError(src.file, null, 'the file is empty (no interaction lines)');
}

export function lineText(src: Source, start: number, end: number): string {
  return src.bytes.toString('utf8', start, end);
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

/** Parse a number token (integer fast path, otherwise Number()); NaN when it is not a finite number. */
export function parseNumber(bytes: Buffer, start: number, end: number): number {
  const v = parseCanonicalInt(bytes, start, end);
  if (v >= 0) return v;
  const s = bytes.toString('latin1', start, end).trim();
  if (s === '') return NaN;
  const x = Number(s);
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
