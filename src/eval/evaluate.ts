import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { ArtifactError } from '../compiler/artifacts.js';
import { loadItemMap } from '../data/item-map.js';
import { openDataset } from '../data/open.js';
import { leaveOneOutSplit } from '../data/split.js';
import { EvalSplit } from '../data/eval-inputs.js';
import { DataFormat } from '../data/types.js';
import { Rng } from '../data/rng.js';
import { onnx } from '../onnx/proto.js';
import { createSession } from '../runtime/providers.js';
import { AlignReport, alignToItemMap } from './align.js';
import { RankingMetrics } from './metrics.js';
import { evaluatePopularity, evaluatePopularitySampled } from './popularity.js';
import { rankSplit } from './rank.js';
import { OnnxScorer } from './scorer.js';

export interface EvaluateOptions {
  /** An artifact folder (its inference.onnx) or an .onnx file. */
  model: string;
  data: string;
  format?: DataFormat;
  split: EvalSplit;
  negatives: number;
  ks: number[];
  batchSize: number;
  seed: number;
  /** Full ranking: keep the user's input-sequence items among the candidates (default: excluded, see rank.ts). */
  keepSeen?: boolean;
  device?: string;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EvaluateResult {
  model: string;
  data: string;
  split: EvalSplit;
  protocol: string;
  numItems: number;
  users: number;
  excludedUsers: number;
  metrics: RankingMetrics;
  popularity: RankingMetrics;
  unknown: AlignReport;
  seconds: number;
}

/** What the ranking step needs to know of an exported model, read from its ONNX header. */
export function inspectInference(path: string): { maxlen: number; numItems: number; metadata: Record<string, string> } {
  const artifactError = (message: string) => new ArtifactError(message);
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(readFileSync(path));
  } catch (e) {
    throw artifactError(`${path} is not an ONNX model (${(e as Error).message}); pass an artifact folder or its inference.onnx`);
  }
  const graph = model.graph ?? {};
  const dims = (name: string, kind: 'input' | 'output') => {
    const v = (graph[kind] ?? []).find((x) => x.name === name);
    if (!v) throw artifactError(`${path} has no '${name}' ${kind}; is it a reclm inference.onnx?`);
    return v.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue ?? 0));
  };
  const maxlen = dims('seq', 'input')[1];
  const numItems = dims('scores', 'output')[1] - 1;
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key!, p.value!]));
  return { maxlen, numItems, metadata };
}

/** The ranking step: loads only the exported inference graph and scores the split. */
export async function evaluate(opts: EvaluateOptions): Promise<EvaluateResult> {
  const started = Date.now();
  const path = existsSync(opts.model) && statSync(opts.model).isDirectory() ? join(opts.model, 'inference.onnx') : opts.model;
  if (!existsSync(path)) throw new ArtifactError(`${path} does not exist; train first (reclm train writes inference.onnx) or pass an .onnx file`);
  const info = inspectInference(path);
  let data = openDataset(opts.data, { format: opts.format });
  let unknown: AlignReport = { unknownInteractions: 0, unknownItems: 0 };
  const mapPath = info.metadata.item_map ? join(dirname(path), info.metadata.item_map) : null;
  if (mapPath && existsSync(mapPath)) ({ data, report: unknown } = alignToItemMap(data, loadItemMap(mapPath)));
  if (data.numItems !== info.numItems) {
    throw new ArtifactError(`${path} scores ${info.numItems} items but ${opts.data} has ${data.numItems} (and no item map beside the model to align them)`);
  }
  const split = leaveOneOutSplit(data);
  const session: InferenceSession = await createSession(path, opts.device ?? 'cpu', { threads: opts.threads });
  const scorer = new OnnxScorer(session, info.maxlen, info.numItems);
  try {
    const keepSeen = opts.keepSeen ?? false;
    const metrics = await rankSplit(scorer, split, { split: opts.split, ks: opts.ks, batchSize: opts.batchSize, negatives: opts.negatives, seed: opts.seed, keepSeen, onProgress: opts.onProgress });
    const popularity = opts.negatives > 0
      ? evaluatePopularitySampled(split, opts.split, new Rng(opts.seed, 7), opts.ks, 10000, opts.negatives)
      : evaluatePopularity(split, opts.split, opts.ks, { maxlen: info.maxlen, keepSeen });
    return {
      model: path,
      data: opts.data,
      split: opts.split,
      protocol: opts.negatives > 0
        ? `sampled: target + ${opts.negatives} negatives`
        : `full ranking over ${info.numItems} items${keepSeen ? ', seen items kept' : ', items of the input sequence excluded'}`,
      numItems: info.numItems,
      users: metrics.users,
      excludedUsers: split.summary.excludedFromEval,
      metrics,
      popularity,
      unknown,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await scorer.release();
  }
}
