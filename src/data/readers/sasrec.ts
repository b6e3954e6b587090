/**
 * SASRec text format: `user item [timestamp]` per line, whitespace separated, integer ids.
 * A user's lines are already chronological, so file order is kept (no sorting by time even
 * when a timestamp column is present; that is what the seed does).
 */
import { DataFormatError } from '../errors.js';
import { newInteractions, type Interactions } from './interactions.js';
import { forEachLine, lineText, parseCanonicalInt, parseNumber, splitWhitespace, type Source } from './source.js';

export function parseSasrec(src: Source): Interactions {
  const inter = newInteractions(src.file, true, false);
  const { bytes } = src;
  const f = new Int32Array(8);
  let width = 0; // 2 or 3, fixed by the first line so a file cannot mix both
  const time = inter.time!;
  forEachLine(src, (s, e, lineNo) => {
    const n = splitWhitespace(bytes, s, e, f, 3);
    const expected = width === 0 ? '"user item" or "user item timestamp" (whitespace separated)' : width === 2 ? '"user item" like the first line' : '"user item timestamp" like the first line';
    if (n < 2 || n > 3 || (width !== 0 && n !== width)) throw DataFormatError.atLine(src.file, lineNo, lineText(src, s, e), expected);
    if (width === 0) width = n;
    const u = parseCanonicalInt(bytes, f[0], f[1]);
    const i = parseCanonicalInt(bytes, f[2], f[3]);
    if (u < 0 || i < 0) throw DataFormatError.atLine(src.file, lineNo, lineText(src, s, e), 'non-negative integer user and item ids');
    if (n === 3) {
      const t = parseNumber(bytes, f[4], f[5]);
      if (Number.isNaN(t)) throw DataFormatError.atLine(src.file, lineNo, lineText(src, s, e), 'a numeric timestamp (unix seconds) in column 3');
      time.push(t);
    }
    inter.user.push(inter.users.internInt(u));
    inter.item.push(inter.items.internInt(i));
  });
  if (width === 2) inter.time = null;
  return inter;
}
