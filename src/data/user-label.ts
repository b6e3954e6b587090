/**
 * How messages name a user: by the id from the data file, never by the internal user index
 * (which depends on how the reader ordered users and means nothing to the person reading).
 * An id with spaces, quotes or nothing in it is quoted as JSON.
 *
 * @param ids the dataset's user ids (Dataset.users), indexed by user index; without them the index is named.
 */
export function userLabel(ids: readonly string[] | undefined, u: number): string {
  const id = ids?.[u];
  if (id === undefined) return `user index ${u}`;
  return /^[^\s"'\\]+$/.test(id) ? `user ${id}` : `user ${JSON.stringify(id)}`;
}
