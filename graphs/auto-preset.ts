/**
 * `--preset auto`: a model, config and training recipe chosen from a log's statistics, for the
 * short-sequence logs users bring (Amazon-, Yelp-, LastFM-like: mean 5–15 items per user,
 * 10k–30k items, 1k–40k users) as well as MovieLens-like ones.
 *
 * Every rule is a function of the statistics `reclm data stats` prints (users, items,
 * interactions, sequence-length percentiles, timestamps), returns its value with a one-line
 * reason, and rests on a public source or on a principle stated in its docstring. The anchors:
 *
 * - SASRec (Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018, experimental setup):
 *   d = 50, 2 blocks, batch 128, Adam lr 0.001 (β2 0.98) on all four datasets; maximum length
 *   200 on MovieLens-1M and 50 on Amazon Beauty, Amazon Games and Steam, "roughly proportional
 *   to the mean number of actions per user" (163.5 on ML-1M, 7.6–11.0 on the others); dropout
 *   0.2 on ML-1M and 0.5 on the other three "due to their sparsity".
 * - HSTU (Zhai et al., "Actions Speak Louder than Words", ICML 2024) and its public code
 *   (facebookresearch/generative-recommenders, configs/ml-1m): d = 50, 2 layers, 1 head,
 *   maxlen 200, dropout 0.2, lr 0.001, batch 128, 101 epochs, AdamW β (0.9, 0.98) without
 *   weight decay; its relative attention bias over time buckets needs timestamps.
 * - RecBole (Zhao et al., CIKM 2021), whose trainer validates every epoch and stops after
 *   `stopping_step = 10` validations without improvement by default.
 */
import type { ModelName } from './config.js';
import { HSTU_OPTIMIZER, type Preset, type Recipe } from './presets.js';
import type { LossName } from './types.js';
import { noun } from '../src/util/plural.js';

/**
 * The statistics the rules read: a subset of `DatasetStats` (src/data/stats.ts), which is
 * assignable to it. Lengths are interactions per user; p90 is the nearest-rank percentile.
 */
export interface AutoPresetStats {
  users: number;
  items: number;
  interactions: number;
  seqLen: { mean: number; median: number; p90: number; max: number };
  hasTimestamps: boolean;
}

/** One choice: the field it sets (a config field, `model`, `loss` or a recipe field), its value and why. */
export interface AutoChoice {
  field: string;
  value: number | string | boolean;
  reason: string;
}

/** A preset built from the data, with every choice and its reason. */
export interface AutoPreset extends Preset {
  choices: AutoChoice[];
}

/** SASRec's mean actions per user on Steam (the densest of its sparse datasets, dropout 0.5) and on ML-1M (dropout 0.2). */
const SPARSE_MEAN = 11.0;
const DENSE_MEAN = 163.5;

/** Optimizer steps of Meta's official HSTU ML-1M run: 101 epochs × ceil(6,040 users / 128). */
const REFERENCE_STEPS = 101 * Math.ceil(6040 / 128);

/** Catalogue size up to which the full softmax is affordable (see chooseLoss). */
const FULL_CE_MAX_ITEMS = 100_000;

const round = (x: number, step: number) => Math.round(x / step) * step;
const fmt = (x: number) => (Number.isInteger(x) ? x.toLocaleString('en-US') : x.toFixed(1));

function checkStats(s: AutoPresetStats): void {
  const bad = (['users', 'items', 'interactions'] as const).find((k) => !(Number.isFinite(s[k]) && s[k] >= 1));
  if (bad) throw new RangeError(`autoPreset: stats.${bad} must be a positive number, got ${s[bad]}`);
  if (!(s.seqLen.p90 >= 1 && s.seqLen.mean >= 1)) throw new RangeError(`autoPreset: sequence lengths must be ≥ 1 (mean ${s.seqLen.mean}, p90 ${s.seqLen.p90})`);
}

/**
 * maxlen: the 90th percentile of the sequence length rounded up to a multiple of 10, kept in
 * [50, 200]. The percentile keeps the whole history of 90% of the users; longer users keep
 * their most recent maxlen items. The floor is SASRec's value for its sparse datasets (mean
 * 7.6–11 actions), where 50 still covers the heavy users at a small L² attention cost; the cap
 * is SASRec's and HSTU's ML-1M value, beyond which attention grows as L² for the few very long
 * users. Units: items.
 */
