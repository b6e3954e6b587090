/**
 * The input side of a generative recommender (Zhai et al., "Actions Speak Louder than Words",
 * ICML 2024, §2.1): one sample per user is `<profile tokens> <event_1> … <event_n>`, where an
 * event's embedding is its item-id embedding plus its item-feature embeddings plus the
 * embedding of the user's action on it. Both models use it through `buildFeatureInput`; with no
 * feature field in the config nothing here is called and the graphs are the plain item-id ones.
 *
 * Layout. Batches stay left-padded [B, T] (T ≤ maxlen, the batch's length). With P profile
 * fields the encoder runs on P + T slots: the P profile tokens sit immediately before the
 * row's first event and the events keep their slots shifted by P, i.e. the row reads
 * [padding, profile, events] and is again a left-padded sequence of P + n real tokens (n = the
 * row's events). So HSTU's position index and relative biases, and llama's causal and
 * key-padding masks, see the profile as the oldest part of the history, whatever the padding.
 * Event t's output is slot P + t; the profile's outputs fall on slots whose `pos` is 0 (the
 * left padding of the event grid), so they are never targets. A row without events still gets
 * its profile tokens, and the last slot (the user embedding at serving) is then the last
 * profile token: a cold-start user is scored from the profile alone. HSTU's position embedding
 * and relative position bias cover P + maxlen slots; its attention divisor stays the
 * configured one (default maxlen).
 *
 * Length buckets. The side inputs are per slot (action, item features, time gap to the
 * previous slot) and the profile is a prefix of the real tokens, so a batch trimmed to its
 * longest row (seq, action [B, T], ts_ext [B, T+1]; profile [B, P] as is) gives the same
 * outputs at its events as the maxlen-wide batch. The layout is computed from the run-time T
 * (the slot index is a Range over P + T, the first event's slot m = T − n), so the encoder's
 * length is P + T, and the constants the encoder builds at P + maxlen (causal mask, RoPE
 * tables, HSTU's relative-position index) are cut to their last P + T rows like the plain
 * models' (graphs/common.ts, lastRows): a row keeps the slots it has in the maxlen-wide layout.
 *
 * Time. HSTU keeps its relative time bias; a profile token takes the time of the row's first
 * event (the target's time when the row has no event), so its bucket to a query is the
 * query's gap to the start of the history. llama gets a time-gap embedding per event instead:
 * bucket 0 = padding, 1 = the row's first event (no previous one), and 2 + min(⌊log2(1 + gap)⌋, G − 1)
 * for a gap (in the data's time unit, clamped at 0) to the previous event, in float32.
 */
import { DIM } from '../src/contract/artifacts.js';
import { Graph, ParamInfo, Tensor } from '../src/dsl/graph.js';
import * as op from '../src/dsl/index.js';
import { int64s } from '../src/dsl/ops/util.js';
import type { Dim } from '../src/dsl/types.js';
import { ConfigError, ModelConfig } from './config.js';
import { InputSpec } from './types.js';

/** Batch input names (the data side's `FEATURE_BATCH`, and BATCH in src/contract/artifacts.ts). */
export const FEATURE_INPUTS = { action: 'action', profile: 'profile', tsExt: 'ts_ext' } as const;

/**
 * Item feature token tables, one per `item_fields` entry and in its order: [V+1, width] int32
 * row-major, row i the tokens of item id i (0 = padding, excluded from the mean), row 0 all 0.
 * They are baked into the graphs as constants.
 */
export type ItemFeatureTables = readonly Int32Array[];

/** True when the config asks for any side input (item fields, profile, actions or time gaps). */
export function usesFeatures(c: ModelConfig): boolean {
  return (c.item_fields?.length ?? 0) > 0 || profileLength(c) > 0 || c.num_actions !== undefined || c.time_gap_buckets !== undefined;
}

/** P, the number of profile tokens (one per user field). */
export function profileLength(c: ModelConfig): number {
  return c.user_fields?.length ?? 0;
}

/** Whether the model needs `ts_ext` because of the features (llama's time gaps). */
export function needsTimes(c: ModelConfig): boolean {
  return c.time_gap_buckets !== undefined;
}

/**
 * The config the encoder runs with: `maxlen` becomes P + maxlen (the profile prefix), the size
 * its constants are built at before they are cut to the batch's P + T. The same object when
 * there is no profile, so the plain graphs are untouched.
 */
