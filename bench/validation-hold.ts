// Holding the training session open during validation, against releasing it (what a run does
// when both onnxruntime arenas do not fit in 75% of the available memory): the same preset
// model and data, its batch size and fused steps at a constant lr (its peak; no schedule),
// trained with validation every epoch, each mode in a fresh process (its own peak RSS), the
// modes' order alternating over --repeats so that a change of machine load hits both alike.
// Prints, per mode, the median seconds of the epochs that follow a validation pass (when it was
// released, they pay for onnxruntime's set-up of the reopened graph on its first run; loading
// it is done before the epoch's clock starts), the median pass, the whole run's wall time and
// peak RSS. Not a test: the numbers depend on the machine.
//   npx tsx bench/validation-hold.ts [--preset ml-1m-hstu] [--set key=value ...] [--data FILE] [--epochs 4] [--threads 1] [--repeats 1]
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS } from '../graphs/index.js';
import { presetNamed } from '../graphs/presets.js';
import { parseSets } from '../src/cli/config-flags.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { readManifest } from '../src/compiler/artifacts.js';
import { compileJob } from '../src/compiler/compile-job.js';
import { openDataset } from '../src/data/open.js';
import { estimateTrainingMemory, trainingRows } from '../src/runtime/memory.js';
import { RUN_FILES, train } from '../src/runtime/trainer.js';
import { readJsonl } from '../src/util/jsonl.js';
import { answerHelp } from './help.js';

answerHelp(`Training with validation every epoch, the training session held open during validation against
released and reopened after each pass (what a run does when memory is short). Prints per mode the median
seconds of an epoch that follows a validation pass, the median pass, the run's wall time and peak RSS.

--set key=value overrides a config value of the preset (e.g. time_bias=true); repeatable.

usage: npx tsx bench/validation-hold.ts [--help] [--preset ml-1m-hstu] [--set key=value ...] [--data FILE] [--epochs 4] [--threads 1] [--repeats 1]`);

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const preset = arg('preset', 'ml-1m-hstu');
const dataPath = arg('data', new URL('../../shared/data/ml-100k.u.data.gz', import.meta.url).pathname);
const epochs = Number(arg('epochs', '4'));
const threads = Number(arg('threads', '1'));
const repeats = Number(arg('repeats', '1'));
/** --set key=value pairs, read as compile --set reads them. */
const sets = process.argv.flatMap((a, i) => (a === '--set' ? [process.argv[i + 1]] : []));
const overrides = parseSets(sets);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
type Mode = 'held' | 'released';

interface Result {
  wallSeconds: number;
  /** Seconds of each epoch after the first (each follows a validation pass). */
  afterValidation: number[];
  validSeconds: number[];
  maxRssMB: number;
}

/** One run in this process: the memory it is told of fits both arenas (held) or the run but not both (released). */
async function runHere(dir: string, mode: Mode): Promise<Result> {
  const data = openDataset(dataPath);
  const p = presetNamed(preset);
  const fused = p.recipe.fusedSteps;
  const manifest = readManifest(dir);
  const estimate = estimateTrainingMemory(manifest, { batchSize: p.recipe.batchSize, fusedSteps: fused, ...trainingRows(data, manifest.dataset.maxlen) });
  const told = mode === 'released' ? estimate.total : 2 * estimate.bothArenas;
  const t0 = Date.now();
  await train({
    dir, data, epochs, batchSize: p.recipe.batchSize, schedule: { kind: 'constant', lr: p.recipe.lr }, seed: 1, threads, fusedSteps: fused,
    evalEvery: 1, patience: 0, checkpointEvery: 0, resume: false, overwrite: true, json: true,
    memory: { available: told, total: told },
  });
  const records = (readJsonl(join(dir, RUN_FILES.log)) as { type: string; epoch: number; seconds: number; valid_seconds?: number }[]).filter((r) => r.type === 'epoch');
  return {
    wallSeconds: (Date.now() - t0) / 1000,
    afterValidation: records.filter((r) => r.epoch > 1).map((r) => r.seconds),
    validSeconds: records.flatMap((r) => (r.valid_seconds === undefined ? [] : [r.valid_seconds])),
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

if (process.argv.includes('--one')) {
  console.log(JSON.stringify(await runHere(arg('one', ''), arg('mode', 'held') as Mode)));
  process.exit(0);
}

const dir = join(mkdtempSync(join(tmpdir(), 'reclm-hold-')), 'art');
const p = presetNamed(preset);
compileJob({ model: MODELS[p.model] as never, loss: p.loss, config: { ...p.config, ...overrides }, optimizer: { ...SEED_ADAMW, ...p.optimizer }, data: openDataset(dataPath), initSeed: 42, outDir: dir, force: true });
const self = fileURLToPath(import.meta.url);
const results: Record<Mode, Result[]> = { held: [], released: [] };
for (let r = 0; r < repeats; r++) {
  for (const mode of r % 2 === 0 ? (['held', 'released'] as const) : (['released', 'held'] as const)) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--one', dir, '--mode', mode, '--preset', preset, '--data', dataPath, '--epochs', String(epochs), '--threads', String(threads)], { encoding: 'utf8' });
    results[mode].push(JSON.parse(out.trim().split('\n').at(-1)!) as Result);
  }
}
console.log(`${preset}${sets.map((x) => ` --set ${x}`).join('')} on ${dataPath}, ${epochs} epochs validated every epoch, threads ${threads}, ${repeats} repeat(s) interleaved`);
console.log('mode       epoch after a pass (s)   pass (s)   run (s)   peak RSS (MiB)   (medians over epochs and repeats; peak RSS: largest)');
for (const mode of ['held', 'released'] as const) {
  const rs = results[mode];
  const after = median(rs.flatMap((x) => x.afterValidation));
  const pass = median(rs.flatMap((x) => x.validSeconds));
  const wall = median(rs.map((x) => x.wallSeconds));
  const rss = Math.max(...rs.map((x) => x.maxRssMB));
  console.log(`${mode.padEnd(9)}  ${after.toFixed(1).padStart(22)}   ${pass.toFixed(1).padStart(8)}   ${wall.toFixed(0).padStart(7)}   ${rss.toFixed(0).padStart(14)}`);
}
const [h, rel] = [results.held, results.released].map((rs) => median(rs.flatMap((x) => x.afterValidation)));
console.log(`epoch after a pass: released / held = ${(rel / h).toFixed(2)}x`);
