import { ReclmError } from '../src/errors.js';
/**
 * Model configurations (docs/models.md §2.1, §3.1) and their validation.
 *
 * `resolveConfig` accepts the fixtures' `config` objects as they are: every field of
 * docs/models.md, the reference's extra fields (`bucket_div`, `key_padding_mask`, `model`)
 * and the derived fields it writes (`head_dim`, `ffn_hidden`, `uvqk_width`), which are
 * checked against the values computed here rather than trusted.
 */

export type ModelName = 'llama-sasrec' | 'hstu';

/** An item-side feature field: its vocabulary size (token 0 = padding, 1 = unknown) and tokens per item. */
export interface ItemFieldConfig {
  name: string;
  vocab_size: number;
  /** Tokens per item: 1, or the most values a multi-valued field (e.g. genres) has for one item. */
  width: number;
}

/** A user-side (profile) field: one token per user. */
export interface UserFieldConfig {
  name: string;
  vocab_size: number;
}

/**
 * Side inputs of a generative recommender (Zhai et al., "Actions Speak Louder than Words",
 * ICML 2024, §2): absent fields mean the input is not used, and then the graphs are exactly the
 * plain item-id ones (graphs/features.ts).
 */
export interface FeatureSettings {
  /** Item feature fields; their token tables are baked into the graphs at compile time. */
  item_fields?: ItemFieldConfig[];
  /** User fields, one profile token each, prepended to the sequence. */
  user_fields?: UserFieldConfig[];
  /** A, the number of action values (tokens 1..A, 0 = padding): an action embedding per event. */
  num_actions?: number;
  /** llama-sasrec: G log2-buckets of the time gap to the previous event, embedded per event. */
  time_gap_buckets?: number;
  /**
   * Score items with item_emb + their feature embeddings instead of item_emb alone; default
   * true with item_fields (on ML-100K it raised HR@10 for both models, README "Side inputs").
   */
  item_features_in_output?: boolean;
}

/** Which binary cross-entropy: the seed's (docs/models.md §2.4) or official HSTU's `BCELoss` (§7.6). */
export type BceVariant = 'seed' | 'official';

/** Loss-side settings shared by both models (docs/models.md §3.5). */
export interface LossSettings {
  /** Logits are `F·ê / temperature`. */
  temperature: number;
  /** Item vectors `ê(i) = l2n(item_emb[i])` instead of the raw rows. */
  item_l2_norm: boolean;
  /** eps of l2n (item vectors, and HSTU's output features). */
  l2_eps: number;
  /** R, the number of sampled negatives of the sampled softmax. */
  num_negatives: number;
  /** Sampled softmax with one block of R negatives shared by the whole batch (`negs [R]`). */
  shared_negatives: boolean;
  bce_variant: BceVariant;
  /** Full CE only: ε of label smoothing (PyTorch's `label_smoothing`); absent means 0. */
  label_smoothing?: number;
}

export interface LlamaSasrecConfig extends LossSettings, FeatureSettings {
  model: 'llama-sasrec';
  num_items: number;
  dim: number;
  n_layers: number;
  n_heads: number;
  maxlen: number;
  multiple_of: number;
  norm_eps: number;
  rope_theta: number;
  dropout: number;
  /** Dropout on the attention probabilities (defaults to `dropout`). */
  attn_dropout: number;
  /** Mask padding keys for real queries (docs/models.md §7.1); the seed has no such mask. */
  key_padding_mask: boolean;
  /** The transformer block; absent means 'llama'. 'sasrec' is SASRec's (graphs/sasrec-block.ts), an ablation. */
  block?: 'llama' | 'sasrec';
  /** Initialisation of wq, wk, wv; absent means 'normal' (N(0, 0.02²)). 'xavier' is SASRec+'s, an ablation. */
  qkv_init?: 'normal' | 'xavier';
  /** Derived: dim / n_heads. */
  head_dim: number;
  /** Derived: multiple_of * ceil(floor(8 dim / 3) / multiple_of). */
  ffn_hidden: number;
}