export function sequenceConfig<C extends ModelConfig>(c: C): C {
  const P = profileLength(c);
  return P === 0 ? c : { ...c, maxlen: c.maxlen + P };
}

/**
 * The batch inputs the features add, after the plain ones: `action` [B, T] int64 (0 at
 * padding) with `num_actions`, `profile` [B, P] int64 (column f = a token of user field f)
 * with `user_fields`.
 */
export function featureInputSpecs(c: ModelConfig, batch: string | number = 'batch'): InputSpec[] {
  const specs: InputSpec[] = [];
  if (c.num_actions !== undefined) specs.push({ name: FEATURE_INPUTS.action, dtype: 'int64', shape: [batch, DIM.seq] });
  const P = profileLength(c);
  if (P > 0) specs.push({ name: FEATURE_INPUTS.profile, dtype: 'int64', shape: [batch, P] });
  return specs;
}

/**
 * The inference graph's feature inputs, made safe for callers: an action < 0 reads as 0 (no
 * action, like padding), a profile token < 1 as 1 ('<unk>'), mirroring `seq`'s ids < 0 as padding.
 */
export function inferenceFeatureInputs(g: Graph, c: ModelConfig): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  // HSTU declares ts_ext itself; llama only for its time gaps.
  if (c.model !== 'hstu' && needsTimes(c)) out[FEATURE_INPUTS.tsExt] = g.input(FEATURE_INPUTS.tsExt, 'int64', ['batch', DIM.seqNext]);
  for (const s of featureInputSpecs(c)) {
    const t = g.input(s.name, s.dtype, s.shape);
    out[s.name] = g.scope('inference_input', () => op.max(t, s.name === FEATURE_INPUTS.profile ? 1 : 0));
  }
  return out;
}

export interface FeatureInput {
  /** [B, P + T] int64: 0 at padding slots, 1 at real ones (profile or event); the encoder's `seq`. */
  ids: Tensor;
  /** [B, P + T, d] float32 token embeddings, before the model's √d scale. */
  tok: Tensor;
  /** [B, P + T + 1] int64 times for HSTU's time bias: ts_ext with the profile slots inserted. */
  tsExt: Tensor | null;
  /** [V+1, d] item vectors of the output side: item_emb plus the feature means, or item_emb alone with item_features_in_output: false. */
  outputItems: Tensor;
  /** P: event t's encoder output is slot P + t. */
  prefix: number;
  /** T, the dim of the batch's sequence axis (seq's axis 1). */
  events: Dim;
}

/** An `ends` value of Slice meaning "to the end of the axis" (ONNX clamps it). */
const SLICE_END = Number.MAX_SAFE_INTEGER;

/**
 * x[:, a : b] along axis 1 with the result's length named `dim` (b may be negative, counted
 * from the end, or SLICE_END). A static axis 1 gives a static slice.
 */
function cols(x: Tensor, a: number, b: number, dim: Dim): Tensor {
  const g = x.graph;
  return typeof x.shape[1] === 'number'
    ? op.slice(x, [1], [a], [b < 0 ? x.shape[1] + b : b])
    : g.addNode('Slice', [x, int64s(g, [a]), int64s(g, [b]), int64s(g, [1])], {}, [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i === 1 ? dim : d)) }])[0];
}

/** `d + k` for a static length, else the symbolic name `${k}+${d}` (e.g. '2+T' for P = 2). */
function plusDim(d: Dim, k: number): Dim {
  return typeof d === 'number' ? d + k : `${k}+${d}`;
}

/** A parameter declared with the item embedding's initialisation, padding row 0 without gradient. */
function embeddingParam(g: Graph, itemEmb: Tensor, name: string, rows: number, padRow = true): Tensor {
  const info = (itemEmb.source as { info: ParamInfo }).info;
  return g.param(name, [rows, itemEmb.shape[1] as number], info.init, { zeroGradRows: padRow ? [0] : [] });
}

/**
 * Σ_f mean over the item's tokens of field f's embedding, for the whole catalogue: [V+1, d].
 * The tokens and the mean weights (1/#non-padding tokens, 0 at padding) are constants.
 */
