// Append-only JSON-lines logs (training metrics, eval results): one object per line.
//
// Each record is one write(2) on an O_APPEND descriptor with no user-space buffer, so a
// crash loses at most the line being written, and `tail -f` sees lines as they happen.
// close() fsyncs, so a finished run's log survives a power loss too.

import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

/**
 * An append-only JSON-lines log (see the file comment): one object per line, each record one
 * write(2). write() throws Error after close(), and TypeError for a non-object or an array.
 */
export class JsonlLogger {
  private fd: number | undefined;

  /** Opens (creating if needed) `path` for appending; earlier lines are kept. */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'a+');
    // A crash mid-write can leave a torn last line; start ours on a fresh line so the
    // new records stay parseable.
    const size = fstatSync(this.fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(this.fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) writeSync(this.fd, '\n');
    }
  }

  /**
   * Appends one record. Non-finite numbers become the strings "NaN", "Infinity" and
   * "-Infinity" (JSON would write null, hiding exactly the diverging loss you want to see).
   */
  write(record: Record<string, unknown>): void {
    if (this.fd === undefined) throw new Error(`JsonlLogger: ${this.path} is closed`);
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new TypeError('JsonlLogger.write expects a plain object');
    }
    const line = JSON.stringify(record, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
  }

  /** Flushes to disk and closes; safe to call twice. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Reads every record of a JSON-lines file. A line that does not parse throws with its
 * line number, unless `skipInvalid` (for logs of runs that crashed mid-write). `keep` drops
 * parsed values it rejects; `onSkip` receives the 1-based number of each line skipped either way.
 */
export function readJsonl(path: string, opts: { skipInvalid?: boolean; onSkip?: (line: number) => void; keep?: (value: unknown) => boolean } = {}): unknown[] {
  const out: unknown[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      if (!opts.skipInvalid) throw new Error(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`, { cause: err });
      opts.onSkip?.(i + 1);
      return;
    }
    if (!opts.keep || opts.keep(value)) out.push(value);
    else opts.onSkip?.(i + 1);
  });
  return out;
}