export interface HstuConfig extends LossSettings, FeatureSettings {
  model: 'hstu';
  num_items: number;
  dim: number;
  n_layers: number;
  n_heads: number;
  /** q/k width per head. */
  dqk: number;
  /** u/v width per head. */
  dv: number;
  maxlen: number;
  num_buckets: number;
  /** Time buckets are floor(ln|dt| / bucket_div) (docs/models.md §7.4). */
  bucket_div: number;
  ln_eps: number;
  dropout: number;
  /** The relative time-bucket bias rab_ts (§3.3); without timestamps every bucket is 0 and it is a constant. */
  time_bias: boolean;
  /** The attention divisor n of `silu(qk + rab) / n` (default maxlen; official: maxlen + 11). */
  attn_divisor: number;
  /** Derived: 2·H·dv + 2·H·dqk. */
  uvqk_width: number;
}

export type ModelConfig = LlamaSasrecConfig | HstuConfig;

export class ConfigError extends ReclmError {}

type Kind = 'posint' | 'number' | 'positive' | 'bool' | 'bce_variant' | 'llama_block' | 'qkv_init' | 'fraction' | 'item_fields' | 'user_fields';

interface FieldSpec {
  kind: Kind;
  /** A default value, a function of the fields resolved so far, or undefined when required. */
  dflt?: unknown | ((c: Record<string, unknown>) => unknown);
  /** Derived: computed from the other fields; a given value must equal it. */
  derived?: (c: Record<string, unknown>) => number;
  /** Left out of the resolved config when not given (so configs without it stay as they were). */
  optional?: boolean;
  doc: string;
}

const FEATURE_FIELDS: Record<string, FieldSpec> = {
  item_fields: { kind: 'item_fields', optional: true, doc: 'item feature fields [{name, vocab_size, width}]' },
  user_fields: { kind: 'user_fields', optional: true, doc: 'user profile fields [{name, vocab_size}]' },
  num_actions: { kind: 'posint', optional: true, doc: 'number of action values A (tokens 1..A)' },
  item_features_in_output: { kind: 'bool', optional: true, doc: 'item vectors of the output side include the feature embeddings (default true with item_fields)' },
};

const LOSS_FIELDS = (temperature: number, l2: boolean): Record<string, FieldSpec> => ({
  temperature: { kind: 'positive', dflt: temperature, doc: 'logit temperature τ' },
  item_l2_norm: { kind: 'bool', dflt: l2, doc: 'L2-normalise item vectors in the loss and the scores' },
  l2_eps: { kind: 'positive', dflt: 1e-6, doc: 'eps of the L2 normalisation' },
  num_negatives: { kind: 'posint', dflt: 128, doc: 'sampled-softmax negatives R' },
  shared_negatives: { kind: 'bool', dflt: false, doc: 'one block of R negatives shared by the batch' },
  bce_variant: { kind: 'bce_variant', dflt: 'seed', doc: "'seed' or 'official' (HSTU BCELoss)" },
  // Left out of configs that do not name it, so theirs (and their artifacts) stay as they were.
  label_smoothing: { kind: 'fraction', optional: true, doc: 'full-ce only: label smoothing ε in [0, 1) (default 0)' },
});

