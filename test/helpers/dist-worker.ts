// Rank program of the MPI tests (started by mpirun, one process per rank). Usage:
//   dist-worker.ts collectives OUT_DIR
//   dist-worker.ts die OUT_DIR              (rank 1 SIGKILLs itself; rank 0 waits in a barrier)
//   dist-worker.ts train OUT_DIR ART_DIR STEPS BATCH M1,M2,...   (one run per gradient-accumulation M)
// Each rank writes OUT_DIR/rank<r>.json; rank-local facts only, the test compares them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { openCollective } from '../../src/dist/collective.js';
import { distributedStep, microBatches, broadcastParameters, verifyParametersAgree } from '../../src/runtime/data-parallel.js';
import { TrainingSession } from '../../src/runtime/session.js';
import { leaveOneOutSplit } from '../../src/data/split.js';
import { TrainSampler } from '../../src/data/sampler.js';
import { tinyData } from './tiny-run.js';

const [scenario, out, ...rest] = process.argv.slice(2);
const c = openCollective();
const write = (obj: unknown) => writeFileSync(join(out, `rank${c.rank}.json`), JSON.stringify(obj));

if (scenario === 'collectives') {
  // rank r holds (r + 1)·(i + 1); the sum over 2 ranks is 3·(i + 1).
  const sum = Float32Array.from({ length: 1000 }, (_, i) => (c.rank + 1) * (i + 1));
  c.allreduceSum(sum);
  const bytes = Uint8Array.from({ length: 5 }, (_, i) => (c.rank === 1 ? 10 + i : 0));
  c.broadcast(bytes, 1);
  const floats = Float32Array.from({ length: 3 }, () => (c.rank === 0 ? 0.25 : -1));
  c.broadcast(floats, 0);
  c.barrier();
  write({ rank: c.rank, size: c.size, kind: c.kind, host: hostname(), pid: process.pid, sum: Array.from(sum), bytes: Array.from(bytes), floats: Array.from(floats) });
} else if (scenario === 'die') {
  write({ rank: c.rank, pid: process.pid });
  c.barrier();
  if (c.rank === 1) {
    writeFileSync(join(out, 'killed-at'), String(Date.now()));
    process.kill(process.pid, 'SIGKILL');
  }
  // Rank 0 would wait here forever without the launcher's fault handling.
  c.barrier();
  c.barrier();
} else if (scenario === 'train') {
  const [dir, steps, batchSize] = [rest[0], Number(rest[1]), Number(rest[2])];
  const runs: Record<string, unknown>[] = [];
  for (const gradAccum of rest[3].split(',').map(Number)) {
    const session = await TrainingSession.open(dir, join(dir, 'init.ckpt'), { threads: 1 });
    // Make rank 1 start elsewhere: the broadcast must bring it back to rank 0's parameters.
    if (c.rank === 1) for (const v of session.parameterValues().values()) v.fill(0.5);
    broadcastParameters(session, c, { optimizerState: true });
    const sampler = new TrainSampler(leaveOneOutSplit(tinyData()), { maxlen: session.manifest.dataset.maxlen, batchSize, needNeg: true }, 7);
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      const global = sampler.nextBatch();
      const r = await distributedStep(session, c, microBatches(global, session, c, gradAccum), global.realTokens, 5e-3);
      losses.push(r.loss);
    }
    const checksum = verifyParametersAgree(session, c);
    // A rank that drifts must stop every rank at the next check.
    const first = session.parameterValues().values().next().value!;
    const saved = first[0];
    if (c.rank === 1) first[0] += 1e-3;
    let mismatch = '';
    try {
      verifyParametersAgree(session, c);
    } catch (e) {
      mismatch = (e as Error).message;
    }
    first[0] = saved;
    const params = Object.fromEntries([...session.parameterValues()].map(([k, v]) => [k, Array.from(v)]));
    runs.push({ gradAccum, losses, checksum, mismatch, params });
    await session.release();
  }
  write({ rank: c.rank, runs });
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
c.finalize();
