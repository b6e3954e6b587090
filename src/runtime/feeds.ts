import * as ort from 'onnxruntime-node';
import { TensorSpec } from '../contract/artifacts.js';
import { ReclmError } from '../errors.js';

export type Feeds = Record<string, ort.Tensor>;

export class FeedError extends ReclmError {}

/**
 * onnxruntime-node silently ignores feeds whose names are not inputs, so a typo
 * would train on defaults without a word. Check names (both ways) and ranks before running.
 */
export function checkFeeds(graph: string, expected: readonly TensorSpec[], feeds: Feeds): void {
  const names = new Set(expected.map((s) => s.name));
  const unknown = Object.keys(feeds).filter((k) => !names.has(k));
  if (unknown.length) throw new FeedError(`${graph}: unknown input(s) ${unknown.join(', ')}; the graph's inputs are ${[...names].join(', ')}`);
  for (const s of expected) {
    const t = feeds[s.name];
    if (!t) throw new FeedError(`${graph}: input '${s.name}' is missing`);
    if (t.dims.length !== s.shape.length) {
      throw new FeedError(`${graph}: input '${s.name}' has shape [${t.dims.join(', ')}], expected rank ${s.shape.length} [${s.shape.join(', ')}]`);
    }
    s.shape.forEach((d, i) => {
      if (typeof d === 'number' && t.dims[i] !== d) throw new FeedError(`${graph}: input '${s.name}' dim ${i} is ${t.dims[i]}, expected ${d}`);
    });
  }
}

/** A rank-0 int64 ORT tensor (dims []) holding `v` (steps, seeds, offsets); a non-integer number makes BigInt() throw a RangeError. */
export function int64Scalar(v: number | bigint): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.of(BigInt(v)), []);
}

/** Stacks K same-shaped int64 arrays into one [K, ...dims] tensor for the fused graph. */
export function stackInt64(parts: readonly BigInt64Array[], dims: readonly number[]): ort.Tensor {
  const n = parts[0].length;
  const out = new BigInt64Array(n * parts.length);
  parts.forEach((p, k) => out.set(p, k * n));
  return new ort.Tensor('int64', out, [parts.length, ...dims]);
}
