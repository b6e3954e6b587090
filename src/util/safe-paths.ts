// The rule for every path reclm writes: never destroy what reclm did not create. A folder is
// replaced only when it is empty or holds a reclm artifact set (and then only when asked), and
// never when it contains the working directory or a file the command is reading.

import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { RUN_FILES } from '../contract/artifacts.js';
import { ReclmError } from '../errors.js';
import { acquireLock } from './run-lock.js';
import { folderProblem } from './atomic.js';

export class UnsafePathError extends ReclmError {}

/** The manifest's name and format tag: what marks a folder as reclm's. */
const MANIFEST = 'manifest.json';
const FORMAT = 'reclm-artifacts/1';
/** Files a run adds beside the artifacts (trainer RUN_FILES), and the temp files of atomic writes. */
const RUN_FILE_NAMES = new Set<string>(Object.values(RUN_FILES));
const TEMP_FILE = /^\..+\.\d+\.[0-9a-f]+\.tmp$/;

const real = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};

/** True when `inner` is `outer` or lies below it (both resolved through symlinks). */
export function isInside(inner: string, outer: string): boolean {
  const rel = relative(real(outer), real(inner));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The files of a reclm artifact folder (the manifest's list, the manifest, run files), or null when `dir` holds no readable reclm manifest. */
function artifactFiles(dir: string): Set<string> | null {
  try {
    const m = JSON.parse(readFileSync(resolve(dir, MANIFEST), 'utf8')) as { format?: string; files?: Record<string, string> };
    if (m.format !== FORMAT) return null;
    return new Set([MANIFEST, ...Object.keys(m.files ?? {}), ...RUN_FILE_NAMES]);
  } catch {
    return null;
  }
}

/** True when `dir` holds a reclm artifact set and nothing else (its manifest's files, run files, temp files of atomic writes). */
export function isArtifactFolder(dir: string): boolean {
  const known = artifactFiles(dir);
  try {
    return known !== null && readdirSync(dir).every((f) => known.has(f) || TEMP_FILE.test(f));
  } catch {
    return false;
  }
}

/**
 * Checks that the folder `dir` (given as `flag`, e.g. "--out") may be created or replaced, and
 * says what is there: 'absent' (nothing), 'empty' (an empty folder) or 'artifacts' (a reclm
 * artifact set, replaced only with `force`). Throws an UnsafePathError, one line naming the
 * path, for anything else: a file, a folder reclm did not create (no manifest.json, or files
 * the manifest does not list), a folder holding the working directory or one of `protect`
 * (the input files of the command).
 */
export function checkReplaceableDir(dir: string, opts: { flag: string; force: boolean; protect?: readonly string[] }): 'absent' | 'empty' | 'artifacts' {
  const shown = `${opts.flag} ${dir}`;
  if (isInside(process.cwd(), dir)) throw new UnsafePathError(`${shown} is the working directory or one of its parents; give a new folder for the artifacts`);
  for (const p of opts.protect ?? []) {
    if (p && existsSync(p) && isInside(p, dir)) throw new UnsafePathError(`${shown} contains ${p}, which this command reads; give a new folder for the artifacts`);
  }
  if (!existsSync(dir)) return 'absent';
  const st = statSync(dir);
  if (!st.isDirectory()) throw new UnsafePathError(`${shown} is ${st.isFile() ? 'a file' : 'a device, pipe or socket'}, not a folder; reclm does not replace files it did not create, give a new folder`);
  const entries = readdirSync(dir);
  if (entries.length === 0) return 'empty';
  const known = artifactFiles(dir);
  if (!known) throw new UnsafePathError(`${shown} is a folder reclm did not create (no reclm ${MANIFEST}); give a new or empty folder`);
  const foreign = entries.filter((f) => !known.has(f) && !TEMP_FILE.test(f));
  if (foreign.length) throw new UnsafePathError(`${shown} holds files reclm did not write (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); move them away or give another folder`);
  if (!opts.force) {
    const run = ['last.ckpt', 'best.ckpt'].filter((f) => entries.includes(f));
    if (run.length) throw new UnsafePathError(`${dir} holds a training run (${run.join(', ')}); compile into another folder, or pass --force to replace it`);
    throw new UnsafePathError(`${shown} already holds reclm artifacts; pass --force to replace them`);
  }
  // Never replace a folder under a running train (a stale lock of a dead process is cleared).
  if (entries.includes('train.lock')) acquireLock(resolve(dir, 'train.lock'), dir)();
  return 'artifacts';
}

/**
 * Checks that a results file reclm appends to (a bench table) is absent or one reclm wrote:
 * a regular file whose text starts with `header`. Throws an UnsafePathError otherwise.
 */
export function checkAppendableFile(path: string, header: string, flag: string): void {
  if (!existsSync(path)) return;
  if (!statSync(path).isFile()) throw new UnsafePathError(`${flag} ${path} is not a file`);
  if (!readFileSync(path, 'utf8').startsWith(header)) throw new UnsafePathError(`${flag} ${path} is not a results table reclm wrote (it does not start with "${header}"); give another file`);
}

/**
 * Checks that a file reclm writes whole (e.g. `eval --ranks FILE`) may be written: its folder
 * exists, and the path is absent or a regular file reclm wrote before (its text starts with
 * `header`), and not one of `protect` (the command's input files). Throws an UnsafePathError,
 * one line naming the path, otherwise: reclm never overwrites what it did not write.
 */
export function checkReplaceableFile(path: string, opts: { flag: string; header: string; protect?: readonly string[] }): void {
  const problem = folderProblem(dirname(path));
  if (problem) throw new UnsafePathError(`${opts.flag} ${path}: ${problem}`);
  if (!existsSync(path)) return;
  const st = statSync(path);
  if (!st.isFile()) throw new UnsafePathError(`${opts.flag} ${path} is ${st.isDirectory() ? 'a folder' : 'a device, pipe or socket'}, not a regular file`);
  if ((opts.protect ?? []).some((p) => existsSync(p) && real(p) === real(path))) throw new UnsafePathError(`${opts.flag} ${path} is an input of this command; give another file`);
  if (!fileStartsWith(path, opts.header)) {
    throw new UnsafePathError(`${opts.flag} ${path} exists and was not written by reclm (it does not start with "${opts.header.trim()}"); refusing to overwrite it (choose another file or remove it)`);
  }
}

/** Whether the file's first bytes are `text` (reads only that many bytes, so a large input costs nothing). */
function fileStartsWith(path: string, text: string): boolean {
  const want = Buffer.from(text, 'utf8');
  const got = Buffer.alloc(want.length);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, got, 0, want.length, 0) === want.length && got.equals(want);
  } finally {
    closeSync(fd);
  }
}
