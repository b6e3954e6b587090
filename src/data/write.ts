/**
 * Writing a Dataset back out as an interaction CSV that reclm's CSV reader reads into the same
 * Dataset: one row per event, users in the dataset's order, each user's events in their
 * (chronological) order, original ids.
 */
import { gzipSync } from 'node:zlib';
import type { Dataset } from './types.js';

/**
 * One CSV field: quoted (RFC 4180, quotes doubled) when it holds a comma or a quote, or starts or
 * ends with whitespace. The last case is why this is not arquero's toCSV: it does not quote it,
 * and a reader that trims unquoted fields (reclm's, and most) would change the id.
 */
function csvField(value: string): string {
  return /[",]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The CSV text of `ds`: header `user,item[,time][,action]`, then one row per event (user id and
 * item id as the file gave them; time in unix seconds when the dataset has times; the action's
 * value, such as a rating, when it was read). A time column keeps equal times in file order when
 * read again (stable sort); without one, file order is each user's order. Ids holding a comma or
 * a quote, or with spaces around it, are quoted (RFC 4180). Throws Error for an id holding a line break, which reclm's
 * one-record-per-line reader could not read back.
 */
export function datasetCsv(ds: Dataset): string {
  const broken = [...ds.users, ...ds.itemIds].find((id) => /[\r\n]/.test(String(id)));
  if (broken !== undefined) throw new Error(`the id ${JSON.stringify(broken)} holds a line break, which a CSV of one record per line cannot hold`);
  const time = ds.timestamps;
  const act = ds.actions;
  const lines = [['user', 'item', ...(time ? ['time'] : []), ...(act ? ['action'] : [])].join(',')];
  for (let u = 0; u < ds.sequences.length; u++) {
    const seq = ds.sequences[u];
    const user = csvField(ds.users[u]);
    for (let j = 0; j < seq.length; j++) {
      const row = [user, csvField(String(ds.itemIds[seq[j]]))];
      if (time) row.push(String(time[u][j]));
      if (act) row.push(csvField(act.vocab[act.actions[u][j]]));
      lines.push(row.join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/** `text` as the bytes of a file named `path`: gzip-compressed when the name ends in `.gz`. */
export function fileBytes(path: string, text: string): Buffer {
  const raw = Buffer.from(text, 'utf8');
  return /\.gz$/i.test(path) ? gzipSync(raw) : raw;
}
