// One training epoch of ML-1M (SASRec 5-core file) per model, reclm next to the PyTorch peer
// (shared/reference/torch_train.py), same recipe: d=64, 2 layers, 2 heads, batch 128,
// maxlen 200, BCE with one negative, AdamW + clipping. Prints seconds per epoch and real
// (non-padding) training tokens per second. Not a test: the numbers depend on the machine.
// reclm trains with length buckets (--bucket, 0: off); llama masks padding keys (as SASRec
// and the ml-1m-llama preset do), which makes it padding-invariant and so trimmable; the
// mask is one additive [L, L] term, no cost that matters next to the attention itself.
// --baseline DIR also runs the same epoch with another reclm checkout (e.g. the main branch)
// in the same session, for a before/after comparison on the same machine load; --unbucketed
// also runs this checkout with --bucket 0.
//   npx tsx bench/throughput.ts [--threads 2] [--fused 8] [--bucket 16] [--skip-torch] [--models llama,hstu] [--repeats 1] [--baseline DIR] [--unbucketed]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../graphs/index.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import { readDataset } from '../src/data/read.js';
import type { Dataset } from '../src/data/types.js';
import { train } from '../src/runtime/trainer.js';
import { answerHelp } from './help.js';

answerHelp(`One ML-1M training epoch per model (SASRec 5-core file), reclm next to the PyTorch peer, same recipe
(d=64, 2 layers, 2 heads, batch 128, maxlen 200, BCE): seconds per epoch and real tokens per second.
--bucket N: reclm's length-bucket multiple (0: every batch maxlen wide). --baseline DIR: also run the
epoch with the reclm checkout in DIR (its own bench/throughput.ts --one), e.g. the main branch.
--unbucketed: also run this checkout with --bucket 0. --threads N applies to every runtime, the peer included.

usage: npx tsx bench/throughput.ts [--help] [--threads 2] [--fused 8] [--bucket 16] [--skip-torch] [--models llama,hstu] [--repeats 1] [--baseline DIR] [--unbucketed]`);

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const DATA = new URL('../../shared/data/ml-1m.sasrec-5core.reconstructed.txt.gz', import.meta.url).pathname;
const TORCH = new URL('../../shared/reference/torch_train.py', import.meta.url).pathname;
const threads = Number(arg('threads', '2'));
const fused = Number(arg('fused', '8'));
const repeats = Number(arg('repeats', '1'));
const bucket = Number(arg('bucket', '16'));
const baseline = process.argv.includes('--baseline') ? arg('baseline', '') : null;
const alsoUnbucketed = process.argv.includes('--unbucketed');
const models = arg('models', 'llama,hstu').split(',');
const plain = readDataset(DATA);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const CONFIG = {
  llama: { model: 'llama-sasrec', config: { dim: 64, n_layers: 2, n_heads: 2, maxlen: 200, multiple_of: 32, key_padding_mask: true } },
  // time_bias stays on although the file has no timestamps: the peer computes it too (over zero
  // gaps), so reclm gets zero timestamps (withZeroTimes) and does the same work.
  hstu: { model: 'hstu', config: { dim: 64, n_layers: 2, n_heads: 2, maxlen: 200, temperature: 1, item_l2_norm: false, time_bias: true } },
} as const;

interface Run {
  seconds: number;
  tokensPerSecond: number;
  maxRssMB: number;
  /** CPU seconds (user + system) of the whole process, set-up included; NaN when not measured. */
  cpuSeconds?: number;
}

/**
 * Runs a command under python3 to read its CPU time (RUSAGE_CHILDREN: user + system seconds of
 * the whole process tree). On a machine shared with other work, wall time depends on the load;
 * CPU time much less so. Without python3 the command runs directly and the CPU time is NaN.
 */
