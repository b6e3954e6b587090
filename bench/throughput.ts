// One training epoch of ML-1M (SASRec 5-core file) per model, reclm next to the PyTorch peer
// (shared/reference/torch_train.py), same recipe: d=64, 2 layers, 2 heads, batch 128,
// maxlen 200, BCE with one negative, AdamW + clipping. Prints seconds per epoch and real
// (non-padding) training tokens per second. Not a test: the numbers depend on the machine.
//   npx tsx bench/throughput.ts [--threads 2] [--fused 8] [--skip-torch] [--models llama,hstu] [--repeats 1]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../graphs/index.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import { readDataset } from '../src/data/read.js';
import { train } from '../src/runtime/trainer.js';

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

async function reclmEpoch(name: keyof typeof CONFIG): Promise<{ seconds: number; tokensPerSecond: number }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'reclm-bench-')), 'art');
  compileJob({ model: MODELS[CONFIG[name].model] as never, loss: 'bce', config: { ...CONFIG[name].config }, optimizer: SEED_ADAMW, data, initSeed: 1, outDir: dir });
  const s = await train({
    dir, data, epochs: 1, batchSize: 128, schedule: { kind: 'constant', lr: 1e-3 }, seed: 1, threads, fusedSteps: fused,
    evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true,
  });
  return { seconds: s.seconds, tokensPerSecond: s.tokensPerSecond };
}

function torchEpoch(name: keyof typeof CONFIG): { seconds: number; tokensPerSecond: number } | null {
  if (!existsSync('/usr/bin/python3')) return null;
  const out = execFileSync('/usr/bin/python3', [TORCH, '--model', name, '--data', DATA, '--epochs', '1', '--threads', '2', '--no-eval'], { encoding: 'utf8' });
  const m = /epoch 1: ([\d.]+) s\/epoch.*training tokens\/s ([\d,]+)/.exec(out);
  if (!m) throw new Error(`unexpected torch_train.py output:\n${out}`);
  return { seconds: Number(m[1]), tokensPerSecond: Number(m[2].replace(/,/g, '')) };
}

console.log(`ML-1M 5-core (${data.sequences.length} users, ${data.numItems} items), batch 128, maxlen 200, d=64, 2 layers, 2 heads, BCE; reclm threads=${threads} K=${fused}`);
console.log('model   runtime   s/epoch   tokens/s   (median of ' + repeats + ')');
for (const name of models as (keyof typeof CONFIG)[]) {
  const ours = [];
  for (let r = 0; r < repeats; r++) ours.push(await reclmEpoch(name));
  const theirs = [];
  if (!process.argv.includes('--skip-torch')) for (let r = 0; r < repeats; r++) theirs.push(torchEpoch(name));
  const row = (who: string, xs: { seconds: number; tokensPerSecond: number }[]) =>
    console.log(`${name.padEnd(8)}${who.padEnd(10)}${median(xs.map((x) => x.seconds)).toFixed(1).padStart(8)}${Math.round(median(xs.map((x) => x.tokensPerSecond))).toLocaleString('en-US').padStart(11)}`);
  row('reclm', ours);
  const t = theirs.filter((x): x is { seconds: number; tokensPerSecond: number } => x !== null);
  if (t.length) {
    row('pytorch', t);
    console.log(`${name.padEnd(8)}ratio     tokens/s reclm / pytorch = ${(median(ours.map((x) => x.tokensPerSecond)) / median(t.map((x) => x.tokensPerSecond))).toFixed(2)}x`);
  }
}
