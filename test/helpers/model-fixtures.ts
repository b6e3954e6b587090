/** Loading the model fixtures of shared/fixtures and running a model's training graph on them. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../src/dsl/graph.js';
import { addGradientOutputs } from '../../src/compiler/training.js';
import { emitModel } from '../../src/onnx/emit.js';
import { getModel, parseLossName, ModelConfig, LossName, ModelDefinition } from '../../graphs/index.js';
import { Feeds, createSession } from './ort.js';

export const FIXTURE_DIR = process.env.RECLM_FIXTURES ?? path.resolve(import.meta.dirname, '../../../shared/fixtures');

export interface FixtureTensor {
  name: string;
  shape: number[];
  dtype?: string;
  values: number[];
}

export interface ModelFixture {
  name: string;
  model: string;
  loss: string;
  config: Record<string, unknown>;
  params: FixtureTensor[];
  inputs: FixtureTensor[];
  derived?: FixtureTensor[];
  outputs: FixtureTensor[];
  grads: FixtureTensor[];
}

export function fixturePath(name: string): string {
  return path.join(FIXTURE_DIR, `${name}.json`);
}

export function loadFixture(name: string): ModelFixture {
  return JSON.parse(fs.readFileSync(fixturePath(name), 'utf8')) as ModelFixture;
}

export function toOrt(t: FixtureTensor): ort.Tensor {
  if (t.dtype === 'int64') return new ort.Tensor('int64', BigInt64Array.from(t.values, (v) => BigInt(v)), t.shape);
  return new ort.Tensor('float32', Float32Array.from(t.values), t.shape);
}

export interface FixtureRun {
  model: ModelDefinition<ModelConfig>;
  config: ModelConfig;
  loss: LossName;
  graph: Graph;
  outputs: Record<string, ort.Tensor>;
}

/** Builds the training graph (debug outputs and gradients), feeds the fixture's params and inputs, runs it. */
export async function runFixture(fx: ModelFixture, opts: { training?: boolean; extraFeeds?: Feeds } = {}): Promise<FixtureRun> {
  const model = getModel(fx.model);
  const config = model.resolveConfig(fx.config);
  const loss = parseLossName(fx.loss);
  const g = new Graph(fx.name);
  const built = model.buildTraining(g, config, loss, { training: opts.training ?? false, debugOutputs: true });
  addGradientOutputs(g, built.loss);
  const session = await createSession(emitModel(g));
  const feeds: Feeds = { ...opts.extraFeeds };
  for (const t of [...fx.params, ...fx.inputs]) feeds[t.name] = toOrt(t);
  try {
    const outputs = await session.run(feeds);
    return { model, config, loss, graph: g, outputs };
  } finally {
    await session.release();
  }
}

export interface Comparison {
  maxAbs: number;
  /** Largest |a − e| / (atol + rtol·|e|): at most 1 passes. */
  worstRatio: number;
  worstIndex: number;
}

/** Element-wise |a − e| ≤ atol + rtol·|e|. */
export function compare(actual: ArrayLike<number | bigint>, expected: readonly number[], rtol: number, atol: number): Comparison {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs expected ${expected.length}`);
  let maxAbs = 0;
  let worstRatio = 0;
  let worstIndex = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const e = expected[i];
    const err = Math.abs(a - e);
    const ratio = Number.isNaN(a) ? Infinity : err / (atol + rtol * Math.abs(e));
    if (err > maxAbs || Number.isNaN(a)) maxAbs = Number.isNaN(a) ? NaN : err;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
  }
  return { maxAbs, worstRatio, worstIndex };
}
