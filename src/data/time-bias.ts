/**
 * HSTU's relative time bias (rab_ts) buckets the time gaps between events. On data without
 * timestamps every gap is 0, so the bias collapses to one learned constant per layer and the
 * model silently becomes a different one from what its config says. Compiling, training or
 * evaluating such a model on such data is refused here, in one place.
 */
import { DataFormatError } from './errors.js';
import type { Dataset } from './types.js';

/**
 * Throws DataFormatError (one line) when `config` asks for the time bias (`time_bias: true`)
 * and `data` has no timestamps. `config` is a config object or its JSON text (the inference
 * graph's `config` metadata); anything without `time_bias: true` passes.
 *
 * The message names the data file (Dataset.read.file, else the dataset name), and why its
 * timestamps were dropped when the file had some (Dataset.read.timestampsDropped).
 *
 * @param action what is refused, e.g. 'compile', 'train', 'evaluate'.
 */
export function checkTimeBiasData(config: unknown, data: Pick<Dataset, 'timestamps' | 'name' | 'read'>, action: string): void {
  let c = config;
  if (typeof c === 'string') {
    try {
      c = JSON.parse(c);
    } catch {
      return; // not a config we can read: nothing to check
    }
  }
  const timeBias = c && typeof c === 'object' ? (c as Record<string, unknown>).time_bias : undefined;
  if ((timeBias !== true && timeBias !== 'true') || data.timestamps !== null) return;
  throw new DataFormatError(
    data.read?.file ?? data.name,
    null,
    `cannot ${action} an HSTU model with time_bias=true on data without timestamps${data.read?.timestampsDropped ? ` (${data.read.timestampsDropped})` : ''}: every time bucket would be 0 and the numbers would silently differ; use data with timestamps, or compile with --set time_bias=false`,
  );
}
