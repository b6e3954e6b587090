import * as ort from 'onnxruntime-node';

export type Feeds = Record<string, ort.Tensor>;

export async function createSession(bytes: Uint8Array, optimization: 'disabled' | 'all' = 'all'): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { graphOptimizationLevel: optimization, intraOpNumThreads: 1, interOpNumThreads: 1 });
}

export async function runOnce(bytes: Uint8Array, feeds: Feeds, optimization: 'disabled' | 'all' = 'all'): Promise<Record<string, ort.Tensor>> {
  const session = await createSession(bytes, optimization);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export function f64(data: ArrayLike<number>, dims: number[]): ort.Tensor {
  return new ort.Tensor('float64', Float64Array.from(data), dims);
}

export function f32(data: ArrayLike<number>, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(data), dims);
}

export function i64(data: ArrayLike<number>, dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(Array.from(data), (v) => BigInt(v)), dims);
}

export function numbers(t: ort.Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}
