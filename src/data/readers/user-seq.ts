/**
 * One user per line: `user item1 item2 … itemN`, whitespace separated, items in chronological
 * order. The public data files of S3Rec, CL4SRec, ICLRec, DuoRec and BSARec (Amazon Beauty,
 * Sports, Toys, Yelp, LastFM, …) use it. Ids are opaque tokens. There is no time; a user on two
 * lines is an error (it usually means the file is another format).
 */
import { DataFormatError } from '../errors.js';
import { newInteractions, type Interactions } from './interactions.js';
import { forEachLine, internToken, lineText, splitWhitespace, type Source } from './source.js';

/** Reads one user per line, `user item1 … itemN` (see the file comment); no time. Throws DataFormatError for an empty file, or naming the line, for a line without items or a user already seen. */
export function parseUserSeq(src: Source): Interactions {
  const inter = newInteractions(src.file, false, false);
  const { bytes } = src;
  let f = new Int32Array(2 * 1024);
  const lineOfUser = new Map<number, number>();
  forEachLine(src, (s, e, lineNo) => {
    let n = splitWhitespace(bytes, s, e, f, f.length / 2);
    while (n > f.length / 2) {
      f = new Int32Array(f.length * 2);
      n = splitWhitespace(bytes, s, e, f, f.length / 2);
    }
    if (n < 2) throw DataFormatError.atLine(src.file, lineNo, lineText(src, s, e), 'a user id followed by at least one item id ("user item1 item2 …")');
    const u = internToken(inter.users, src, f[0], f[1]);
    const seen = lineOfUser.get(u);
    if (seen !== undefined) {
      // A user on several lines: one event per line, with a timestamp (3 fields) or a rating and a timestamp (4, as u.data).
      const hint = n === 4 ? 'is the file "user item rating timestamp", as u.data? use --format ml100k' : 'is the file "user item [timestamp]"? use --format sasrec';
      throw DataFormatError.atLine(src.file, lineNo, lineText(src, s, e), `one line per user (this user already has line ${seen}); ${hint}`);
    }
    lineOfUser.set(u, lineNo);
    for (let j = 1; j < n; j++) {
      inter.user.push(u);
      inter.item.push(internToken(inter.items, src, f[2 * j], f[2 * j + 1]));
    }
  });
  return inter;
}
