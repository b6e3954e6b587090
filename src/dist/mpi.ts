/**
 * Open MPI collectives through FFI (the npm package koffi, which ships prebuilt binaries:
 * nothing is compiled at install time, and libmpi is loaded only when a run asks for MPI).
 *
 * Open MPI's ABI (4.x and 5.x): the predefined handles are addresses of exported globals
 * (MPI_COMM_WORLD = &ompi_mpi_comm_world, MPI_FLOAT = &ompi_mpi_float, MPI_SUM =
 * &ompi_mpi_op_sum, ...) and MPI_IN_PLACE is the pointer value 1 (Open MPI's mpi.h).
 * MPICH-family libraries use integer handles and are not supported.
 */
import type * as KoffiModule from 'koffi';
import { createRequire } from 'node:module';
import { type Collective, checkBlocks } from './collective.js';
import { CollectiveError } from './errors.js';

type Koffi = typeof KoffiModule;
type Fn = (...args: unknown[]) => number;

/** dlopen flags of glibc (dlfcn.h). */
const RTLD_NOW = 0x2;
const RTLD_GLOBAL = 0x100;
const RTLD_NODELETE = 0x1000;
/** MPI_THREAD_FUNNELED: only the main thread calls MPI (onnxruntime's threads never do). */
const MPI_THREAD_FUNNELED = 1;
const MPI_SUCCESS = 0;
/** Open MPI's MPI_MAX_ERROR_STRING. */
const MAX_ERROR_STRING = 256;
/** MPI_IN_PLACE in Open MPI's mpi.h: ((void *) 1). */
const MPI_IN_PLACE = 1n;
/** Elements per MPI call: counts are C ints, so longer buffers go in chunks. */
const MAX_COUNT = 1 << 30;

const HANDLE_SYMBOLS = {
  comm: 'ompi_mpi_comm_world',
  float: 'ompi_mpi_float',
  byte: 'ompi_mpi_byte',
  sum: 'ompi_mpi_op_sum',
  errorsReturn: 'ompi_mpi_errors_return',
} as const;

const INSTALL_HINT = 'install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin)';

function loadKoffi(why: string): Koffi {
  try {
    return createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    throw new CollectiveError(`${why}, but the npm package koffi (the FFI that calls libmpi) could not be loaded: ${(e as Error).message.split('\n')[0]}; run npm ci`);
  }
}

/**
 * Maps libmpi with RTLD_NODELETE before koffi opens it: otherwise, with onnxruntime-node
 * in the process and the TCP transport, a rank can segfault at exit when the library is
 * unmapped while an Open MPI progress thread still runs its clean-up inside it.
 * RTLD_GLOBAL lets Open MPI's own plug-ins (mca_*.so) resolve symbols of libmpi.
 */
function pinLibrary(koffi: Koffi, library: string, why: string): void {
  const libc = koffi.load('libc.so.6');
  const dlopen = libc.func('void *dlopen(const char *filename, int flags)') as (f: string, flags: number) => unknown;
  const dlerror = libc.func('const char *dlerror()') as () => string | null;
  if (dlopen(library, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE) === null) {
    const detail = dlerror() ?? 'unknown dlopen error';
    const missing = /cannot open shared object file|No such file/.test(detail);
    throw new CollectiveError(
      missing
        ? `${why}, but ${library} was not found (${detail}); ${INSTALL_HINT}, or point ${'RECLM_MPI_LIBRARY'} at libmpi.so.40`
        : `${why}, but ${library} could not be loaded: ${detail}`,
    );
  }
}

export interface OpenMpiOptions {
  /** libmpi file name or path. */
  library: string;
  /** Why MPI is being opened, for error messages ("mpirun started this process ..."). */
  why: string;
}

/**
 * Initialises Open MPI (MPI_Init_thread, MPI_THREAD_FUNNELED) and returns a Collective over
 * MPI_COMM_WORLD with MPI_ERRORS_RETURN, so an MPI failure becomes a CollectiveError (with
 * MPI_Error_string's text) instead of an abort inside the library.
 */
export function openMpiCollective(opts: OpenMpiOptions): Collective {
  const koffi = loadKoffi(opts.why);
  pinLibrary(koffi, opts.library, opts.why);
  const lib = koffi.load(opts.library, { global: true });
  const handles = {} as Record<keyof typeof HANDLE_SYMBOLS, bigint>;
  for (const [key, symbol] of Object.entries(HANDLE_SYMBOLS) as [keyof typeof HANDLE_SYMBOLS, string][]) {
    let addr: unknown;
    try {
      addr = lib.symbol(symbol);
    } catch {
      addr = null;
    }
    if (typeof addr !== 'bigint' || addr === 0n) {
      throw new CollectiveError(`${opts.library} has no symbol ${symbol}: it is not Open MPI's libmpi (reclm supports Open MPI 4 and 5; MPICH-family libraries use another ABI)`);
    }
    handles[key] = addr;
  }
  const f = (decl: string) => lib.func(decl) as Fn;
  const api = {
    initThread: f('int MPI_Init_thread(void *argc, void *argv, int required, _Out_ int *provided)'),
    initialized: f('int MPI_Initialized(_Out_ int *flag)'),
    finalized: f('int MPI_Finalized(_Out_ int *flag)'),
    setErrhandler: f('int MPI_Comm_set_errhandler(void *comm, void *errhandler)'),
    rank: f('int MPI_Comm_rank(void *comm, _Out_ int *rank)'),
    size: f('int MPI_Comm_size(void *comm, _Out_ int *size)'),
    allreduce: f('int MPI_Allreduce(void *sendbuf, void *recvbuf, int count, void *datatype, void *op, void *comm)'),
    bcast: f('int MPI_Bcast(void *buffer, int count, void *datatype, int root, void *comm)'),
    allgatherv: f('int MPI_Allgatherv(void *sendbuf, int sendcount, void *sendtype, void *recvbuf, void *recvcounts, void *displs, void *recvtype, void *comm)'),
    gatherv: f('int MPI_Gatherv(void *sendbuf, int sendcount, void *sendtype, void *recvbuf, void *recvcounts, void *displs, void *recvtype, int root, void *comm)'),
    barrier: f('int MPI_Barrier(void *comm)'),
    finalize: f('int MPI_Finalize()'),
    errorString: f('int MPI_Error_string(int errorcode, void *string, _Out_ int *resultlen)'),
  };
  return new MpiCollective(api, handles);
}

