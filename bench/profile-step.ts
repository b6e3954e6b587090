// Profiles one training step of a compiled artifact folder with onnxruntime's profiler and
// prints the time per op type and the slowest nodes. Usage:
//   npx tsx bench/profile-step.ts DIR DATA [--threads N] [--batch B] [--graph training|train_step]
import * as ort from 'onnxruntime-node';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../src/compiler/artifacts.js';
import { openDataset } from '../src/data/open.js';
import { leaveOneOutSplit } from '../src/data/split.js';
import { TrainSampler } from '../src/data/sampler.js';
import { initialParams } from '../src/runtime/init.js';
import { answerHelp } from './help.js';

answerHelp(`onnxruntime's profile of one training step of a compiled artifact folder: time per op type and the slowest nodes.

usage: npx tsx bench/profile-step.ts [--help] DIR DATA [--threads 1] [--batch 128] [--graph training|train_step]`);

const [dir, data] = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const threads = Number(arg('threads', '1'));
const B = Number(arg('batch', '128'));
const manifest = readManifest(dir, false);
const L = manifest.dataset.maxlen;
const inputs = manifest.graphs.training.inputs;
const negs = inputs.find((i) => i.name === 'negs');
const split = leaveOneOutSplit(openDataset(data));
const sampler = new TrainSampler(split, { maxlen: L, batchSize: B, needNeg: inputs.some((i) => i.name === 'neg'), numNegatives: negs ? Number(negs.shape[negs.shape.length - 1]) : 0, sharedNegatives: negs?.shape.length === 1, needTimestamps: inputs.some((i) => i.name === 'ts_ext') }, 1);
const params = initialParams(manifest.params.map((p) => ({ ...p, zeroGradRows: p.zeroGradRows })), 1);
const prefix = `/tmp/reclm-prof-${process.pid}`;
const session = await ort.InferenceSession.create(join(dir, 'training.onnx'), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix });
const feeds: Record<string, ort.Tensor> = {};
for (const [name, p] of params) feeds[name] = new ort.Tensor('float32', p.data, p.shape);
const dims: Record<string, number[]> = { seq: [B, L], pos: [B, L], neg: [B, L], negs: negs?.shape.length === 1 ? [Number(negs.shape[0])] : [B, L, negs ? Number(negs.shape[2]) : 0], ts_ext: [B, L + 1] };
const times: number[] = [];
for (let i = 0; i < 6; i++) {
  const b = sampler.nextBatch();
  for (const s of inputs) if (s.name in dims) feeds[s.name] = new ort.Tensor('int64', b[s.name as 'seq']!, dims[s.name]);
  feeds.seed = new ort.Tensor('int64', BigInt64Array.of(1n), []);
  // Graphs with dropout also take the batch's first row index (0: a whole batch).
  if (inputs.some((s) => s.name === 'row_offset')) feeds.row_offset = new ort.Tensor('int64', BigInt64Array.of(0n), []);
  feeds.step = new ort.Tensor('int64', BigInt64Array.of(BigInt(i)), []);
  const t0 = performance.now();
  await session.run(feeds);
  times.push(performance.now() - t0);
}
session.endProfiling();
await session.release();
// onnxruntime-node's endProfiling() returns nothing; the file is <prefix>_<date>.json.
const path = join('/tmp', readdirSync('/tmp').find((f) => f.startsWith(`reclm-prof-${process.pid}_`))!);
const events = JSON.parse(readFileSync(path, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
rmSync(path, { force: true });
const byOp = new Map<string, number>();
const byNode = new Map<string, number>();
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const op = e.args?.op_name ?? '?';
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  const key = `${op} ${e.name.replace('_kernel_time', '')}`;
  byNode.set(key, (byNode.get(key) ?? 0) + e.dur);
}
const total = [...byOp.values()].reduce((a, b) => a + b, 0);
console.log(`step times (ms): ${times.map((t) => t.toFixed(0)).join(' ')}; kernel total over 6 runs ${(total / 1000).toFixed(0)} ms`);
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${op.padEnd(28)} ${(us / 6000).toFixed(1).padStart(8)} ms/step  ${((100 * us) / total).toFixed(1)}%`);
console.log('slowest nodes:');
for (const [n, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, Number(arg("top", "20")))) console.log(`  ${(us / 6000).toFixed(1).padStart(7)} ms  ${n}`);
