/**
 * Collective communication between the ranks of a data-parallel run.
 *
 * Two implementations: one process (the default; every operation is the identity) and
 * Open MPI through FFI (src/dist/mpi.ts), chosen when `mpirun` started the process. Every
 * call is synchronous and blocking, as MPI's blocking collectives are: onnxruntime-node's
 * `session.run()` blocks the event loop anyway, and two collectives are never in flight at
 * once. Every rank must make the same collective calls in the same order with the same
 * lengths, as MPI requires.
 */
import { CollectiveError } from './errors.js';
import { openMpiCollective } from './mpi.js';

export { CollectiveError };

/** A group of `size` processes that reduce and share buffers; this process is `rank`. */
export interface Collective {
  /** This process's rank, 0..size-1. Rank 0 is the one that writes logs and checkpoints. */
  readonly rank: number;
  /** Number of processes in the group. */
  readonly size: number;
  /** Which implementation: 'single' (one process) or 'mpi' (Open MPI). */
  readonly kind: 'single' | 'mpi';
  /**
   * Elementwise sum over all ranks, in place: afterwards `buf` holds Σ_r buf_r on every
   * rank (MPI_Allreduce with MPI_IN_PLACE and MPI_SUM on MPI_FLOAT). Every rank passes
   * the same length. The summation order is the library's; Open MPI gives every rank the
   * same bits. Throws CollectiveError when the library reports an error.
   */
  allreduceSum(buf: Float32Array): void;
  /**
   * Copies `root`'s `buf` into every other rank's `buf`, in place (MPI_Bcast of MPI_FLOAT or
   * MPI_BYTE). Every rank passes a buffer of the same type and length.
   */
  broadcast(buf: Float32Array | Uint8Array, root: number): void;
  /**
   * Every rank's block of `buf`, on every rank, in place (MPI_Allgatherv with MPI_IN_PLACE on
   * MPI_FLOAT): rank r's elements buf[displs[r], displs[r] + counts[r]) are copied into the
   * same place of every other rank's `buf`. Every rank passes the same `counts` and `displs`
   * (length `size`, element units, blocks disjoint and inside `buf`); a count may be 0.
   */
  allgatherv(buf: Float32Array, counts: readonly number[], displs: readonly number[]): void;
  /**
   * Gathers every rank's `send` into `root`'s `recv` (MPI_Gatherv on MPI_FLOAT): rank r's
   * `send` (counts[r] elements) lands at recv[displs[r], ...). `recv` is read only on `root`
   * (other ranks pass null). Every rank passes the same `counts` and `displs`.
   */
  gatherv(send: Float32Array, recv: Float32Array | null, counts: readonly number[], displs: readonly number[], root: number): void;
  /** Returns once every rank has called it (MPI_Barrier). */
  barrier(): void;
  /**
   * Ends the group (MPI_Finalize). Call it once, on every rank, before a normal exit:
   * mpirun treats a rank that exits without it as failed and stops the others. Idempotent.
   */
  finalize(): void;
}

/** One process: rank 0 of 1; reductions and broadcasts leave the buffer as it is. */
export class SingleProcessCollective implements Collective {
  readonly rank = 0;
  readonly size = 1;
  readonly kind = 'single' as const;
  allreduceSum(buf: Float32Array): void {
    void buf;
  }
  broadcast(buf: Float32Array | Uint8Array, root: number): void {
    if (root !== 0) throw new RangeError(`broadcast: root ${root} is not a rank of a 1-process group`);
  }
  allgatherv(buf: Float32Array, counts: readonly number[], displs: readonly number[]): void {
    checkBlocks(buf.length, counts, displs, 1);
  }
  gatherv(send: Float32Array, recv: Float32Array | null, counts: readonly number[], displs: readonly number[], root: number): void {
    if (root !== 0) throw new RangeError(`gatherv: root ${root} is not a rank of a 1-process group`);
    if (!recv) throw new RangeError('gatherv: the root needs a receive buffer');
    checkBlocks(recv.length, counts, displs, 1);
    if (send.length !== counts[0]) throw new RangeError(`gatherv: sending ${send.length} elements, counts[0] is ${counts[0]}`);
    recv.set(send, displs[0]);
  }
  barrier(): void {}
  finalize(): void {}
}

/**
 * Checks the block layout of allgatherv/gatherv: `size` counts and displacements, each block
 * inside a buffer of `length` elements, counts and displacements C ints (MPI's limit).
 * Throws RangeError.
 */
export function checkBlocks(length: number, counts: readonly number[], displs: readonly number[], size: number): void {
  if (counts.length !== size || displs.length !== size) throw new RangeError(`counts and displacements need one entry per rank (${size}), got ${counts.length} and ${displs.length}`);
  for (let r = 0; r < size; r++) {
    const [c, d] = [counts[r], displs[r]];
    if (!(Number.isInteger(c) && Number.isInteger(d) && c >= 0 && d >= 0 && d + c <= length)) throw new RangeError(`block ${r} [${d}, ${d + c}) is not inside a buffer of ${length} elements`);
    if (d + c > 0x7fffffff) throw new RangeError(`block ${r} ends at element ${d + c}, past MPI's int counts (2^31 - 1)`);
  }
}

/** Environment variable that names the libmpi file to load (default `libmpi.so.40`). */
export const MPI_LIBRARY_ENV = 'RECLM_MPI_LIBRARY';
/** Environment variable that forces the collective: `mpi`, `single` or `auto` (the default). */
export const DIST_ENV = 'RECLM_DIST';

export interface OpenCollectiveOptions {
  /**
   * 'auto' (default): Open MPI when mpirun started this process (OMPI_COMM_WORLD_SIZE is
   * set), else one process. 'mpi': Open MPI, an error if it cannot load. 'single': one
   * process, an error if mpirun started several ranks.
   */
  kind?: 'auto' | 'mpi' | 'single';
  /** libmpi to load: a file name found by the dynamic linker, or a path. */
  mpiLibrary?: string;
  /** Environment to read (tests); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Opens the collective this process should use. Never falls back to one process when MPI
 * was asked for (by mpirun's environment, RECLM_DIST=mpi or `kind: 'mpi'`): a missing
 * libmpi or FFI package is a CollectiveError naming what is missing and how to install it.
 */
export function openCollective(options: OpenCollectiveOptions = {}): Collective {
  const env = options.env ?? process.env;
  const kind = options.kind ?? parseKind(env[DIST_ENV]);
  const launchedSize = env.OMPI_COMM_WORLD_SIZE === undefined ? null : Number(env.OMPI_COMM_WORLD_SIZE);
  if (kind === 'single') {
    if (launchedSize !== null && launchedSize > 1) {
      throw new CollectiveError(`mpirun started ${launchedSize} ranks, but a single-process run was requested (${DIST_ENV}=single); each rank would train alone`);
    }
    return new SingleProcessCollective();
  }
  if (kind === 'auto' && launchedSize === null) return new SingleProcessCollective();
  const why = launchedSize !== null ? `mpirun started this process (OMPI_COMM_WORLD_SIZE=${launchedSize})` : 'MPI was requested';
  return openMpiCollective({ library: options.mpiLibrary ?? env[MPI_LIBRARY_ENV] ?? 'libmpi.so.40', why });
}

function parseKind(v: string | undefined): 'auto' | 'mpi' | 'single' {
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'mpi' || v === 'single') return v;
  throw new CollectiveError(`${DIST_ENV}=${v}: expected mpi, single or auto`);
}
