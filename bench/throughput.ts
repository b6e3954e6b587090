// One training epoch of ML-1M (SASRec 5-core file) per model, reclm next to the PyTorch peer
// (shared/reference/torch_train.py), same recipe: d=64, 2 layers, 2 heads, batch 128,
// maxlen 200, BCE with one negative, AdamW + clipping. Prints seconds per epoch and real
// (non-padding) training tokens per second. Not a test: the numbers depend on the machine.
//   npx tsx bench/throughput.ts [--threads 2] [--fused 8] [--skip-torch] [--models llama,hstu] [--repeats 1]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../graphs/index.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import { readDataset } from '../src/data/read.js';
import { train } from '../src/runtime/trainer.js';
import { answerHelp } from './help.js';

answerHelp(`One ML-1M training epoch per model (SASRec 5-core file), reclm next to the PyTorch peer, same recipe
(d=64, 2 layers, 2 heads, batch 128, maxlen 200, BCE): seconds per epoch and real tokens per second.

usage: npx tsx bench/throughput.ts [--help] [--threads 2] [--fused 8] [--skip-torch] [--models llama,hstu] [--repeats 1]`);

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const DATA = new URL('../../shared/data/ml-1m.sasrec-5core.reconstructed.txt.gz', import.meta.url).pathname;
const TORCH = new URL('../../shared/reference/torch_train.py', import.meta.url).pathname;
const threads = Number(arg('threads', '2'));
const fused = Number(arg('fused', '8'));
const repeats = Number(arg('repeats', '1'));
const models = arg('models', 'llama,hstu').split(',');
const data = readDataset(DATA);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const CONFIG = {
  llama: { model: 'llama-sasrec', config: { dim: 64, n_layers: 2, n_heads: 2, maxlen: 200, multiple_of: 32 } },
  // time_bias stays on although the file has no timestamps: the peer computes it too.
  hstu: { model: 'hstu', config: { dim: 64, n_layers: 2, n_heads: 2, maxlen: 200, temperature: 1, item_l2_norm: false, time_bias: true } },
} as const;

interface Run {
  seconds: number;
  tokensPerSecond: number;
  maxRssMB: number;
}

async function reclmEpochHere(name: keyof typeof CONFIG): Promise<Run> {
  const dir = join(mkdtempSync(join(tmpdir(), 'reclm-bench-')), 'art');
  compileJob({ model: MODELS[CONFIG[name].model] as never, loss: 'bce', config: { ...CONFIG[name].config }, optimizer: SEED_ADAMW, data, initSeed: 1, outDir: dir });
  const s = await train({
    dir, data, epochs: 1, batchSize: 128, schedule: { kind: 'constant', lr: 1e-3 }, seed: 1, threads, fusedSteps: fused,
    evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true,
  });
  return { seconds: s.seconds, tokensPerSecond: s.tokensPerSecond, maxRssMB: process.resourceUsage().maxRSS / 1024 };
}

/** One epoch in a fresh process, so its peak memory (maxRSS: compile + one epoch, MiB) is its own. */
function reclmEpoch(name: keyof typeof CONFIG): Run {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--one', name, '--threads', String(threads), '--fused', String(fused)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Run;
}

function torchEpoch(name: keyof typeof CONFIG): Run | null {
  if (!existsSync('/usr/bin/python3')) return null;
  // Run the peer under runpy so its peak memory can be read when it is done.
  const wrapper = `import runpy, resource, sys; sys.argv = ${JSON.stringify([TORCH, '--model', name, '--data', DATA, '--epochs', '1', '--threads', '2', '--no-eval'])}; runpy.run_path(sys.argv[0], run_name='__main__'); print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)`;
  const out = execFileSync('/usr/bin/python3', ['-c', wrapper], { encoding: 'utf8' });
  const m = /epoch 1: ([\d.]+) s\/epoch.*training tokens\/s ([\d,]+)/.exec(out);
  const rss = /maxrss_kb (\d+)/.exec(out);
  if (!m || !rss) throw new Error(`unexpected torch_train.py output:\n${out}`);
  return { seconds: Number(m[1]), tokensPerSecond: Number(m[2].replace(/,/g, '')), maxRssMB: Number(rss[1]) / 1024 };
}

if (process.argv.includes('--one')) {
  console.log(JSON.stringify(await reclmEpochHere(arg('one', 'llama') as keyof typeof CONFIG)));
  process.exit(0);
}

console.log(`ML-1M 5-core (${data.sequences.length} users, ${data.numItems} items), batch 128, maxlen 200, d=64, 2 layers, 2 heads, BCE; reclm threads=${threads} K=${fused}`);
console.log('model   runtime   s/epoch   tokens/s   peak RSS   (median of ' + repeats + '; peak RSS: the largest of the runs, in MiB)');
for (const name of models as (keyof typeof CONFIG)[]) {
  const ours = [];
  for (let r = 0; r < repeats; r++) ours.push(await reclmEpoch(name));
  const theirs = [];
  if (!process.argv.includes('--skip-torch')) for (let r = 0; r < repeats; r++) theirs.push(torchEpoch(name));
  const row = (who: string, xs: Run[]) =>
    console.log(
      `${name.padEnd(8)}${who.padEnd(10)}${median(xs.map((x) => x.seconds)).toFixed(1).padStart(8)}${Math.round(median(xs.map((x) => x.tokensPerSecond))).toLocaleString('en-US').padStart(11)}${`${Math.round(Math.max(...xs.map((x) => x.maxRssMB)))} MB`.padStart(11)}`,
    );
  row('reclm', ours);
  const t = theirs.filter((x): x is Run => x !== null);
  if (t.length) {
    row('pytorch', t);
    console.log(`${name.padEnd(8)}ratio     tokens/s reclm / pytorch = ${(median(ours.map((x) => x.tokensPerSecond)) / median(t.map((x) => x.tokensPerSecond))).toFixed(2)}x`);
  }
}