export function chooseMaxlen(s: AutoPresetStats): AutoChoice {
  const p90 = Math.ceil(s.seqLen.p90 / 10) * 10;
  const value = Math.min(200, Math.max(50, p90));
  const why = value === p90 ? 'covers 90% of the users whole' : value === 50 ? 'raised to 50, SASRec\'s length for sparse data' : 'capped at 200, SASRec\'s and HSTU\'s length for ML-1M';
  return { field: 'maxlen', value, reason: `90% of users have ≤ ${fmt(s.seqLen.p90)} interactions; rounded up to ${p90} and ${why}` };
}

/**
 * model: HSTU when the log has timestamps, LLaMA2-SASRec otherwise. HSTU's difference from a
 * SASRec-style transformer that the data can feed is its relative attention bias over time
 * buckets (Zhai et al. 2024); without timestamps every bucket is 0 and that bias is off,
 * and then the project's ML-1M runs without timestamps put LLaMA2-SASRec above HSTU (README,
 * "Presets and results").
 */
export function chooseModel(s: AutoPresetStats): AutoChoice {
  return s.hasTimestamps
    ? { field: 'model', value: 'hstu', reason: 'the log has timestamps, which feed HSTU\'s relative time-bucket attention bias' }
    : { field: 'model', value: 'llama-sasrec', reason: 'no timestamps: HSTU\'s time bias would be off, and LLaMA2-SASRec led HSTU on ML-1M without them' };
}

/**
 * Width and depth: the papers' small configurations, whatever the size of the log. SASRec
 * used d = 50 and 2 blocks on sparse and dense data alike, and HSTU's ML-1M configuration is
 * d = 50, 2 layers, 1 head. LLaMA2-SASRec takes d = 64 in 2 heads so that each head's width
 * (32) is even, as RoPE needs. Returns the config fields to set and their two choices.
 */
export function chooseSize(model: ModelName): { config: Record<string, number>; choices: AutoChoice[] } {
  const layers: AutoChoice = { field: 'n_layers', value: 2, reason: 'SASRec used 2 blocks on sparse and dense data alike; HSTU\'s ML-1M configuration has 2 layers' };
  if (model === 'hstu') {
    return {
      config: { dim: 50, n_layers: 2, n_heads: 1, dqk: 50, dv: 50 },
      choices: [{ field: 'dim', value: 50, reason: '1 head, dqk=dv=50: HSTU\'s ML-1M configuration; SASRec used d=50 on every dataset' }, layers],
    };
  }
  return {
    config: { dim: 64, n_layers: 2, n_heads: 2, multiple_of: 32 },
    choices: [{ field: 'dim', value: 64, reason: 'SASRec used d=50 on every dataset; 64 makes 2 heads of 32, as RoPE needs an even head width' }, layers],
  };
}

/**
 * dropout: 0.5 at or below SASRec's sparse anchor (mean 11 actions per user), 0.2 at or above
 * its dense anchor (ML-1M, mean 163.5), linear in log(mean length) in between, rounded to
 * 0.05. Fewer interactions per user means less data per sequence to fit, so more
 * regularisation (SASRec: 0.5 on the sparse datasets, 0.2 on ML-1M). LLaMA2-SASRec
 * skips dropout on the attention probabilities (as the ml-1m-llama preset: the costliest site).
 */
export function chooseDropout(s: AutoPresetStats): AutoChoice {
  const t = Math.min(1, Math.max(0, Math.log(s.seqLen.mean / SPARSE_MEAN) / Math.log(DENSE_MEAN / SPARSE_MEAN)));
  const value = Number(round(0.5 - 0.3 * t, 0.05).toFixed(2));
  return { field: 'dropout', value, reason: `mean ${fmt(s.seqLen.mean)} interactions per user; SASRec used 0.5 at mean ≤ ${SPARSE_MEAN} (sparse data) and 0.2 at ML-1M's ${DENSE_MEAN}, interpolated in log(mean)` };
}

