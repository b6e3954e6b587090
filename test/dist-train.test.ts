// `reclm train` under mpirun: 2 ranks train the run one process trains (same global batch,
// dropout on), a killed rank stops every rank, --resume continues a 2-rank run, and
// --grad-accum in one process. Real data: MovieLens-100K (943 users).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_FILES } from '../src/contract/artifacts.js';
import { loadCheckpoint } from '../src/runtime/checkpoint.js';
import Launch from '../src/commands/launch.js';
import Train from '../src/commands/train.js';
import { runCommand } from './helpers/cli.js';
import { mpirun, requireMpirun } from './helpers/dist-mpirun.js';
import { readJsonl } from '../src/util/jsonl.js';
import { stepLosses as latestStepLosses } from './helpers/dist-runs.js';

const RECLM = fileURLToPath(new URL('./helpers/dist-reclm.ts', import.meta.url));
const DATA = fileURLToPath(new URL('../../shared/data/ml-100k.u.data.gz', import.meta.url));
/** 943 users / 32 rows = 30 steps per epoch. */
const BASE = ['--batch-size', '32', '--fused-steps', '4', '--lr', '5e-3', '--seed', '3', '--eval-every', '1'];
const RECIPE = [...BASE, '--epochs', '1'];
// The acceptance run: 2 epochs of ML-100K's 943 users at batch 16 = 2 × 59 = 118 steps
// (at least the first 100), validation after each epoch.
const ACCEPTANCE = ['--batch-size', '16', '--fused-steps', '4', '--lr', '5e-3', '--seed', '3', '--eval-every', '1', '--epochs', '2'];
const MODELS = {
  'llama-sasrec': ['--model', 'llama-sasrec', '--loss', 'bce', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'maxlen=20', '--set', 'dropout=0.2', '--set', 'attn_dropout=0.1'],
  hstu: ['--model', 'hstu', '--loss', 'bce', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'dqk=4', '--set', 'dv=8', '--set', 'maxlen=20', '--set', 'dropout=0.2'],
} as const;

