/** Random parameters and training batches for tiny model configs (the way src/data builds them, docs/models.md §1). */
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/dsl/graph.js';
import { LossName, ModelConfig } from '../../graphs/index.js';
import { rand } from './gradcheck.js';
import { Feeds } from './ort.js';


/** Standard normal numbers from a uniform generator (Box–Muller). */
export function normal(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/**
 * Parameter values at fixture-like scale (≈0.3, norm weights ≈1), so the nonlinearities are
 * exercised; keyed by the graph's parameters.
 */
export function randomParams(g: Graph, seed: number, scale = 0.3): Record<string, Float32Array> {
  const n = normal(rand(seed));
  const out: Record<string, Float32Array> = {};
  for (const p of g.params) {
    const size = p.shape.reduce((a: number, b) => a * (b as number), 1);
    const init = (p.source as { info: { init: { kind: string } } }).info.init.kind;
    out[p.name] = Float32Array.from({ length: size }, () => (init === 'ones' ? 1 + 0.3 * n() : scale * n()));
  }
  return out;
}

/**
 * Three rows built from user histories as the seed does: row 0 from a history longer than
 * maxlen (truncated, every slot real), row 1 short (left padding), row 2 from a one-item
 * history (fully padded: no input, no target).
 */
export function randomBatch(c: ModelConfig, loss: LossName, seed: number): Feeds {
  const r = rand(seed);
  const V = c.num_items;
  const L = c.maxlen;
  const item = () => 1 + Math.floor(r() * V);
  const histories = [L + 4, 3, 1].map((n) => Array.from({ length: n }, item));
  const B = histories.length;
  const seq = new BigInt64Array(B * L);
  const pos = new BigInt64Array(B * L);
  const neg = new BigInt64Array(B * L);
  const tsExt = new BigInt64Array(B * (L + 1));
  histories.forEach((h, b) => {
    // Timestamps with gaps from 1 s to ~1e6 s, so time buckets spread over 0..45.
    const ts: number[] = [];
    let t = 1_600_000_000;
    for (let i = 0; i < h.length; i++) ts.push((t += Math.floor(Math.exp(r() * 14))));
    const x = h.slice(0, -1).slice(-L);
    const y = h.slice(1).slice(-L);
    const tx = ts.slice(0, -1).slice(-L);
    const n = x.length;
    const seen = new Set(h);
    for (let i = 0; i < n; i++) {
      const slot = L - n + i;
      seq[b * L + slot] = BigInt(x[i]);
      pos[b * L + slot] = BigInt(y[i]);
      let v = item();
      while (seen.has(v) && seen.size < V) v = item();
      neg[b * L + slot] = BigInt(v);
      tsExt[b * (L + 1) + slot] = BigInt(tx[i]);
    }
    if (n > 0) tsExt[b * (L + 1) + L] = BigInt(ts[ts.length - 1]);
  });
  const feeds: Feeds = {
    seq: new ort.Tensor('int64', seq, [B, L]),
    pos: new ort.Tensor('int64', pos, [B, L]),
  };
  if (c.model === 'hstu') feeds.ts_ext = new ort.Tensor('int64', tsExt, [B, L + 1]);
  if (loss === 'bce') feeds.neg = new ort.Tensor('int64', neg, [B, L]);
  if (loss === 'sampled-softmax') {
    const R = c.num_negatives;
    if (c.shared_negatives) {
      feeds.negs = new ort.Tensor('int64', BigInt64Array.from({ length: R }, () => BigInt(item())), [R]);
    } else {
      // Uniform over all items (collisions with the positive allowed); force one collision.
      const negs = BigInt64Array.from({ length: B * L * R }, () => BigInt(item()));
      negs[(L - 1) * R] = pos[L - 1];
      feeds.negs = new ort.Tensor('int64', negs, [B, L, R]);
    }
  }
  return feeds;
}

export function paramFeeds(values: Record<string, Float32Array>, g: Graph): Feeds {
  const feeds: Feeds = {};
  for (const p of g.params) feeds[p.name] = new ort.Tensor('float32', values[p.name], p.shape as number[]);
  return feeds;
}

export function scalarI64(v: number): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from([BigInt(v)]), []);
}
