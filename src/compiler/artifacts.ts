import { existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ModelConfig } from '../../graphs/config.js';
import type { ModelDefinition } from '../../graphs/types.js';
import { ARTIFACT_FORMAT, AdamWConfig, GRAPH_FILES, GraphKey, ITEM_MAP_FILE, LossName, MANIFEST_FILE, Manifest, ManifestFeatures, RUN_FILES, TensorSpec, sha256 } from '../contract/artifacts.js';
import { Graph, ParamInfo, Tensor } from '../dsl/graph.js';
import { IR_VERSION, OPSET, emitModel } from '../onnx/emit.js';
import { simplify } from '../onnx/simplify.js';
import { VERSION } from '../version.js';
import { buildOptimizerGraph } from './adamw.js';
import { buildFusedTrainStep } from './fused.js';
import { addGradientOutputs } from './training.js';
import { checkReplaceableDir, isArtifactFolder } from '../util/safe-paths.js';
import { makeDirs, outputError, type OutputName } from '../util/atomic.js';
import { processAlive } from '../util/run-lock.js';

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
 * written into a temporary sibling folder (`outDir.tmp-PID`) that is renamed into place at the
 * end, so a failure never leaves a half-written artifact folder behind. The graphs are emitted
 * before that folder is created, which keeps the time it exists (and a Ctrl-C could leave it) to
 * the file writes; a temporary folder left by a killed compile (its PID no longer runs) is
 * removed by the next compile into the same `outDir`, and so is the replaced folder it had
 * moved aside (`outDir.old-PID`) once `outDir` exists (removeStaleTemps). `outDir` must be absent, empty,
 * or a reclm artifact folder replaced with `replace.force` (checkReplaceableDir: never a file,
 * a foreign folder, the working directory or a folder holding one of `replace.protect`).
 * @throws UnsafePathError for an `outDir` reclm may not replace; OutputPathError (one line
 *   naming `outDir`) when it cannot be created or written (a file among its parents, no
 *   permission, a read-only or full disk)
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
  const name: OutputName = { flag: '--out', path: outDir };
  const target = resolve(outDir);
  const tmp = `${target}.tmp-${process.pid}`;
  // An --out that cannot be created fails now, not after the graphs are emitted.
  createEmptyDir(tmp, name);
  rmSync(tmp, { recursive: true, force: true });

  const files: Record<string, string> = {};
  const bytesOf = new Map<string, Uint8Array>();
  const graphs = {} as Manifest['graphs'];
  for (const [key, file] of Object.entries(GRAPH_FILES) as [GraphKey, string][]) {
    const g = built.graphs[key];
    const simplified = simplify(g);
    const bytes = emitModel(simplified, { docString: `reclm ${req.model.name} ${key}`, producerVersion: VERSION, raw: true });
    bytesOf.set(file, bytes);
    files[file] = sha256(bytes);
    const order = [...g.params, ...g.inputs];
    graphs[key] = { file, inputs: order.map(specOf), outputs: [...g.outputs].map(([name, t]) => ({ ...specOf(t), name })), nodes: simplified.nodes.length };
  }
  for (const [file, bytes] of Object.entries(extraFiles)) {
    bytesOf.set(file, bytes);
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
  bytesOf.set(MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'));

  removeStaleTemps(target, new Set([...bytesOf.keys(), ITEM_MAP_FILE, RUN_FILES.init]));
  createEmptyDir(tmp, name);
  try {
    for (const [file, bytes] of bytesOf) writeFileSync(join(tmp, file), bytes);
    // The old folder was checked to hold only reclm's files; move it aside, then swap.
    const old = `${target}.old-${process.pid}`;
    if (existing !== 'absent') renameSync(target, old);
    renameSync(tmp, target);
    rmSync(old, { recursive: true, force: true });
    return manifest;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw outputError(e, name, 'write', outDir);
  }
}

/** Creates `dir` (and its missing parents) empty, first removing one left by an earlier process with this PID. */
function createEmptyDir(dir: string, name: OutputName): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    // ENOTDIR (a file among the parents) and the like: makeDirs says which.
    if (outputError(e, name, 'write', name.path) === e) throw e;
  }
  makeDirs(dir, name);
}

/**
 * Removes what a killed compile left beside `target` (its PID no longer runs on this machine):
 * `<target>.tmp-PID` folders that hold only files named in `known`, and `<target>.old-PID`
 * folders (the folder it replaced) once `target` exists again and they hold only a reclm
 * artifact set. An `.old-PID` without a `target` is the only copy of the replaced folder, and
 * stays. Never a folder reclm did not write; best effort: what cannot be read or removed stays.
 */
function removeStaleTemps(target: string, known: ReadonlySet<string>): void {
  let entries: string[];
  try {
    entries = readdirSync(dirname(target));
  } catch {
    return;
  }
  const deadPid = (entry: string, prefix: string) => {
    const pid = entry.startsWith(prefix) && /^\d+$/.test(entry.slice(prefix.length)) ? Number(entry.slice(prefix.length)) : 0;
    return pid > 0 && pid !== process.pid && !processAlive(pid);
  };
  for (const entry of entries) {
    const path = join(dirname(target), entry);
    try {
      const stale =
        (deadPid(entry, `${basename(target)}.tmp-`) && statSync(path).isDirectory() && readdirSync(path).every((f) => known.has(f))) ||
        (deadPid(entry, `${basename(target)}.old-`) && existsSync(target) && isArtifactFolder(path));
      if (stale) rmSync(path, { recursive: true, force: true });
    } catch {
      // Left for the user: a stale folder is untidy, not harmful.
    }
  }
}
