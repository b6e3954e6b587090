import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelConfig } from '../../graphs/config.js';
import type { ModelDefinition } from '../../graphs/types.js';
import { ARTIFACT_FORMAT, AdamWConfig, GRAPH_FILES, GraphKey, LossName, MANIFEST_FILE, Manifest, ManifestFeatures, TensorSpec, sha256 } from '../contract/artifacts.js';
import { Graph, ParamInfo, Tensor } from '../dsl/graph.js';
import { IR_VERSION, OPSET, emitModel } from '../onnx/emit.js';
import { simplify } from '../onnx/simplify.js';
import { VERSION } from '../version.js';
import { buildOptimizerGraph } from './adamw.js';
import { buildFusedTrainStep } from './fused.js';
import { addGradientOutputs } from './training.js';
import { checkReplaceableDir } from '../util/safe-paths.js';

// The read side of the contract, re-exported for callers that compile and then read.
export { ArtifactError, readManifest, type Manifest } from '../contract/artifacts.js';

export interface CompileRequest<C extends ModelConfig> {
  model: ModelDefinition<C>;
  rawConfig: Record<string, unknown>;
  loss: LossName;
  optimizer: AdamWConfig;
  source?: string;
  /** Item feature token tables for the config's `item_fields`, baked into every graph as constants (graphs/features.ts). */
  itemFeatures?: readonly Int32Array[];
}

export interface CompiledGraphs {
  config: Record<string, unknown>;
  /** The model's paddingInvariant(config): batches may be trimmed to their longest row. */
  trimPadding: boolean;
  params: ParamInfo[];
  graphs: Record<GraphKey, Graph>;
}

const specOf = (t: Tensor): TensorSpec => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] });

/** Builds every graph of the artifact set in memory. */
export function buildArtifactGraphs<C extends ModelConfig>(req: CompileRequest<C>): CompiledGraphs {
  const config = req.model.resolveConfig(req.rawConfig);
  const training = new Graph('training');
  const baked = req.itemFeatures ? { itemFeatures: req.itemFeatures } : {};
  const { loss } = req.model.buildTraining(training, config, req.loss, { training: true, ...baked });
  addGradientOutputs(training, loss);
  const params = training.params.map((p) => (p.source as { info: ParamInfo }).info);
  const trainStep = buildFusedTrainStep((g) => req.model.buildTraining(g, config, req.loss, { training: true, ...baked }), req.optimizer);
  const inference = new Graph('inference');
  req.model.buildInference(inference, config, baked);
  return {
    config: { ...config },
    trimPadding: req.model.paddingInvariant?.(config) ?? false,
    params,
    graphs: { training, optimizer: buildOptimizerGraph(params, req.optimizer), train_step: trainStep, inference_graph: inference },
  };
}

/**
 * Writes the artifact set into `outDir` (docs/artifacts.md). Files are
 * written into a temporary sibling folder that is renamed into place at the end, so a
 * failure never leaves a half-written artifact folder behind. `outDir` must be absent, empty,
 * or a reclm artifact folder replaced with `replace.force` (checkReplaceableDir: never a file,
 * a foreign folder, the working directory or a folder holding one of `replace.protect`).
 */
export function writeArtifacts<C extends ModelConfig>(
  req: CompileRequest<C>,
  outDir: string,
  extraFiles: Record<string, Uint8Array> = {},
  extras: { recipe?: Record<string, unknown>; itemMap?: string; features?: ManifestFeatures } = {},
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
    for (const [key, file] of Object.entries(GRAPH_FILES) as [GraphKey, string][]) {
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
      format: ARTIFACT_FORMAT,
      tool: { name: 'reclm', version: VERSION },
      model: req.model.name,
      loss: req.loss,
      config: cfg,
      dataset: { numItems: Number(cfg.num_items), maxlen: Number(cfg.maxlen), source: req.source, itemMap: extras.itemMap },
      ...(extras.features ? { features: extras.features } : {}),
      trimPadding: built.trimPadding,
      recipe: extras.recipe,
      optimizer: req.optimizer,
      opset: OPSET,
      irVersion: IR_VERSION,
      params: built.params.map((p) => ({ name: p.name, shape: [...p.shape], dtype: 'float32', decay: p.decay, init: p.init, zeroGradRows: p.zeroGradRows })),
      graphs,
      files,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
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
