// Rank program of test/dist-zero.test.ts (started by mpirun, one process per rank). Usage:
//   dist-zero-worker.ts collectives OUT_DIR
//   dist-zero-worker.ts exchange OUT_DIR ART_DIR STEPS BATCH   (dense vs sparse item-row exchange, without and with ZeRO-1)
// Each rank writes OUT_DIR/rank<r>.json; the test compares them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildShardOptimizerGraph } from '../../src/compiler/adamw.js';
import { samplerNeeds } from '../../src/contract/artifacts.js';
import { openCollective } from '../../src/dist/collective.js';
import { TrainSampler } from '../../src/data/sampler.js';
import { leaveOneOutSplit } from '../../src/data/split.js';
import { broadcastParameters, distributedStep, microBatches, sparseRowsFor } from '../../src/runtime/data-parallel.js';
import { TrainingSession } from '../../src/runtime/session.js';
import { ZeroOptimizer } from '../../src/runtime/zero.js';
import { tinyData } from './tiny-run.js';

const [scenario, out, ...rest] = process.argv.slice(2);
const c = openCollective();
const write = (obj: unknown) => writeFileSync(join(out, `rank${c.rank}.json`), JSON.stringify(obj));

if (scenario === 'collectives') {
  // Blocks of 3 (rank 0) and 0 (rank 1) elements, then 2 and 4: uneven, one empty.
  const layouts = [
    { counts: [3, 0], displs: [1, 0], length: 5 },
    { counts: [2, 4], displs: [4, 0], length: 6 },
  ];
  const allgathered = layouts.map(({ counts, displs, length }) => {
    const buf = new Float32Array(length).fill(-1);
    for (let i = 0; i < counts[c.rank]; i++) buf[displs[c.rank] + i] = 10 * (c.rank + 1) + i;
    c.allgatherv(buf, counts, displs);
    return Array.from(buf);
  });
  const gathered = layouts.map(({ counts, displs, length }) => {
    const send = Float32Array.from({ length: counts[c.rank] }, (_, i) => 100 * (c.rank + 1) + i);
    const recv = c.rank === 0 ? new Float32Array(length).fill(-1) : null;
    c.gatherv(send, recv, counts, displs, 0);
    return recv ? Array.from(recv) : null;
  });
  write({ rank: c.rank, allgathered, gathered });
} else if (scenario === 'exchange') {
  const [dir, steps, batchSize] = [rest[0], Number(rest[1]), Number(rest[2])];
  const runs: Record<string, unknown>[] = [];
  for (const [sparse, zero] of [[false, false], [true, false], [true, true]] as const) {
    const session = await TrainingSession.open(dir, join(dir, 'init.ckpt'), { threads: 1, ...(zero ? { optimizerState: false } : {}) });
    broadcastParameters(session, c, { optimizerState: true });
    const opt = zero ? new ZeroOptimizer(session, c, buildShardOptimizerGraph, { threads: 1 }) : null;
    const sampler = new TrainSampler(leaveOneOutSplit(tinyData()), { maxlen: session.manifest.dataset.maxlen, batchSize, ...samplerNeeds(session.manifest) }, 7);
    const losses: number[] = [];
    const rowCounts: number[] = [];
    for (let s = 0; s < steps; s++) {
      const global = sampler.nextBatch();
      const rows = sparse ? sparseRowsFor(session, global) : undefined;
      rowCounts.push(rows?.get('item_emb')?.length ?? -1);
      const r = await distributedStep(session, c, microBatches(global, session, c), global.realTokens, 5e-3, { sparseRows: rows, optimizer: opt ?? undefined });
      losses.push(r.loss);
    }
    const params = Object.fromEntries([...session.parameterValues()].map(([k, v]) => [k, Array.from(v)]));
    const moments = opt ? opt.gatherMoments() : { m: new Map([...session.m].map(([k, b]) => [k, b.current.data as Float32Array])), v: new Map([...session.v].map(([k, b]) => [k, b.current.data as Float32Array])) };
    const m = moments ? Object.fromEntries([...moments.m].map(([k, v]) => [k, Array.from(v)])) : null;
    runs.push({ sparse, zero, losses, rowCounts, params, m, stateBytes: opt?.stateBytes() ?? null });
    await opt?.release();
    await session.release();
  }
  write({ rank: c.rank, runs });
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
c.finalize();
