import { createHash } from 'node:crypto';
import type { Dataset } from './types.js';

/**
 * sha256 over what a run trains on: item count, item ids, every sequence and its timestamps.
 * Two files with the same item count but other users, orders or ids differ here.
 */
export function dataFingerprint(data: Dataset): string {
  const h = createHash('sha256');
  h.update(`${data.numItems}\n${data.itemIds.join('\n')}\n${data.sequences.length}\n`);
  for (let u = 0; u < data.sequences.length; u++) {
    const s = data.sequences[u];
    h.update(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
    const t = data.timestamps?.[u];
    if (t) h.update(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
  }
  return h.digest('hex');
}
