import { Flags } from '@oclif/core';
import { featureSchemaOf } from '../data/attach.js';
import { SPEC_KIND_OF_FIELD, fieldSpecLabel, type FeatureField, type FeatureSchema, type FieldSpec } from '../data/features.js';
import { normaliseColumn } from '../data/readers/columns.js';
import { columnPositionsProblem } from '../data/readers/csv.js';
import { formatPositiveRule, parsePositiveRule, samePositiveRule } from '../data/positive.js';
import type { Dataset, DataFormat, ReadOptions } from '../data/types.js';
import { UsageError } from './errors.js';
import { checkedStringFlag } from './flags.js';
import { splitOutsideQuotes, unquote } from '../util/quoted-list.js';

/** `--columns user=…,item=…,time=…`: which columns of a CSV/TSV or RecBole .inter file (or keys of a JSON Lines file) to read, by header name or (no header row) by 1-based position. */
export const columnsFlag = () =>
  checkedStringFlag(parseColumns)({
    description:
      "CSV/TSV/.inter header columns (or JSON Lines keys) to read, e.g. user=userId,item=movieId,time=timestamp,action=rating (time=none ignores a time column; action= reads each event's action; quote a name that holds a comma: item=\"Title, The\"); default: common names such as user_id, userId, item_id, movieId, timestamp, time, ts, date. A file without a header row (Amazon's ratings-only CSVs): give 1-based positions, e.g. user=1,item=2,time=4",
  });

/** The flags of side information and the positive rule (compile, train, eval, data stats). */
export const featureFlags = () => ({
  actions: Flags.boolean({ description: "feed each event's action (the rating of ratings.dat/u.data, or the CSV column or JSON Lines key: --columns action=NAME) to the model as an input" }),
  positive: checkedStringFlag(parsePositiveRule)({ description: 'which events are targets: all (default), rating>=N, or action=V1,V2,… (quote a value that holds a comma: action=click,"add to cart, later"); the others stay in the sequences as context' }),
  'user-features': Flags.string({ description: 'user-feature file: ML-1M users.dat, ML-100K u.user, or CSV/TSV with a user id column (.gz ok)' }),
  'item-features': Flags.string({ description: 'item-feature file: ML-1M movies.dat, ML-100K u.item, or CSV/TSV with an item id column (.gz ok)' }),
  // Each value is checked as the command line parses (exit code 2); two values for one column are refused at run time.
  field: Flags.custom<string>({ multiple: true, parse: async (input) => (parseFieldSpecs([input]), input) })({ description: 'how a CSV/TSV side-file column is read: NAME=categorical (default), NAME=multi[:SEP] (default |), NAME=numeric[:BUCKETS] (quantile buckets, default 10), NAME=ignore; user:NAME=… or item:NAME=… for one side file only (repeatable)' }),
});

export interface FeatureFlagValues {
  actions?: boolean;
  positive?: string;
  'user-features'?: string;
  'item-features'?: string;
  field?: string[];
}

/**
 * Parses `--field [user:|item:]NAME=KIND[:ARG]` values (a `user:` or `item:` prefix scopes the
 * spec to that side file, for a column name both files have). Throws UsageError naming the bad
 * value, or a column given twice for one side file.
 */
export function parseFieldSpecs(values: readonly string[] | undefined): FieldSpec[] {
  const specs = (values ?? []).map((v) => {
    const m = /^(?:(user|item):)?([^=]+)=(categorical|multi|numeric|ignore)(?::(.*))?$/.exec(v);
    if (!m) throw new UsageError(`--field expects [user:|item:]NAME=categorical, NAME=multi[:SEP], NAME=numeric[:BUCKETS] or NAME=ignore, got '${v}'`);
    const [, side, name, kind, arg] = m;
    const spec: FieldSpec = { name: name.trim(), kind: kind as FieldSpec['kind'], ...(side ? { side: side as 'user' | 'item' } : {}) };
    if (kind === 'multi') spec.separator = arg === undefined || arg === '' ? '|' : arg;
    else if (kind === 'numeric' && arg !== undefined) {
      // Decimal digits only: Number() would also read 0x10 and 1e1.
      if (!/^\d+$/.test(arg) || Number(arg) < 2) throw new UsageError(`--field ${v}: the number of buckets must be an integer >= 2`);
      spec.buckets = Number(arg);
    } else if (arg !== undefined) throw new UsageError(`--field ${v}: ${kind} takes no argument`);
    return spec;
  });
  // Two specs meet when they name one column and a side file both apply to (unscoped applies to both).
  const meet = (a: FieldSpec, b: FieldSpec) => normaliseColumn(a.name) === normaliseColumn(b.name) && (a.side === undefined || b.side === undefined || a.side === b.side);
  const i = specs.findIndex((sp, k) => specs.findIndex((x) => meet(x, sp)) !== k);
  if (i >= 0) {
    const both = specs.flatMap((sp, k) => (meet(sp, specs[i]) ? [k] : []));
    // Scoping helps only where one of them applies to both files.
    const scope = both.some((k) => specs[k].side === undefined) ? ', or scope each to its file (user:NAME, item:NAME)' : '';
    throw new UsageError(`--field ${specs[i].name}: the column is given twice (${both.map((k) => values![k]).join(', ')}); give one${scope}`);
  }
  return specs;
}