const LLAMA_FIELDS: Record<string, FieldSpec> = {
  num_items: { kind: 'posint', doc: 'V, the number of items (ids 1..V)' },
  dim: { kind: 'posint', dflt: 64, doc: 'model width d' },
  n_layers: { kind: 'posint', dflt: 2, doc: 'N' },
  n_heads: { kind: 'posint', dflt: 2, doc: 'H' },
  maxlen: { kind: 'posint', dflt: 200, doc: 'L' },
  multiple_of: { kind: 'posint', dflt: 32, doc: 'FFN width rounding' },
  norm_eps: { kind: 'positive', dflt: 1e-5, doc: 'RMSNorm eps' },
  rope_theta: { kind: 'positive', dflt: 10000, doc: 'RoPE base' },
  dropout: { kind: 'fraction', dflt: 0, doc: 'dropout probability in [0, 1)' },
  // Attention-probability dropout hashes B·H·L² elements per layer, the priciest site; a
  // separate rate lets a recipe keep the others and skip it.
  attn_dropout: { kind: 'fraction', dflt: (c: Record<string, unknown>) => c.dropout, doc: 'dropout on attention probabilities (default: dropout)' },
  key_padding_mask: { kind: 'bool', dflt: false, doc: 'mask padding keys (off in the seed)' },
  // An ablation: left out of configs that do not name it, so theirs stay as they were.
  block: { kind: 'llama_block', optional: true, doc: "'llama' (RMSNorm, RoPE, SwiGLU; the default) or 'sasrec' (LayerNorm, learned positions, ReLU FFN)" },
  qkv_init: {
    kind: 'qkv_init',
    optional: true,
    doc: "init of wq, wk, wv: 'normal' (N(0, 0.02²), the default) or 'xavier' (U(±sqrt(6/4d)), torch MultiheadAttention's in-projection, which SASRec+ keeps)",
  },
  ...LOSS_FIELDS(1, false),
  ...FEATURE_FIELDS,
  time_gap_buckets: { kind: 'posint', optional: true, doc: 'log2 buckets of the time gap to the previous event' },
  head_dim: { kind: 'posint', derived: (c) => (c.dim as number) / (c.n_heads as number), doc: 'derived: dim / n_heads' },
  ffn_hidden: {
    kind: 'posint',
    derived: (c) => {
      const m = c.multiple_of as number;
      return m * Math.ceil(Math.floor((8 * (c.dim as number)) / 3) / m);
    },
    doc: 'derived: multiple_of * ceil(floor(8d/3) / multiple_of)',
  },
};

const HSTU_FIELDS: Record<string, FieldSpec> = {
  num_items: { kind: 'posint', doc: 'V, the number of items (ids 1..V)' },
  dim: { kind: 'posint', dflt: 50, doc: 'model width d' },
  n_layers: { kind: 'posint', dflt: 2, doc: 'N' },
  n_heads: { kind: 'posint', dflt: 1, doc: 'H' },
  dqk: { kind: 'posint', dflt: (c: Record<string, unknown>) => headWidth(c, 'dqk'), doc: 'q/k width per head (default dim / n_heads)' },
  dv: { kind: 'posint', dflt: (c: Record<string, unknown>) => headWidth(c, 'dv'), doc: 'u/v width per head (default dim / n_heads)' },
  maxlen: { kind: 'posint', dflt: 200, doc: 'L' },
  num_buckets: { kind: 'posint', dflt: 128, doc: 'time buckets (rab_ts has num_buckets + 1 entries)' },
  bucket_div: { kind: 'positive', dflt: 0.301, doc: 'time bucket divisor of ln|dt|' },
  ln_eps: { kind: 'positive', dflt: 1e-6, doc: 'LayerNorm eps' },
  dropout: { kind: 'fraction', dflt: 0, doc: 'dropout probability in [0, 1)' },
  time_bias: { kind: 'bool', dflt: true, doc: 'relative time-bucket attention bias (rab_ts); off for data without timestamps' },
  attn_divisor: { kind: 'positive', dflt: (c: Record<string, unknown>) => c.maxlen, doc: 'attention divisor n (default maxlen)' },
  // Official ml-1m recipe: sampled softmax, τ = 0.05, L2-normalised item vectors, R = 128.
  ...LOSS_FIELDS(0.05, true),
  ...FEATURE_FIELDS,
  uvqk_width: {
    kind: 'posint',
    derived: (c) => 2 * (c.n_heads as number) * ((c.dv as number) + (c.dqk as number)),
    doc: 'derived: 2·H·dv + 2·H·dqk',
  },
};

function headWidth(c: Record<string, unknown>, field: string): number {
  const d = c.dim as number;
  const h = c.n_heads as number;
  if (d % h !== 0) throw new ConfigError(`${field}: no default because dim ${d} is not divisible by n_heads ${h}; set ${field} explicitly`);
  return d / h;
}

