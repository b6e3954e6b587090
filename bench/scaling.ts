// Allreduce cost of data-parallel training under Open MPI, and what it means for more hosts.
// Measures in-place float32 allreduce (the collective reclm's data-parallel step uses) between
// ranks on this machine, for buffers of 1..4e6 floats and for the dense item-embedding
// gradient [V+1, 64] at V = 100k and 1M; fits the α-β model of ring allreduce
//   t(n) = 2(p−1)·α + 2((p−1)/p)·n·β        (n bytes, p ranks)
// (Patarasuk & Yuan, "Bandwidth optimal all-reduce algorithms for clusters of workstations",
// JPDC 2009; Thakur, Rabenseifner & Gropp, "Optimization of collective communication
// operations in MPICH", IJHPCA 2005), and projects the time per allreduce to 2–16 hosts at 10
// and 100 Gb/s. Not a test: the numbers depend on the machine and on what else runs on it.
//   npx tsx bench/scaling.ts [--np 2] [--reps 5] [--tcp] [--skip-1m] [--json]
// With --train DIR --data FILE it instead times `reclm train` on compiled artifacts: one
// process with 2 intra-op threads against 2 ranks with 1 thread each, at the same global batch,
// and the share of the 2-rank step spent inside the allreduce (rank 0's step records).
//   npx tsx bench/scaling.ts --train DIR --data FILE [--steps 40]
// With --step-time it times whole data-parallel steps at V = 100k and 1M items (generated
// data, llama-sasrec d=64): dense against sparse item-row exchange, ZeRO-1 off and on.
//   npx tsx bench/scaling.ts --step-time [--np 2] [--steps 5] [--loss bce|sampled-softmax] [--skip-1m] [--json]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { openCollective } from '../src/dist/collective.js';
import { buildMpirunCommand } from '../src/dist/mpirun.js';
import { answerHelp } from './help.js';
import Train from '../src/commands/train.js';
import { RUN_FILES, readManifest, samplerNeeds } from '../src/contract/artifacts.js';
import type { Collective } from '../src/dist/collective.js';
import { MODELS } from '../graphs/index.js';
import { SEED_ADAMW, buildShardOptimizerGraph } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import type { Dataset } from '../src/data/types.js';
import { TrainSampler } from '../src/data/sampler.js';
import { leaveOneOutSplit } from '../src/data/split.js';
import { distributedStep, microBatches, sparseRowsFor } from '../src/runtime/data-parallel.js';
import { TrainingSession } from '../src/runtime/session.js';
import { ZeroOptimizer, optimizerStateBytes } from '../src/runtime/zero.js';

const USAGE = `Allreduce time under Open MPI and an α-β projection to more hosts.

usage: npx tsx bench/scaling.ts [--help] [--np 2] [--reps 5] [--tcp] [--skip-1m] [--json]
       npx tsx bench/scaling.ts --train DIR --data FILE [--steps 40]
       npx tsx bench/scaling.ts --step-time [--np 2] [--steps 5] [--loss bce] [--skip-1m] [--json]

  --np N      ranks on this machine (default 2)
  --reps R    timed repetitions per size, median reported (default 5)
  --tcp       force Open MPI's TCP transport (loopback) instead of shared memory,
              closer to what a network adds per message
  --skip-1m   leave out the V = 1M item-embedding gradient (256 MB per rank)
  --json      print one JSON object instead of tables
  --train DIR artifacts compiled by reclm compile for --data: time reclm train for
              --steps optimizer steps (default 40), 1 process × 2 threads against
              2 ranks × 1 thread (real tokens/s of the whole run, first step included),
              and the share of the 2-rank step spent in the allreduce
  --step-time time data-parallel steps of llama-sasrec (d=64, 1 layer, maxlen 50,
              batch 128) on generated data with V = 100k and 1M items: step and
              collective ms (median of --steps, default 5, after 2 warm-up steps) for
              the dense and the sparse item-row exchange, ZeRO-1 off and on, and the
              optimizer-state bytes per rank; --loss bce (default) or sampled-softmax

Needs Open MPI (apt-get install openmpi-bin). Runs itself under mpirun.`;

