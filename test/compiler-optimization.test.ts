import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as F from '../src/dsl/index.js';
import { Graph } from '../src/dsl/graph.js';
import { addGradientOutputs } from '../src/compiler/training.js';
import { emitModel } from '../src/onnx/emit.js';
import { onnx } from '../src/onnx/proto.js';
import { rand } from './helpers/gradcheck.js';
import { Feeds, f32, i64, numbers, runOnce } from './helpers/ort.js';

/**
 * 'all' may rewrite the graph (Transpose folding, Transpose+MatMul -> FusedMatMul, SiLU ->
 * QuickGelu, constant folding), which may reassociate float32 sums. On a transformer-like probe
 * graph the outputs stayed bit-identical; here the MLP is bit-identical and the attention graph differs
 * by ~7e-9 (FusedMatMul sums in another order). The bound |a - b| <= 1e-6 + 1e-5 |b| is a few
 * float32 ulps (2^-24 ~ 6e-8) times the handful of terms any fused op could reorder here,
 * far below what a wrong rewrite would give.
 */
async function compareLevels(bytes: Uint8Array, feeds: Feeds): Promise<number> {
  const ref = await runOnce(bytes, feeds, 'disabled');
  const opt = await runOnce(bytes, feeds, 'all');
  expect(Object.keys(opt).sort()).to.deep.equal(Object.keys(ref).sort());
  let maxDiff = 0;
  for (const name of Object.keys(ref)) {
    const a = numbers(opt[name]);
    const b = numbers(ref[name]);
    expect(opt[name].dims).to.deep.equal(ref[name].dims);
    a.forEach((v, i) => {
      expect(Number.isFinite(v), `${name}[${i}]`).to.equal(true);
      maxDiff = Math.max(maxDiff, Math.abs(v - b[i]));
      expect(Math.abs(v - b[i]), `${name}[${i}]: all ${v} vs disabled ${b[i]}`).to.be.at.most(1e-6 + 1e-5 * Math.abs(b[i]));
    });
  }
  return maxDiff;
}

/** Op types (domain:op) of the model as ORT optimizes it at level 'all'. */
async function optimizedOps(bytes: Uint8Array): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'reclm-opt-'));
  try {
    const path = join(dir, 'opt.onnx');
    const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', optimizedModelFilePath: path, intraOpNumThreads: 1, logSeverityLevel: 3 });
    await s.release();
    return onnx.ModelProto.decode(readFileSync(path)).graph!.node!.map((n) => `${n.domain ?? ''}:${n.opType}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function randomF32(r: () => number, dims: number[]): ort.Tensor {
  return f32(Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1), dims);
}

describe('compiler: ORT graph optimization levels', () => {
  it("MLP with its gradients: 'all' matches 'disabled'", async () => {
    const g = new Graph('mlp');
    const x = g.input('x', 'float32', ['batch', 6]);
    const labels = g.input('labels', 'int64', ['batch']);
    const w1 = g.param('w1', [6, 8], { kind: 'normal', std: 0.5 });
    const b1 = g.param('b1', [8], { kind: 'zeros' });
    const w2 = g.param('w2', [8, 4], { kind: 'normal', std: 0.5 });
    const b2 = g.param('b2', [4], { kind: 'zeros' });
    const logits = F.linear(F.silu(F.linear(x, w1, b1)), w2, b2);
    const [loss] = F.softmaxCrossEntropyLoss(logits, labels, { ignoreIndex: -100 });
    g.output('loss', loss);
    g.output('logits', logits);
    addGradientOutputs(g, loss);
    const r = rand(3);
    const feeds: Feeds = { x: randomF32(r, [5, 6]), labels: i64([0, 3, -100, 2, 1], [5]) };
    for (const p of g.params) feeds[p.name] = randomF32(r, p.shape as number[]);
    await compareLevels(emitModel(g), feeds);
  });

  it("Transpose+MatMul chains (attention-like, with gradients): 'all' matches 'disabled'", async () => {
    const g = new Graph('attn');
    const x = g.input('x', 'float32', [2, 4, 6]);
    const wq = g.param('wq', [6, 6], { kind: 'normal', std: 0.3 });
    const wk = g.param('wk', [6, 6], { kind: 'normal', std: 0.3 });
    const wv = g.param('wv', [6, 6], { kind: 'normal', std: 0.3 });
    const heads = (t: ReturnType<typeof F.matmul>) => F.transpose(F.reshape(t, [2, 4, 2, 3]), [0, 2, 1, 3]); // [B,H,T,dh]
    const q = heads(F.matmul(x, wq));
    const k = heads(F.matmul(x, wk));
    const v = heads(F.matmul(x, wv));
    const scores = F.mul(F.matmul(q, F.transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(3));
    const mask = F.trilu(g.constant(new Uint8Array(16).fill(1), 'bool', [4, 4]), false);
    const att = F.softmax(F.where(mask, scores, -1e9), -1);
    const ctx = F.reshape(F.transpose(F.matmul(att, v), [0, 2, 1, 3]), [2, 4, 6]);
    const out = F.matmul(F.transpose(F.transpose(ctx, [0, 2, 1]), [0, 2, 1]), F.transpose(wq, [1, 0]));
    const loss = F.reduceMean(F.mul(out, out), null);
    g.output('out', out);
    g.output('loss', loss);
    addGradientOutputs(g, loss);
    const r = rand(8);
    const feeds: Feeds = { x: randomF32(r, [2, 4, 6]) };
    for (const p of g.params) feeds[p.name] = randomF32(r, p.shape as number[]);
    const bytes = emitModel(g);
    // The comparison is only meaningful if 'all' really rewrote the Transpose+MatMul pairs.
    expect(await optimizedOps(bytes)).to.include('com.microsoft:FusedMatMul');
    await compareLevels(bytes, feeds);
  });
});
