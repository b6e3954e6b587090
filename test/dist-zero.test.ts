// ZeRO-1 (--zero 1) and the sparse item-embedding exchange: the shard layout, the real
// gradients' zero rows, Allgatherv/Gatherv, and `reclm train --zero 1` under a real mpirun
// on MovieLens-100K (943 users), against the run without ZeRO and across --resume.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_FILES, samplerNeeds } from '../src/contract/artifacts.js';
import { TrainSampler } from '../src/data/sampler.js';
import { leaveOneOutSplit } from '../src/data/split.js';
import { SingleProcessCollective } from '../src/dist/collective.js';
import { loadCheckpoint } from '../src/runtime/checkpoint.js';
import { batchFeeds, distributedStep, sparseItemExchange, touchedItemRows } from '../src/runtime/data-parallel.js';
import { TrainingSession } from '../src/runtime/session.js';
import { ZeroOptimizer, describeOptimizerState, optimizerStateBytes, shardLayout } from '../src/runtime/zero.js';
import { readJsonl } from '../src/util/jsonl.js';
import Launch from '../src/commands/launch.js';
import { buildShardOptimizerGraph } from '../src/compiler/adamw.js';
import { runCommand } from './helpers/cli.js';
import { mpirun, requireMpirun } from './helpers/dist-mpirun.js';
import { builtinDataset } from '../src/data/builtin.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';

const WORKER = fileURLToPath(new URL('./helpers/dist-zero-worker.ts', import.meta.url));
const RECLM = fileURLToPath(new URL('./helpers/dist-reclm.ts', import.meta.url));
const DATA = fileURLToPath(new URL('../../shared/data/ml-100k.u.data.gz', import.meta.url));

describe('ZeRO-1 shard layout', () => {
  const params = [
    { name: 'item_emb', shape: [101, 8], decay: true },
    { name: 'norm', shape: [8], decay: false },
    { name: 'w', shape: [8, 16], decay: true },
    { name: 'scale', shape: [], decay: false },
  ];
  const total = 101 * 8 + 8 + 128 + 1;

  for (const size of [1, 2, 3, 5]) {
    it(`${size} rank(s): every element in exactly one piece of whole rows, shards within one row of P/N`, () => {
      const layout = shardLayout(params, size);
      expect(layout).to.have.length(size);
      for (const p of params) {
        const cover = new Uint8Array(p.shape.reduce((a, b) => a * b, 1));
        for (const piece of layout.flat().filter((x) => x.param === p.name)) {
          const row = p.shape.length ? p.shape.slice(1).reduce((a, b) => a * b, 1) : 1;
          expect(piece.lo % row, `${p.name} piece starts on a row`).to.equal(0);
          expect(piece.hi % row, `${p.name} piece ends on a row`).to.equal(0);
          expect(piece.shape.reduce((a, b) => a * b, 1)).to.equal(piece.hi - piece.lo);
          expect(piece.decay).to.equal(p.decay);
          for (let i = piece.lo; i < piece.hi; i++) cover[i] += 1;
        }
        expect([...cover].every((x) => x === 1), p.name).to.equal(true);
      }
      // The largest row here is w's 16 elements: no shard is further than that from P/N.
      for (const pieces of layout) expect(Math.abs(pieces.reduce((a, x) => a + x.hi - x.lo, 0) - total / size)).to.be.at.most(16);
    });
  }

  it('splits the item embedding itself when it dominates, and reports the bytes per rank', () => {
    const layout = shardLayout(params, 2);
    expect(layout[0].map((p) => p.param)).to.deep.equal(['item_emb']);
    expect(layout[1][0].param).to.equal('item_emb');
    const b = optimizerStateBytes(params, 2, 1);
    expect(b.unsharded).to.equal(8 * total);
    expect(b.perRank).to.equal(8 * Math.max(...layout.map((ps) => ps.reduce((a, x) => a + x.hi - x.lo, 0))));
    expect(describeOptimizerState(b)).to.match(/^optimizer state: 0\.00 MB per rank \(ZeRO-1 over 2 ranks; 0\.01 MB unsharded\)$/);
    expect(optimizerStateBytes(params, 2, 0).perRank).to.equal(8 * total);
  });
});

