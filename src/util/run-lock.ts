// One writer per run folder: `reclm train` holds DIR/train.lock while it trains, so a second
// process on the same folder refuses instead of interleaving train.jsonl and overwriting the
// other run's checkpoints and export.

import { hostname } from 'node:os';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { ReclmError } from '../errors.js';
import { removeIfExists } from './atomic.js';

export class LockError extends ReclmError {}

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/** True when a process with this pid exists on this host (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? { pid: o.pid, host: o.host, since: String(o.since ?? '?') } : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock file `path` (created with O_EXCL, holding pid, host and start time) and
 * returns a function that releases it. A lock left by a dead process on this host (SIGKILL,
 * power loss) is stale and taken over; a lock held by a live process, or by any process on
 * another host (whose pids cannot be checked from here), throws a LockError naming the owner.
 * A lock file that cannot be parsed is treated as held, so a half-written lock of a process
 * starting right now is never stolen.
 */
export function acquireLock(path: string, what: string): () => void {
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readOwner(path);
      if (owner && owner.host === me.host && owner.pid !== me.pid && !processAlive(owner.pid)) {
        removeIfExists(path); // stale: its process is gone
        continue;
      }
      const who = owner ? `process ${owner.pid} on ${owner.host} since ${owner.since}` : 'another process';
      throw new LockError(`${what} is in use by ${who} (lock file ${path}); wait for it to finish, or delete the lock file if that process is gone`);
    }
    try {
      writeSync(fd, JSON.stringify(me) + '\n');
    } finally {
      closeSync(fd);
    }
    return () => {
      // Release only our own lock (never one a later process took over).
      if (readOwner(path)?.pid === me.pid) removeIfExists(path);
    };
  }
  throw new LockError(`${what}: could not take the lock file ${path}; another process keeps creating it`);
}
