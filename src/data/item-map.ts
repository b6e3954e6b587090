/**
 * The item id map as a JSON file beside artifacts, so predictions (internal ids 1..V) can be
 * reported with the dataset's original ids.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { DataFormatError } from './errors.js';
import type { Dataset } from './types.js';

export interface ItemMap {
  format: 'reclm-item-map';
  version: 1;
  dataset: string;
  numItems: number;
  remapped: boolean;
  /** Length numItems+1; itemIds[0] = '' is padding. */
  itemIds: string[];
}

/** The item map of `ds` (format reclm-item-map, version 1); itemIds is ds.itemIds itself (length numItems + 1), not a copy. */
export function itemMapOf(ds: Dataset): ItemMap {
  return { format: 'reclm-item-map', version: 1, dataset: ds.name, numItems: ds.numItems, remapped: ds.remapped, itemIds: ds.itemIds };
}

/** Written to a temporary name and renamed, so a crash never leaves half a map. */
export function saveItemMap(path: string, ds: Dataset): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(itemMapOf(ds)));
  renameSync(tmp, path);
}

/**
 * Reads an item map that saveItemMap wrote. Throws DataFormatError naming `path` when the file is
 * unreadable or not JSON, is not an item map, or is inconsistent (itemIds not numItems + 1 long or
 * not starting with '').
 */
export function loadItemMap(path: string): ItemMap {
  let m: ItemMap;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as ItemMap;
  } catch (e) {
    throw new DataFormatError(path, null, `not a readable item map JSON file: ${(e as Error).message}`);
  }
  if (!m || m.format !== 'reclm-item-map' || m.version !== 1) throw new DataFormatError(path, null, 'not a reclm item map (format/version fields missing)');
  if (!Number.isInteger(m.numItems) || !Array.isArray(m.itemIds) || m.itemIds.length !== m.numItems + 1 || m.itemIds[0] !== '') {
    throw new DataFormatError(path, null, `item map is inconsistent (numItems ${m.numItems}, ${Array.isArray(m.itemIds) ? m.itemIds.length : 'no'} itemIds)`);
  }
  return m;
}