describe('sparse item-embedding exchange: the real gradients', function () {
  // Each case compiles a tiny model (a second or two) and runs one training step.
  this.timeout(60000);
  // 400 items and R = 4 negatives, so that a batch of two rows leaves most items out.
  const wide = builtinDataset({ users: 120, items: 400, genres: 4, minLen: 6, maxLen: 30, seed: 5 });
  const LOSSES = [
    ['bce', {}],
    ['sampled-softmax', { num_negatives: 4 }],
    ['sampled-softmax', { num_negatives: 4, shared_negatives: true }],
    ['full-ce', {}],
  ] as const;
  for (const model of ['llama-sasrec', 'hstu'] as const) {
    for (const [loss, extra] of LOSSES) {
      it(`${model}, ${loss}${'shared_negatives' in extra ? ' (shared negatives)' : ''}: item-embedding rows the batch does not touch have ${loss === 'full-ce' ? 'non-zero' : 'exactly zero'} gradient`, async () => {
        const dir = compileTiny(model, loss, extra, wide);
        const s = await TrainingSession.open(dir, join(dir, 'init.ckpt'), { threads: 1 });
        const sampler = new TrainSampler(leaveOneOutSplit(wide), { maxlen: s.manifest.dataset.maxlen, batchSize: 2, ...samplerNeeds(s.manifest) }, 11);
        const batch = sampler.nextBatch();
        await s.trainStep(batchFeeds(batch, s.manifest.graphs.training.inputs.map((i) => i.name)));
        const g = s.gradientBuffers().get('item_emb')!;
        const [rows, d] = s.manifest.params.find((p) => p.name === 'item_emb')!.shape;
        const touched = new Set(touchedItemRows(batch, rows));
        const untouched = [...Array(rows).keys()].filter((r) => !touched.has(r));
        expect(untouched.length, 'the batch leaves rows untouched').to.be.above(10);
        const rowAbs = (r: number) => g.subarray(r * d, (r + 1) * d).reduce((a, x) => a + Math.abs(x), 0);
        const nonZeroUntouched = untouched.filter((r) => rowAbs(r) !== 0);
        expect(sparseItemExchange(s.manifest)).to.equal(loss !== 'full-ce');
        if (loss === 'full-ce') expect(nonZeroUntouched.length, 'full softmax reaches every row').to.equal(untouched.length);
        else expect(nonZeroUntouched, 'untouched rows with a gradient').to.deep.equal([]);
        // The touched rows (but the padding row 0, masked) do get a gradient.
        expect([...touched].filter((r) => r !== 0 && rowAbs(r) === 0)).to.deep.equal([]);
        await s.release();
      });
    }
  }
});