function withCpuTime(cmd: string, args: string[], cwd?: string): { stdout: string; cpuSeconds: number } {
  if (!existsSync('/usr/bin/python3')) return { stdout: execFileSync(cmd, args, { encoding: 'utf8', cwd }), cpuSeconds: NaN };
  const wrapper = 'import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True, check=True); sys.stdout.write(r.stdout); u = resource.getrusage(resource.RUSAGE_CHILDREN); print("\\ncpu_s", u.ru_utime + u.ru_stime)';
  const out = execFileSync('/usr/bin/python3', ['-c', wrapper, cmd, ...args], { encoding: 'utf8', cwd });
  const m = /cpu_s ([\d.]+)\s*$/.exec(out);
  return { stdout: out.replace(/\s*cpu_s [\d.]+\s*$/, ''), cpuSeconds: m ? Number(m[1]) : NaN };
}

/** The data with every timestamp 0: what the peer's HSTU reads from a file without timestamps. */
const withZeroTimes = (d: Dataset): Dataset => ({ ...d, timestamps: d.sequences.map((s) => new Float64Array(s.length)) });

async function reclmEpochHere(name: keyof typeof CONFIG): Promise<Run> {
  const dir = join(mkdtempSync(join(tmpdir(), 'reclm-bench-')), 'art');
  const data = name === 'hstu' ? withZeroTimes(plain) : plain;
  compileJob({ model: MODELS[CONFIG[name].model] as never, loss: 'bce', config: { ...CONFIG[name].config }, optimizer: SEED_ADAMW, data, initSeed: 1, outDir: dir });
  const s = await train({
    dir, data, epochs: 1, batchSize: 128, schedule: { kind: 'constant', lr: 1e-3 }, seed: 1, threads, fusedSteps: fused, bucket,
    evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true,
  });
  return { seconds: s.seconds, tokensPerSecond: s.tokensPerSecond, maxRssMB: process.resourceUsage().maxRSS / 1024 };
}

/**
 * One epoch in a fresh process, so its peak memory (maxRSS: compile + one epoch, MiB) is its own;
 * with `checkout`, the bench script of that reclm checkout runs it (its own code, its own recipe).
 */
function reclmEpoch(name: keyof typeof CONFIG, checkout: string | null = null, multiple = bucket): Run {
  const self = checkout ? join(checkout, 'bench', 'throughput.ts') : fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--one', name, '--threads', String(threads), '--fused', String(fused), ...(checkout ? [] : ['--bucket', String(multiple)])];
  const { stdout, cpuSeconds } = withCpuTime(process.execPath, args, checkout ?? undefined);
  return { ...(JSON.parse(stdout.trim().split('\n').at(-1)!) as Run), cpuSeconds };
}

function torchEpoch(name: keyof typeof CONFIG): Run | null {
  if (!existsSync('/usr/bin/python3')) return null;
  // Run the peer under runpy so its peak memory can be read when it is done.
  const wrapper = `import runpy, resource, sys; sys.argv = ${JSON.stringify([TORCH, '--model', name, '--data', DATA, '--epochs', '1', '--threads', String(threads), '--no-eval'])}; runpy.run_path(sys.argv[0], run_name='__main__'); u = resource.getrusage(resource.RUSAGE_SELF); print('maxrss_kb', u.ru_maxrss, 'cpu_s', u.ru_utime + u.ru_stime)`;
  const out = execFileSync('/usr/bin/python3', ['-c', wrapper], { encoding: 'utf8' });
  const m = /epoch 1: ([\d.]+) s\/epoch.*training tokens\/s ([\d,]+)/.exec(out);
  const rss = /maxrss_kb (\d+) cpu_s ([\d.]+)/.exec(out);
  if (!m || !rss) throw new Error(`unexpected torch_train.py output:\n${out}`);
  return { seconds: Number(m[1]), tokensPerSecond: Number(m[2].replace(/,/g, '')), maxRssMB: Number(rss[1]) / 1024, cpuSeconds: Number(rss[2]) };
}