const DIM = 64;
// The small sizes resolve α (per-message latency); 1e5..4e6 resolve β.
const SIZES = [1, 1e3, 1e4, 1e5, 3e5, 1e6, 2e6, 4e6];
const EMBEDDINGS = [100_000, 1_000_000];
const HOSTS = [2, 4, 8, 16];
const LINKS_GBPS = [10, 100];

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} expects a positive integer, got '${args[i + 1]}'`);
  return v;
};

interface Point {
  label: string;
  floats: number;
  bytes: number;
  /** Median over repetitions of the slowest rank's time, ms. */
  ms: number;
}

/** Rank program: times each size; every rank takes part, rank 0 prints the points as JSON. */
function rank(reps: number, skip1m: boolean): void {
  const c = openCollective();
  const cases: { label: string; floats: number }[] = SIZES.map((n) => ({ label: `${n < 1000 ? n : n.toExponential(0)} float${n === 1 ? '' : 's'}`, floats: n }));
  for (const v of EMBEDDINGS) if (!(skip1m && v >= 1_000_000)) cases.push({ label: `item embedding V=${v / 1000}k d=${DIM}`, floats: (v + 1) * DIM });
  const points: Point[] = [];
  for (const { label, floats } of cases) {
    const buf = new Float32Array(floats).fill(1e-3);
    c.allreduceSum(buf); // warm-up: connection set-up and page faults
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      c.barrier();
      const t0 = process.hrtime.bigint();
      c.allreduceSum(buf);
      // A step waits for the slowest rank: gather every rank's time (a one-hot sum), keep the maximum.
      const all = new Float32Array(c.size);
      all[c.rank] = Number(process.hrtime.bigint() - t0) / 1e6;
      c.allreduceSum(all);
      times.push(Math.max(...all));
    }
    times.sort((a, b) => a - b);
    points.push({ label, floats, bytes: floats * 4, ms: times[Math.floor(times.length / 2)] });
  }
  c.barrier();
  c.finalize();
  if (c.rank === 0) process.stdout.write(`${JSON.stringify({ size: c.size, points })}\n`);
}

/**
 * Two-stage fit of t = a + b·x, the usual way to fit latency and bandwidth apart: the
 * intercept a is the time of the smallest message (x ≈ 0), and b the least-squares slope
 * through that intercept over the messages marked `large`. Returns [a, b].
 */
function fitAlphaBeta(xs: number[], ys: number[], large: boolean[]): [number, number] {
  const a = ys[xs.indexOf(Math.min(...xs))];
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => {
    if (!large[i]) return;
    sxy += x * (ys[i] - a);
    sxx += x * x;
  });
  return [a, sxy / sxx];
}

/** Ring allreduce time (s) of n bytes over p ranks with latency α (s) and inverse bandwidth β (s/byte). */
const ringSeconds = (p: number, n: number, alpha: number, beta: number) => 2 * (p - 1) * alpha + 2 * ((p - 1) / p) * n * beta;

const text = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

/** A rank (or the single process) of --train: `reclm train` on DIR for --steps steps, validation off. */
async function trainRank(dir: string, data: string, steps: number, threads: number): Promise<void> {
  await Train.run([dir, '--data', data, '--max-steps', String(steps), '--threads', String(threads), '--eval-every', '0'], fileURLToPath(new URL('..', import.meta.url)));
}

/**
 * Share of the data-parallel step spent inside collective calls (the gradient allreduce, the
 * wait for the slower rank included), from rank 0's step records (step_ms, allreduce_ms).
 * The first step is left out: it opens Open MPI's connections and warms onnxruntime up.
 * Returns null for a run without them (one process: the fused path records no step times).
 */
function allreduceShare(log: Record<string, number | string>[]): { share: number; stepMs: number; allreduceMs: number } | null {
  const steps = log.filter((x) => x.type === 'step' && typeof x.step_ms === 'number').slice(1);
  if (steps.length === 0) return null;
  const stepMs = steps.reduce((a, x) => a + Number(x.step_ms), 0);
  const allreduceMs = steps.reduce((a, x) => a + Number(x.allreduce_ms), 0);
  return { share: allreduceMs / stepMs, stepMs: stepMs / steps.length, allreduceMs: allreduceMs / steps.length };
}

/** --train: tokens/s of 1 process × 2 threads and of 2 ranks × 1 thread, each on a fresh copy of DIR. */
function trainScaling(dir: string, data: string, steps: number): void {
  const self = fileURLToPath(import.meta.url);
  const rows: { layout: string; steps: number; seconds: number; tokensPerSecond: number; allreduce: ReturnType<typeof allreduceShare> }[] = [];
  for (const { np, threads } of [{ np: 1, threads: 2 }, { np: 2, threads: 1 }]) {
    const tmp = mkdtempSync(join(tmpdir(), 'reclm-scaling-'));
    const copy = join(tmp, 'run');
    cpSync(dir, copy, { recursive: true });
    for (const f of [RUN_FILES.last, RUN_FILES.best, RUN_FILES.log, RUN_FILES.inference]) rmSync(join(copy, f), { force: true });
    const program = [process.execPath, '--import', 'tsx', self, '--train-rank', copy, '--data', data, '--steps', String(steps), '--threads', String(threads)];
    const argv = np === 1 ? program : buildMpirunCommand({ hosts: null, np, root: process.getuid?.() === 0, env: process.env, wdir: process.cwd(), localCores: availableParallelism(), program });
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`${argv[0]} exited with ${r.status ?? r.error?.message}`);
    const log = readFileSync(join(copy, RUN_FILES.log), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
    const end = log.find((x) => x.type === 'end')!;
    rows.push({ layout: `${np} process${np > 1 ? 'es' : ''} × ${threads} thread${threads > 1 ? 's' : ''}`, steps: Number(end.steps), seconds: Number(end.seconds), tokensPerSecond: Number(end.tokensPerSecond), allreduce: allreduceShare(log) });
    rmSync(tmp, { recursive: true, force: true });
  }
  if (flag('json')) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  console.log(`reclm train ${dir} --data ${data}, ${steps} steps, the same global batch:`);
  console.log(`${'layout'.padEnd(26)}${'s'.padStart(10)}${'tokens/s'.padStart(12)}${'step ms'.padStart(10)}${'allreduce ms'.padStart(14)}${'share'.padStart(8)}`);
  for (const r of rows) {
    const a = r.allreduce;
    const cols = a ? [a.stepMs.toFixed(1).padStart(10), a.allreduceMs.toFixed(1).padStart(14), `${(100 * a.share).toFixed(1)}%`.padStart(8)] : ['-'.padStart(10), '-'.padStart(14), '-'.padStart(8)];
    console.log(`${r.layout.padEnd(26)}${r.seconds.toFixed(1).padStart(10)}${Math.round(r.tokensPerSecond).toLocaleString('en-US').padStart(12)}${cols.join('')}`);
  }
  console.log('(step ms and allreduce ms: rank 0\'s mean per step after the first; allreduce ms is the time inside the collective calls, waiting for the other rank included. One process runs fused steps and records no step time.)');
}

async function main(): Promise<void> {
  if (flag('step-time')) {
    const loss = text('loss') ?? 'bce';
    if (loss !== 'bce' && loss !== 'sampled-softmax') throw new Error(`--loss expects bce or sampled-softmax (the losses with a sparse item-embedding gradient), got '${loss}'`);
    if (text('step-rank') !== undefined) await stepTimeRank(text('step-rank')!, value('steps', 5));
    else stepTimeScaling(value('np', 2), value('steps', 5), loss, flag('skip-1m'));
    return;
  }
  const trainDir = text('train-rank') ?? text('train');
  if (trainDir !== undefined) {
    const data = text('data');
    if (data === undefined) throw new Error('--train needs --data FILE (the file the artifacts were compiled for)');
    if (text('train-rank') !== undefined) await trainRank(trainDir, data, value('steps', 40), value('threads', 1));
    else trainScaling(trainDir, data, value('steps', 40));
    return;
  }
  const np = value('np', 2);
  const reps = value('reps', 5);
  if (flag('rank')) {
    rank(reps, flag('skip-1m'));
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const argv = buildMpirunCommand({
    hosts: null, np, root: process.getuid?.() === 0, env: process.env, wdir: process.cwd(), localCores: availableParallelism(),
    mca: flag('tcp') ? [['btl', 'tcp,self']] : [],
    program: [process.execPath, '--import', 'tsx', self, '--rank', '--reps', String(reps), ...(flag('skip-1m') ? ['--skip-1m'] : [])],
  });
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.error) throw new Error(`${argv[0]}: ${r.error.message}; install Open MPI (apt-get install openmpi-bin)`);
  if (r.status !== 0) throw new Error(`mpirun exited with ${r.status}`);
  const { size, points } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { size: number; points: Point[] };
  // Fit on the sizes (not the embeddings) so that the embedding points check the model.
  const fitPts = points.filter((p) => SIZES.includes(p.floats));
  const p = size;
  const [a, b] = fitAlphaBeta(fitPts.map((q) => 2 * ((p - 1) / p) * q.bytes), fitPts.map((q) => q.ms / 1e3), fitPts.map((q) => q.floats >= 1e5));
  const alpha = a / (2 * (p - 1));
  const beta = b;
  const embBytes = EMBEDDINGS.map((v) => ({ v, bytes: (v + 1) * DIM * 4 }));
  // Over a network the ring's per-byte cost is the link's, β_link = 8 / rate (s/byte), with α
  // as fitted here. When this machine's own β (copies and float additions) is larger than the
  // link's, the hosts, not the network, bound the allreduce; the note after the table says so.
  const projection = HOSTS.map((hosts) => ({
    hosts,
    ms: Object.fromEntries(LINKS_GBPS.flatMap((g) => embBytes.map(({ v, bytes }) => [`${g}Gbps_V${v / 1000}k`, 1e3 * ringSeconds(hosts, bytes, alpha, 8 / (g * 1e9))]))),
  }));
  const result = {
    ranks: p,
    transport: flag('tcp') ? 'tcp (loopback)' : 'Open MPI default (shared memory)',
    reps,
    points: points.map((q) => ({ ...q, modelMs: 1e3 * ringSeconds(p, q.bytes, alpha, beta), busGBps: (2 * ((p - 1) / p) * q.bytes) / (q.ms / 1e3) / 1e9 })),
    fit: { alphaUs: alpha * 1e6, betaNsPerByte: beta * 1e9, bandwidthGBps: 1 / beta / 1e9 },
    projection,
  };
  if (flag('json')) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`allreduce (in place, float32 sum), ${p} ranks on this machine, ${result.transport}, median of ${reps}`);
  console.log(`${'buffer'.padEnd(34)}${'MB'.padStart(9)}${'ms'.padStart(10)}${'model ms'.padStart(10)}${'bus GB/s'.padStart(10)}`);
  for (const q of result.points) {
    console.log(`${q.label.padEnd(34)}${(q.bytes / 1e6).toFixed(1).padStart(9)}${q.ms.toFixed(2).padStart(10)}${q.modelMs.toFixed(2).padStart(10)}${q.busGBps.toFixed(2).padStart(10)}`);
  }
  console.log(`fit t = 2(p-1)α + 2((p-1)/p)·n·β, α from 1 float, β over 1e5..4e6 floats: α = ${result.fit.alphaUs.toFixed(1)} µs, β = ${result.fit.betaNsPerByte.toFixed(3)} ns/byte (${result.fit.bandwidthGBps.toFixed(2)} GB/s)`);
  console.log('\nprojected ms per allreduce of the item-embedding gradient (d=64), ring over hosts, α as fitted, β = the link:');
  const cols = LINKS_GBPS.flatMap((g) => embBytes.map(({ v }) => `${g}Gb/s V=${v / 1000}k`));
  console.log(`${'hosts'.padEnd(7)}${cols.map((c) => c.padStart(18)).join('')}`);
  for (const row of projection) console.log(`${String(row.hosts).padEnd(7)}${Object.values(row.ms).map((m) => m.toFixed(1).padStart(18)).join('')}`);
  const links = LINKS_GBPS.map((g) => `${g} Gb/s = ${(8 / g).toFixed(2)} ns/byte`).join(', ');
  console.log(`(β of the links: ${links}; this machine's β = ${result.fit.betaNsPerByte.toFixed(3)} ns/byte. Where a host's β exceeds the link's, memory copies and additions bound the allreduce, not the network.)`);
}

