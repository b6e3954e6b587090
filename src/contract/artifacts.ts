/**
 * The artifact contract: what `reclm compile` writes and what training, evaluation and
 * serving read (docs/artifacts.md). Every file name, every tensor name that crosses a
 * graph boundary and the manifest's shape are spelled here and nowhere else; the compiler
 * names its graph inputs and outputs with these, the runtime feeds and fetches them.
 * Depends on nothing but the DSL's element types, so every layer may import it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InitSpec } from '../dsl/graph.js';
import type { DType, Dim } from '../dsl/types.js';
import { ReclmError } from '../errors.js';

export const ARTIFACT_FORMAT = 'reclm-artifacts/1';
export const MANIFEST_FILE = 'manifest.json';
/** The item-id map (data ids by model id), written when compiling from a data file. */
export const ITEM_MAP_FILE = 'items.json';

/** The compiled graphs, by the key the manifest lists them under. */
export const GRAPH_FILES = {
  training: 'training.onnx',
  optimizer: 'optimizer.onnx',
  train_step: 'train_step.onnx',
  inference_graph: 'inference_graph.onnx',
} as const;
export type GraphKey = keyof typeof GRAPH_FILES;

/** Files of a training run, written into the artifact folder (init.ckpt by compile). */
export const RUN_FILES = { init: 'init.ckpt', last: 'last.ckpt', best: 'best.ckpt', log: 'train.jsonl', inference: 'inference.onnx', lock: 'train.lock', evalLog: 'eval.jsonl', report: 'report.html' } as const;

/** Graph output holding a parameter's gradient (training.onnx), and optimizer.onnx's input. */
export const gradName = (param: string) => `${param}_grad`;
/** AdamW's first (`m`) and second (`v`) moment of a parameter. */
export const momentName = (param: string, which: 'm' | 'v') => `${param}.${which}`;
/** The output carrying the updated value of a state input (parameter or moment). */
export const nextName = (state: string) => `${state}.next`;

/**
 * Batch inputs a training graph may declare; which ones it declares depends on the model
 * and loss and is read from the manifest. Shapes (B rows, T ≤ maxlen the batch's sequence
 * length, R negatives, P profile fields): `seq [B, T]` left-padded input items; `pos [B, T]`
 * next-item targets (0 = no target); `neg [B, T]` one sampled negative per position (BCE);
 * `negs [B, T, R]`, or `[R]` shared by the batch (sampled softmax); `ts_ext [B, T+1]` the
 * timestamps of seq's items and of the target of the last position (HSTU); `action [B, T]`
 * the action token of each seq position (0 = padding) and `profile [B, P]` one token per
 * user field (data/features.ts; with a positive rule, pos is 0 where the next event is not
 * positive). All int64. Artifacts of older reclm versions have T fixed at maxlen.
 */
export const BATCH = { seq: 'seq', pos: 'pos', neg: 'neg', negs: 'negs', tsExt: 'ts_ext', action: 'action', profile: 'profile' } as const;
export type BatchInputName = (typeof BATCH)[keyof typeof BATCH];

/**
 * Scalar inputs that are not data: `seed` and `step` key the in-graph dropout masks and
 * (optimizer) the bias correction; `lr` is the learning rate ([K] in train_step.onnx);
 * `k` [1] is the inference graph's top-k size; `row_offset` (training graphs with dropout)
 * is the global index of the batch's first row, so a data-parallel rank's slice draws the
 * dropout masks its rows have in the whole batch (0 for a whole batch).
 */
export const CONTROL = { seed: 'seed', step: 'step', lr: 'lr', k: 'k', rowOffset: 'row_offset' } as const;

/** Named graph outputs (besides gradients and `.next` state). */
export const OUTPUT = {
  loss: 'loss',
  gradNorm: 'grad_norm',
  clipCoef: 'clip_coef',
  /** train_step.onnx: per-step losses and raw gradient norms, [K]. */
  losses: 'losses',
  gradNorms: 'grad_norms',
  userEmb: 'user_emb',
  scores: 'scores',
  topItems: 'top_items',
  topScores: 'top_scores',
} as const;

