/**
 * Per-user ranks on disk: the CSV `reclm eval --ranks FILE` writes (columns user, target, rank)
 * and the paired comparison of two such files reads. CSV quoting is arquero's, so ids with
 * commas or quotes survive; ids are read back as strings (no type inference: "007" stays "007").
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import * as aq from 'arquero';
import type { PerUserRank } from '../eval/evaluate.js';
import { DataFormatError } from '../data/errors.js';

/** The first line of every file writeUserRanks writes. */
export const USER_RANKS_HEADER = 'user,target,rank\n';

/** Writes `rows` (user id, target item id, rank ≥ 0) to `path` as CSV with a header line (USER_RANKS_HEADER). */
export function writeUserRanks(path: string, rows: readonly PerUserRank[]): void {
  const t = aq.table({ user: rows.map((r) => r.user), target: rows.map((r) => r.target), rank: rows.map((r) => r.rank) });
  const csv = t.toCSV();
  // Atomic, and a path that cannot be written is one line naming --ranks.
  writeFileAtomic(path, csv.endsWith('\n') ? csv : `${csv}\n`, { flag: '--ranks', path });
}

/**
 * Reads a file writeUserRanks wrote. Throws DataFormatError (file, line) for a missing column, a
 * rank that is not a non-negative integer, or a user listed twice.
 */
export function readUserRanks(path: string): PerUserRank[] {
  const t = aq.fromCSV(readFileSync(path, 'utf8'), { autoType: false });
  for (const c of ['user', 'target', 'rank']) {
    if (!t.columnNames().includes(c)) throw new DataFormatError(path, 1, `expected the header user,target,rank (reclm eval --ranks), got ${t.columnNames().join(',')}`);
  }
  const seen = new Set<string>();
  const out: PerUserRank[] = [];
  t.objects().forEach((o, i) => {
    const row = o as Record<string, string | undefined>;
    if (!row.user && row.rank === undefined) return; // a blank line (e.g. an extra newline at the end)
    const rank = Number(row.rank);
    if (!Number.isInteger(rank) || rank < 0) throw new DataFormatError(path, i + 2, `expected a rank (an integer ≥ 0), got '${row.rank}'`);
    const user = row.user ?? '';
    if (seen.has(user)) throw new DataFormatError(path, i + 2, `user ${user} is listed twice`);
    seen.add(user);
    out.push({ user, target: row.target ?? '', rank });
  });
  return out;
}