/**
 * A Collective that adds the wall time of every reduction and gather to `ms` (the step's
 * communication time). An untimed barrier goes first, so that `ms` is the transfer itself and
 * not the wait for a slower rank (which the step time still includes).
 */
class TimedCollective implements Collective {
  ms = 0;
  constructor(private readonly inner: Collective) {}
  get rank() {
    return this.inner.rank;
  }
  get size() {
    return this.inner.size;
  }
  get kind() {
    return this.inner.kind;
  }
  private time<T>(f: () => T): T {
    this.inner.barrier();
    const t0 = process.hrtime.bigint();
    try {
      return f();
    } finally {
      this.ms += Number(process.hrtime.bigint() - t0) / 1e6;
    }
  }
  allreduceSum(buf: Float32Array): void {
    this.time(() => this.inner.allreduceSum(buf));
  }
  broadcast(buf: Float32Array | Uint8Array, root: number): void {
    this.time(() => this.inner.broadcast(buf, root));
  }
  allgatherv(buf: Float32Array, counts: readonly number[], displs: readonly number[]): void {
    this.time(() => this.inner.allgatherv(buf, counts, displs));
  }
  gatherv(send: Float32Array, recv: Float32Array | null, counts: readonly number[], displs: readonly number[], root: number): void {
    this.time(() => this.inner.gatherv(send, recv, counts, displs, root));
  }
  barrier(): void {
    this.inner.barrier();
  }
  finalize(): void {
    this.inner.finalize();
  }
}

