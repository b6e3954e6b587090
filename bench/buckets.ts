// Length buckets against full-width batches, side by side: the same compiled model, seed and
// recipe trained twice at the same time (one process each, same load), once with --bucket 0
// and once with --bucket M. Prints validation NDCG@10 / HR@10 per epoch with the wall time
// each arm needed to reach it, so the speed of bucketed epochs and what they do to
// convergence per epoch are read together (time to quality, not tokens per second alone).
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS } from '../graphs/index.js';
import { presetNamed } from '../graphs/presets.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import { RUN_FILES, train } from '../src/runtime/trainer.js';
import { openDataset } from '../src/data/open.js';
import { scheduleFor } from '../src/runtime/schedule.js';
import { readJsonl } from '../src/util/jsonl.js';
import { answerHelp } from './help.js';

answerHelp(`Trains one preset twice at the same time, with --bucket 0 and with --bucket M (one process and
--threads each, so both see the same machine load), and prints each epoch's validation NDCG@10 and HR@10 with
the minutes each arm took to get there. Takes as long as the slower arm's training.

usage: npx tsx bench/buckets.ts [--help] [--preset ml-1m-hstu] [--data FILE] [--epochs 20] [--bucket 16]
         [--fused 8] [--threads 1] [--out DIR]

  --epochs N   the preset's cosine schedule over N epochs, validation after every epoch
  --bucket M   the bucketed arm's multiple (the other arm uses 0: every batch maxlen wide)
  --fused K    fused steps of both arms (the bucketed sampler shuffles its batches in groups of K)`);

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const presetName = arg('preset', 'ml-1m-hstu');
const dataPath = arg('data', new URL('../../shared/data/ml-1m.seq.txt.gz', import.meta.url).pathname);
const epochs = Number(arg('epochs', '20'));
const bucket = Number(arg('bucket', '16'));
const fused = Number(arg('fused', '8'));
const threads = Number(arg('threads', '1'));
const preset = presetNamed(presetName);
const r = preset.recipe;

if (process.argv.includes('--arm')) {
  // One arm, in its own process: train the copied artifacts in --arm DIR.
  const dir = arg('arm', '');
  const data = openDataset(dataPath);
  await train({
    dir, data, epochs, batchSize: r.batchSize, seed: 1, threads, fusedSteps: fused, bucket: Number(arg('arm-bucket', '0')),
    schedule: scheduleFor({ ...r, epochs }, Math.ceil(data.sequences.length / r.batchSize)),
    evalEvery: 1, patience: 0, checkpointEvery: 0, resume: false, overwrite: true, json: true,
  });
  process.exit(0);
}

const out = arg('out', mkdtempSync(join(tmpdir(), 'reclm-buckets-')));
const compiled = join(out, 'compiled');
compileJob({ model: MODELS[preset.model] as never, loss: preset.loss, config: { ...preset.config }, optimizer: { ...SEED_ADAMW, ...preset.optimizer }, data: openDataset(dataPath), initSeed: 42, outDir: compiled, force: true });
const arms = [0, bucket].map((m) => ({ m, dir: join(out, `bucket-${m}`) }));
for (const a of arms) cpSync(compiled, a.dir, { recursive: true });
const self = fileURLToPath(import.meta.url);
const passOn = ['--preset', presetName, '--data', dataPath, '--epochs', String(epochs), '--fused', String(fused), '--threads', String(threads)];
console.log(`${preset.name} on ${dataPath}: cosine over ${epochs} epochs, ${fused} fused steps, ${threads} thread(s) per arm; --bucket 0 and --bucket ${bucket} trained at the same time`);
await Promise.all(
  arms.map(
    (a) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', self, '--arm', a.dir, '--arm-bucket', String(a.m), ...passOn], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the --bucket ${a.m} arm exited with ${code}`))));
      }),
  ),
);

interface EpochRecord { type: string; epoch: number; elapsed_s: number; valid?: Record<string, number> }
const logs = arms.map((a) => (readJsonl(join(a.dir, RUN_FILES.log), { skipInvalid: true }) as EpochRecord[]).filter((x) => x.type === 'epoch' && x.valid));
const cell = (e: EpochRecord | undefined) => (e ? `${e.valid!['ndcg@10'].toFixed(4)} / ${e.valid!['hr@10'].toFixed(4)} | ${(e.elapsed_s / 60).toFixed(1)}` : '- | -');
console.log(`\n| epoch | bucket 0: NDCG@10 / HR@10 | min | bucket ${bucket}: NDCG@10 / HR@10 | min |\n|---|---|---|---|---|`);
for (let e = 1; e <= epochs; e++) console.log(`| ${e} | ${cell(logs[0].find((x) => x.epoch === e))} | ${cell(logs[1].find((x) => x.epoch === e))} |`);
const best = logs.map((l) => l.reduce((b, x) => (x.valid!['ndcg@10'] > b.valid!['ndcg@10'] ? x : b)));
const reach = (log: EpochRecord[], target: number) => log.find((x) => x.valid!['ndcg@10'] >= target);
for (const [i, j] of [[0, 1], [1, 0]]) {
  const hit = reach(logs[j], best[i].valid!['ndcg@10']);
  console.log(`best of bucket ${arms[i].m}: NDCG@10 ${best[i].valid!['ndcg@10'].toFixed(4)} at epoch ${best[i].epoch} (${(best[i].elapsed_s / 60).toFixed(1)} min); bucket ${arms[j].m} reached it ${hit ? `at epoch ${hit.epoch} (${(hit.elapsed_s / 60).toFixed(1)} min)` : 'never'}`);
}
