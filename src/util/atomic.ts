// Crash-safe file replacement: readers see either the old file or the complete new one,
// never a half-written one. Used for checkpoints and manifests.
//
// Synchronous on purpose: callers (checkpoint saving) hand in views of live parameter
// buffers that the next training step overwrites, so the bytes must be on disk before
// control returns.

import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Bytes to write: one buffer, a string (UTF-8), or chunks written back to back (no concatenation copy). */
export type AtomicData = Uint8Array | string | readonly Uint8Array[];

/**
 * Writes `data` to `path` atomically: temp file in the same directory (so rename stays on
 * one filesystem), fsync, rename over the target, fsync the directory (so the rename itself
 * survives a power loss). On any error the temp file is removed and the target is untouched.
 */
export function writeFileAtomic(path: string, data: AtomicData): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx' = O_CREAT|O_EXCL: a leftover or concurrent writer's temp file is never reused.
  const fd = openSync(tmp, 'wx', 0o644);
  let renamed = false;
  try {
    try {
      const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
      for (const chunk of chunks) writeAll(fd, chunk);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    renamed = true;
    fsyncDirectory(dir);
  } catch (err) {
    if (!renamed) removeIfExists(tmp);
    throw err;
  }
}

/** Removes a file; returns false (instead of throwing) when it was not there. */
export function removeIfExists(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

// writeSync may write fewer bytes than asked (large buffers, signals); loop until done.
function writeAll(fd: number, chunk: Uint8Array): void {
  let off = 0;
  while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
}

function fsyncDirectory(dir: string): void {
  // Windows cannot open a directory for fsync; NTFS rename durability is handled by the OS.
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
