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

/**
 * sha256 over what a run reads beside the item sequences: the action vocabulary and each event's
 * action token, the positive mask, and the user profile (field names, vocabularies, each user's
 * tokens); null when the data has none of them (a plain item-id run). dataFingerprint does not
 * cover these: another rating column, or another user-feature file of the same users, leaves it
 * unchanged while it changes the targets (through the positive rule) or the model's inputs.
 */
export function sideDataFingerprint(data: Dataset): string | null {
  if (!data.actions && !data.positive && !data.userFeatures) return null;
  const h = createHash('sha256');
  const bytes = (a: Int32Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (data.actions) {
    h.update(`actions\n${JSON.stringify(data.actions.vocab)}\n`);
    for (const a of data.actions.actions) h.update(bytes(a));
  }
  if (data.positive) {
    h.update('positive\n');
    for (const p of data.positive) h.update(bytes(p));
  }
  if (data.userFeatures) {
    h.update(`user features\n${JSON.stringify(data.userFeatures.fields.map((f) => [f.name, f.vocab]))}\n`);
    for (const c of data.userFeatures.columns) h.update(bytes(c));
  }
  return h.digest('hex');
}
