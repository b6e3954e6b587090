/**
 * Side information and actions for generative-recommender inputs (Zhai et al., "Actions Speak
 * Louder than Words", ICML 2024, §2: one sample per user is `<profile> <item_1 features> …`,
 * non-behavioural tokens and negative feedback are context only, never targets).
 *
 * These types are the contract between the data layer (readers, split, sampler, eval inputs)
 * and the model/compiler layer (profile prefix, feature and action embeddings, export).
 * Extend only additively.
 *
 * Token ids of every field: 0 = '<pad>', 1 = '<unk>' (an unknown user/item, or a value not seen
 * in training), 2.. = the field's values in `vocab` order.
 */

/** Token id of padding in every field and in the action vocabulary. */
export const PAD_TOKEN = 0;
/** Token id of an unknown user/item or a value unseen in training, in every field. */
export const UNK_TOKEN = 1;

/** One categorical field; vocab[0] = '<pad>', vocab[1] = '<unk>' (unknown user/item, or a value unseen in training). */
export interface FeatureField {
  name: string;
  /**
   * 'categorical': one value per row; 'multi': several values per row (e.g. genres
   * `Action|Comedy`; the model takes the mean of their embeddings, padding excluded);
   * 'bucketed': a numeric value mapped to a bucket token (the vocab entries name the buckets).
   */
  kind: 'categorical' | 'multi' | 'bucketed';
  vocab: string[];
  /** tokens per row: 1, or the max number of values of a multi-valued field */
  width: number;
  /**
   * Bucketed fields only (additive): the ascending bucket edges; value x falls in bucket
   * b = #{edges <= x} (0..edges.length), token 2 + b. Stored so that new data is bucketed the
   * same way as the training data.
   */
  edges?: number[];
  /**
   * Multi-valued fields read from a CSV side file (additive): the separator between a row's
   * values, stored so that train and eval split the same file the same way without `--field`.
   * Absent: '|' (also for fields of manifests written before it was stored).
   */
  separator?: string;
}

/** Item side: for each field a table [V+1, width] of token ids (0 pad), row 0 all 0 (padding item). */
export interface ItemFeatures {
  fields: FeatureField[];
  /** Parallel to `fields`; row i (internal item id i) holds `width` tokens at [i*width, (i+1)*width), left-aligned, 0-padded. */
  tables: Int32Array[];
  /** Items of the interaction log that the item-feature file does not list (every field '<unk>'). */
  unknownItems: number;
  /** Field values mapped to '<unk>' because they were unseen in training (summed over fields and rows). */
  unseenValues: number;
}

/** User side: for each field a column [numUsers] of token ids (single-valued; multi-valued user fields are not supported or use width). */
export interface UserFeatures {
  fields: FeatureField[];
  /** Parallel to `fields`; column[u] is user index u's token (Dataset.users order). */
  columns: Int32Array[];
  /** Users of the interaction log that the user-feature file does not list (every field '<unk>'). */
  unknownUsers: number;
  /** Field values mapped to '<unk>' because they were unseen in training (summed over fields and users). */
  unseenValues: number;
}

/** Actions: per event an action token (1..A; 0 = padding), vocab[0]='<pad>'. */
export interface ActionLog {
  /** vocab[0] = '<pad>'; vocab[a] is the action value (e.g. the rating '4', or 'click') of token a. */
  vocab: string[];
  /** per user, parallel to Dataset.sequences */
  actions: Int32Array[];
  /** Per token, the 1-based line of the data file where the value first appears ([0] = 0); CSV and JSON Lines files only. */
  firstLine?: number[];
}

/** The positive rule, stored in the manifest: e.g. { kind: 'rating', min: 4 } or { kind: 'actions', values: ['click','buy'] }. */
export type PositiveRule = { kind: 'all' } | { kind: 'rating'; min: number } | { kind: 'actions'; values: string[] };

/**
 * How a column of a CSV/TSV side file is read (`--field [user:|item:]NAME=KIND[:ARG]`; additive,
 * data side only): 'categorical' (default), 'multi' with a separator, 'numeric' with `buckets`
 * quantile buckets over the training users/items (read as a 'bucketed' field), or 'ignore'.
 */
export interface FieldSpec {
  name: string;
  /** The side file it applies to (`user:NAME`, `item:NAME`); absent: a column of that name in either. */
  side?: 'user' | 'item';
  kind: 'categorical' | 'multi' | 'numeric' | 'ignore';
  /** 'multi': the separator between values (default '|'). */
  separator?: string;
  /** 'numeric': the number of quantile buckets (default 10). */
  buckets?: number;
}

/** A spec's column as `--field` names it: `user:age`, `genres`. */
export function fieldSpecLabel(sp: FieldSpec): string {
  return sp.side ? `${sp.side}:${sp.name}` : sp.name;
}

/** The specs that apply to one side file: those scoped to it and the unscoped ones. */
export function specsForSide(specs: readonly FieldSpec[] | undefined, side: 'user' | 'item'): FieldSpec[] {
  return (specs ?? []).filter((sp) => sp.side === undefined || sp.side === side);
}

/** The `--field` kind a compiled field is read with again (a bucketed field is read as numeric). */
export const SPEC_KIND_OF_FIELD: Record<FeatureField['kind'], FieldSpec['kind']> = { categorical: 'categorical', multi: 'multi', bucketed: 'numeric' };

/**
 * Batch inputs added by this contract (also in contract/artifacts.ts BATCH), all int64:
 * - `action` [B, L]: the action token of each seq position (0 at padding).
 * - `profile` [B, P]: one token per user field (P = UserFeatures.fields.length), the row's user.
 * `pos[t]` is the next event's item only if that event is positive, else 0, so negatives are
 * never targets and never in the loss denominator; `seq` keeps every event as context.
 * Item feature tables are not batch inputs: they are baked into the graph as constants.
 */
export const FEATURE_BATCH = { action: 'action', profile: 'profile' } as const;

/**
 * What the compiler needs to size the new embeddings, stored in the manifest (additive) and
 * written to the exported model's metadata: the vocabularies, widths and the positive rule.
 * Absent fields mean the input is not used (plain item-id model).
 */
export interface FeatureSchema {
  positive: PositiveRule;
  /** Action vocabulary (vocab[0] = '<pad>'), when actions are model inputs. */
  actions?: string[];
  /** User fields in profile order (no tables: those are per user, fed as `profile`). */
  userFields?: FeatureField[];
  /** Item fields in table order (the tables themselves are baked into the graph). */
  itemFields?: FeatureField[];
}