function itemFeatureTable(c: ModelConfig, itemEmb: Tensor, tables: ItemFeatureTables | undefined): Tensor | null {
  const fields = c.item_fields ?? [];
  if (fields.length === 0) return null;
  const g = itemEmb.graph;
  const rows = c.num_items + 1;
  if (!tables || tables.length !== fields.length) {
    throw new ConfigError(`the config has ${fields.length} item feature field(s) (${fields.map((f) => f.name).join(', ')}) but ${tables?.length ?? 0} item feature table(s) were given`);
  }
  let sum: Tensor | null = null;
  fields.forEach((f, i) => {
    const t = tables[i];
    if (t.length !== rows * f.width) throw new ConfigError(`item field '${f.name}': table has ${t.length} tokens, expected (num_items + 1) × width = ${rows} × ${f.width}`);
    const tokens = new BigInt64Array(t.length);
    const weights = new Float32Array(t.length);
    for (let r = 0; r < rows; r++) {
      let n = 0;
      for (let j = 0; j < f.width; j++) {
        const v = t[r * f.width + j];
        if (!(v >= 0 && v < f.vocab_size)) throw new ConfigError(`item field '${f.name}': item ${r} has token ${v}, outside [0, ${f.vocab_size})`);
        if (r === 0 && v !== 0) throw new ConfigError(`item field '${f.name}': row 0 (the padding item) must hold only token 0`);
        tokens[r * f.width + j] = BigInt(v);
        if (v !== 0) n++;
      }
      for (let j = 0; j < f.width; j++) if (t[r * f.width + j] !== 0) weights[r * f.width + j] = 1 / n;
    }
    const emb = embeddingParam(g, itemEmb, `item_field.${f.name}`, f.vocab_size);
    const mean = g.scope(`item_field.${f.name}`, () => {
      const gathered = op.gather(emb, g.constant(tokens, 'int64', [rows, f.width]), 0); // [V+1, w, d]
      return op.reduceSum(op.mul(gathered, g.constant(weights, 'float32', [rows, f.width, 1])), [1]);
    });
    sum = sum ? op.add(sum, mean) : mean;
  });
  return sum;
}

/**
 * llama's time-gap buckets [B, L] int64 (see the module comment) from seq [B, L] and ts_ext
 * [B, L+1]; L is seq's sequence dim, static (maxlen) or the symbolic T of a trimmed batch.
 */
export function timeGapBuckets(seq: Tensor, tsExt: Tensor, L: Dim, G: number): Tensor {
  const g = seq.graph;
  const ts = cols(tsExt, 0, -1, L);
  // x[t − 1], 0 at t = 0 (Concat, not Pad: the DSL's Pad takes a float fill value).
  const shift = (x: Tensor) => {
    const zero = op.mul(op.slice(x, [1], [0], [1]), 0);
    return L === 1 ? zero : cols(op.concat([zero, x], 1), 0, -1, L);
  };
  const valid = op.not(op.equal(seq, 0));
  const hasPrev = op.and(valid, op.not(op.equal(shift(seq), 0)));
  const gap = op.max(op.sub(ts, shift(ts)), 0);
  const log2 = op.floor(op.div(op.log(op.add(op.cast(gap, 'float32'), 1)), Math.LN2));
  const bucket = op.add(op.cast(op.min(log2, G - 1), 'int64'), 2);
  return op.where(hasPrev, bucket, op.where(valid, op.scalar(g, 1, 'int64'), op.scalar(g, 0, 'int64')));
}

/**
 * Declares the feature parameters and builds the encoder input (see the module comment):
 * event token = (item_emb + Σ_f feature means)[seq] + action_emb[action] + time_gap_emb[gap bucket],
 * profile token f = user_field.<f>[profile[:, f]], laid out as [padding, profile, events] of
 * length P + T, T being seq's length at run time.
 *
 * @param itemEmb the item embedding parameter [V+1, d].
 * @param inputs `seq` [B, T]; `action` [B, T], `profile` [B, P] and `ts_ext` [B, T+1] when the config uses them.
 * @param tables the item feature tables when the config has item fields.
 * @throws ConfigError when the item tables do not match the config's item fields.
 */
