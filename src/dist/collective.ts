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
  barrier(): void {}
  finalize(): void {}
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
