/**
 * The `mpirun` command line of a reclm launch (Open MPI 4.x/5.x). The flags are the ones a
 * Node process running onnxruntime needs under Open MPI:
 *  - `--bind-to none`: mpirun's default binds each rank to one core, and every onnxruntime
 *    intra-op thread follows its rank onto that core;
 *  - `--mca mpi_yield_when_idle 1`: waiting ranks otherwise busy-poll a core, starving
 *    compute and network progress when ranks plus threads reach the core count;
 *  - `-x NAME` for the environment reclm reads: remote ranks get only what `-x` names;
 *  - with several hosts, TCP only (`--mca btl tcp,self`), and with `network`, Open MPI's
 *    data and control traffic pinned to that subnet (btl_tcp_if_include, oob_tcp_if_include);
 *  - `--allow-run-as-root` only as root, `--oversubscribe` only when ranks exceed slots.
 */
import { isIPv4 } from 'node:net';
import type { HostSlots } from './hostfile.js';
import { ReclmError } from '../errors.js';

/** Environment variables forwarded to every rank (when set): reclm's own and the runtime's. */
export const FORWARDED_ENV = ['PATH', 'LD_LIBRARY_PATH', 'NODE_OPTIONS', 'NODE_PATH', 'OMP_NUM_THREADS', 'CUDA_VISIBLE_DEVICES'] as const;
/** Prefix of reclm's variables, all forwarded. */
export const FORWARDED_PREFIX = 'RECLM_';

export interface MpirunPlan {
  /** The mpirun executable (default `mpirun`). */
  mpirun?: string;
  /** Hosts and their rank slots; null for this machine only. */
  hosts: readonly HostSlots[] | null;
  /** Total ranks (-np). */
  np: number;
  /** CIDR of the network Open MPI must use (e.g. 10.0.0.0/24), or undefined for its default choice. */
  network?: string;
  /** True when the launching user is root. */
  root: boolean;
  /** Environment to forward (process.env); only names of set variables are passed. */
  env: Readonly<Record<string, string | undefined>>;
  /** Working directory of every rank (same path on every host). */
  wdir: string;
  /** Extra `--mca KEY VALUE` pairs, passed through after reclm's own. */
  mca?: readonly (readonly [string, string])[];
  /** Cores on this machine, to decide --oversubscribe for a one-machine run. */
  localCores: number;
  /** The command every rank runs (argv). */
  program: readonly string[];
}

export class LaunchError extends ReclmError {}

/** Validates an IPv4 CIDR such as 10.1.0.0/16; returns it or throws LaunchError. */
export function parseCidr(cidr: string): string {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr);
  if (!m || !isIPv4(m[1]) || Number(m[2]) > 32) throw new LaunchError(`--network: expected an IPv4 subnet in CIDR form such as 10.0.0.0/24, got '${cidr}'`);
  return cidr;
}

/**
 * Builds the mpirun argv for a plan. Pure: reads nothing but its argument. Throws
 * LaunchError for an empty program, np < 1, or a bad --network.
 */
export function buildMpirunCommand(plan: MpirunPlan): string[] {
  if (plan.program.length === 0) throw new LaunchError('nothing to launch: give the reclm command after --, e.g. -- train DIR --data FILE');
  if (!(Number.isInteger(plan.np) && plan.np >= 1)) throw new LaunchError(`-np must be a positive integer, got ${plan.np}`);
  const cmd = [plan.mpirun ?? 'mpirun'];
  if (plan.root) cmd.push('--allow-run-as-root');
  cmd.push('-np', String(plan.np));
  const slots = plan.hosts ? plan.hosts.reduce((a, h) => a + h.slots, 0) : plan.localCores;
  if (plan.hosts) cmd.push('--host', plan.hosts.map((h) => `${h.host}:${h.slots}`).join(','));
  if (plan.np > slots) cmd.push('--oversubscribe');
  cmd.push('--bind-to', 'none', '--mca', 'mpi_yield_when_idle', '1');
  const multiHost = plan.hosts !== null && plan.hosts.length > 1;
  // Shared memory only joins ranks of one host; across hosts everything goes over TCP.
  if (multiHost) cmd.push('--mca', 'btl', 'tcp,self');
  if (plan.network !== undefined) {
    const cidr = parseCidr(plan.network);
    // An IPv4 subnet was asked for: keep Open MPI's TCP transport off IPv6 addresses of the same interfaces.
    cmd.push('--mca', 'btl_tcp_if_include', cidr, '--mca', 'oob_tcp_if_include', cidr, '--mca', 'btl_tcp_disable_family', '6');
  }
  for (const [k, v] of plan.mca ?? []) cmd.push('--mca', k, v);
  cmd.push('--wdir', plan.wdir);
  const names = Object.keys(plan.env)
    .filter((k) => plan.env[k] !== undefined && ((FORWARDED_ENV as readonly string[]).includes(k) || k.startsWith(FORWARDED_PREFIX)))
    .sort();
  for (const k of names) cmd.push('-x', k);
  cmd.push(...plan.program);
  return cmd;
}

/** Quotes an argv for a POSIX shell (what --dry-run prints), leaving plain words bare. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
