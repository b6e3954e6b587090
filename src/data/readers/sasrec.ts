/**
 * SASRec text format: `user item [timestamp]` per line, whitespace separated. Ids are opaque
 * tokens (see internToken). With a timestamp column each user's events are ordered by time with a
 * stable sort (ties keep file order): a file whose times run backwards within a user would
 * otherwise make the oldest item the test item. Without timestamps, file order is the order.
 */
import { DataFormatError } from '../errors.js';
import { newInteractions, type Interactions } from './interactions.js';
import { forEachLine, internToken, lineText, parseNumber, splitWhitespace, type Source } from './source.js';

/** Reads `user item [timestamp]` lines (see the file comment; timestamps in unix seconds). Throws DataFormatError for an empty file, or naming the line, for a wrong field count or a non-numeric timestamp. */
export function parseSasrec(src: Source): Interactions {
  const inter = newInteractions(src.file, true, true);
  const { bytes } = src;
  const f = new Int32Array(8);
  let width = 0; // 2 or 3, fixed by the first line so a file cannot mix both
  const time = inter.time!;
  forEachLine(src, (s, e, lineNo) => {
    const n = splitWhitespace(bytes, s, e, f, 3);
    if (n < 2 || n > 3 || (width !== 0 && n !== width)) {
      const expected = width === 0 ? '"user item" or "user item timestamp" (whitespace separated)' : width === 2 ? '"user item" like the first line' : '"user item timestamp" like the first line';
      // Four fields are u.data's "user item rating timestamp" (the ml100k reader takes any whitespace); more, a user per line.
      const hint = n === 4 && width === 0 ? ' ("user item rating timestamp", as u.data? use --format ml100k)' : n > 3 || (width !== 0 && n >= 2) ? ' (one user per line, "user item1 item2 …"? use --format user-seq)' : '';
      throw DataFormatError.atLine(src.file, lineNo, lineText(src, s, e), expected + hint);
    }
    if (width === 0) width = n;
    if (n === 3) {
      const t = parseNumber(bytes, f[4], f[5]);
      if (Number.isNaN(t)) throw DataFormatError.atLine(src.file, lineNo, lineText(src, s, e), 'a numeric timestamp (unix seconds) in column 3');
      time.push(t);
    }
    inter.user.push(internToken(inter.users, src, f[0], f[1]));
    inter.item.push(internToken(inter.items, src, f[2], f[3]));
  });
  if (width === 2) {
    inter.time = null;
    inter.sortByTime = false;
  }
  return inter;
}
