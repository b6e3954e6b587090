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
 * sha256 over the events alone, whatever the file's row order: each user's id, item ids (as
 * written in the file) and timestamps, hashed per user and combined in sorted order. Rows of a
 * file written in another order (a database export without ORDER BY) give the same value when
 * each user's events keep their order (ties in time keep file order: a user's tied rows in
 * another order are another sequence, with other targets), while dataFingerprint differs: users (and renumbered
 * items) are numbered in order of first appearance (readers/build.ts).
 */
export function dataContentFingerprint(data: Dataset): string {
  const perUser: string[] = new Array(data.sequences.length);
  for (let u = 0; u < data.sequences.length; u++) {
    const h = createHash('sha256');
    const s = data.sequences[u];
    h.update(`${data.users[u]}\n`);
    for (let j = 0; j < s.length; j++) h.update(`${data.itemIds[s[j]]}\n`);
    const t = data.timestamps?.[u];
    if (t) h.update(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
    perUser[u] = h.digest('hex');
  }
  perUser.sort();
  return createHash('sha256').update(`${data.numItems}\n${perUser.join('\n')}`).digest('hex');
}

/**
 * sha256 over what a run reads beside the item sequences: the action vocabulary and each event's
 * action token, the positive mask, and the user profile (field names, vocabularies, each user's
 * tokens), per user and combined in sorted order as in dataContentFingerprint (the same file in
 * another row order gives the same value); null when the data has none of them (a plain item-id
 * run). dataFingerprint does not cover these: another rating column, or another user-feature
 * file of the same users, leaves it unchanged while it changes the targets (through the
 * positive rule) or the model's inputs.
 */
export function sideDataFingerprint(data: Dataset): string | null {
  const { actions, positive, userFeatures: uf } = data;
  if (!actions && !positive && !uf) return null;
  const bytes = (a: Int32Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const perUser: string[] = new Array(data.sequences.length);
  for (let u = 0; u < data.sequences.length; u++) {
    const h = createHash('sha256').update(`${data.users[u]}\n`);
    if (actions) h.update('actions\n').update(bytes(actions.actions[u]));
    if (positive) h.update('positive\n').update(bytes(positive[u]));
    if (uf) h.update(`profile\n${uf.columns.map((c) => c[u]).join(',')}\n`);
    perUser[u] = h.digest('hex');
  }
  perUser.sort();
  const schema = JSON.stringify({ actions: actions?.vocab ?? null, userFields: uf?.fields.map((f) => [f.name, f.vocab]) ?? null });
  return createHash('sha256').update(`${schema}\n${perUser.join('\n')}`).digest('hex');
}
