/**
 * The intermediate form every reader produces: one row per interaction with interned user and
 * item keys, optional time, and how each user's order is defined. `build.ts` turns it into a Dataset.
 */

/** Maps original ids to dense keys 0.. in order of first appearance. */
export class IdInterner {
  private readonly byNum = new Map<number, number>();
  private readonly byStr = new Map<string, number>();
  /** Per key: the original id, as a number when it was a canonical non-negative integer. */
  readonly ids: (number | string)[] = [];

  get size(): number {
    return this.ids.length;
  }

  /** True when every id is a canonical non-negative integer ("7", not "07" or "a7"). */
  get allIntegers(): boolean {
    return this.byStr.size === 0;
  }

  internInt(v: number): number {
    let k = this.byNum.get(v);
    if (k === undefined) {
      k = this.ids.length;
      this.byNum.set(v, k);
      this.ids.push(v);
    }
    return k;
  }

  /** Strings that spell a canonical integer share the integer's key, so "12" in CSV equals 12 elsewhere. */
  internString(s: string): number {
    if (/^(0|[1-9][0-9]{0,14})$/.test(s)) return this.internInt(Number(s));
    let k = this.byStr.get(s);
    if (k === undefined) {
      k = this.ids.length;
      this.byStr.set(s, k);
      this.ids.push(s);
    }
    return k;
  }
}

/** Append-only typed array (doubling), so 1M-row files do not go through boxed JS arrays. */
export class GrowableInt32 {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/** Append-only Float64Array (doubling), as GrowableInt32; view() is the first `length` values, a subarray, not a copy. */
export class GrowableFloat64 {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

export interface Interactions {
  file: string;
  users: IdInterner;
  items: IdInterner;
  /** Per row: user key and item key (into the interners). */
  user: GrowableInt32;
  item: GrowableInt32;
  /** Per row: unix seconds, or null when the format/file has no time. */
  time: GrowableFloat64 | null;
  /** Order each user's rows by time (stable: ties keep file order); otherwise keep file order. */
  sortByTime: boolean;
  /** Keep users without rows (reczoo JSON: user index = position in the file). */
  keepEmptyUsers?: boolean;
  /** Header-based formats: the columns used, and every column present but not used. */
  columns?: { user: string; item: string; time: string | null; action?: string };
  ignoredColumns?: string[];
  /**
   * Per row: the action (a rating, or a named event type) as a key into `values`; present only
   * when actions were asked for (ReadOptions.actions / actionCol). `column` names its source;
   * `firstLine` (CSV) holds, per value key, the 1-based file line where the value first appears.
   */
  action?: { values: IdInterner; key: GrowableInt32; column: string; firstLine?: number[] };
}

/** Empty Interactions for `file`: fresh interners and row arrays, a time column (unix seconds) when `hasTime`, and `sortByTime` as given. */
export function newInteractions(file: string, hasTime: boolean, sortByTime: boolean): Interactions {
  return {
    file,
    users: new IdInterner(),
    items: new IdInterner(),
    user: new GrowableInt32(),
    item: new GrowableInt32(),
    time: hasTime ? new GrowableFloat64() : null,
    sortByTime,
  };
}
