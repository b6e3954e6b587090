import { Dataset } from '../data/types.js';
import { itemMapOf } from '../data/item-map.js';
import { checkTimeBiasData } from '../data/time-bias.js';
import { encodeCheckpoint } from '../runtime/checkpoint.js';
import { initialParams } from '../runtime/init.js';
import type { ModelConfig } from '../../graphs/config.js';
import type { ModelDefinition } from '../../graphs/types.js';
import type { AdamWConfig, LossName, Manifest } from '../contract/artifacts.js';
import { CompileRequest, buildArtifactGraphs, writeArtifacts } from './artifacts.js';
import { CompileFeatures, FeatureConfigError, featureConfig } from './features.js';

export interface CompileJob<C extends ModelConfig = ModelConfig> {
  model: ModelDefinition<C>;
  loss: LossName;
  /** Config before the item count and defaults are filled in. */
  config: Record<string, unknown>;
  optimizer: AdamWConfig;
  /** Either a dataset (its item count, and its id map saved beside the artifacts) or an item count. */
  data?: Dataset;
  dataLabel?: string;
  numItems?: number;
  /** Seed of the initial parameters. */
  initSeed: number;
  /** A training recipe stored in the manifest (preset defaults for `reclm train`). */
  recipe?: Record<string, unknown>;
  outDir: string;
  /** Replace an output folder that holds reclm artifacts (and perhaps a training run). */
  force?: boolean;
  /**
   * The data's side inputs (vocabularies, positive rule, item feature tables): they size the
   * feature embeddings (compiler/features.ts), the tables are baked into the graphs and the
   * schema is written to the manifest's `features`. Absent: a plain item-id model.
   */
  features?: CompileFeatures;
  /** Called with notes on how the config was adapted to the data. */
  onNote?: (line: string) => void;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/**
 * Compiles a model into an artifact folder: the ONNX graphs, the manifest, an initial
 * checkpoint (seeded parameters, zero moments) and, with a dataset, its item-id map.
 */
export function compileJob(job: CompileJob): Manifest {
  const numItems = job.data ? job.data.numItems : job.numItems;
  if (!numItems) throw new Error('compile: give a data file (--data) or an item count (--num-items)');
  if (job.config.num_items !== undefined && Number(job.config.num_items) !== numItems) {
    throw new Error(`compile: config num_items ${job.config.num_items} disagrees with the data's ${numItems} items`);
  }
  const adapted = job.data && job.model.adaptToData ? job.model.adaptToData(job.config, { hasTimestamps: job.data.timestamps !== null }) : { config: job.config, notes: [] };
  for (const note of adapted.notes) job.onNote?.(note);
  if (job.data) checkTimeBiasData(adapted.config, job.data, 'compile');
  const config = job.features ? featureConfig(job.features.schema, adapted.config) : adapted.config;
  if (job.data && job.data.timestamps === null && config.time_gap_buckets !== undefined) {
    throw new FeatureConfigError(`config field 'time_gap_buckets' needs timestamps, and ${job.dataLabel ?? job.data.name} has none: every gap would be 0; leave the field out`);
  }
  const req: CompileRequest<ModelConfig> = {
    model: job.model,
    rawConfig: { ...config, num_items: numItems },
    loss: job.loss,
    optimizer: job.optimizer,
    source: job.dataLabel,
    ...(job.features?.itemTables ? { itemFeatures: job.features.itemTables } : {}),
  };
  const built = buildArtifactGraphs(req);
  const init = initialParams(built.params, job.initSeed);
  const ckpt = encodeCheckpoint({
    step: 0,
    epoch: 0,
    stepInEpoch: 0,
    params: init,
    m: new Map(),
    v: new Map(),
    schedule: { step: 0 },
    samplerState: null,
    // Model, loss and item count are in the manifest; a run's record comes with its first checkpoint.
    meta: {},
  });
  const extra: Record<string, Uint8Array> = { 'init.ckpt': concat(ckpt.chunks) };
  if (job.data) extra['items.json'] = new TextEncoder().encode(JSON.stringify(itemMapOf(job.data)));
  const extras = { recipe: job.recipe, itemMap: job.data ? 'items.json' : undefined, ...(job.features ? { features: job.features.schema } : {}) };
  return writeArtifacts(req, job.outDir, extra, extras, built, { force: job.force, protect: job.dataLabel ? [job.dataLabel] : [] });
}