const STEP_MODEL = { dim: DIM, n_layers: 1, n_heads: 2, maxlen: 50, num_negatives: 128 };
const STEP_BATCH = 128;
const STEP_USERS = 4096;

/**
 * Generated interactions for --step-time: STEP_USERS users of 60 items each, drawn uniformly
 * from 1..V with a fixed LCG, the same on every rank (the sampler only needs ids in 1..V;
 * the timing does not depend on what the model learns).
 */
function generatedData(V: number): Dataset {
  let x = 12345;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  const sequences = Array.from({ length: STEP_USERS }, () => Int32Array.from({ length: 60 }, () => 1 + (next() % V)));
  return { name: `generated-v${V}`, numItems: V, users: sequences.map((_, u) => String(u + 1)), sequences, timestamps: null, itemIds: ['', ...Array.from({ length: V }, (_, i) => String(i + 1))], remapped: false };
}

interface StepRow {
  items: number;
  exchange: 'dense' | 'sparse';
  zero: 0 | 1;
  /** Medians over the timed steps of the slowest rank. */
  stepMs: number;
  commMs: number;
  /** Forward and backward (trainStep) and the AdamW step, communication excluded. */
  trainMs: number;
  optimizerMs: number;
  /** Item-embedding rows exchanged per step (median), V+1 when dense. */
  rows: number;
  optimizerStateBytesPerRank: number;
  optimizerStateBytesUnsharded: number;
}

