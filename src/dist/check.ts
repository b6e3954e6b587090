/**
 * The rank program of `reclm launch --check`: verifies a launch set-up before training.
 * Every rank opens the collective and reports its host; a known allreduce and a broadcast
 * are checked on every rank; rank 0 prints the report, as lines for a reader or, with `--json`,
 * as one JSON line: {"size", "kind", "ranks": [{"rank", "host", "pid"}], "allreduce": "ok",
 * "allreduce_floats", "allreduce_ms"} (the best of 3 allreduces, in milliseconds).
 * A wrong sum throws on the rank that saw it (mpirun then stops every rank, non-zero exit).
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CollectiveError, openCollective } from './collective.js';
import { gatherRankHosts } from './hosts.js';

/** Path of this module, the file mpirun runs on every rank. */
export const CHECK_ENTRY = fileURLToPath(import.meta.url);

/** Runs the check on this rank; returns rank 0's report (null on other ranks). */
export function runCheck(): Record<string, unknown> | null {
  // No finalize on failure: a rank that exits without it makes mpirun stop every rank.
  const c = openCollective();
  const ranks = gatherRankHosts(c);
  // Σ_r (r + 1)(i + 1) = (i + 1)·p(p + 1)/2, exact in float32 for these sizes.
  const n = 1 << 20;
  const buf = new Float32Array(n);
  const timings: Record<string, number> = {};
  for (let rep = 0; rep < 3; rep++) {
    for (let i = 0; i < n; i++) buf[i] = (c.rank + 1) * ((i % 1000) + 1);
    const t0 = process.hrtime.bigint();
    c.allreduceSum(buf);
    timings[`rep${rep}`] = Number(process.hrtime.bigint() - t0) / 1e6;
    const k = (c.size * (c.size + 1)) / 2;
    for (let i = 0; i < n; i++) {
      if (buf[i] !== k * ((i % 1000) + 1)) throw new Error(`rank ${c.rank} on ${hostname()}: allreduce element ${i} is ${buf[i]}, expected ${k * ((i % 1000) + 1)}`);
    }
  }
  const word = Uint8Array.from([1, 2, 3, 4].map((x) => (c.rank === 0 ? x : 0)));
  c.broadcast(word, 0);
  if (word.join() !== '1,2,3,4') throw new Error(`rank ${c.rank} on ${hostname()}: broadcast gave ${word.join()}`);
  c.barrier();
  c.finalize();
  if (c.rank !== 0) return null;
  return { size: c.size, kind: c.kind, ranks, allreduce: 'ok', allreduce_floats: n, allreduce_ms: Math.min(...Object.values(timings)), broadcast: 'ok' };
}

/** The report of runCheck as lines for a reader. */
export function describeCheck(report: Record<string, unknown>): string {
  const ranks = report.ranks as { rank: number; host: string; pid: number }[];
  return [
    `${report.size} ranks (${report.kind === 'mpi' ? 'Open MPI' : String(report.kind)}):`,
    ...ranks.map((r) => `  rank ${r.rank}: ${r.host} (pid ${r.pid})`),
    `allreduce of ${Number(report.allreduce_floats).toLocaleString('en-US')} floats: ${report.allreduce}, ${Number(report.allreduce_ms).toFixed(1)} ms (best of 3); broadcast: ${report.broadcast}`,
    '',
  ].join('\n');
}

if (process.argv[1] === CHECK_ENTRY) {
  try {
    const report = runCheck();
    if (report) process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(report)}\n` : describeCheck(report));
  } catch (e) {
    if (!(e instanceof CollectiveError)) throw e;
    // A set-up problem (no libmpi on this host, ...): one line per rank, and mpirun stops the others.
    process.stderr.write(`rank ${process.env.OMPI_COMM_WORLD_RANK ?? '?'} on ${hostname()}: ${e.message}\n`);
    process.exit(1);
  }
}
