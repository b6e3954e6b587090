// Runs test programs under a real mpirun, with the command line `reclm launch` builds.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildMpirunCommand } from '../../src/dist/mpirun.js';
import { PACKAGE_ROOT } from './cli.js';

export const WORKER = fileURLToPath(new URL('./dist-worker.ts', import.meta.url));

/** Fails (never skips) when Open MPI is missing: the MPI tests must run everywhere, CI included. */
export function requireMpirun(): void {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error('mpirun not found: the MPI tests need Open MPI; install it with apt-get install openmpi-bin (.ci/run does)');
}

export interface MpiRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the mpirun process, ms. */
  ms: number;
  /** Date.now() when mpirun exited. */
  endedAt: number;
}

/** Starts `np` ranks of `program` (argv after node) and waits; kills the whole group after timeoutMs. */
export function mpirun(np: number, program: readonly string[], timeoutMs = 60000): Promise<MpiRun> {
  const argv = buildMpirunCommand({
    hosts: null, np, root: process.getuid?.() === 0, env: process.env, wdir: PACKAGE_ROOT, localCores: availableParallelism(),
    program: [process.execPath, '--import', 'tsx', ...program],
  });
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: PACKAGE_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const endedAt = Date.now();
      resolve({ code, signal, stdout, stderr, ms: endedAt - started, endedAt });
    });
  });
}