/**
 * loss: full softmax cross-entropy over the catalogue when it has at most 100,000 items, else
 * HSTU's official sampled softmax with 128 negatives per position. Full cross-entropy trains
 * SASRec better than BCE or sampled losses (Klenitskiy & Vasilev, "Turning Dross Into Gold
 * Loss: is BERT4Rec really better than SASRec?", RecSys 2023); its logits are [targets, V],
 * which past ~1e5 items outgrow a CPU's memory at batch 128.
 */
export function chooseLoss(s: AutoPresetStats): AutoChoice {
  return s.items <= FULL_CE_MAX_ITEMS
    ? { field: 'loss', value: 'full-ce', reason: `${fmt(s.items)} items ≤ ${fmt(FULL_CE_MAX_ITEMS)}: full softmax cross-entropy, which trains SASRec better than sampled losses (Klenitskiy & Vasilev 2023)` }
    : { field: 'loss', value: 'sampled-softmax', reason: `${fmt(s.items)} items > ${fmt(FULL_CE_MAX_ITEMS)}: full-catalogue logits would not fit, so HSTU's sampled softmax with 128 negatives` };
}

/**
 * Batch size and lr: SASRec's and HSTU's batch 128 with lr 0.001, which both used on sparse
 * and dense data. A log with fewer than 512 users would then have under 4 optimizer steps per
 * epoch; the batch is halved (a power of two, at least 16) until an epoch has 4, and the lr
 * follows Adam's square-root scaling rule, lr ∝ √batch (Malladi et al., "On the SDEs and
 * Scaling Rules for Adaptive Gradient Algorithms", NeurIPS 2022). Constant lr, no warm-up (as
 * SASRec and HSTU): early stopping ends the run at an epoch unknown in advance, so a decay
 * planned over the epoch cap would barely have begun.
 */
/** Why a batch below 128: it gives 4 steps per epoch, or it is the floor of 16 and gives fewer. */
function batchReason(users: number, batchSize: number): string {
  const who = `${fmt(users)} ${noun(users, 'user')} give${users === 1 ? 's' : ''}`;
  const steps = Math.ceil(users / batchSize);
  if (users / batchSize >= 4) return `halved from 128 so that ${who} at least 4 steps per epoch`;
  return `halved from 128 to the smallest batch, 16; ${who} only ${steps} ${noun(steps, 'step')} per epoch`;
}

export function chooseBatch(s: AutoPresetStats): { batch: AutoChoice; lr: AutoChoice } {
  let batchSize = 128;
  while (batchSize > 16 && s.users / batchSize < 4) batchSize /= 2;
  const lr = Number((1e-3 * Math.sqrt(batchSize / 128)).toPrecision(2));
  return {
    batch: { field: 'batchSize', value: batchSize, reason: batchSize === 128 ? `SASRec's and HSTU's batch; ${fmt(s.users)} users give ${Math.ceil(s.users / 128)} steps per epoch` : batchReason(s.users, batchSize) },
    lr: { field: 'lr', value: lr, reason: batchSize === 128 ? 'SASRec\'s and HSTU\'s Adam lr, constant: early stopping decides the length' : `0.001 × √(${batchSize}/128), Adam's square-root scaling for the smaller batch; constant` },
  };
}

/**
 * epochs (a cap; early stopping usually ends the run first): as many epochs as give the
 * optimizer steps of Meta's HSTU ML-1M run (101 epochs of 48 steps, 4,848 steps), kept in
 * [20, 200] (200: SASRec's longest runs). Logs with many users take fewer, longer epochs.
 * patience: RecBole's default of 10 validations without improvement, or a tenth of the cap
 * if larger, so that many short, noisy epochs of a small log do not stop a run that is still
 * learning. Validation runs every epoch.
 */
