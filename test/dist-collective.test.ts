import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectiveError, SingleProcessCollective, openCollective } from '../src/dist/collective.js';
import { WORKER, mpirun, requireMpirun } from './helpers/dist-mpirun.js';

const readRank = (dir: string, r: number) => JSON.parse(readFileSync(join(dir, `rank${r}.json`), 'utf8'));

/** Whether a process still runs: it exists and is not a zombie (an ended rank whose parent, mpirun, is gone and that this container's init has not reaped). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('collectives', function () {
  this.timeout(90000);

  describe('choice of implementation', () => {
    it('is one process when mpirun did not start this process', () => {
      const c = openCollective({ env: {} });
      expect(c).to.be.instanceOf(SingleProcessCollective);
      expect([c.rank, c.size, c.kind]).to.deep.equal([0, 1, 'single']);
      const buf = Float32Array.of(1, 2, 3);
      c.allreduceSum(buf);
      c.broadcast(buf, 0);
      c.barrier();
      expect(Array.from(buf)).to.deep.equal([1, 2, 3]);
      expect(() => c.broadcast(buf, 1)).to.throw(RangeError, /root 1/);
      c.finalize();
    });

    it('names the missing libmpi when MPI is requested, never falling back to one process', () => {
      const lib = '/nonexistent/libmpi.so.40';
      const dlerror = `${lib}: cannot open shared object file: No such file or directory`;
      const tail = `but ${lib} was not found (${dlerror}); install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin), or point RECLM_MPI_LIBRARY at libmpi.so.40`;
      expect(() => openCollective({ kind: 'mpi', mpiLibrary: lib, env: {} })).to.throw(CollectiveError, `MPI was requested, ${tail}`);
      // mpirun's environment asks for MPI by itself; the library option can also come from the environment.
      expect(() => openCollective({ env: { OMPI_COMM_WORLD_SIZE: '2', RECLM_MPI_LIBRARY: lib } })).to.throw(CollectiveError, `mpirun started this process (OMPI_COMM_WORLD_SIZE=2), ${tail}`);
      expect(() => openCollective({ env: { RECLM_DIST: 'mpi', RECLM_MPI_LIBRARY: lib } })).to.throw(CollectiveError, `MPI was requested, ${tail}`);
    });

    it('refuses a library that is not Open MPI, a single process under a multi-rank mpirun, and an unknown RECLM_DIST', () => {
      expect(() => openCollective({ kind: 'mpi', mpiLibrary: 'libm.so.6', env: {} })).to.throw(CollectiveError, 'libm.so.6 has no symbol ompi_mpi_comm_world: it is not Open MPI');
      expect(() => openCollective({ env: { OMPI_COMM_WORLD_SIZE: '2', RECLM_DIST: 'single' } })).to.throw(CollectiveError, /mpirun started 2 ranks, but a single-process run was requested/);
      expect(() => openCollective({ env: { RECLM_DIST: 'nccl' } })).to.throw(CollectiveError, 'RECLM_DIST=nccl: expected mpi, single or auto');
    });
  });

  describe('Open MPI, 2 ranks under mpirun', () => {
    before(requireMpirun);

    it('allreduce, broadcast and barrier give the expected values on every rank', async () => {
      const out = mkdtempSync(join(tmpdir(), 'reclm-mpi-'));
      const r = await mpirun(2, [WORKER, 'collectives', out]);
      expect(r.code, r.stderr).to.equal(0);
      for (const rank of [0, 1]) {
        const got = readRank(out, rank);
        expect([got.rank, got.size, got.kind]).to.deep.equal([rank, 2, 'mpi']);
        // rank r contributed (r + 1)(i + 1): the sum is 3(i + 1), exact in float32.
        expect(got.sum).to.deep.equal(Array.from({ length: 1000 }, (_, i) => 3 * (i + 1)));
        expect(got.bytes).to.deep.equal([10, 11, 12, 13, 14]);
        expect(got.floats).to.deep.equal([0.25, 0.25, 0.25]);
      }
      expect(readRank(out, 0).pid).to.not.equal(readRank(out, 1).pid);
    });

    it('a rank killed with SIGKILL makes mpirun stop every rank within seconds, with a non-zero exit naming the rank', async () => {
      const out = mkdtempSync(join(tmpdir(), 'reclm-mpi-'));
      const r = await mpirun(2, [WORKER, 'die', out]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr + r.stdout).to.match(/rank 1/);
      const killedAt = Number(readFileSync(join(out, 'killed-at'), 'utf8'));
      // The facts measured about 2 s from the failure to mpirun's exit on an idle 2-core
      // machine; 15 s leaves room for a loaded one and still fails a rank left hanging
      // (mpirun() itself gives up only after 60 s).
      expect(r.endedAt - killedAt).to.be.below(15000);
      for (const rank of [0, 1]) expect(running(readRank(out, rank).pid), `rank ${rank} still running`).to.equal(false);
    });
  });
});