const MODEL_ALIASES: Record<string, ModelName> = {
  'llama-sasrec': 'llama-sasrec',
  llama_sasrec: 'llama-sasrec',
  hstu: 'hstu',
};

/**
 * The model a config's `model` field names ('llama-sasrec', the fixtures' 'llama_sasrec', or
 * 'hstu'); undefined for anything else.
 */
export function modelNamed(name: unknown): ModelName | undefined {
  return typeof name === 'string' && Object.hasOwn(MODEL_ALIASES, name) ? MODEL_ALIASES[name] : undefined;
}

function checkKind(model: ModelName, field: string, kind: Kind, v: unknown): void {
  const where = `${model} config field '${field}'`;
  switch (kind) {
    case 'bool':
      if (typeof v !== 'boolean') throw new ConfigError(`${where} must be true or false, got ${JSON.stringify(v)}`);
      return;
    case 'bce_variant':
      if (v !== 'seed' && v !== 'official') throw new ConfigError(`${where} must be 'seed' or 'official', got ${JSON.stringify(v)}`);
      return;
    case 'llama_block':
      if (v !== 'llama' && v !== 'sasrec') throw new ConfigError(`${where} must be 'llama' or 'sasrec', got ${JSON.stringify(v)}`);
      return;
    case 'qkv_init':
      if (v !== 'normal' && v !== 'xavier') throw new ConfigError(`${where} must be 'normal' or 'xavier', got ${JSON.stringify(v)}`);
      return;
    case 'item_fields':
    case 'user_fields':
      checkFieldList(where, kind === 'item_fields', v);
      return;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${where} must be a finite number, got ${JSON.stringify(v)}`);
  if (kind === 'posint' && (!Number.isInteger(v) || v < 1)) throw new ConfigError(`${where} must be a positive integer, got ${v}`);
  if (kind === 'positive' && !(v > 0)) throw new ConfigError(`${where} must be > 0, got ${v}`);
  if (kind === 'fraction' && !(v >= 0 && v < 1)) throw new ConfigError(`${where} must be in [0, 1), got ${v}`);
}

/** Field names become parameter names (`item_field.<name>`), so they keep to ONNX-safe characters. */
const FIELD_NAME = /^[A-Za-z0-9_-]+$/;

function checkFieldList(where: string, withWidth: boolean, v: unknown): void {
  const shape = withWidth ? '[{name, vocab_size, width}, ...]' : '[{name, vocab_size}, ...]';
  if (!Array.isArray(v)) throw new ConfigError(`${where} must be a list ${shape}, got ${JSON.stringify(v)}`);
  const seen = new Set<string>();
  v.forEach((f: unknown, i) => {
    const at = `${where}[${i}]`;
    if (f === null || typeof f !== 'object' || Array.isArray(f)) throw new ConfigError(`${at} must be an object ${shape.slice(1, -6)}, got ${JSON.stringify(f)}`);
    const o = f as Record<string, unknown>;
    const keys = withWidth ? ['name', 'vocab_size', 'width'] : ['name', 'vocab_size'];
    for (const k of Object.keys(o)) if (!keys.includes(k)) throw new ConfigError(`${at}: unknown key '${k}'; valid keys: ${keys.join(', ')}`);
    if (typeof o.name !== 'string' || !FIELD_NAME.test(o.name)) throw new ConfigError(`${at}.name must be letters, digits, '_' or '-', got ${JSON.stringify(o.name)}`);
    if (seen.has(o.name)) throw new ConfigError(`${at}.name '${o.name}' appears twice`);
    seen.add(o.name);
    // Token 0 is padding and 1 unknown, so a usable vocabulary has at least one value besides them.
    if (!Number.isInteger(o.vocab_size) || (o.vocab_size as number) < 2) throw new ConfigError(`${at}.vocab_size must be an integer >= 2, got ${JSON.stringify(o.vocab_size)}`);
    if (withWidth && (!Number.isInteger(o.width) || (o.width as number) < 1)) throw new ConfigError(`${at}.width must be a positive integer, got ${JSON.stringify(o.width)}`);
  });
}

function resolveFields(model: ModelName, fields: Record<string, FieldSpec>, raw: unknown): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${model} config must be an object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`);
  }
  const given = raw as Record<string, unknown>;
  const valid = Object.keys(fields);
  for (const key of Object.keys(given)) {
    if (key === 'model') {
      const m = MODEL_ALIASES[String(given.model)];
      if (m !== model) throw new ConfigError(`config field 'model' is ${JSON.stringify(given.model)}, but this is the ${model} model`);
      continue;
    }
    if (!(key in fields)) throw new ConfigError(`unknown ${model} config field '${key}'; valid fields: model, ${valid.join(', ')}`);
  }
  const out: Record<string, unknown> = { model };
  const derived: [string, FieldSpec][] = [];
  for (const [field, spec] of Object.entries(fields)) {
    if (spec.derived) {
      derived.push([field, spec]);
      continue;
    }
    let v = given[field];
    if (v === undefined && spec.optional) continue;
    if (v === undefined) {
      if (spec.dflt === undefined) throw new ConfigError(`${model} config field '${field}' (${spec.doc}) is required`);
      v = typeof spec.dflt === 'function' ? (spec.dflt as (c: Record<string, unknown>) => unknown)(out) : spec.dflt;
    }
    checkKind(model, field, spec.kind, v);
    out[field] = v;
  }
  return Object.assign(out, { __derived: derived, __given: given });
}