/** A rank of --step-time: for each exchange and ZeRO setting, 2 warm-up and `steps` timed steps; rank 0 prints the rows. */
async function stepTimeRank(dir: string, steps: number): Promise<void> {
  const c = openCollective();
  const timed = new TimedCollective(c);
  const manifest = readManifest(dir);
  const V = manifest.dataset.numItems;
  const split = leaveOneOutSplit(generatedData(V));
  const rows: StepRow[] = [];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const zero of [0, 1] as const) {
    for (const exchange of ['dense', 'sparse'] as const) {
      const session = await TrainingSession.open(dir, join(dir, 'init.ckpt'), { threads: 1, ...(zero ? { optimizerState: false } : {}) });
      const opt = zero ? new ZeroOptimizer(session, timed, buildShardOptimizerGraph, { threads: 1 }) : null;
      const sampler = new TrainSampler(split, { maxlen: manifest.dataset.maxlen, batchSize: STEP_BATCH, ...samplerNeeds(manifest) }, 7);
      const stepMs: number[] = [];
      const commMs: number[] = [];
      const trainMs: number[] = [];
      const optMs: number[] = [];
      // Time forward/backward and the AdamW step by wrapping them on this session (and shard optimizer).
      const spent = { train: 0, opt: 0 };
      const wrap = <A extends unknown[], R>(f: (...a: A) => Promise<R>, key: 'train' | 'opt') => async (...a: A): Promise<R> => {
        const t0 = process.hrtime.bigint();
        const c0 = timed.ms;
        try {
          return await f(...a);
        } finally {
          spent[key] += Number(process.hrtime.bigint() - t0) / 1e6 - (timed.ms - c0);
        }
      };
      session.trainStep = wrap(session.trainStep.bind(session), 'train');
      session.optimizerStep = wrap(session.optimizerStep.bind(session), 'opt');
      if (opt) opt.step = wrap(opt.step.bind(opt), 'opt');
      const rowCounts: number[] = [];
      for (let s = 0; s < steps + 2; s++) {
        const batch = sampler.nextBatch();
        c.barrier();
        timed.ms = 0;
        spent.train = spent.opt = 0;
        const t0 = process.hrtime.bigint();
        const sparseRows = exchange === 'sparse' ? sparseRowsFor(session, batch) : undefined;
        await distributedStep(session, timed, microBatches(batch, session, c), batch.realTokens, 1e-3, { sparseRows, optimizer: opt ?? undefined });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        // The slowest rank's step and communication time (one-hot sums).
        const all = new Float32Array(4 * c.size);
        [ms, timed.ms, spent.train, spent.opt].forEach((x, k) => (all[k * c.size + c.rank] = x));
        c.allreduceSum(all);
        if (s < 2) continue;
        const slowest = (k: number) => Math.max(...all.subarray(k * c.size, (k + 1) * c.size));
        stepMs.push(slowest(0));
        commMs.push(slowest(1));
        trainMs.push(slowest(2));
        optMs.push(slowest(3));
        rowCounts.push(sparseRows?.get('item_emb')?.length ?? V + 1);
      }
      const state = opt?.stateBytes() ?? optimizerStateBytes(manifest.params, c.size, 0);
      rows.push({ items: V, exchange, zero, stepMs: median(stepMs), commMs: median(commMs), trainMs: median(trainMs), optimizerMs: median(optMs), rows: median(rowCounts), optimizerStateBytesPerRank: state.perRank, optimizerStateBytesUnsharded: state.unsharded });
      await opt?.release();
      await session.release();
    }
  }
  c.barrier();
  c.finalize();
  if (c.rank === 0) process.stdout.write(`${JSON.stringify(rows)}\n`);
}

