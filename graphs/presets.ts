import type { AdamWConfig } from '../src/contract/artifacts.js';
import { ConfigError, ModelName } from './config.js';
import { LossName } from './types.js';

/** Training defaults a preset carries into the manifest; `reclm train` flags override them. */
export interface Recipe {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Linear warm-up steps (0: none). */
  warmup: number;
  /** Cosine decay to minLr at the last step (false: constant after warm-up). */
  cosine: boolean;
  minLr: number;
  evalEvery: number;
  patience: number;
  fusedSteps: number;
}

export interface Preset {
  name: string;
  description: string;
  model: ModelName;
  loss: LossName;
  config: Record<string, unknown>;
  optimizer: Partial<AdamWConfig>;
  recipe: Recipe;
}

const RECIPE: Recipe = { epochs: 200, batchSize: 128, lr: 1e-3, warmup: 0, cosine: false, minLr: 1e-5, evalEvery: 1, patience: 10, fusedSteps: 8 };

/** Meta's official HSTU optimiser for ml-1m: AdamW, betas (0.9, 0.98), no weight decay. */
export const HSTU_OPTIMIZER: Partial<AdamWConfig> = { beta1: 0.9, beta2: 0.98, weightDecay: 0 };

export const PRESETS: Record<string, Preset> = {
  builtin: {
    name: 'builtin',
    description: 'Small LLaMA2-SASRec for the built-in synthetic dataset (the demo): d=32, 2 layers, maxlen 50, full softmax CE.',
    model: 'llama-sasrec',
    loss: 'full-ce',
    config: { dim: 32, n_layers: 2, n_heads: 2, maxlen: 50, multiple_of: 16, dropout: 0 },
    optimizer: { weightDecay: 0.0 },
    recipe: { ...RECIPE, epochs: 12, batchSize: 64, lr: 3e-3, patience: 3 },
  },
  'ml-1m-llama': {
    name: 'ml-1m-llama',
    description:
      'LLaMA2-SASRec on ML-1M: d=64, 4 layers (2 until 2026-12-02: 4 validated at least 0.005 above 2 on each of two seeds, bench/results/ml-1m.md), 2 heads, maxlen 200, padding keys masked (as SASRec does), full softmax cross-entropy over the catalogue, dropout 0.2 (none on attention probabilities), lr 2e-3 with cosine decay to 1e-5 over 70 epochs, batch 128.',
    model: 'llama-sasrec',
    loss: 'full-ce',
    config: { dim: 64, n_layers: 4, n_heads: 2, maxlen: 200, multiple_of: 32, dropout: 0.2, attn_dropout: 0, key_padding_mask: true },
    optimizer: { weightDecay: 0.0 },
    recipe: { ...RECIPE, epochs: 70, lr: 2e-3, cosine: true, evalEvery: 2, patience: 0 },
  },
  'ml-1m-hstu': {
    name: 'ml-1m-hstu',
    description:
      'Official HSTU ml-1m config: d=50, 2 layers, 1 head, dqk=dv=50, maxlen 200, dropout 0.2, tau 0.05, L2-normalised items, batch 128, AdamW betas (0.9, 0.98) without weight decay; loss: full softmax cross-entropy instead of sampled softmax (the official 128 per-position negatives ranked within noise of it on ML-1M, bench/results/ml-1m.md); lr 2e-3 instead of the official 1e-3 (with full CE on ML-1M, two seeds each ranked above the 1e-3 run, bench/results/ml-1m.md), cosine decay to 1e-5 over 70 epochs.',
    model: 'hstu',
    loss: 'full-ce',
    config: { dim: 50, n_layers: 2, n_heads: 1, dqk: 50, dv: 50, maxlen: 200, dropout: 0.2, temperature: 0.05, item_l2_norm: true },
    optimizer: HSTU_OPTIMIZER,
    recipe: { ...RECIPE, epochs: 70, lr: 2e-3, cosine: true, evalEvery: 2, patience: 0 },
  },
  'ml-1m-hstu-large': {
    name: 'ml-1m-hstu-large',
    description: 'Official HSTU-large ml-1m config: 8 layers, 2 heads, dqk=dv=25, otherwise as ml-1m-hstu; lr 2e-3 instead of the official 1e-3 (over 36 epochs its best validation NDCG@10 beat the 1e-3 run by more than the seed spread, bench/results/ml-1m.md), cosine over 60 epochs (Meta trains 101 epochs at 1e-3; at 2e-3, 60 epochs validated above 36, and 72 only 0.0012 above 60, within the 0.005 seed spread, so 60 was kept, bench/results/ml-1m.md); batch 8 instead of 128 (over three seeds it validated +0.0083, +0.0056 and +0.0076 NDCG@10 above batch 128, each above the 0.005 a preset change needs; twenty-eighth set of bench/results/ml-1m.md).',
    model: 'hstu',
    loss: 'full-ce',
    config: { dim: 50, n_layers: 8, n_heads: 2, dqk: 25, dv: 25, maxlen: 200, dropout: 0.2, temperature: 0.05, item_l2_norm: true },
    optimizer: HSTU_OPTIMIZER,
    recipe: { ...RECIPE, epochs: 60, batchSize: 8, lr: 2e-3, cosine: true, evalEvery: 2, patience: 0 },
  },
};

/** The preset chosen from the training data's statistics (graphs/auto-preset.ts) instead of a fixed table entry. */
export const AUTO_PRESET = 'auto';

/** Every name `--preset` takes: the fixed presets and `auto`. */
export const PRESET_NAMES: readonly string[] = [...Object.keys(PRESETS), AUTO_PRESET];

/** A fixed preset by name; throws a ConfigError for an unknown name, and for `auto`, which needs the data (use autoPreset). */
export function presetNamed(name: string): Preset {
  if (name === AUTO_PRESET) throw new ConfigError(`preset '${AUTO_PRESET}' is chosen from the data: give --data FILE (autoPreset(datasetStats(data)) in code)`);
  const p = PRESETS[name];
  if (!p) throw new ConfigError(`unknown preset '${name}'; presets: ${PRESET_NAMES.join(', ')}`);
  return p;
}