/**
 * The symbolic dims of graph inputs: rows of a batch, fused steps (train_step.onnx), the
 * batch's sequence length T (1 ≤ T ≤ maxlen: a batch may be trimmed to its longest row, see
 * docs/artifacts.md) and T + 1 (the width of `ts_ext`).
 */
export const DIM = { batch: 'batch', steps: 'K', seq: 'T', seqNext: 'T+1' } as const;

/**
 * The size of a manifest dim for a batch of `batch` rows of length `seq`: a number as is,
 * the symbolic dims of DIM by their value. Throws for a symbolic dim DIM does not name.
 */
export function dimSize(d: Dim, sizes: { batch: number; seq: number; steps?: number }): number {
  if (typeof d === 'number') return d;
  switch (d) {
    case DIM.batch:
      return sizes.batch;
    case DIM.seq:
      return sizes.seq;
    case DIM.seqNext:
      return sizes.seq + 1;
    case DIM.steps:
      if (sizes.steps !== undefined) return sizes.steps;
  }
  const n = Number(d);
  if (!Number.isInteger(n)) throw new Error(`unknown symbolic dim '${d}'`);
  return n;
}

/** The sequence length a graph's `seq` input takes: a number when fixed, 'T' when any T ≤ maxlen is accepted. */
export function seqDim(manifest: Manifest, graph: GraphKey = 'training'): Dim {
  const seq = manifest.graphs[graph].inputs.find((i) => i.name === BATCH.seq);
  return seq ? seq.shape[seq.shape.length - 1] : manifest.dataset.maxlen;
}

export type LossName = 'bce' | 'sampled-softmax' | 'full-ce';

/** AdamW hyper-parameters, stored in the manifest and baked into the optimizer graphs. */
export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global-norm clipping threshold; 0 disables clipping. */
  maxGradNorm: number;
}

export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export interface GraphEntry {
  file: string;
  /** Parameters first (manifest order), then the graph's other inputs. */
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  nodes: number;
}

/**
 * The side inputs of a model compiled with them (src/data/features.ts `FeatureSchema`, the same
 * shape, spelled here so the contract depends on nothing): the positive rule, the action
 * vocabulary (vocab[0] = '<pad>') and the user/item fields in profile/table order, each with its
 * vocabulary (token 0 '<pad>', 1 '<unk>'). Absent for plain item-id models.
 */
export interface ManifestFeatures {
  positive: { kind: 'all' } | { kind: 'rating'; min: number } | { kind: 'actions'; values: string[] };
  actions?: string[];
  userFields?: ManifestFeatureField[];
  itemFields?: ManifestFeatureField[];
}

export interface ManifestFeatureField {
  name: string;
  kind: 'categorical' | 'multi' | 'bucketed';
  vocab: string[];
  width: number;
  edges?: number[];
  /** Multi-valued fields: the side file's separator between values (absent: '|'). */
  separator?: string;
}

export interface Manifest {
  format: typeof ARTIFACT_FORMAT;
  tool: { name: 'reclm'; version: string };
  model: string;
  loss: LossName;
  config: Record<string, unknown>;
  dataset: { numItems: number; maxlen: number; source?: string; itemMap?: string };
  /** Side inputs (vocabularies, positive rule); absent for plain item-id models. */
  features?: ManifestFeatures;
  /**
   * True when the model's outputs at real positions do not depend on how much left padding
   * precedes them, so batches may be trimmed to their longest row (T < maxlen) without
   * changing the numbers. Absent in older manifests (false).
   */
  trimPadding?: boolean;
  /** Training defaults from a preset (batch size, lr, epochs, ...); flags override them. */
  recipe?: Record<string, unknown>;
  optimizer: AdamWConfig;
  opset: number;
  irVersion: number;
  params: { name: string; shape: number[]; dtype: 'float32'; decay: boolean; init: InitSpec; zeroGradRows: number[] }[];
  graphs: Record<GraphKey, GraphEntry>;
  /** sha256 of every file in the folder except the manifest itself. */
  files: Record<string, string>;
  createdAt: string;
}

