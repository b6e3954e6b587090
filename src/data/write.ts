/**
 * Writing a Dataset back out as an interaction CSV that reclm's CSV reader reads into the same
 * Dataset: one row per event, users in the dataset's order, each user's events in their
 * (chronological) order, original ids. Formatting and quoting are arquero's toCSV.
 */
import { gzipSync } from 'node:zlib';
import * as aq from 'arquero';
import type { Dataset } from './types.js';

/**
 * The CSV text of `ds`: header `user,item[,time][,action]`, then one row per event (user id and
 * item id as the file gave them; time in unix seconds when the dataset has times; the action's
 * value, such as a rating, when it was read). A time column keeps equal times in file order when
 * read again (stable sort); without one, file order is each user's order. Ids holding a comma or
 * a quote are quoted (RFC 4180). Throws Error for an id holding a line break, which reclm's
 * one-record-per-line reader could not read back.
 */
export function datasetCsv(ds: Dataset): string {
  const n = ds.sequences.reduce((s, q) => s + q.length, 0);
  const user = new Array<string>(n);
  const item = new Array<string>(n);
  const time = ds.timestamps ? new Float64Array(n) : null;
  const action = ds.actions ? new Array<string>(n) : null;
  let r = 0;
  for (let u = 0; u < ds.sequences.length; u++) {
    const seq = ds.sequences[u];
    for (let j = 0; j < seq.length; j++, r++) {
      user[r] = ds.users[u];
      item[r] = String(ds.itemIds[seq[j]]);
      if (time) time[r] = ds.timestamps![u][j];
      if (action) action[r] = ds.actions!.vocab[ds.actions!.actions[u][j]];
    }
  }
  const broken = [...ds.users, ...ds.itemIds].find((id) => /[\r\n]/.test(String(id)));
  if (broken !== undefined) throw new Error(`the id ${JSON.stringify(broken)} holds a line break, which a CSV of one record per line cannot hold`);
  const columns: Record<string, ArrayLike<unknown>> = { user, item, ...(time ? { time } : {}), ...(action ? { action } : {}) };
  return aq.toCSV(aq.table(columns));
}

/** `text` as the bytes of a file named `path`: gzip-compressed when the name ends in `.gz`. */
export function fileBytes(path: string, text: string): Buffer {
  const raw = Buffer.from(text, 'utf8');
  return /\.gz$/i.test(path) ? gzipSync(raw) : raw;
}
