/**
 * In-memory interaction data shared by readers, split, samplers and evaluation.
 *
 * Item ids inside the library are always 1..numItems with 0 reserved for padding, because the
 * models index an embedding table of V+1 rows by them. The original ids are kept in `itemIds`
 * so that artifacts can translate predictions back.
 */
export interface Dataset {
  name: string;
  /** V: item ids are 1..V, 0 is padding. */
  numItems: number;
  /** Original user id per user index. */
  users: string[];
  /** Per user index: chronological item ids in 1..V. */
  sequences: Int32Array[];
  /** Per user index: unix seconds parallel to `sequences`, or null when the file has none. */
  timestamps: Float64Array[] | null;
  /** Length V+1: itemIds[i] is the original id of internal item i; itemIds[0] = '' (padding). */
  itemIds: string[];
  /** True when internal ids differ from the file's ids (see readers/build.ts for the rule). */
  remapped: boolean;
}

export type DataFormat = 'auto' | 'sasrec' | 'movielens' | 'ml100k' | 'csv' | 'reczoo';

export interface ReadOptions {
  /** 'auto' (default) detects the format from the file name, then from the content. */
  format?: DataFormat;
  /** Dataset name; defaults to the file name without directories and extensions. */
  name?: string;
  /** CSV column names (defaults user_id/item_id/timestamp, then user/item/timestamp). */
  userCol?: string;
  itemCol?: string;
  timeCol?: string;
  /** k-core filtering: drop items with fewer interactions (iterated with minUserCount until stable). */
  minItemCount?: number;
  /** k-core filtering: drop users with fewer interactions. */
  minUserCount?: number;
}
