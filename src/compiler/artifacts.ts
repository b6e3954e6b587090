import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Graph, ParamInfo, Tensor } from '../dsl/graph.js';
import { DType, Dim } from '../dsl/types.js';
import { IR_VERSION, OPSET, emitModel } from '../onnx/emit.js';
import { AdamWConfig, buildOptimizerGraph } from './adamw.js';
import { buildFusedTrainStep } from './fused.js';
import { addGradientOutputs } from './training.js';
import { simplify } from './simplify.js';
import { VERSION } from '../version.js';
import { checkReplaceableDir } from '../util/safe-paths.js';
import { ReclmError } from '../errors.js';

export type LossName = 'bce' | 'sampled-softmax' | 'full-ce';

/** What the compiler needs from a model file in graphs/ (see graphs/index.ts). */
export interface ModelDefinition<C = Record<string, unknown>> {
  name: string;
  resolveConfig(raw: Record<string, unknown>): C;
  /** Training graph: declares params, batch inputs and (when training) `seed`/`step`; sets output `loss`. */
  buildTraining(g: Graph, config: C, loss: LossName, opts: { training: boolean; debugOutputs?: boolean }): { loss: Tensor };
  /** Inference graph: params, `seq` (+`ts_ext`), `k` → user_emb, scores, top_items, top_scores. */
  buildInference(g: Graph, config: C): void;
  /** Optional: adjusts a raw config to the training data (e.g. no timestamps) and says why. */
  adaptToData?(raw: Record<string, unknown>, data: { hasTimestamps: boolean }): { config: Record<string, unknown>; notes: string[] };
}

export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export interface GraphEntry {
  file: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  nodes: number;
}

export interface Manifest {
  format: 'reclm-artifacts/1';
  tool: { name: 'reclm'; version: string };
  model: string;
  loss: LossName;
  config: Record<string, unknown>;
  dataset: { numItems: number; maxlen: number; source?: string; itemMap?: string };
  /** Training defaults from a preset (batch size, lr, epochs, ...); flags override them. */
  recipe?: Record<string, unknown>;
  optimizer: AdamWConfig;
  opset: number;
  irVersion: number;
  params: { name: string; shape: number[]; dtype: 'float32'; decay: boolean; init: ParamInfo['init']; zeroGradRows: number[] }[];
  graphs: Record<'training' | 'eval' | 'optimizer' | 'train_step' | 'inference_graph', GraphEntry>;
  /** sha256 of every file in the folder except the manifest itself. */
  files: Record<string, string>;
  createdAt: string;
}

export const GRAPH_FILES = {
  training: 'training.onnx',
  eval: 'eval.onnx',
  optimizer: 'optimizer.onnx',
  train_step: 'train_step.onnx',
  inference_graph: 'inference_graph.onnx',
} as const;

export interface CompileRequest<C> {
  model: ModelDefinition<C>;
  rawConfig: Record<string, unknown>;
  loss: LossName;
  optimizer: AdamWConfig;
  source?: string;
}

export interface CompiledGraphs {
  config: Record<string, unknown>;
  params: ParamInfo[];
  graphs: Record<keyof typeof GRAPH_FILES, Graph>;
}

const specOf = (t: Tensor): TensorSpec => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] });

