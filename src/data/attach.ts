/**
 * Everything beyond item ids that a data file can be given (features.ts): the positive rule over
 * its actions, and the user- and item-feature side files. Called by openDataset.
 */
import { DataFormatError } from './errors.js';
import { actionValueList, applyPositiveRule, formatPositiveRule } from './positive.js';
import { readSideFile, type SideTable } from './readers/side.js';
import { normaliseColumn } from './readers/columns.js';
import { buildItemFeatures, buildUserFeatures } from './side-features.js';
import { fieldSpecLabel, specsForSide, type FeatureSchema, type FieldSpec } from './features.js';
import type { Dataset, ReadOptions } from './types.js';
import { count } from '../util/plural.js';

/**
 * The manifest's `features` for a dataset: the positive rule, the action vocabulary and the
 * side-file fields (vocabularies, widths, bucket edges). Undefined for plain item-id data, so
 * plain manifests stay as they were.
 */
export function featureSchemaOf(ds: Dataset): FeatureSchema | undefined {
  if (!ds.actions && !ds.positiveRule && !ds.userFeatures && !ds.itemFeatures) return undefined;
  const schema: FeatureSchema = { positive: ds.positiveRule ?? { kind: 'all' } };
  if (ds.actions) schema.actions = [...ds.actions.vocab];
  if (ds.userFeatures) schema.userFields = ds.userFeatures.fields.map((f) => ({ ...f, vocab: [...f.vocab] }));
  if (ds.itemFeatures) schema.itemFields = ds.itemFeatures.fields.map((f) => ({ ...f, vocab: [...f.vocab] }));
  return schema;
}

/** True when `opts` asks for a positive rule or a side file (else the dataset stays as read). */
export function wantsSideData(opts: ReadOptions): boolean {
  return opts.positive !== undefined || opts.userFeatures !== undefined || opts.itemFeatures !== undefined || (opts.fieldSpecs?.length ?? 0) > 0;
}

/**
 * Applies opts.positive and reads opts.userFeatures / opts.itemFeatures into `ds` (in place),
 * mapping values to opts.schema's vocabularies when given. One note per side file (through
 * opts.onNote and ds.notes) reports the unknown users/items and unseen values.
 * Throws DataFormatError naming the file at fault.
 */