describe('ZeRO-1 in one process', function () {
  this.timeout(60000);
  it('the shard optimizer graph takes the steps of optimizer.onnx (llama-sasrec, bce)', async () => {
    const dir = compileTiny('llama-sasrec', 'bce');
    const plain = await TrainingSession.open(dir, join(dir, 'init.ckpt'), { threads: 1 });
    const sharded = await TrainingSession.open(dir, join(dir, 'init.ckpt'), { threads: 1, optimizerState: false });
    expect(sharded.m.size).to.equal(0);
    const c = new SingleProcessCollective();
    const zero = new ZeroOptimizer(sharded, c, buildShardOptimizerGraph, { threads: 1 });
    zero.loadMoments(plain.checkpointState());
    const sampler = new TrainSampler(leaveOneOutSplit(tinyData()), { maxlen: plain.manifest.dataset.maxlen, batchSize: 16, ...samplerNeeds(plain.manifest) }, 7);
    const names = plain.manifest.graphs.training.inputs.map((i) => i.name);
    // A large lr makes clipping engage (grad norm > 1) in some steps, so the norm input matters.
    const norms: number[] = [];
    for (let i = 0; i < 6; i++) {
      const b = sampler.nextBatch();
      const micro = [{ feeds: batchFeeds(b, names), targets: b.realTokens }];
      const a = await distributedStep(plain, c, micro, b.realTokens, 0.05);
      const z = await distributedStep(sharded, c, micro, b.realTokens, 0.05, { optimizer: zero });
      // One process sums the squares in float32 (ReduceSum, then Add per tensor), ZeRO in float64: ~1e-7 relative.
      expect(Math.abs(z.gradNorm - a.gradNorm) / a.gradNorm).to.be.below(1e-5);
      expect(Math.abs(z.loss - a.loss) / a.loss).to.be.below(1e-5);
      norms.push(a.gradNorm);
    }
    expect(sharded.step).to.equal(6);
    const want = plain.parameterValues();
    let diff = 0;
    for (const [k, v] of sharded.parameterValues()) for (let i = 0; i < v.length; i++) diff = Math.max(diff, Math.abs(v[i] - want.get(k)![i]));
    // Only the clip coefficient's last bits can differ (the norm's summation order): measured 0 to a
    // few float32 ulps of |p| <= 1 after 6 steps; 1e-5 is far below one step's update (lr 0.05).
    expect(diff).to.be.below(1e-5);
    const moments = zero.gatherMoments()!;
    for (const [k, b] of plain.m) {
      const got = moments.m.get(k)!;
      const ref = b.current.data as Float32Array;
      for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).to.be.below(1e-6);
    }
    await zero.release();
    await plain.release();
    await sharded.release();
  });
});

interface Rec {
  type: string;
  step?: number;
  loss?: number;
  valid?: Record<string, number>;
  optimizer_state?: { per_rank_bytes: number; unsharded_bytes: number; zero: number; ranks: number };
  recipe?: { zero?: number };
}
const records = (dir: string) => readJsonl(join(dir, RUN_FILES.log), { skipInvalid: true }) as Rec[];
const stepLosses = (dir: string) => records(dir).filter((r) => r.type === 'step').map((r) => r.loss!);
const validNdcg = (dir: string) => records(dir).filter((r) => r.type === 'epoch' && r.valid)[0].valid!['ndcg@10'];

function expectLossesClose(got: number[], want: number[], rtol: number): void {
  expect(got).to.have.length(want.length);
  got.forEach((l, i) => expect(Math.abs(l - want[i]), `step ${i + 1}: ${l} vs ${want[i]}`).to.be.at.most(rtol * Math.abs(want[i])));
}

