/**
 * The two MovieLens rating formats:
 * - ML-1M/10M `ratings.dat`: `UserID::MovieID::Rating::Timestamp`
 * - ML-100K `u.data`: `user item rating timestamp`, tab (or space) separated.
 * Lines are not chronological per user (u.data is shuffled), so each user's events are sorted by
 * timestamp, ties kept in file order. Ratings are read and validated; by default they are not kept
 * and every rating counts as an interaction (implicit feedback, as in the SASRec/HSTU setups). With
 * `actions` the rating is kept as each event's action (its text, e.g. '4'). Ids are opaque tokens.
 */
import { DataFormatError } from '../errors.js';
import { GrowableInt32, IdInterner, newInteractions, type Interactions } from './interactions.js';
import { forEachLine, internToken, lineText, parseNumber, splitExact, splitWhitespace, type Source } from './source.js';

const DOUBLE_COLON = Buffer.from('::');

/** Reads ML-1M/10M `ratings.dat` (`UserID::MovieID::Rating::Timestamp`, unix seconds); `actions` keeps each rating as the event's action. Throws DataFormatError for an empty file or, naming it, a malformed line. */
export function parseMovieLensDat(src: Source, actions = false): Interactions {
  return parseRatings(src, '"UserID::MovieID::Rating::Timestamp"', (s, e, out) => splitExact(src.bytes, s, e, DOUBLE_COLON, out, 4), actions);
}

/** Reads ML-100K `u.data` (`user item rating timestamp`, unix seconds); `actions` keeps each rating as the event's action. Throws DataFormatError for an empty file or, naming it, a malformed line. */
export function parseMl100k(src: Source, actions = false): Interactions {
  return parseRatings(src, '"user item rating timestamp" (tab separated)', (s, e, out) => splitWhitespace(src.bytes, s, e, out, 4), actions);
}

function parseRatings(src: Source, expected: string, split: (s: number, e: number, out: Int32Array) => number, actions: boolean): Interactions {
  const inter = newInteractions(src.file, true, true);
  inter.ignoredColumns = actions ? [] : ['rating'];
  const action = actions ? { values: new IdInterner(), key: new GrowableInt32(), column: 'rating' } : null;
  if (action) inter.action = action;
  const { bytes } = src;
  const time = inter.time!;
  const f = new Int32Array(10);
  forEachLine(src, (s, e, lineNo) => {
    const n = split(s, e, f);
    if (n !== 4) throw DataFormatError.atLine(src.file, lineNo, lineText(src, s, e), `4 fields ${expected}`);
    const rating = parseNumber(bytes, f[4], f[5]);
    const t = parseNumber(bytes, f[6], f[7]);
    if (f[1] === f[0] || f[3] === f[2] || Number.isNaN(rating) || Number.isNaN(t)) {
      throw DataFormatError.atLine(src.file, lineNo, lineText(src, s, e), `${expected} with non-empty ids and a numeric rating and timestamp`);
    }
    inter.user.push(internToken(inter.users, src, f[0], f[1]));
    inter.item.push(internToken(inter.items, src, f[2], f[3]));
    time.push(t);
    if (action) action.key.push(internToken(action.values, src, f[4], f[5]));
  });
  return inter;
}
