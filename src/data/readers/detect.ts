/**
 * Format detection for format 'auto': the file name decides when it is conclusive, otherwise the
 * first non-blank line does.
 */
import { basename } from 'node:path';
import { DataFormatError } from '../errors.js';
import type { DataFormat } from '../types.js';
import type { Source } from './source.js';

export type ConcreteFormat = Exclude<DataFormat, 'auto'>;

export function detectFormat(src: Source): ConcreteFormat {
  return formatFromName(src.file) ?? formatFromContent(src);
}

export function formatFromName(path: string): ConcreteFormat | null {
  const name = basename(path).toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.json')) return 'reczoo';
  if (name.endsWith('.csv') || name.endsWith('.tsv')) return 'csv';
  if (name === 'u.data' || name.endsWith('.u.data')) return 'ml100k';
  if (name.endsWith('.dat')) return 'movielens';
  return null;
}

export function formatFromContent(src: Source): ConcreteFormat {
  const { bytes } = src;
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  if (i >= bytes.length) throw new DataFormatError(src.file, null, 'the file is empty (no interaction lines)');
  if (bytes[i] === 0x5b /* [ */) return 'reczoo';
  let end = bytes.indexOf(0x0a, i);
  if (end < 0) end = bytes.length;
  const line = bytes.toString('utf8', i, end).replace(/\r$/, '');
  if (line.includes('::')) return 'movielens';
  const fields = line.trim().split(/[ \t]+/);
  const numeric = fields.every((f) => f !== '' && Number.isFinite(Number(f)));
  if (numeric && fields.length === 4 && line.includes('\t')) return 'ml100k';
  if (numeric && (fields.length === 2 || fields.length === 3)) return 'sasrec';
  if (line.includes(',') || line.includes('\t') || line.includes(';')) return 'csv';
  throw new DataFormatError(
    src.file,
    1,
    `cannot detect the format from the first line ${JSON.stringify(line.slice(0, 200))}; name it with the format option ` +
      '(sasrec: "user item [timestamp]", movielens: "UserID::MovieID::Rating::Timestamp", ml100k: tab-separated "user item rating timestamp", csv with a header, reczoo JSON)',
  );
}
