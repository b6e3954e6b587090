/**
 * Which host each rank of a collective runs on: every rank writes its host name (and pid)
 * into its own slot of a float32 table and one allreduce (a one-hot sum) gathers them all,
 * so no collective beyond the interface's allreduce is needed.
 */
import { hostname } from 'node:os';
import type { Collective } from './collective.js';

export interface RankHost {
  rank: number;
  /** os.hostname() of the rank's process (its UTS namespace's name). */
  host: string;
  pid: number;
}

/** Characters of a host name carried per rank (RFC 1035 limits a name to 253). */
const HOST_CHARS = 256;

/**
 * The host name and pid of every rank, in rank order. A collective call: every rank calls
 * it at the same point. Names are UTF-16 code units, exact in float32 (below 2^24), cut at
 * 256 characters; pids are exact up to 2^24 (Linux's default pid_max is 2^22).
 */
export function gatherRankHosts(c: Collective): RankHost[] {
  const width = HOST_CHARS + 1;
  const table = new Float32Array(c.size * width);
  const name = hostname().slice(0, HOST_CHARS);
  for (let i = 0; i < name.length; i++) table[c.rank * width + i] = name.charCodeAt(i);
  table[c.rank * width + HOST_CHARS] = process.pid;
  c.allreduceSum(table);
  return Array.from({ length: c.size }, (_, r) => {
    const row = table.subarray(r * width, (r + 1) * width);
    let host = '';
    for (let i = 0; i < HOST_CHARS && row[i] !== 0; i++) host += String.fromCharCode(row[i]);
    return { rank: r, host, pid: row[HOST_CHARS] };
  });
}
