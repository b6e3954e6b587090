/**
 * Iterated k-core filtering: drop items with fewer than `minItemCount` interactions and users with
 * fewer than `minUserCount`, and repeat until nothing changes (dropping users lowers item counts
 * and vice versa). Counting and filtering are table work, so they are done with arquero.
 */
import * as aq from 'arquero';

export interface KCoreOptions {
  minItemCount: number;
  minUserCount: number;
}

/** Returns the indices of the rows that survive, in increasing (file) order. */
export function kCoreRows(user: Int32Array, item: Int32Array, opts: KCoreOptions): Int32Array {
  const rows = new Int32Array(user.length);
  for (let i = 0; i < rows.length; i++) rows[i] = i;
  let t = aq.table({ u: user, i: item, r: rows });
  for (;;) {
    const before = t.numRows();
    if (opts.minItemCount > 1) t = keepFrequent(t, 'i', opts.minItemCount);
    if (opts.minUserCount > 1) t = keepFrequent(t, 'u', opts.minUserCount);
    if (t.numRows() === before || t.numRows() === 0) break;
  }
  const kept = t.array('r', Int32Array) as Int32Array;
  // Arquero filters keep row order, but sort defensively: the stable time sort relies on file order.
  return Int32Array.from(kept).sort();
}

function keepFrequent(t: aq.ColumnTable, key: string, min: number): aq.ColumnTable {
  const frequent = t
    .groupby(key)
    .count({ as: 'n' })
    .filter(aq.escape((d: { n: number }) => d.n >= min))
    .select(key);
  return t.semijoin(frequent, key).reify();
}
