// Crash-safe file replacement: readers see either the old file or the complete new one,
// never a half-written one. Used for checkpoints and manifests.
//
// Synchronous on purpose: callers (checkpoint saving) hand in views of live parameter
// buffers that the next training step overwrites, so the bytes must be on disk before
// control returns.

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { ReclmError } from '../errors.js';

/** A path reclm was asked to write cannot be written (missing folder, a file where a folder must be, no permission, disk full). */
export class OutputPathError extends ReclmError {}

/** How the user named an output path: the flag (e.g. '--out'; absent for a path reclm chose) and the path as given. */
export interface OutputName {
  flag?: string;
  path: string;
}

/**
 * The fs error codes that mean "this path cannot be written here", each in words. They come from
 * the user's path and the machine (permissions, a read-only or full disk), not from a bug, so they
 * end a command with one line; any other code keeps its stack.
 */
export const OUTPUT_ERROR_WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many levels of symbolic links',
};

const errnoCode = (e: unknown): string | undefined => (e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined);
const statOrNull = (p: string): Stats | null => {
  try {
    return statSync(p);
  } catch {
    return null;
  }
};

/**
 * Why the folder `dir` cannot hold a new entry, in words, or null when it is an existing folder:
 * "A is not a folder" for the nearest existing ancestor A that is a file, "the folder DIR does not
 * exist" when DIR or an ancestor is missing. Paths are shown as given (not resolved).
 */
export function folderProblem(dir: string): string | null {
  for (let p = dir; ; ) {
    const st = statOrNull(p);
    if (st) return st.isDirectory() ? (p === dir ? null : `the folder ${dir} does not exist`) : `${p} is not a folder`;
    const up = dirname(p);
    if (up === p) return `the folder ${dir} does not exist`;
    p = up;
  }
}

/**
 * The one-line user error for fs error `err`, raised while reclm `verb`s (e.g. "write",
 * "create the folder") the entry `failing` on the way to writing the user's `name`; temporary
 * siblings of name.path are passed as name.path, so the message names only what the user gave.
 * Returns `err` itself when it is not one of OUTPUT_ERROR_WORDS' codes (a bug keeps its stack).
 */
export function outputError(err: unknown, name: OutputName, verb: string, failing: string): unknown {
  const code = errnoCode(err);
  if (code === undefined || !(code in OUTPUT_ERROR_WORDS)) return err;
  // A file name ending in '/' (`--out adir/`) fails its rename with ENOTDIR whether or not the
  // folder exists: say what it is, not "not a folder" of a folder.
  const slash = /[\\/]$/.test(failing) && code === 'ENOTDIR';
  const words = slash ? (statOrNull(failing)?.isDirectory() ? OUTPUT_ERROR_WORDS.EISDIR : 'a file name cannot end in /') : OUTPUT_ERROR_WORDS[code];
  // A missing folder or a file in the way is said as such; the raw code would only say ENOENT/ENOTDIR.
  const structural = !slash && (code === 'ENOENT' || code === 'ENOTDIR') ? folderProblem(dirname(failing)) : null;
  const detail = structural ?? `cannot ${verb} ${failing} (${words})`;
  const message = name.flag ? `${name.flag} ${name.path}: ${detail}` : structural ? `cannot write ${name.path}: ${detail}` : detail;
  return new OutputPathError(message, { cause: err });
}

/**
 * Creates the folder `dir` and its missing parents (mkdir -p). Unlike mkdirSync(dir, {recursive:
 * true}) it always ends: Node 20's recursive mkdir loops forever where mkdir of a child fails with
 * ENOENT under an existing parent (e.g. /proc/x: mkdir("/proc") = EEXIST, mkdir("/proc/x") =
 * ENOENT, again). Errors are OutputPathErrors naming `name` (failures on `dir` itself are shown
 * as name.path, so a temporary folder's name never reaches the user).
 * @throws OutputPathError when an ancestor is a file or a folder cannot be created
 */
export function makeDirs(dir: string, name: OutputName = { path: dir }): void {
  const missing: string[] = [];
  for (let p = dir; ; ) {
    const st = statOrNull(p);
    if (st?.isDirectory()) break;
    if (st) throw new OutputPathError(`${name.flag ? `${name.flag} ${name.path}` : `cannot create the folder ${name.path}`}: ${p} is not a folder`);
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      // Created meanwhile by another process: as good as created here.
      if (errnoCode(e) === 'EEXIST' && statOrNull(m)?.isDirectory()) continue;
      throw outputError(e, name, 'create the folder', m === dir ? name.path : m);
    }
  }
}

/** Bytes to write: one buffer, a string (UTF-8), or chunks written back to back (no concatenation copy). */
export type AtomicData = Uint8Array | string | readonly Uint8Array[];

/**
 * Writes `data` to `path` atomically: temp file in the same directory (so rename stays on
 * one filesystem), fsync, rename over the target, fsync the directory (so the rename itself
 * survives a power loss). On any error the temp file is removed and the target is untouched.
 * `name` is how the user gave the path (e.g. { flag: '--out', path }), for the error message.
 * @throws OutputPathError (one line naming `path`, never the temp file) when the folder is
 *   missing or a file, the path is a folder, or the write is refused (permission, read-only or
 *   full disk); other errors as they are
 */
export function writeFileAtomic(path: string, data: AtomicData, name: OutputName = { path }): void {
  try {
    writeFileAtomicRaw(path, data);
  } catch (e) {
    throw outputError(e, name, 'write', name.path);
  }
}

function writeFileAtomicRaw(path: string, data: AtomicData): void {
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
