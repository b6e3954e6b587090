/**
 * Which header columns hold user, item and time in a CSV/TSV or RecBole atomic `.inter` file.
 *
 * Header names are compared after normalising: lower case, a RecBole type suffix (`:token`,
 * `:float`, `:token_seq`, `:float_seq`) removed, and `_`, `-`, `.` and spaces dropped, so
 * `user_id:token`, `userId`, `USER ID` and `user-id` are the same column. Synonyms are tried in
 * the order listed; the first header column matching the earliest synonym wins.
 */
export const USER_COLUMNS = ['userid', 'user', 'uid', 'reviewerid', 'customerid', 'visitorid', 'sessionid'];
export const ITEM_COLUMNS = ['itemid', 'item', 'iid', 'movieid', 'productid', 'parentasin', 'asin', 'trackid', 'songid', 'businessid', 'artistid'];
export const TIME_COLUMNS = ['timestamp', 'time', 'ts', 'datetime', 'date', 'unixtime', 'unixtimestamp', 'eventtime', 'unixreviewtime', 'timestampunix', 'createdat', 'interactiontime'];

/** Action columns (a rating or a named event type), looked for only when actions are asked for. */
export const ACTION_COLUMNS = ['action', 'event', 'eventtype', 'behavior', 'behaviour', 'behaviortype', 'rating', 'overall', 'stars', 'interaction', 'type'];

/** A header name as compared (see the file comment): trimmed, lower case, a RecBole type suffix removed, spaces, `_`, `.` and `-` dropped (`user_id:token` → `userid`). */
export function normaliseColumn(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/:(token|float|token_seq|float_seq)$/, '')
    .replace(/[\s_.-]+/g, '');
}

/** Index of the column named `wanted` (exact, then normalised), or of the first synonym present; -1 if none. */
export function findColumnIndex(header: string[], wanted: string | undefined, synonyms: string[]): number {
  if (wanted !== undefined) {
    const exact = header.indexOf(wanted);
    if (exact >= 0) return exact;
    const n = normaliseColumn(wanted);
    return header.findIndex((h) => normaliseColumn(h) === n);
  }
  const norm = header.map(normaliseColumn);
  for (const syn of synonyms) {
    const i = norm.indexOf(syn);
    if (i >= 0) return i;
  }
  return -1;
}

/** True when a header row names a user or an item column (how a header is told from data). */
export function looksLikeHeader(fields: string[]): boolean {
  const norm = fields.map(normaliseColumn);
  return norm.some((f) => USER_COLUMNS.includes(f) || ITEM_COLUMNS.includes(f)) || fields.some((f) => /:(token|float|token_seq|float_seq)$/.test(f.trim()));
}
