/**
 * From the data's side inputs (the manifest's `features`: vocabularies and the positive rule,
 * src/data/features.ts) to the model config fields of graphs/features.ts.
 */
import type { ManifestFeatures } from '../contract/artifacts.js';
import { ReclmError } from '../errors.js';

export class FeatureConfigError extends ReclmError {}

/** The side inputs a compile job gets with its data: the schema and the item feature tables. */
export interface CompileFeatures {
  schema: ManifestFeatures;
  /** One [V+1, width] int32 table per `schema.itemFields` entry, row = internal item id (ItemFeatures.tables). */
  itemTables?: readonly Int32Array[];
}

/**
 * The config fields that size the feature embeddings: `item_fields` ({name, vocab_size, width}
 * per item field), `user_fields` ({name, vocab_size}) and `num_actions` (A = actions.length − 1,
 * vocab[0] being '<pad>'). A field the config already sets must agree with the data's; `config`
 * keeps everything else (e.g. `time_gap_buckets`, `item_features_in_output`).
 *
 * @throws FeatureConfigError (one line) when the config's fields disagree with the data's, or
 *   when the config asks for a side input the data does not have.
 */
export function featureConfig(schema: ManifestFeatures | undefined, config: Record<string, unknown>): Record<string, unknown> {
  const derived: Record<string, unknown> = {};
  if (schema?.itemFields?.length) derived.item_fields = schema.itemFields.map((f) => ({ name: f.name, vocab_size: f.vocab.length, width: f.width }));
  if (schema?.userFields?.length) derived.user_fields = schema.userFields.map((f) => ({ name: f.name, vocab_size: f.vocab.length }));
  if (schema?.actions) derived.num_actions = schema.actions.length - 1;
  const what: Record<string, string> = { item_fields: 'an item-feature file', user_fields: 'a user-feature file', num_actions: 'actions' };
  for (const key of Object.keys(what)) {
    if (config[key] === undefined) continue;
    if (derived[key] === undefined) throw new FeatureConfigError(`config field '${key}' needs ${what[key]} with the data; the data has none`);
    if (JSON.stringify(config[key]) !== JSON.stringify(derived[key])) {
      throw new FeatureConfigError(`config field '${key}' is ${JSON.stringify(config[key])}, but the data gives ${JSON.stringify(derived[key])}; leave it out, it is filled in from the data`);
    }
  }
  return { ...config, ...derived };
}