/**
 * ReadOptions for the feature flags. With `stored` (the manifest's features, for train and
 * eval), the compiled positive rule, actions and vocabularies apply; a flag that contradicts
 * them, or a missing user-feature file (the profile is a batch input), is a UsageError. The
 * item-feature file is not read there (a note says so; refused for a model without item fields):
 * its tables are baked into the graphs at compile time. A `--field` must agree with the model's
 * fields (checkSpecAgainstModel). `onNote` receives the notes.
 */
export function featureReadOptions(flags: FeatureFlagValues, stored?: FeatureSchema, onNote?: (line: string) => void): Pick<ReadOptions, 'actions' | 'positive' | 'userFeatures' | 'itemFeatures' | 'fieldSpecs' | 'schema'> {
  const out: ReturnType<typeof featureReadOptions> = {};
  let positive;
  try {
    positive = flags.positive === undefined ? undefined : parsePositiveRule(flags.positive);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (stored) {
    if (positive && !samePositiveRule(positive, stored.positive)) {
      throw new UsageError(`--positive ${flags.positive} contradicts the model, compiled with --positive ${formatPositiveRule(stored.positive)}; drop the flag`);
    }
    positive = stored.positive;
    if (stored.actions) out.actions = true;
    if (stored.userFields && flags['user-features'] === undefined) throw new UsageError(`the model was compiled with user features (${stored.userFields.map((f) => f.name).join(', ')}); give --user-features FILE`);
    // The model has no input for them: read, they would change nothing but the side-data fingerprint.
    if (!stored.userFields && flags['user-features'] !== undefined) throw new UsageError(`--user-features: the model was compiled without user features; drop the flag (side inputs are chosen at compile time)`);
    if (!stored.actions && flags.actions) throw new UsageError(`--actions: the model was compiled without actions as inputs; drop the flag (side inputs are chosen at compile time)`);
    out.schema = stored;
  }
  if (positive) out.positive = positive;
  if (flags.actions) out.actions = true;
  if (flags['user-features'] !== undefined) out.userFeatures = flags['user-features'];
  // The item features were baked into the graphs at compile time: at train and eval a file changes nothing, so it is not read.
  if (flags['item-features'] !== undefined && stored) {
    if (!stored.itemFields) throw new UsageError(`--item-features: the model was compiled without item features; drop the flag (item features are chosen at compile time)`);
    onNote?.(`--item-features ${flags['item-features']}: not read; the model's item features were baked into its graphs at compile time (compile again to change them)`);
  } else if (flags['item-features'] !== undefined) out.itemFeatures = flags['item-features'];
  const specs = parseFieldSpecs(flags.field);
  if (stored) for (const sp of specs) checkSpecAgainstModel(sp, sp.side !== 'item' ? (stored.userFields ?? []) : [], sp.side !== 'user' ? (stored.itemFields ?? []) : [], onNote);
  if (specs.length) out.fieldSpecs = specs;
  return out;
}

/**
 * A `--field` given to train or eval must agree with the model's fields (which already say how
 * each column is read, so the flag is never needed there): UsageError for a kind that differs,
 * for ignoring a field the model takes, or for a field the model was compiled without. Other
 * buckets get a note (the model's apply); so does an item field's other separator or buckets
 * (its tables are baked in: nothing is read for it).
 */
function checkSpecAgainstModel(sp: FieldSpec, userFields: readonly FeatureField[], itemFields: readonly FeatureField[], onNote?: (line: string) => void): void {
  const named = (x: FeatureField) => x.name === sp.name || normaliseColumn(x.name) === normaliseColumn(sp.name);
  const fields = [...userFields, ...itemFields];
  const f = fields.find(named);
  const given = `--field ${fieldSpecLabel(sp)}=${sp.kind}`;
  if (!f) {
    if (sp.kind !== 'ignore') throw new UsageError(`${given}: the model was compiled without ${sp.side === 'item' ? 'an item field' : sp.side === 'user' ? 'a user field' : 'a field'} "${sp.name}" (its ${sp.side ? `${sp.side} ` : ''}fields: ${fields.map((x) => x.name).join(', ') || 'none'}); drop the flag`);
    return;
  }
  if (sp.kind !== SPEC_KIND_OF_FIELD[f.kind]) {
    throw new UsageError(`${given} contradicts the model, compiled with ${f.name}=${SPEC_KIND_OF_FIELD[f.kind]}; drop the flag (train and eval read each field as it was compiled)`);
  }
  // An item field's tables were baked into the graphs at compile time: no file is read for it here.
  if (itemFields.includes(f)) {
    if ((sp.buckets !== undefined && sp.buckets !== f.vocab.length - 2) || (f.kind === 'multi' && sp.separator !== (f.separator ?? '|'))) {
      onNote?.(`--field ${fieldSpecLabel(sp)}: changes nothing here; the model's item field ${f.name} was baked into its graphs at compile time (compile again to change it)`);
    }
    return;
  }
  // The bucket edges are the model's (its embedding has one row per bucket): another count cannot apply.
  const buckets = f.vocab.length - 2;
  if (sp.buckets !== undefined && sp.buckets !== buckets) onNote?.(`--field ${fieldSpecLabel(sp)}=numeric:${sp.buckets}: the model's ${f.name} has the ${buckets} buckets it was compiled with, which apply`);
}

/**
 * Checks that data read for training or evaluation has the action vocabulary the model was
 * compiled with (the token of an action must mean the same). Throws UsageError naming `file`.
 */
export function checkAgainstSchema(ds: Dataset, stored: FeatureSchema | undefined, file: string): void {
  if (!stored?.actions) return;
  const have = ds.actions?.vocab ?? [];
  if (have.length > stored.actions.length || have.some((v, i) => v !== stored.actions![i])) {
    throw new UsageError(`${file}: its actions (${have.slice(1).join(', ')}) differ from those the model was compiled with (${stored.actions.slice(1).join(', ')}); use the data the model was compiled for`);
  }
}

/**
 * What `compile` passes to compileJob for a dataset read with the feature flags: the manifest
 * schema and the item feature tables; undefined for plain item-id data (plain manifests).
 */
export function compileFeatures(data: Dataset | undefined): { schema: FeatureSchema; itemTables?: readonly Int32Array[] } | undefined {
  const schema = data ? featureSchemaOf(data) : undefined;
  if (!data || !schema) return undefined;
  return { schema, ...(data.itemFeatures ? { itemTables: data.itemFeatures.tables } : {}) };
}

/**
 * Parses a `--columns` value into ReadOptions column fields. Keys: user, item, time, action; `time=none`
 * (or an empty value) reads no time column; a name that holds a comma is quoted (`item="Title, The"`,
 * util/quoted-list.ts). Throws UsageError naming the bad part.
 */
export function parseColumns(spec: string | undefined): Pick<ReadOptions, 'userCol' | 'itemCol' | 'timeCol' | 'actionCol'> {
  if (spec === undefined) return {};
  const out: Pick<ReadOptions, 'userCol' | 'itemCol' | 'timeCol' | 'actionCol'> = {};
  const seen = new Set<string>();
  const parts = splitOutsideQuotes(spec);
  if (!parts) throw new UsageError(`--columns: a quote is left open in '${spec}' (quote a name that holds a comma: item="Title, The")`);
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq).trim() : '';
    const value = eq > 0 ? unquote(part.slice(eq + 1)) : '';
    if (value === null) throw new UsageError(`--columns: ${part} is not one quoted name; quote the whole name, as in item="Title, The"`);
    if (!['user', 'item', 'time', 'action'].includes(key)) throw new UsageError(`--columns expects user=NAME,item=NAME,time=NAME,action=NAME, got '${part}' in '${spec}'`);
    if (seen.has(key)) throw new UsageError(`--columns: ${key}= is given twice in '${spec}'`);
    seen.add(key);
    if (key === 'time') out.timeCol = value === '' || value === 'none' ? null : value;
    else if (value === '') throw new UsageError(`--columns: ${key}= needs a column name or a 1-based position`);
    else if (key === 'user') out.userCol = value;
    else if (key === 'action') out.actionCol = value;
    else out.itemCol = value;
  }
  // One column cannot play two roles: the reader would quietly drop the time (or refuse the action) otherwise.
  const roles = (['user', 'item', 'time', 'action'] as const).flatMap((k) => {
    const v = out[`${k}Col`];
    return typeof v === 'string' ? [{ key: k, column: normaliseColumn(v) }] : [];
  });
  for (let i = 0; i < roles.length; i++) {
    const twin = roles.slice(i + 1).find((r) => r.column === roles[i].column);
    if (twin) throw new UsageError(`--columns: ${roles[i].key}= and ${twin.key}= name the same column in '${spec}'; each needs its own`);
  }
  const problem = columnPositionsProblem(out);
  if (problem) throw new UsageError(problem);
  return out;
}

/**
 * ReadOptions from the shared data flags (--format, --columns); `onNote` receives the reader's
 * notes (events reordered by time, encoding fallback, ignored columns, zip member).
 */
export function dataReadOptions(flags: { format?: string; columns?: string } & FeatureFlagValues, onNote?: (line: string) => void, stored?: FeatureSchema): ReadOptions {
  return { format: (flags.format ?? 'auto') as DataFormat, ...parseColumns(flags.columns), ...featureReadOptions(flags, stored, onNote), onNote };
}
