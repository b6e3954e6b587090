/** Summary numbers for `reclm data stats` and the artifact manifest. */
import type { FeatureField } from './features.js';
import { formatPositiveRule, positiveShare } from './positive.js';
import type { Dataset, KCoreReport } from './types.js';
import { count, noun } from '../util/plural.js';

export interface DatasetStats {
  name: string;
  /** The format read ('builtin' for the generated dataset), and the zip member when there was one. */
  format: string;
  users: number;
  items: number;
  interactions: number;
  /** Sequence length per user: median averages the two middle values; p90 is nearest-rank. */
  seqLen: { min: number; median: number; mean: number; p90: number; max: number };
  hasTimestamps: boolean;
  remapped: boolean;
  /** How ids were read: always as opaque tokens; whether every one was an integer; whether items were renumbered. */
  ids: { users: 'integers' | 'tokens'; items: 'integers' | 'tokens'; remapped: boolean; summary: string };
  encoding: 'utf-8' | 'latin-1';
  /** Header formats: the columns used. */
  columns: { user: string; item: string; time: string | null; action?: string } | null;
  ignoredColumns: string[];
  /** Users whose events were out of time order in the file (sorted by time when read), and the backward steps; null without time. */
  outOfOrder: { users: number; pairs: number } | null;
  /** Rows equal to an earlier row in user, item and time (kept as interactions); null without time. */
  duplicateRows: number | null;
  /** k-core filtering, when asked for: the thresholds and the sizes before it. */
  kCore?: KCoreReport;
  notes: string[];
}

/** The summary of `ds` that `reclm data stats` prints and the manifest records: counts, sequence lengths (median, mean, nearest-rank p90), how ids and times were read. */
export function datasetStats(ds: Dataset): DatasetStats {
  const lens = Float64Array.from(ds.sequences, (s) => s.length).sort();
  const n = lens.length;
  let total = 0;
  for (const l of lens) total += l;
  const median = n === 0 ? 0 : n % 2 === 1 ? lens[(n - 1) / 2] : (lens[n / 2 - 1] + lens[n / 2]) / 2;
  const r = ds.read;
  const kind = (allInt: boolean | undefined) => (allInt === false ? 'tokens' : 'integers');
  const ids = { users: kind(r?.integerUserIds), items: kind(r?.integerItemIds), remapped: ds.remapped } as const;
  const summary = !r
    ? `generated ids (built-in dataset): items 1..${ds.numItems}, not remapped`
    : `ids read as opaque tokens (users: ${ids.users === 'integers' ? 'all integers' : 'not all integers'}, items: ${ids.items === 'integers' ? 'all integers' : 'not all integers'}); ` +
    (ds.remapped ? `items remapped to 1..${ds.numItems} in order of first appearance (items.json maps them back)` : `item ids kept as they are (they form 1..${ds.numItems})`);
  const hasTime = ds.timestamps !== null;
  return {
    name: ds.name,
    format: r ? `${r.format}${r.archiveMember ? ` (zip member ${r.archiveMember})` : ''}` : 'builtin',
    users: n,
    items: ds.numItems,
    interactions: total,
    seqLen: {
      min: n ? lens[0] : 0,
      median,
      mean: n ? total / n : 0,
      p90: n ? lens[Math.max(0, Math.ceil(0.9 * n) - 1)] : 0,
      max: n ? lens[n - 1] : 0,
    },
    hasTimestamps: hasTime,
    remapped: ds.remapped,
    ids: { ...ids, summary },
    encoding: r?.encoding ?? 'utf-8',
    columns: r?.columns ?? null,
    ignoredColumns: r?.ignoredColumns ?? [],
    outOfOrder: hasTime ? { users: r?.reorderedUsers ?? 0, pairs: r?.outOfOrderPairs ?? 0 } : null,
    duplicateRows: hasTime ? (r?.duplicateRows ?? 0) : null,
    ...(r?.kCore ? { kCore: r.kCore } : {}),
    notes: ds.notes ?? [],
  };
}

/** The side-information report of `reclm data stats`: fields, vocabulary sizes, '<unk>' counts, positive share. */
export interface FeatureStats {
  /** The positive rule as --positive spells it ('all' when none was given). */
  positive: string;
  /** Share of events that are positive (targets). */
  positiveShare: number;
  /** Action vocabulary without '<pad>', when actions are a model input. */
  actions: string[] | null;
  user: { fields: { name: string; kind: string; values: number; width: number }[]; unknownUsers: number; unseenValues: number } | null;
  item: { fields: { name: string; kind: string; values: number; width: number }[]; unknownItems: number; unseenValues: number } | null;
}

/** FeatureStats of a dataset read with actions, a positive rule or side files; null for plain item-id data. */
export function featureStats(ds: Dataset): FeatureStats | null {
  if (!ds.actions && !ds.positiveRule && !ds.userFeatures && !ds.itemFeatures) return null;
  const fields = (fs: FeatureField[]) => fs.map((f) => ({ name: f.name, kind: f.kind, values: f.vocab.length - 2, width: f.width }));
  const u = ds.userFeatures, it = ds.itemFeatures;
  return {
    positive: formatPositiveRule(ds.positiveRule ?? { kind: 'all' }),
    positiveShare: positiveShare(ds),
    actions: ds.actions ? ds.actions.vocab.slice(1) : null,
    user: u ? { fields: fields(u.fields), unknownUsers: u.unknownUsers, unseenValues: u.unseenValues } : null,
    item: it ? { fields: fields(it.fields), unknownItems: it.unknownItems, unseenValues: it.unseenValues } : null,
  };
}

/** FeatureStats as the text lines `reclm data stats` prints (label padded to 18 like the others). */
export function featureStatLines(f: FeatureStats): string[] {
  const pad = (k: string) => k.padEnd(18);
  const list = (fs: { name: string; kind: string; values: number; width: number }[]) => fs.map((x) => `${x.name} (${x.kind}, ${count(x.values, 'value')}${x.width > 1 ? `, up to ${x.width} per row` : ''})`).join(', ');
  const out = [`${pad('positive')} ${f.positive}: ${(100 * f.positiveShare).toFixed(1)}% of events are targets`];
  if (f.actions) out.push(`${pad('actions')} ${count(f.actions.length, 'value')}: ${f.actions.slice(0, 20).join(', ')}${f.actions.length > 20 ? ', …' : ''}`);
  if (f.user) out.push(`${pad('user features')} ${list(f.user.fields)}; ${f.user.unknownUsers} unknown ${noun(f.user.unknownUsers, 'user')}, ${f.user.unseenValues} unseen or missing ${noun(f.user.unseenValues, 'value')} ('<unk>')`);
  if (f.item) out.push(`${pad('item features')} ${list(f.item.fields)}; ${f.item.unknownItems} unknown ${noun(f.item.unknownItems, 'item')}, ${f.item.unseenValues} unseen or missing ${noun(f.item.unseenValues, 'value')} ('<unk>')`);
  return out;
}