describe('dist: ZeRO-1 and the sparse exchange under mpirun', function () {
  // 2-rank runs of 30 steps: 10-15 s each on 2 quiet cores (node/tsx start-up included), and a
  // case runs up to four; 300 s leaves room for a machine shared with other work.
  this.timeout(300000);
  const tmp = mkdtempSync(join(tmpdir(), 'reclm-dist-zero-'));
  before(requireMpirun);

  it('Allgatherv and Gatherv move uneven blocks (one of them empty)', async () => {
    const out = mkdtempSync(join(tmp, 'coll-'));
    const r = await mpirun(2, [WORKER, 'collectives', out]);
    expect(r.code, r.stderr).to.equal(0);
    for (const rank of [0, 1]) {
      const got = JSON.parse(readFileSync(join(out, `rank${rank}.json`), 'utf8'));
      expect(got.allgathered).to.deep.equal([
        [-1, 10, 11, 12, -1],
        [20, 21, 22, 23, 10, 11],
      ]);
      expect(got.gathered).to.deep.equal(rank === 0 ? [[-1, 100, 101, 102, -1], [200, 201, 202, 203, 100, 101]] : [null, null]);
    }
  });

  for (const [model, loss, extra] of [['llama-sasrec', 'bce', {}], ['hstu', 'sampled-softmax', { num_negatives: 4, shared_negatives: true }]] as const) {
    it(`${model}, ${loss}: exchanging the touched item rows gives the dense exchange's parameters bit for bit; ZeRO-1 agrees`, async () => {
      const dir = compileTiny(model, loss, extra);
      const out = mkdtempSync(join(tmp, 'exch-'));
      const r = await mpirun(2, [WORKER, 'exchange', out, dir, '5', '6']);
      expect(r.code, r.stderr).to.equal(0);
      const ranks = [0, 1].map((k) => JSON.parse(readFileSync(join(out, `rank${k}.json`), 'utf8')).runs);
      const [dense, sparse, zero] = ranks[0];
      // Fewer rows than the 61 of the item embedding: the sparse exchange really moved less.
      for (const n of sparse.rowCounts) expect(n).to.be.within(1, 60);
      // Each element is the sum of the same two float32 values either way: the same bits.
      expect(sparse.params).to.deep.equal(dense.params);
      expect(sparse.losses).to.deep.equal(dense.losses);
      expect(ranks[1][1].params).to.deep.equal(dense.params);
      // ZeRO-1 differs only in the norm's summation order (float64 over shards): see the one-process case.
      for (const [k, v] of Object.entries(dense.params as Record<string, number[]>)) {
        const z = zero.params[k] as number[];
        v.forEach((x, i) => expect(Math.abs(z[i] - x), k).to.be.below(1e-5));
        (dense.m[k] as number[]).forEach((x, i) => expect(Math.abs(zero.m[k][i] - x), `${k}.m`).to.be.below(1e-6));
      }
      expect(ranks[1][2].m).to.equal(null);
      expect(ranks[1][2].params).to.deep.equal(zero.params);
      expect(zero.stateBytes.perRank).to.be.below(zero.stateBytes.unsharded * 0.51);
    });
  }

  // reclm train on MovieLens-100K, llama-sasrec with dropout (bce: the sparse exchange is on).
  const MODEL = ['--model', 'llama-sasrec', '--loss', 'bce', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'maxlen=20', '--set', 'dropout=0.2', '--set', 'attn_dropout=0.1'];
  /** 943 users / 32 rows = 30 steps per epoch. */
  const RECIPE = ['--batch-size', '32', '--fused-steps', '4', '--lr', '5e-3', '--seed', '3', '--eval-every', '1', '--epochs', '1'];
  let compiled: string | null = null;
  const artifacts = (name: string): string => {
    if (!compiled) {
      compiled = join(tmp, 'compiled');
      reclm(['compile', ...MODEL, '--data', DATA, '--out', compiled]);
    }
    const dir = join(tmp, name);
    cpSync(compiled, dir, { recursive: true });
    return dir;
  };
  const train = async (np: number, args: string[]) => {
    const r = await mpirun(np, [RECLM, 'train', ...args], 110000);
    expect(r.code, `mpirun train: ${r.stderr}`).to.equal(0);
    return r;
  };
  /** The uninterrupted 2-rank --zero 1 run (trained once, by the first case that needs it) and its stdout. */
  let zeroRun: Promise<{ dir: string; stdout: string }> | null = null;
  const zeroWhole = () =>
    (zeroRun ??= (async () => {
      const dir = artifacts('zero');
      const r = await train(2, [dir, '--data', DATA, ...RECIPE, '--zero', '1']);
      return { dir, stdout: r.stdout };
    })());

  it('2 ranks, dropout on: --zero 1 gives the losses, validation NDCG@10 and checkpoint of --zero 0; the state per rank is printed and logged', async () => {
    const plain = artifacts('plain');
    await train(2, [plain, '--data', DATA, ...RECIPE]);
    const { dir: zero, stdout } = await zeroWhole();
    const start = records(zero)[0];
    expect(start.recipe!.zero).to.equal(1);
    const st = start.optimizer_state!;
    expect(st).to.include({ zero: 1, ranks: 2 });
    // Shards are balanced to within one row of the item embedding (16 floats, 2 moments).
    expect(Math.abs(st.per_rank_bytes - st.unsharded_bytes / 2)).to.be.at.most(16 * 8);
    expect(stdout).to.include(`optimizer state: ${(st.per_rank_bytes / 1e6).toFixed(2)} MB per rank (ZeRO-1 over 2 ranks; ${(st.unsharded_bytes / 1e6).toFixed(2)} MB unsharded)`);
    expect(records(plain)[0].optimizer_state).to.deep.equal({ per_rank_bytes: st.unsharded_bytes, unsharded_bytes: st.unsharded_bytes, zero: 0, ranks: 2 });
    // ZeRO changes only the summation order of the clipping norm (float64 over shards instead of
    // float32 per tensor), ~1e-7 relative per step; 1e-4 leaves room for 30 steps of drift.
    const want = stepLosses(plain);
    expect(want).to.have.length(30);
    expectLossesClose(stepLosses(zero), want, 1e-4);
    expect(validNdcg(zero).toFixed(3)).to.equal(validNdcg(plain).toFixed(3));
    // The consolidated checkpoint is an ordinary one: every moment of every tensor, close to the plain run's.
    const [a, b] = [loadCheckpoint(join(plain, RUN_FILES.last)), loadCheckpoint(join(zero, RUN_FILES.last))];
    expect([...b.m.keys()]).to.deep.equal([...a.m.keys()]);
    for (const [k, m] of a.m) {
      const got = b.m.get(k)!;
      expect(got.length).to.equal(m.length);
      // |m| is a decayed mean of gradients (< 1e-1 here); 30 steps of the drift above stay far below 1e-5.
      for (let i = 0; i < m.length; i++) expect(Math.abs(got[i] - m[i]), k).to.be.below(1e-5);
    }
  });

  it('--resume of a ZeRO-1 run: on 2 ranks the same losses as the uninterrupted run; in one process (plain, --zero 0) within 1e-4', async () => {
    const whole = (await zeroWhole()).dir;
    const dir = artifacts('zero-resumed');
    await train(2, [dir, '--data', DATA, ...RECIPE, '--zero', '1', '--max-steps', '12']);
    const single = join(tmp, 'zero-single');
    cpSync(dir, single, { recursive: true });
    // The recipe keeps --zero 1: no flag needed.
    await train(2, [dir, '--data', DATA, '--resume']);
    const resume = records(dir).find((r) => r.type === 'resume')!;
    expect(resume.optimizer_state).to.include({ zero: 1, ranks: 2 });
    // Same ranks, same shards, same reductions: the same bits, up to the digits JSON keeps.
    expectLossesClose(stepLosses(dir), stepLosses(whole), 1e-6);
    expect(validNdcg(dir)).to.equal(validNdcg(whole));
    // One process reads the consolidated checkpoint as any other (fused steps, full moments).
    const summary = JSON.parse(reclm(['train', single, '--data', DATA, '--resume', '--zero', '0', '--json']));
    expect(summary.optimizerState).to.deep.equal({ perRank: resume.optimizer_state!.unsharded_bytes, unsharded: resume.optimizer_state!.unsharded_bytes, zero: 0, ranks: 1 });
    const resumed = records(single).filter((r) => r.type === 'resume');
    expect(resumed).to.have.length(1);
    // One process sums the batch in another order than 2 ranks do: as the 2-rank vs one-process runs, 1e-4.
    expectLossesClose(stepLosses(single), stepLosses(whole), 1e-4);
    expect(validNdcg(single).toFixed(3)).to.equal(validNdcg(whole).toFixed(3));
  });
});

describe('reclm launch -- train --zero 1', () => {
  it('passes --zero through to every rank', async () => {
    const r = await runCommand(Launch as never, ['-np', '2', '--dry-run', '--', 'train', 'art', '--data', 'd.txt', '--zero', '1']);
    expect(r.error?.message).to.equal(undefined);
    expect(r.stdout).to.match(/^mpirun .*-np 2 .* train art --data d\.txt --zero 1\n$/);
  });
});

/** One `reclm CMD ARGS` process; throws with its stderr when it fails. */
function reclm(args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', RECLM, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reclm ${args.slice(0, 2).join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}