/** --step-time: compiles llama-sasrec for each V into a temp folder and times the steps under mpirun. */
function stepTimeScaling(np: number, steps: number, loss: 'bce' | 'sampled-softmax', skip1m: boolean): void {
  const self = fileURLToPath(import.meta.url);
  const rows: StepRow[] = [];
  for (const V of EMBEDDINGS) {
    if (skip1m && V >= 1_000_000) continue;
    const tmp = mkdtempSync(join(tmpdir(), 'reclm-step-time-'));
    try {
      const dir = join(tmp, 'art');
      compileJob({ model: MODELS['llama-sasrec'] as never, loss, config: { ...STEP_MODEL, num_items: V }, optimizer: SEED_ADAMW, numItems: V, initSeed: 1, outDir: dir });
      const program = [process.execPath, '--import', 'tsx', self, '--step-time', '--step-rank', dir, '--steps', String(steps)];
      const argv = buildMpirunCommand({ hosts: null, np, root: process.getuid?.() === 0, env: process.env, wdir: process.cwd(), localCores: availableParallelism(), program });
      const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`${argv[0]} exited with ${r.status ?? r.error?.message}`);
      rows.push(...(JSON.parse(r.stdout.trim().split('\n').pop()!) as StepRow[]));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (flag('json')) {
    console.log(JSON.stringify({ ranks: np, loss, batch: STEP_BATCH, model: STEP_MODEL, rows }, null, 2));
    return;
  }
  console.log(`data-parallel step of llama-sasrec (${loss}, d=${DIM}, 1 layer, maxlen ${STEP_MODEL.maxlen}, batch ${STEP_BATCH}), ${np} ranks × 1 thread, generated data; median of ${steps} steps, slowest rank`);
  console.log(`${'V'.padEnd(10)}${'exchange'.padEnd(10)}${'ZeRO'.padStart(5)}${'rows/step'.padStart(11)}${'step ms'.padStart(10)}${'fwd+bwd'.padStart(10)}${'AdamW'.padStart(10)}${'comm ms'.padStart(10)}${'comm %'.padStart(8)}${'opt. state MB/rank'.padStart(20)}`);
  for (const r of rows) {
    console.log(`${String(r.items).padEnd(10)}${r.exchange.padEnd(10)}${String(r.zero).padStart(5)}${String(r.rows).padStart(11)}${r.stepMs.toFixed(1).padStart(10)}${r.trainMs.toFixed(1).padStart(10)}${r.optimizerMs.toFixed(1).padStart(10)}${r.commMs.toFixed(1).padStart(10)}${((100 * r.commMs) / r.stepMs).toFixed(0).padStart(8)}${(r.optimizerStateBytesPerRank / 1e6).toFixed(1).padStart(20)}`);
  }
  console.log('(fwd+bwd, AdamW: the slowest rank\'s trainStep and optimizer step; comm: allreduce of the gradients and, with ZeRO-1, the parameter allgather and the norm exchange, each timed after a barrier; opt. state: AdamW m and v)');
}

answerHelp(USAGE);
await main();