/** One `reclm CMD ARGS` process; throws with its stderr when it fails. */
function reclm(args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', RECLM, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reclm ${args.slice(0, 2).join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

async function mpiTrain(np: number, args: string[], timeoutMs = 60000) {
  const r = await mpirun(np, [RECLM, 'train', ...args], timeoutMs);
  expect(r.code, `mpirun train: ${r.stderr}`).to.equal(0);
  return r;
}

interface LogRecord {
  type: string;
  step?: number;
  loss?: number;
  valid?: Record<string, number>;
  ranks?: number;
  memory?: Record<string, unknown>;
}

function records(dir: string): LogRecord[] {
  // Polled while rank 0 is still writing: a line half written at that moment is skipped.
  return readJsonl(join(dir, RUN_FILES.log), { skipInvalid: true }) as LogRecord[];
}

function stepLosses(dir: string): number[] {
  return records(dir).filter((r) => r.type === 'step').map((r) => r.loss!);
}

function validNdcg(dir: string): number {
  const v = records(dir).filter((r) => r.type === 'epoch' && r.valid);
  expect(v).to.have.length.at.least(1);
  return v[v.length - 1].valid!['ndcg@10'];
}

/** Every step's loss within `rtol` (relative) of the reference's. */
function expectLossesClose(got: number[], want: number[], rtol: number): void {
  expect(got).to.have.length(want.length);
  got.forEach((l, i) => expect(Math.abs(l - want[i]), `step ${i + 1}: ${l} vs ${want[i]}`).to.be.at.most(rtol * Math.abs(want[i])));
}

describe('dist: reclm train under mpirun', function () {
  // Each case starts one to three runs of 12-118 steps (a few seconds to ~25 s each on 2 cores,
  // plus ~3 s of node/tsx start-up per process); the model cases of 118 steps take 30-45 s at a
  // load average of 5, the others over 60 s at 16-25 (other work on the machine); 180 s leaves
  // room for that.
  this.timeout(180000);
  const tmp = mkdtempSync(join(tmpdir(), 'reclm-dist-train-'));
  before(requireMpirun);

  const compiled = new Map<string, string>();
  /** A fresh copy of the model's artifacts (compiled once per model). */
  const artifacts = (model: keyof typeof MODELS, name: string): string => {
    if (!compiled.has(model)) {
      const out = join(tmp, `${model}-compiled`);
      reclm(['compile', ...MODELS[model], '--data', DATA, '--out', out]);
      compiled.set(model, out);
    }
    const dir = join(tmp, `${model}-${name}`);
    cpSync(compiled.get(model)!, dir, { recursive: true });
    return dir;
  };

  for (const model of Object.keys(MODELS) as (keyof typeof MODELS)[]) {
    // HSTU trains on random windows (most ML-100K histories are longer than maxlen 20), llama on
    // shuffled epochs: every rank must draw the windows and the shuffles the one process draws.
    const recipe = model === 'hstu' ? [...ACCEPTANCE, '--window', 'random'] : [...ACCEPTANCE, '--epoch-users', 'shuffle'];
    it(`${model}${model === 'hstu' ? ' (random windows)' : ' (shuffled epochs)'}, dropout on: 2 ranks give the one-process losses of 118 steps and its validation NDCG@10 after 2 epochs`, async () => {
      const one = artifacts(model, 'one');
      reclm(['train', one, '--data', DATA, ...recipe]);
      const two = artifacts(model, 'two');
      const r = await mpiTrain(2, [two, '--data', DATA, ...recipe]);
      // Rank 0 alone prints: one summary line, not two.
      expect(r.stdout.match(/^trained /gm)).to.have.length(1);
      expect(records(two)[0].ranks).to.equal(2);
      // Rank 0 validates with its training session open when both its arenas and the other rank's
      // training share fit in 0.75 of the available memory; these tiny models need well under
      // 1 GiB, and the machines this suite runs on have 24 GiB (the first check says so if not).
      const [m1, m2] = [records(one)[0].memory!, records(two)[0].memory!] as { both_arenas_bytes: number; available_bytes: number }[];
      expect(2 * m2.both_arenas_bytes <= 0.75 * m2.available_bytes, 'memory for both arenas beside the other rank').to.equal(true);
      expect(records(two)[0].memory).to.include({ ranks_on_host: 2, training_session_during_validation: 'held' });
      // Each rank's estimate is for its half of the batch, unfused: below the one process's.
      expect(m2.both_arenas_bytes).to.be.below(m1.both_arenas_bytes);
      const want = stepLosses(one);
      expect(want).to.have.length(118);
      // The two runs differ only in float summation order (each rank's half of the batch, then
      // the allreduce), ~1e-7 relative per step (2.7e-7 measured over these 118 steps); 1e-4 is
      // the bound and leaves room for the drift of 118 steps.
      expectLossesClose(stepLosses(two), want, 1e-4);
      expect(validNdcg(two).toFixed(3)).to.equal(validNdcg(one).toFixed(3));
      expect(existsSync(join(two, RUN_FILES.inference))).to.equal(true);
    });
  }

  it('--resume under mpirun continues a 2-rank run with the losses of the uninterrupted run', async () => {
    const whole = artifacts('llama-sasrec', 'whole');
    await mpiTrain(2, [whole, '--data', DATA, ...RECIPE]);
    const dir = artifacts('llama-sasrec', 'resumed');
    await mpiTrain(2, [dir, '--data', DATA, ...RECIPE, '--max-steps', '12']);
    expect(stepLosses(dir)).to.have.length(12);
    await mpiTrain(2, [dir, '--data', DATA, '--resume']);
    expect(records(dir).map((r) => r.type)).to.include('resume');
    // Same ranks, same batches, same reduction order: the same bits, up to the last digit kept by JSON.
    expectLossesClose(stepLosses(dir), stepLosses(whole), 1e-6);
    expect(validNdcg(dir)).to.equal(validNdcg(whole));
  });

  it('a rank killed with SIGKILL stops every rank with a non-zero exit within seconds; the last checkpoint verifies; --resume gives the uninterrupted losses', async function () {
    // Three 2-rank runs (the killed one, its resume, the reference): ~30 s on a quiet machine.
    this.timeout(150000);
    const dir = artifacts('llama-sasrec', 'killed');
    const tag = `kill-${process.pid}-${Date.now()}`;
    const recipe = [...BASE, '--epochs', '20', '--checkpoint-every', '2'];
    process.env.RECLM_TEST_TAG = tag;
    const running = mpirun(2, [RECLM, 'train', dir, '--data', DATA, ...recipe], 60000);
    delete process.env.RECLM_TEST_TAG;
    const log = join(dir, RUN_FILES.log);
    const deadline = Date.now() + 40000;
    while (!(existsSync(log) && records(dir).filter((r) => r.type === 'step').length >= 6)) {
      if (Date.now() > deadline) throw new Error(`the 2-rank run did not reach step 6 in 40 s: ${(await Promise.race([running, Promise.resolve(null)]))?.stderr ?? 'still running'}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    const ranks = rankPids(tag);
    expect([...ranks.keys()].sort()).to.deep.equal([0, 1]);
    process.kill(ranks.get(1)!, 'SIGKILL');
    const killedAt = Date.now();
    const r = await running;
    expect(r.code).to.not.equal(0);
    // mpirun names the rank that died.
    expect(r.stderr).to.match(/rank 1\b/);
    // mpirun notices the lost rank and kills the others at once; 10 s allows for a loaded machine.
    expect(r.endedAt - killedAt).to.be.below(10000);
    expect(processAlive(ranks.get(0)!)).to.equal(false);
    // loadCheckpoint checks the file's sha256 before returning anything.
    const state = loadCheckpoint(join(dir, RUN_FILES.last));
    expect(state.step % 2).to.equal(0);
    expect(state.step).to.be.at.least(2);
    // --resume under mpirun to the end of the epoch the kill interrupted gives the losses (every
    // step, those logged again after the checkpoint included) and the validation of a 2-rank run
    // never killed: same ranks, same batches, same reduction order, so the same bits up to the
    // digits JSON keeps.
    const until = ['--max-steps', String(30 * Math.ceil((state.step + 1) / 30))];
    await mpiTrain(2, [dir, '--data', DATA, ...recipe, ...until, '--resume']);
    const whole = artifacts('llama-sasrec', 'never-killed');
    await mpiTrain(2, [whole, '--data', DATA, ...recipe, ...until]);
    expectLossesClose(latestStepLosses(dir), stepLosses(whole), 1e-6);
    expect(validNdcg(dir)).to.equal(validNdcg(whole));
  });

  it('reclm launch accepts train: it opens the collective', async () => {
    expect(Train.distributed).to.equal(true);
    const r = await runCommand(Launch as never, ['-np', '2', '--dry-run', '--', 'train', 'art', '--data', 'd.txt']);
    expect(r.error?.message).to.equal(undefined);
    expect(r.stdout).to.match(/^mpirun .*-np 2 .* train art --data d\.txt\n$/);
  });

  it('--grad-accum 2 in one process: the losses of the fused whole-batch run; --resume refuses another value', async () => {
    const one = artifacts('hstu', 'fused');
    reclm(['train', one, '--data', DATA, ...RECIPE, '--max-steps', '20']);
    const acc = artifacts('hstu', 'accum');
    const summary = JSON.parse(reclm(['train', acc, '--data', DATA, ...RECIPE, '--max-steps', '20', '--grad-accum', '2', '--json']));
    expect(summary.gradAccum).to.equal(2);
    // As the 2-rank case: only the summation order differs.
    expectLossesClose(stepLosses(acc), stepLosses(one), 1e-4);
    expect(() => reclm(['train', acc, '--data', DATA, '--resume', '--grad-accum', '3'])).to.throw('--grad-accum 3 contradicts the run');
    const small = artifacts('hstu', 'small');
    expect(() => reclm(['train', small, '--data', DATA, ...RECIPE, '--grad-accum', '33'])).to.throw('a batch of 32 rows cannot be split over 1 rank(s) × 33 micro-batch(es); use --batch-size 33 or more');
  });
});

/** Pids of the ranks started with RECLM_TEST_TAG=tag, by OMPI_COMM_WORLD_RANK. */
function rankPids(tag: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${p}/environ`, 'utf8');
    } catch {
      continue;
    }
    const vars = env.split('\0');
    if (!vars.includes(`RECLM_TEST_TAG=${tag}`)) continue;
    const rank = vars.find((v) => v.startsWith('OMPI_COMM_WORLD_RANK='));
    if (rank) out.set(Number(rank.split('=')[1]), Number(p));
  }
  return out;
}

/** Whether `pid` still runs: it exists and is not a zombie (an exited child of init not yet reaped). */
function processAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
}