/** Builds every graph of the artifact set in memory. */
export function buildArtifactGraphs<C>(req: CompileRequest<C>): CompiledGraphs {
  const config = req.model.resolveConfig(req.rawConfig);
  const training = new Graph('training');
  const { loss } = req.model.buildTraining(training, config, req.loss, { training: true });
  addGradientOutputs(training, loss);
  const params = training.params.map((p) => (p.source as { info: ParamInfo }).info);
  const evalGraph = new Graph('eval');
  req.model.buildTraining(evalGraph, config, req.loss, { training: false });
  const trainStep = buildFusedTrainStep((g) => req.model.buildTraining(g, config, req.loss, { training: true }), req.optimizer);
  const inference = new Graph('inference');
  req.model.buildInference(inference, config);
  return {
    config: config as Record<string, unknown>,
    params,
    graphs: { training, eval: evalGraph, optimizer: buildOptimizerGraph(params, req.optimizer), train_step: trainStep, inference_graph: inference },
  };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes the artifact set into `outDir` (DESIGN.md "The artifact contract"). Files are
 * written into a temporary sibling folder that is renamed into place at the end, so a
 * failure never leaves a half-written artifact folder behind. `outDir` must be absent, empty,
 * or a reclm artifact folder replaced with `replace.force` (checkReplaceableDir: never a file,
 * a foreign folder, the working directory or a folder holding one of `replace.protect`).
 */
export function writeArtifacts<C>(
  req: CompileRequest<C>,
  outDir: string,
  extraFiles: Record<string, Uint8Array> = {},
  extras: { recipe?: Record<string, unknown>; itemMap?: string } = {},
  built: CompiledGraphs = buildArtifactGraphs(req),
  replace: { force?: boolean; protect?: readonly string[] } = {},
): Manifest {
  const existing = checkReplaceableDir(outDir, { flag: '--out', force: replace.force ?? false, protect: replace.protect });
  const target = resolve(outDir);
  const tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const files: Record<string, string> = {};
    const graphs = {} as Manifest['graphs'];
    for (const [key, file] of Object.entries(GRAPH_FILES) as [keyof typeof GRAPH_FILES, string][]) {
      const g = built.graphs[key];
      const simplified = simplify(g);
      const bytes = emitModel(simplified, { docString: `reclm ${req.model.name} ${key}`, producerVersion: VERSION, raw: true });
      writeFileSync(join(tmp, file), bytes);
      files[file] = sha256(bytes);
      const order = [...g.params, ...g.inputs];
      graphs[key] = { file, inputs: order.map(specOf), outputs: [...g.outputs].map(([name, t]) => ({ ...specOf(t), name })), nodes: simplified.nodes.length };
    }
    for (const [file, bytes] of Object.entries(extraFiles)) {
      writeFileSync(join(tmp, file), bytes);
      files[file] = sha256(bytes);
    }
    const cfg = built.config;
    const manifest: Manifest = {
      format: 'reclm-artifacts/1',
      tool: { name: 'reclm', version: VERSION },
      model: req.model.name,
      loss: req.loss,
      config: cfg,
      dataset: { numItems: Number(cfg.num_items), maxlen: Number(cfg.maxlen), source: req.source, itemMap: extras.itemMap },
      recipe: extras.recipe,
      optimizer: req.optimizer,
      opset: OPSET,
      irVersion: IR_VERSION,
      params: built.params.map((p) => ({ name: p.name, shape: [...p.shape], dtype: 'float32', decay: p.decay, init: p.init, zeroGradRows: p.zeroGradRows })),
      graphs,
      files,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    // The old folder was checked to hold only reclm's files; move it aside, then swap.
    const old = `${target}.old-${process.pid}`;
    if (existing !== 'absent') renameSync(target, old);
    renameSync(tmp, target);
    rmSync(old, { recursive: true, force: true });
    return manifest;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export class ArtifactError extends ReclmError {}

/** Reads and verifies an artifact folder's manifest and file hashes. */
export function readManifest(dir: string, verify = true): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (e) {
    throw new ArtifactError(`${dir} is not a reclm artifact folder: cannot read manifest.json (${(e as Error).message}); run 'reclm compile' first`);
  }
  if (manifest.format !== 'reclm-artifacts/1') throw new ArtifactError(`${dir}/manifest.json: unknown format '${manifest.format}'`);
  if (verify) {
    for (const [file, hash] of Object.entries(manifest.files)) {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(join(dir, file));
      } catch {
        throw new ArtifactError(`${dir}/${file} is missing (listed in manifest.json); recompile the artifacts`);
      }
      if (sha256(bytes) !== hash) throw new ArtifactError(`${dir}/${file} does not match its sha256 in manifest.json; the file is corrupted or was changed, recompile`);
    }
  }
  return manifest;
}