if (process.argv.includes('--one')) {
  console.log(JSON.stringify(await reclmEpochHere(arg('one', 'llama') as keyof typeof CONFIG)));
  process.exit(0);
}

console.log(`ML-1M 5-core (${plain.sequences.length} users, ${plain.numItems} items), batch 128, maxlen 200, d=64, 2 layers, 2 heads, BCE; reclm threads=${threads} K=${fused} bucket=${bucket}${baseline ? `; baseline: ${baseline}` : ''}`);
console.log('model   runtime   s/epoch   tokens/s   peak RSS   CPU s   (median of ' + repeats + '; peak RSS: the largest of the runs, in MiB; CPU s: user + system seconds of the whole process, set-up included)');
for (const name of models as (keyof typeof CONFIG)[]) {
  // Interleaved repeats, so a change in the machine's load hits every runtime alike.
  const ours: Run[] = [];
  const before: Run[] = [];
  const unbucketed: Run[] = [];
  const theirs: (Run | null)[] = [];
  let baselineFailed = '';
  for (let r = 0; r < repeats; r++) {
    ours.push(reclmEpoch(name));
    if (alsoUnbucketed) unbucketed.push(reclmEpoch(name, null, 0));
    if (baseline && !baselineFailed) {
      try {
        before.push(reclmEpoch(name, baseline));
      } catch (e) {
        baselineFailed = /\w*Error: [^\n]*/.exec(String((e as { stderr?: string }).stderr ?? e))?.[0] ?? String(e);
      }
    }
    if (!process.argv.includes('--skip-torch')) theirs.push(torchEpoch(name));
  }
  const row = (who: string, xs: Run[]) =>
    console.log(
      `${name.padEnd(8)}${who.padEnd(10)}${median(xs.map((x) => x.seconds)).toFixed(1).padStart(8)}${Math.round(median(xs.map((x) => x.tokensPerSecond))).toLocaleString('en-US').padStart(11)}${`${Math.round(Math.max(...xs.map((x) => x.maxRssMB)))} MB`.padStart(11)}${median(xs.map((x) => x.cpuSeconds ?? NaN)).toFixed(1).padStart(8)}`,
    );
  row('reclm', ours);
  if (unbucketed.length) {
    row('bucket 0', unbucketed);
    console.log(`${name.padEnd(8)}ratio     tokens/s reclm / bucket 0 = ${(median(ours.map((x) => x.tokensPerSecond)) / median(unbucketed.map((x) => x.tokensPerSecond))).toFixed(2)}x, CPU s bucket 0 / reclm = ${(median(unbucketed.map((x) => x.cpuSeconds ?? NaN)) / median(ours.map((x) => x.cpuSeconds ?? NaN))).toFixed(2)}x`);
  }
  if (baselineFailed) console.log(`${name.padEnd(8)}baseline  failed: ${baselineFailed}`);
  if (before.length) {
    row('baseline', before);
    console.log(`${name.padEnd(8)}ratio     tokens/s reclm / baseline = ${(median(ours.map((x) => x.tokensPerSecond)) / median(before.map((x) => x.tokensPerSecond))).toFixed(2)}x, CPU s baseline / reclm = ${(median(before.map((x) => x.cpuSeconds ?? NaN)) / median(ours.map((x) => x.cpuSeconds ?? NaN))).toFixed(2)}x`);
  }
  const t = theirs.filter((x): x is Run => x !== null);
  if (t.length) {
    row('pytorch', t);
    console.log(`${name.padEnd(8)}ratio     tokens/s reclm / pytorch = ${(median(ours.map((x) => x.tokensPerSecond)) / median(t.map((x) => x.tokensPerSecond))).toFixed(2)}x, CPU s pytorch / reclm = ${(median(t.map((x) => x.cpuSeconds ?? NaN)) / median(ours.map((x) => x.cpuSeconds ?? NaN))).toFixed(2)}x`);
  }
}
