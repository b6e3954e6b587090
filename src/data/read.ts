/** Reading a dataset file in any supported format (see readers/). */
import { DataFormatError } from './errors.js';
import { buildDataset } from './readers/build.js';
import { parseCsv } from './readers/csv.js';
import { detectFormat, type ConcreteFormat } from './readers/detect.js';
import type { Interactions } from './readers/interactions.js';
import { parseMl100k, parseMovieLensDat } from './readers/movielens.js';
import { parseReczooJson } from './readers/reczoo.js';
import { parseSasrec } from './readers/sasrec.js';
import { defaultName, loadSource, sourceFromBytes, type Source } from './readers/source.js';
import type { Dataset, ReadOptions } from './types.js';

const FORMATS = ['auto', 'sasrec', 'movielens', 'ml100k', 'csv', 'reczoo'];

/** Read a file (plain or gzip, detected by magic bytes) into a Dataset. Throws DataFormatError on bad input. */
export function readDataset(path: string, options: ReadOptions = {}): Dataset {
  return datasetFromSource(loadSource(path), options);
}

/** Same as readDataset for bytes already in memory; `file` labels error messages and names the format. */
export function parseDataset(file: string, bytes: Buffer | Uint8Array | string, options: ReadOptions = {}): Dataset {
  const raw = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return datasetFromSource(sourceFromBytes(file, raw), options);
}

function datasetFromSource(src: Source, options: ReadOptions): Dataset {
  const format = options.format ?? 'auto';
  if (!FORMATS.includes(format)) throw new Error(`unknown data format "${format}"; expected one of ${FORMATS.join(', ')}`);
  for (const k of ['minItemCount', 'minUserCount'] as const) {
    const v = options[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new Error(`${k} must be a non-negative integer, got ${v}`);
  }
  if (src.bytes.length === 0) throw new DataFormatError(src.file, null, 'the file is empty (no interaction lines)');
  const concrete: ConcreteFormat = format === 'auto' ? detectFormat(src) : format;
  const inter = parse(src, concrete, options);
  return buildDataset(inter, {
    name: options.name ?? defaultName(src.file),
    minItemCount: options.minItemCount,
    minUserCount: options.minUserCount,
  });
}

function parse(src: Source, format: ConcreteFormat, options: ReadOptions): Interactions {
  switch (format) {
    case 'sasrec':
      return parseSasrec(src);
    case 'movielens':
      return parseMovieLensDat(src);
    case 'ml100k':
      return parseMl100k(src);
    case 'csv':
      return parseCsv(src, { userCol: options.userCol, itemCol: options.itemCol, timeCol: options.timeCol });
    case 'reczoo':
      return parseReczooJson(src);
  }
}