function finishDerived(model: ModelName, c: Record<string, unknown>): void {
  const derived = c.__derived as [string, FieldSpec][];
  const given = c.__given as Record<string, unknown>;
  delete c.__derived;
  delete c.__given;
  for (const [field, spec] of derived) {
    const value = spec.derived!(c);
    if (given[field] !== undefined && given[field] !== value) {
      throw new ConfigError(`${model} config field '${field}' is ${JSON.stringify(given[field])}, but ${spec.doc.replace('derived: ', '')} gives ${value}`);
    }
    c[field] = value;
  }
}

function checkFeatureSettings(model: ModelName, c: Record<string, unknown>): void {
  if (c.item_features_in_output === true && !(Array.isArray(c.item_fields) && c.item_fields.length > 0)) {
    throw new ConfigError(`${model} config field 'item_features_in_output' needs item feature fields ('item_fields')`);
  }
}

export function resolveLlamaConfig(raw: unknown): LlamaSasrecConfig {
  const c = resolveFields('llama-sasrec', LLAMA_FIELDS, raw);
  checkFeatureSettings('llama-sasrec', c);
  const dim = c.dim as number;
  const heads = c.n_heads as number;
  if (dim % heads !== 0) throw new ConfigError(`llama-sasrec config field 'dim' (${dim}) must be divisible by 'n_heads' (${heads})`);
  if (c.block !== 'sasrec' && (dim / heads) % 2 !== 0) {
    throw new ConfigError(`llama-sasrec head width dim / n_heads = ${dim / heads} must be even for RoPE (fields 'dim' and 'n_heads')`);
  }
  finishDerived('llama-sasrec', c);
  return c as unknown as LlamaSasrecConfig;
}

export function resolveHstuConfig(raw: unknown): HstuConfig {
  const c = resolveFields('hstu', HSTU_FIELDS, raw);
  checkFeatureSettings('hstu', c);
  finishDerived('hstu', c);
  return c as unknown as HstuConfig;
}

/** Validates `raw` and fills defaults and derived fields. `model` accepts 'llama-sasrec', 'llama_sasrec' or 'hstu'. */
export function resolveConfig(model: string, raw: unknown): ModelConfig {
  const m = MODEL_ALIASES[model];
  if (!m) throw new ConfigError(`unknown model '${model}'; known models: llama-sasrec, hstu`);
  return m === 'hstu' ? resolveHstuConfig(raw) : resolveLlamaConfig(raw);
}

/** The field names each model's config accepts (besides `model`). */
export const CONFIG_FIELDS: Record<ModelName, readonly string[]> = {
  'llama-sasrec': Object.keys(LLAMA_FIELDS),
  hstu: Object.keys(HSTU_FIELDS),
};