export function chooseEpochs(s: AutoPresetStats, batchSize: number): { epochs: AutoChoice; patience: AutoChoice; evalEvery: AutoChoice } {
  const steps = Math.ceil(s.users / batchSize);
  const epochs = Math.min(200, Math.max(20, Math.ceil(REFERENCE_STEPS / steps)));
  const patience = Math.max(10, Math.ceil(epochs / 10));
  return {
    epochs: { field: 'epochs', value: epochs, reason: `a cap: ${fmt(REFERENCE_STEPS)} steps as HSTU's 101 ML-1M epochs, at ${steps} steps per epoch, kept in [20, 200]` },
    patience: { field: 'patience', value: patience, reason: patience === 10 ? 'stop after 10 validations without a better NDCG@10 (RecBole\'s default)' : `a tenth of the ${epochs}-epoch cap, more than RecBole's 10: many short epochs give noisy validations` },
    evalEvery: { field: 'evalEvery', value: 1, reason: 'validate every epoch, keep the best epoch\'s model, stop on patience' },
  };
}

/**
 * The auto preset for a log with statistics `stats`. `opts.model` forces the model family
 * (`compile --preset auto --model M`); every other rule still applies. Throws a RangeError on
 * empty statistics (no users, items or interactions).
 */
export function autoPreset(stats: AutoPresetStats, opts: { model?: ModelName } = {}): AutoPreset {
  checkStats(stats);
  const modelChoice = opts.model ? { field: 'model', value: opts.model, reason: 'given with --model' } : chooseModel(stats);
  const model = modelChoice.value as ModelName;
  const maxlen = chooseMaxlen(stats);
  const size = chooseSize(model);
  const dropout = chooseDropout(stats);
  const loss = chooseLoss(stats);
  const { batch, lr } = chooseBatch(stats);
  const { epochs, patience, evalEvery } = chooseEpochs(stats, batch.value as number);
  const config: Record<string, unknown> = { ...size.config, maxlen: maxlen.value, dropout: dropout.value };
  if (model === 'llama-sasrec') Object.assign(config, { attn_dropout: 0, key_padding_mask: true });
  else Object.assign(config, { temperature: 0.05, item_l2_norm: true });
  if (loss.value === 'sampled-softmax') config.num_negatives = 128;
  const recipe: Recipe = {
    epochs: epochs.value as number, batchSize: batch.value as number, lr: lr.value as number, warmup: 0, cosine: false, minLr: 1e-5,
    evalEvery: 1, patience: patience.value as number, fusedSteps: 8,
  };
  const optimizer: AutoChoice = { field: 'optimizer', value: 'AdamW β=(0.9, 0.98), no weight decay', reason: 'SASRec\'s Adam β2 and HSTU\'s official optimizer' };
  const choices = [modelChoice, maxlen, ...size.choices, dropout, loss, optimizer, batch, lr, epochs, patience, evalEvery];
  return {
    name: 'auto',
    description: `Chosen from the data: ${model}, d=${size.config.dim}, ${size.config.n_layers} layers, maxlen ${maxlen.value}, dropout ${dropout.value}, ${loss.value}, batch ${recipe.batchSize}, lr ${recipe.lr}, up to ${recipe.epochs} epochs with patience ${recipe.patience}.`,
    model,
    loss: loss.value as LossName,
    config,
    // SASRec's Adam β2 = 0.98, HSTU's AdamW without weight decay.
    optimizer: HSTU_OPTIMIZER,
    recipe,
    choices,
  };
}

/** The statistics the rules read, as one line. */
export function describeStats(s: AutoPresetStats): string {
  return `auto preset from ${fmt(s.users)} users, ${fmt(s.items)} items, ${fmt(s.interactions)} interactions, sequence length mean ${fmt(s.seqLen.mean)} / median ${fmt(s.seqLen.median)} / p90 ${fmt(s.seqLen.p90)}, ${s.hasTimestamps ? 'with' : 'without'} timestamps:`;
}

/** Recipe fields print as the `reclm train` flag that overrides them; config fields as their --set name. */
const LABEL: Record<string, string> = { batchSize: 'batch-size', evalEvery: 'eval-every' };

/** One printable line per choice: `auto: maxlen 200 (reason)`. */
export function describeChoices(choices: readonly AutoChoice[]): string[] {
  return choices.map((c) => `auto: ${LABEL[c.field] ?? c.field} ${c.value} (${c.reason})`);
}