export function attachSideData(ds: Dataset, file: string, opts: ReadOptions): void {
  const notes: string[] = [];
  const used = new Set<FieldSpec>();
  if (opts.positive) {
    applyPositiveRule(ds, opts.positive, file);
    if (ds.positive) notes.push(`--positive ${formatPositiveRule(opts.positive)}: ${countPositive(ds)} of ${countEvents(ds)} events are positive (targets); the others stay in the sequences as context`);
    // A value no event has is most likely a typo, or a value with a comma left unquoted.
    const unmatched = opts.positive.kind === 'actions' && ds.actions ? opts.positive.values.filter((v) => !ds.actions!.vocab.includes(v)) : [];
    if (unmatched.length) notes.push(`--positive ${formatPositiveRule(opts.positive)}: no event has the action ${unmatched.length > 1 ? 'values' : 'value'} ${unmatched.map((v) => `'${v}'`).join(', ')}; the action values are ${actionValueList(ds.actions!.vocab)}`);
  }
  if (opts.userFeatures !== undefined) {
    const specs = specsForSide(opts.fieldSpecs, 'user');
    const table = readSideFile(opts.userFeatures, 'user', specs, opts.schema?.userFields);
    for (const sp of specs) if (table.usedSpecs.includes(sp.name)) used.add(sp);
    const uf = buildUserFeatures(ds, table, opts.schema?.userFields);
    checkCoverage(table, uf.unknownUsers, ds.users.length, file);
    ds.userFeatures = uf;
    notes.push(...table.notes, `${table.file} (${table.layout}): user fields ${uf.fields.map((f) => `${f.name} (${count(f.vocab.length - 2, 'value')})`).join(', ')}; ${uf.unknownUsers} of ${count(ds.users.length, 'user')} not in the file ('<unk>'), ${count(uf.unseenValues, 'value')} unseen in training or missing ('<unk>')`);
  }
  if (opts.itemFeatures !== undefined) {
    const specs = specsForSide(opts.fieldSpecs, 'item');
    const table = readSideFile(opts.itemFeatures, 'item', specs, opts.schema?.itemFields);
    for (const sp of specs) if (table.usedSpecs.includes(sp.name)) used.add(sp);
    const itf = buildItemFeatures(ds, table, opts.schema?.itemFields);
    checkCoverage(table, itf.unknownItems, ds.numItems, file);
    ds.itemFeatures = itf;
    notes.push(...table.notes, `${table.file} (${table.layout}): item fields ${itf.fields.map((f) => `${f.name} (${count(f.vocab.length - 2, 'value')}${f.width > 1 ? `, up to ${f.width} per item` : f.kind === 'multi' ? `, never more than one per item: is its separator '${f.separator ?? '|'}' the file's?` : ''})`).join(', ')}; ${itf.unknownItems} of ${count(ds.numItems, 'item')} not in the file ('<unk>'), ${count(itf.unseenValues, 'value')} unseen in training or missing ('<unk>')`);
  }
  // A spec naming one of the model's fields was checked against it, and needs no file (the item features are baked in).
  const modelFields = (sp: FieldSpec) => [...(sp.side !== 'item' ? (opts.schema?.userFields ?? []) : []), ...(sp.side !== 'user' ? (opts.schema?.itemFields ?? []) : [])].map((f) => normaliseColumn(f.name));
  const unused = (opts.fieldSpecs ?? []).find((sp) => !used.has(sp) && !modelFields(sp).includes(normaliseColumn(sp.name)));
  if (unused) {
    const files = [...(unused.side !== 'item' ? [opts.userFeatures] : []), ...(unused.side !== 'user' ? [opts.itemFeatures] : [])].filter((f) => f !== undefined);
    const given = unused.side ? `${unused.side}-feature file (--${unused.side}-features)` : 'side file (--user-features, --item-features)';
    throw new DataFormatError(files.length ? files.join(', ') : file, null, `--field ${fieldSpecLabel(unused)}=${unused.kind}: ${files.length ? `no ${unused.side ? `${unused.side}-feature file` : 'side file'} has a column` : `no ${given} was given to have a column`} named "${unused.name}"`);
  }
  ds.notes = [...(ds.notes ?? []), ...notes];
  for (const n of notes) opts.onNote?.(n);
}

/** Above this share of the data's users (items) missing from a side file, it is taken for the wrong file or id column. */
export const MAX_MISSING_SIDE_SHARE = 0.5;

/**
 * A side file that knows fewer than half of the data's users (items) is not side data for this
 * log: the wrong file, or ids read from the wrong column. Throws DataFormatError naming it.
 */
function checkCoverage(table: SideTable, missing: number, total: number, dataFile: string): void {
  if (missing <= MAX_MISSING_SIDE_SHARE * total) return;
  // The id column it read: named, and when it was guessed (no column named like an id), the note saying so.
  const guessed = table.notes.find((n) => n.includes(' id'));
  const how = guessed ?? (table.keyColumn !== undefined ? `ids read from the column "${table.keyColumn}"` : `read as ${table.layout}, ids from its first field`);
  throw new DataFormatError(table.file, null, `${missing} of the ${total} ${table.side}s of ${dataFile} are not in this file (more than ${MAX_MISSING_SIDE_SHARE * 100}%): the wrong ${table.side} file, or ids read from the wrong column (${how.replace(`${table.file}: `, '')})`);
}

function countEvents(ds: Dataset): number {
  return ds.sequences.reduce((a, s) => a + s.length, 0);
}

function countPositive(ds: Dataset): number {
  let n = 0;
  for (const p of ds.positive ?? []) for (const v of p) n += v;
  return n;
}
