import type { LossName } from '../src/contract/artifacts.js';
import { Graph, Tensor } from '../src/dsl/graph.js';
import { DType, Dim } from '../src/dsl/types.js';
import { ConfigError, ModelConfig } from './config.js';

/** The losses every model can be trained with (docs/models.md, "Losses"). */
export type { LossName };

export const LOSS_NAMES: readonly LossName[] = ['bce', 'sampled-softmax', 'full-ce'];

/** Accepts the registry's names and the fixtures' spellings (`sampled_softmax`, `full_ce`). */
export function parseLossName(name: string): LossName {
  const n = name.replace(/_/g, '-') as LossName;
  if (!LOSS_NAMES.includes(n)) throw new ConfigError(`unknown loss '${name}'; known losses: ${LOSS_NAMES.join(', ')}`);
  return n;
}

/** A graph input's name, element type and shape; `batch` is the symbolic batch dim. */
export interface InputSpec {
  name: string;
  dtype: DType;
  shape: Dim[];
}

/** Data baked into the graphs at compile time. */
export interface BakedData {
  /** Item feature token tables, one per config `item_fields` entry (graphs/features.ts). */
  itemFeatures?: readonly Int32Array[];
}

export interface BuildOptions extends BakedData {
  /** Training graph: declares `seed` and `step` and applies dropout (when config.dropout > 0). */
  training: boolean;
  /** Also output `seq_emb` and the logits (`pos_logits`/`neg_logits` or `logits`), as the fixtures name them. */
  debugOutputs?: boolean;
}

export interface TrainingGraph {
  loss: Tensor;
}

export interface InferenceGraph {
  /** [batch, d]: the last slot (T−1) of the encoder output. */
  userEmb: Tensor;
  /** [batch, V+1]: column = item id, column 0 = the lowest float. */
  scores: Tensor;
  /** [batch, k] int64. */
  topItems: Tensor;
  /** [batch, k]. */
  topScores: Tensor;
}

export interface ModelDefinition<C extends ModelConfig = ModelConfig> {
  readonly name: C['model'];
  /** Validates a raw config object and fills defaults and derived fields (throws ConfigError). */
  resolveConfig(raw: unknown): C;
  /** The batch inputs the training graph for `loss` declares (besides `seed` and `step`). */
  batchInputs(config: C, loss: LossName): InputSpec[];
  /** Declares parameters and inputs on `g`, sets output `loss` (and debug outputs), returns the loss. */
  buildTraining(g: Graph, config: C, loss: LossName, opts: BuildOptions): TrainingGraph;
  /** Declares parameters and inputs `seq` (+ `ts_ext`, and the feature inputs `action`, `profile`), `k`; outputs user_emb, scores, top_items, top_scores. */
  buildInference(g: Graph, config: C, baked?: BakedData): InferenceGraph;
  /**
   * Optional: true when the outputs at real (non-padding) positions do not depend on how much
   * left padding precedes them, so a batch may be trimmed to its longest row (sequence length
   * T < maxlen) with the same numbers up to float rounding. Absent: false (never trimmed).
   */
  paddingInvariant?(config: C): boolean;
  /** Optional: adjusts a raw config to the training data (e.g. no timestamps) and says why. */
  adaptToData?(raw: Record<string, unknown>, data: { hasTimestamps: boolean }): { config: Record<string, unknown>; notes: string[] };
}
