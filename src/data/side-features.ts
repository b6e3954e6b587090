/**
 * Side tables → token tables (features.ts): vocabularies, '<unk>' for users/items a side file
 * lacks and for values unseen in training, and the counts of both.
 *
 * Vocabularies are built from the users/items of the interaction data (the training file),
 * values in code-unit order; bucketed fields use fixed edges or quantile edges over those
 * users/items. With stored fields (the manifest's vocabularies) nothing is rebuilt: values are
 * looked up, and those missing become '<unk>' and are counted.
 */
import { DataFormatError } from './errors.js';
import { PAD_TOKEN, UNK_TOKEN, type FeatureField, type ItemFeatures, type UserFeatures } from './features.js';
import type { SideColumn, SideTable } from './readers/side.js';
import type { Dataset } from './types.js';

const PAD = '<pad>';
const UNK = '<unk>';

/**
 * User features of `ds` from a user side table: one column [numUsers] of tokens per field.
 * `stored`: the training vocabularies (by field name; a stored field the table lacks is an error).
 * Throws DataFormatError (naming the side file) when the table and the stored fields disagree.
 */
export function buildUserFeatures(ds: Dataset, table: SideTable, stored?: readonly FeatureField[]): UserFeatures {
  const built = buildTables(ds.users, 0, table, stored);
  return { fields: built.fields, columns: built.tables, unknownUsers: built.unknown, unseenValues: built.unseen };
}

/**
 * Item features of `ds` from an item side table: per field a table [V+1, width] (row 0 all 0,
 * the padding item). `stored` as for buildUserFeatures.
 */
export function buildItemFeatures(ds: Dataset, table: SideTable, stored?: readonly FeatureField[]): ItemFeatures {
  const built = buildTables(ds.itemIds, 1, table, stored);
  return { fields: built.fields, tables: built.tables, unknownItems: built.unknown, unseenValues: built.unseen };
}

/** Bucket of x: the number of edges <= x (0..edges.length). */
export function bucketOf(x: number, edges: readonly number[]): number {
  let lo = 0, hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Labels of the buckets of `edges`: `<e0`, `[e0,e1)`, …, `>=ek`. */
export function bucketLabels(edges: readonly number[]): string[] {
  if (edges.length === 0) return ['all'];
  const out = [`<${edges[0]}`];
  for (let i = 1; i < edges.length; i++) out.push(`[${edges[i - 1]},${edges[i]})`);
  out.push(`>=${edges[edges.length - 1]}`);
  return out;
}

/**
 * Quantile edges: for `buckets` equal-frequency buckets over `values`, the distinct values at
 * ranks floor(i·n/buckets), i = 1..buckets-1 (fewer edges when values repeat).
 */
export function quantileEdges(values: readonly number[], buckets: number): number[] {
  const v = Float64Array.from(values).sort();
  const out: number[] = [];
  for (let i = 1; i < buckets; i++) {
    const x = v[Math.floor((i * v.length) / buckets)];
    if (x !== undefined && (out.length === 0 || x > out[out.length - 1]) && x > v[0]) out.push(x);
  }
  return out;
}

function buildTables(keys: readonly string[], first: number, table: SideTable, stored?: readonly FeatureField[]) {
  if (stored) {
    const missing = stored.filter((f) => !table.columns.some((c) => c.name === f.name));
    if (missing.length) throw new DataFormatError(table.file, null, `the model was compiled with the ${table.side} field(s) ${missing.map((f) => f.name).join(', ')}, which this file lacks; give the side file used at compile time`);
  }
  const n = keys.length;
  const found: (string[][] | undefined)[] = new Array(n);
  let unknown = 0;
  for (let i = first; i < n; i++) {
    found[i] = table.rows.get(keys[i]);
    if (!found[i]) unknown++;
  }
  const fields: FeatureField[] = [];
  const tables: Int32Array[] = [];
  let unseen = 0;
  // With stored fields, the model's order (its profile and table order), whatever the file's column order.
  const order = stored ? stored.map((f) => table.columns.findIndex((col) => col.name === f.name)) : table.columns.map((_, c) => c);
  for (const c of order) {
    const col = table.columns[c];
    const field = stored ? storedField(stored, col, table.file) : newField(col, c, found, first);
    const index = new Map<string, number>();
    field.vocab.forEach((v, t) => t > UNK_TOKEN && index.set(v, t));
    const w = field.width;
    const out = new Int32Array(n * w);
    for (let i = first; i < n; i++) {
      const row = found[i];
      if (!row) {
        out[i * w] = UNK_TOKEN;
        continue;
      }
      const values = row[c];
      if (field.kind === 'bucketed') {
        const x = values[0] === '' ? NaN : Number(values[0]);
        if (Number.isNaN(x)) {
          out[i * w] = UNK_TOKEN;
          unseen++;
        } else out[i * w] = 2 + bucketOf(x, field.edges ?? []);
        continue;
      }
      let k = 0;
      for (const v of values) {
        const t = index.get(v);
        if (t === undefined || k >= w) {
          unseen++;
          continue;
        }
        out[i * w + k++] = t;
      }
      // A row without any known value still needs one token, or its features would vanish.
      if (k === 0) {
        out[i * w] = UNK_TOKEN;
        if (values.length === 0) unseen++;
      }
    }
    for (let k = 0; k < first * w; k++) out[k] = PAD_TOKEN;
    fields.push(field);
    tables.push(out);
  }
  return { fields, tables, unknown, unseen };
}

function newField(col: SideColumn, c: number, found: (string[][] | undefined)[], first: number): FeatureField {
  if (col.kind === 'bucketed') {
    let edges = col.edges;
    if (!edges) {
      const xs: number[] = [];
      for (let i = first; i < found.length; i++) {
        const v = found[i]?.[c][0];
        if (v !== undefined && v !== '') xs.push(Number(v));
      }
      edges = quantileEdges(xs, col.buckets ?? 10);
    }
    return { name: col.name, kind: 'bucketed', vocab: [PAD, UNK, ...bucketLabels(edges)], width: 1, edges: [...edges] };
  }
  const values = new Set<string>();
  let width = 1;
  for (let i = first; i < found.length; i++) {
    const row = found[i];
    if (!row) continue;
    for (const v of row[c]) if (v !== '') values.add(v);
    if (row[c].length > width) width = row[c].length;
  }
  const vocab = [PAD, UNK, ...[...values].filter((v) => v !== PAD && v !== UNK).sort()];
  if (col.kind === 'multi') return { name: col.name, kind: 'multi', vocab, width, ...(col.separator !== undefined && col.separator !== '|' ? { separator: col.separator } : {}) };
  return { name: col.name, kind: col.kind, vocab, width: 1 };
}

function storedField(stored: readonly FeatureField[], col: SideColumn, file: string): FeatureField {
  const f = stored.find((x) => x.name === col.name);
  if (!f || f.kind !== col.kind) {
    throw new DataFormatError(file, null, `field "${col.name}" (${col.kind}) is not one the model was compiled with (${stored.map((x) => `${x.name} (${x.kind})`).join(', ')}); give the side file used at compile time`);
  }
  return f;
}
