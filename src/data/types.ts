import type { ActionLog, FeatureSchema, FieldSpec, ItemFeatures, PositiveRule, UserFeatures } from './features.js';

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
  /** How the file was read (absent for data not read from a file, e.g. the built-in dataset). */
  read?: ReadReport;
  /** One line each: what the reader did that a user should know (reordering, encoding, ignored columns). */
  notes?: string[];
  /** Per-event actions (a rating or an event type), when asked for (ReadOptions.actions / actionCol). */
  actions?: ActionLog;
  /** Per user, per event: 1 if the event is positive under `positiveRule`; absent = every event positive. */
  positive?: Uint8Array[];
  /** The rule `positive` was computed with (absent: every event positive). */
  positiveRule?: PositiveRule;
  /** Item side information (item-feature file), tables indexed by internal item id. */
  itemFeatures?: ItemFeatures;
  /** User side information (user-feature file), columns indexed by user index. */
  userFeatures?: UserFeatures;
}

export type DataFormat = 'auto' | 'sasrec' | 'user-seq' | 'movielens' | 'ml100k' | 'csv' | 'jsonl' | 'reczoo';

/** Every value of DataFormat, for flag definitions and validation. */
export const DATA_FORMATS: readonly DataFormat[] = ['auto', 'sasrec', 'user-seq', 'movielens', 'ml100k', 'csv', 'jsonl', 'reczoo'];

/** What a reader found and did, reported by `reclm data stats`. */
export interface ReadReport {
  /** The file as named (`archive.zip:member` for a zip member). */
  file: string;
  /** The format actually read (never 'auto'). */
  format: Exclude<DataFormat, 'auto'>;
  /** The zip member read, when the file was a zip archive. */
  archiveMember?: string;
  /** 'utf-8', or 'latin-1' when the file is not valid UTF-8 (every byte then maps to one character). */
  encoding: 'utf-8' | 'latin-1';
  /** Ids are opaque tokens; these say whether every user / item id was a canonical non-negative integer. */
  integerUserIds: boolean;
  integerItemIds: boolean;
  /** CSV-like files: the header columns used for user, item and time (null: none). */
  columns?: { user: string; item: string; time: string | null; action?: string };
  /** Columns present in the file that were not used (e.g. rating). */
  ignoredColumns: string[];
  /** Users whose events were not in time order in the file (their events were sorted by time, stable). */
  reorderedUsers: number;
  /** Adjacent event pairs of one user whose time goes backwards in file order. */
  outOfOrderPairs: number;
  /** Rows equal to an earlier row in user, item and time (kept; null when the data has no time). */
  duplicateRows: number | null;
  /** Why the dataset has no timestamps although the file may have them (pre-split files are read without). */
  timestampsDropped?: string;
  /** k-core filtering (ReadOptions.minItemCount / minUserCount above 1): the thresholds and the file's sizes before it. */
  kCore?: KCoreReport;
}

/** What k-core filtering was asked for, and how much data the file held before it. */
export interface KCoreReport {
  minItemCount: number;
  minUserCount: number;
  before: { users: number; items: number; interactions: number };
}

export interface ReadOptions {
  /** 'auto' (default) detects the format from the file name, then from the content. */
  format?: DataFormat;
  /** Dataset name; defaults to the file name without directories and extensions. */
  name?: string;
  /** CSV / RecBole .inter column names; default: the synonyms in readers/columns.ts. */
  userCol?: string;
  itemCol?: string;
  /** A column name, or null to ignore any time column. */
  timeCol?: string | null;
  /** k-core filtering: drop items with fewer interactions (iterated with minUserCount until stable). */
  minItemCount?: number;
  /** k-core filtering: drop users with fewer interactions. */
  minUserCount?: number;
  /** CSV / RecBole .inter / JSON Lines: the action column (a rating or an event type), read when actions are needed. */
  actionCol?: string;
  /**
   * Actions are a model input: read each event's action (the rating of ratings.dat / u.data,
   * the CSV's or JSON Lines' actionCol, else a column named like action, event, rating) and keep it in
   * Dataset.actions. Off by default: plain item ids. A positive rule reads the actions too, but
   * openDataset keeps them only with this option.
   */
  actions?: boolean;
  /** Which events are positive (targets); needs actions unless 'all'. Default: every event. */
  positive?: PositiveRule;
  /** User-feature file (users.dat, u.user, or CSV/TSV with a header) and item-feature file (movies.dat, u.item, CSV/TSV). */
  userFeatures?: string;
  itemFeatures?: string;
  /** How CSV side-file columns are read (default: categorical); see side-features.ts. */
  fieldSpecs?: FieldSpec[];
  /**
   * Vocabularies from training (the manifest's `features`): side-file values are mapped to them,
   * values they lack become '<unk>'. Absent: the vocabularies are built from this data.
   */
  schema?: FeatureSchema;
  /** Called once per note (see Dataset.notes) after the file was read. */
  onNote?: (line: string) => void;
}