export function buildFeatureInput(c: ModelConfig, itemEmb: Tensor, inputs: Record<string, Tensor>, tables?: ItemFeatureTables): FeatureInput {
  const g = itemEmb.graph;
  const P = profileLength(c);
  const seq = inputs.seq;
  const L = seq.shape[1]; // the batch's T
  const featTable = itemFeatureTable(c, itemEmb, tables);
  const actionEmb = c.num_actions !== undefined ? embeddingParam(g, itemEmb, 'action_emb', c.num_actions + 1) : null;
  const gapEmb = c.time_gap_buckets !== undefined ? embeddingParam(g, itemEmb, 'time_gap_emb', c.time_gap_buckets + 2) : null;
  const userEmb = (c.user_fields ?? []).map((f) => embeddingParam(g, itemEmb, `user_field.${f.name}`, f.vocab_size));
  return g.scope('features', () => {
    const itemTable = featTable ? op.add(itemEmb, featTable) : itemEmb;
    let events = op.gather(itemTable, seq, 0); // [B, T, d]
    if (actionEmb) events = op.add(events, op.gather(actionEmb, inputs.action, 0));
    if (gapEmb) events = op.add(events, op.gather(gapEmb, timeGapBuckets(seq, inputs.ts_ext, seq.shape[1], c.time_gap_buckets!), 0));
    // On by default with item fields: it helped both models on ML-100K (README, "Side inputs").
    const outputItems = featTable && c.item_features_in_output !== false ? itemTable : itemEmb;
    if (P === 0) return { ids: seq, tok: events, tsExt: inputs.ts_ext ?? null, outputItems, prefix: 0, events: L };
    const X = plusDim(L, P); // the encoder's length P + T
    const profile = op.concat(
      userEmb.map((e, f) => op.gather(e, op.slice(inputs.profile, [1], [f], [f + 1]), 0)),
      1,
    ); // [B, P, d]
    // m = T − n: the first event's slot. Output slot s reads concat([profile, events]) at
    // s + P (left padding, s < m), s − m (profile, m <= s < m + P) or s (events).
    const T = op.gather(op.shapeOf(seq), op.scalar(g, 1, 'int64'), 0); // int64 scalar
    const n = op.reduceSum(op.cast(op.not(op.equal(seq, 0)), 'int64'), [1], true); // [B, 1]
    const m = op.sub(T, n);
    const s = op.unsqueeze(op.range(op.scalar(g, 0, 'int64'), op.add(T, P), op.scalar(g, 1, 'int64'), X), [0]); // [1, P + T]
    const idx = op.where(op.less(s, m), op.add(s, P), op.where(op.less(s, op.add(m, P)), op.sub(s, m), s)); // [B, P + T]
    const both = op.concat([profile, events], 1, X); // [B, P + T, d]
    const tok = op.gatherElements(both, op.expandAs(op.unsqueeze(idx, [2]), both), 1);
    const ids = op.cast(op.not(op.less(s, m)), 'int64');
    let tsExt: Tensor | null = null;
    if (inputs.ts_ext) {
      const first = op.gatherElements(inputs.ts_ext, m, 1); // [B, 1]: the first event's time (the target's without events)
      const ts = op.concat([op.expandAs(first, inputs.profile), cols(inputs.ts_ext, 0, -1, L)], 1, X); // [B, P + T]
      tsExt = op.concat([op.gatherElements(ts, idx, 1), cols(inputs.ts_ext, -1, SLICE_END, 1)], 1, plusDim(L, P + 1));
    }
    return { ids, tok, tsExt, outputItems, prefix: P, events: L };
  });
}

/** The event slots of the encoder output F [B, P + T, d]: [B, T, d], row t = event t. */
export function eventSlots(f: Tensor, fi: FeatureInput): Tensor {
  if (fi.prefix === 0) return f;
  return cols(f, fi.prefix, SLICE_END, fi.events);
}

/** Runs one encoder: `seq` [B, T] (0 = padding), `tsExt` [B, T+1] or undefined, `tok` [B, T, d] token embeddings or undefined (plain item ids). */
export type EncoderFn<C extends ModelConfig> = (c: C, seq: Tensor, tsExt: Tensor | undefined, tok: Tensor | undefined) => Tensor;

/**
 * The models' one hook: encodes the batch with or without the side inputs. Without any
 * feature field it calls `encode(c, seq, ts_ext)` exactly as before (same nodes, same order);
 * with them it builds the feature input and runs the encoder on P + T slots.
 * Returns the encoder output at the event slots F [B, T, d] and the item vectors [V+1, d] of the output side.
 */
export function encodeEvents<C extends ModelConfig>(c: C, itemEmb: Tensor, inputs: Record<string, Tensor>, tables: ItemFeatureTables | undefined, encode: EncoderFn<C>): { f: Tensor; items: Tensor } {
  if (!usesFeatures(c)) return { f: encode(c, inputs.seq, inputs.ts_ext, undefined), items: itemEmb };
  const fi = buildFeatureInput(c, itemEmb, inputs, tables);
  return { f: eventSlots(encode(sequenceConfig(c), fi.ids, fi.tsExt ?? undefined, fi.tok), fi), items: fi.outputItems };
}