/**
 * A graph's batch inputs as the manifest lists them: every input that is neither a
 * parameter, an optimizer moment nor a control input. For train_step.onnx the shapes carry
 * the leading `K` dim.
 */
export function batchInputs(manifest: Manifest, graph: GraphKey): TensorSpec[] {
  const state = new Set<string>(Object.values(CONTROL));
  for (const p of manifest.params) for (const name of [p.name, momentName(p.name, 'm'), momentName(p.name, 'v')]) state.add(name);
  return manifest.graphs[graph].inputs.filter((i) => !state.has(i.name));
}

/** What a training sampler must produce for the training graph of `manifest`. */
export function samplerNeeds(manifest: Manifest): { needNeg: boolean; numNegatives: number; sharedNegatives: boolean; needTimestamps: boolean; needActions: boolean; needProfile: boolean } {
  const inputs = batchInputs(manifest, 'training');
  const negs = inputs.find((i) => i.name === BATCH.negs);
  return {
    needNeg: inputs.some((i) => i.name === BATCH.neg),
    numNegatives: negs ? Number(negs.shape[negs.shape.length - 1]) : 0,
    sharedNegatives: negs?.shape.length === 1,
    needTimestamps: inputs.some((i) => i.name === BATCH.tsExt),
    needActions: inputs.some((i) => i.name === BATCH.action),
    needProfile: inputs.some((i) => i.name === BATCH.profile),
  };
}

export class ArtifactError extends ReclmError {}

/** SHA-256 of `bytes` as 64 lowercase hex characters (the form the manifest records). */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Reads an artifact folder's manifest and, with `verify`, checks every listed file against
 * its sha256. Throws ArtifactError (one line naming the file) on a missing, unreadable or
 * changed file.
 */
export function readManifest(dir: string, verify = true): Manifest {
  let text: string;
  try {
    text = readFileSync(join(dir, MANIFEST_FILE), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new ArtifactError(`${dir} is a file, not a reclm artifact folder; give the folder that 'reclm compile --out' wrote`);
    // Said in words: the system's "ENOENT: no such file or directory, open '…'" names a path the user never gave.
    if (code === 'ENOENT') throw new ArtifactError(`${dir} is not a reclm artifact folder: ${existsSync(dir) ? `it has no ${MANIFEST_FILE}` : 'it does not exist'}; run 'reclm compile --out ${dir}' first`);
    throw new ArtifactError(`${dir} is not a reclm artifact folder: cannot read ${MANIFEST_FILE} (${(e as Error).message}); run 'reclm compile' first`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    // JSON.parse quotes the file's text, newlines included: one line, so the error stays one line.
    throw new ArtifactError(`${dir}/${MANIFEST_FILE} is not valid JSON (${(e as Error).message.replace(/\s+/g, ' ').trim()}); the file is corrupted or was changed, recompile`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ArtifactError(`${dir}/${MANIFEST_FILE} is not a reclm manifest (not a JSON object); recompile the artifacts`);
  const format = (parsed as { format?: unknown }).format;
  if (format === undefined) throw new ArtifactError(`${dir}/${MANIFEST_FILE} is not a reclm manifest (no 'format' field); recompile the artifacts`);
  if (format !== ARTIFACT_FORMAT) throw new ArtifactError(`${dir}/${MANIFEST_FILE}: format ${JSON.stringify(format)} is not this reclm's ${JSON.stringify(ARTIFACT_FORMAT)}; recompile the artifacts with this reclm`);
  const manifest = parsed as Manifest;
  if (verify) {
    for (const [file, hash] of Object.entries(manifest.files)) {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(join(dir, file));
      } catch {
        throw new ArtifactError(`${dir}/${file} is missing (listed in ${MANIFEST_FILE}); recompile the artifacts`);
      }
      if (sha256(bytes) !== hash) throw new ArtifactError(`${dir}/${file} does not match its sha256 in ${MANIFEST_FILE}; the file is corrupted or was changed, recompile`);
    }
  }
  return manifest;
}
