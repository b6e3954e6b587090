/** A note for ids that hold invisible or control characters, which a reader of the file cannot tell apart. */
import { hasInvisible, quoted, withoutInvisible } from './errors.js';

/**
 * One line for Dataset.notes when some of `ids` hold an invisible or control character (a
 * zero-width or no-break space, a byte-order mark, a bell: errors.ts HIDDEN_IN_ID), else null. Such an id is a different
 * user or item from the one it looks like; when its visible form is also an id, one user's or
 * item's events are split over two ids, which changes the sequences and the item count.
 * `side` is 'user' or 'item'; `file` labels the line. O(total id length).
 */
export function invisibleIdsNote(file: string, side: 'user' | 'item', ids: readonly string[]): string | null {
  const odd = ids.filter(hasInvisible);
  if (odd.length === 0) return null;
  const all = new Set(ids);
  const twins = odd.filter((id) => all.has(withoutInvisible(id))).length;
  const many = odd.length > 1;
  const who = !many ? 'it looks' : `${twins} of them ${twins > 1 ? 'look' : 'looks'}`;
  const whose = twins > 1 ? `${twins} ${side}s are each` : `one ${side} are`;
  const split = twins ? `; ${who} like another ${side} id without them, so the events of ${whose} split over two ids` : '';
  return `${file}: ${odd.length} ${side} ${many ? 'ids hold' : 'id holds'} invisible or control characters (zero-width or no-break spaces, byte-order marks, control codes), for example ${quoted(odd[0])}${split}; remove them from the file if they are not meant`;
}
