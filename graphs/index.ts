/**
 * The model registry. A new model is one new file in graphs/ plus one line here; nothing
 * in src/ changes.
 */
import { ConfigError, ModelConfig } from './config.js';
import { hstu } from './hstu.js';
import { llamaSasrec } from './llama-sasrec.js';
import { ModelDefinition } from './types.js';

export const MODELS = {
  'llama-sasrec': llamaSasrec,
  hstu,
} as const;

export type RegisteredModel = keyof typeof MODELS;

/** Looks a model up by name ('llama-sasrec', also spelled 'llama_sasrec', or 'hstu'). */
export function getModel(name: string): ModelDefinition<ModelConfig> {
  const key = name === 'llama_sasrec' ? 'llama-sasrec' : name;
  const m = (MODELS as unknown as Record<string, ModelDefinition<ModelConfig> | undefined>)[key];
  if (!m) throw new ConfigError(`unknown model '${name}'; known models: ${Object.keys(MODELS).join(', ')}`);
  return m;
}

export * from './config.js';
export * from './types.js';
export { Dropout, hashLike, uniformLike } from './dropout.js';
export { COLLISION_LOGIT, itemVectors } from './losses.js';
export { LOWEST_FLOAT32 } from './common.js';
export { llamaSasrec, llamaEncoder, declareLlamaParams } from './llama-sasrec.js';
export { hstu, hstuEncoder, declareHstuParams, relativeAttentionBias, layerTimeBiases, timeBuckets } from './hstu.js';
export { positionIndex } from './common.js';