type Api = Record<'initThread' | 'initialized' | 'finalized' | 'setErrhandler' | 'rank' | 'size' | 'allreduce' | 'bcast' | 'allgatherv' | 'gatherv' | 'barrier' | 'finalize' | 'errorString', Fn>;

class MpiCollective implements Collective {
  readonly rank: number;
  readonly size: number;
  readonly kind = 'mpi' as const;
  private done = false;

  constructor(
    private readonly api: Api,
    private readonly h: Record<keyof typeof HANDLE_SYMBOLS, bigint>,
  ) {
    const flag = [0];
    this.check('MPI_Initialized', api.initialized(flag));
    if (flag[0]) throw new CollectiveError('MPI is already initialised in this process; open the collective once');
    const provided = [0];
    this.check('MPI_Init_thread', api.initThread(null, null, MPI_THREAD_FUNNELED, provided));
    if (provided[0] < MPI_THREAD_FUNNELED) throw new CollectiveError(`MPI_Init_thread: the library provides thread level ${provided[0]}, reclm needs MPI_THREAD_FUNNELED (${MPI_THREAD_FUNNELED})`);
    this.check('MPI_Comm_set_errhandler', api.setErrhandler(h.comm, h.errorsReturn));
    const out = [0];
    this.check('MPI_Comm_rank', api.rank(h.comm, out));
    this.rank = out[0];
    this.check('MPI_Comm_size', api.size(h.comm, out));
    this.size = out[0];
  }

  private check(call: string, code: number): void {
    if (code === MPI_SUCCESS) return;
    const text = new Uint8Array(MAX_ERROR_STRING);
    const len = [0];
    const ok = this.api.errorString(code, text, len) === MPI_SUCCESS;
    const msg = ok ? new TextDecoder().decode(text.subarray(0, len[0])) : 'unknown error';
    throw new CollectiveError(`${call} failed on rank ${this.rank ?? '?'}: ${msg} (MPI error ${code})`);
  }

  private live(call: string): void {
    if (this.done) throw new Error(`${call}: the collective was finalized`);
  }

  allreduceSum(buf: Float32Array): void {
    this.live('allreduceSum');
    for (let o = 0; o < buf.length; o += MAX_COUNT) {
      const part = buf.subarray(o, Math.min(buf.length, o + MAX_COUNT));
      this.check('MPI_Allreduce', this.api.allreduce(MPI_IN_PLACE, part, part.length, this.h.float, this.h.sum, this.h.comm));
    }
  }

  broadcast(buf: Float32Array | Uint8Array, root: number): void {
    this.live('broadcast');
    if (!Number.isInteger(root) || root < 0 || root >= this.size) throw new RangeError(`broadcast: root ${root} is not a rank of this ${this.size}-process group`);
    const type = buf instanceof Float32Array ? this.h.float : this.h.byte;
    for (let o = 0; o < buf.length; o += MAX_COUNT) {
      const part = buf.subarray(o, Math.min(buf.length, o + MAX_COUNT));
      this.check('MPI_Bcast', this.api.bcast(part, part.length, type, root, this.h.comm));
    }
  }

  allgatherv(buf: Float32Array, counts: readonly number[], displs: readonly number[]): void {
    this.live('allgatherv');
    checkBlocks(buf.length, counts, displs, this.size);
    // With MPI_IN_PLACE the send count and type are ignored: each rank's block is already in place.
    this.check('MPI_Allgatherv', this.api.allgatherv(MPI_IN_PLACE, 0, this.h.float, buf, Int32Array.from(counts), Int32Array.from(displs), this.h.float, this.h.comm));
  }

  gatherv(send: Float32Array, recv: Float32Array | null, counts: readonly number[], displs: readonly number[], root: number): void {
    this.live('gatherv');
    if (!Number.isInteger(root) || root < 0 || root >= this.size) throw new RangeError(`gatherv: root ${root} is not a rank of this ${this.size}-process group`);
    if (send.length !== counts[this.rank]) throw new RangeError(`gatherv: rank ${this.rank} sends ${send.length} elements, its count is ${counts[this.rank]}`);
    if (this.rank === root) {
      if (!recv) throw new RangeError('gatherv: the root needs a receive buffer');
      checkBlocks(recv.length, counts, displs, this.size);
    }
    this.check('MPI_Gatherv', this.api.gatherv(send, send.length, this.h.float, this.rank === root ? recv : null, Int32Array.from(counts), Int32Array.from(displs), this.h.float, root, this.h.comm));
  }

  barrier(): void {
    this.live('barrier');
    this.check('MPI_Barrier', this.api.barrier(this.h.comm));
  }

  finalize(): void {
    if (this.done) return;
    this.done = true;
    const flag = [0];
    this.check('MPI_Finalized', this.api.finalized(flag));
    if (!flag[0]) this.check('MPI_Finalize', this.api.finalize());
  }
}
