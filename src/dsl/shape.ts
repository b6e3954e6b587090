import { Dim, DslError, Shape, formatShape } from './types.js';

/** Numpy-style broadcasting of two shapes; symbolic dims broadcast only with 1 or themselves. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db) out.push(da);
    else if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else throw new DslError(`${op}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (dim ${i}: ${da} vs ${db})`);
  }
  return out;
}

/** `axis` as an index in [0, rank), a negative one counting from the end; throws DslError naming `op` when it is out of range or not an integer. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new DslError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  }
  return a;
}

/** normalizeAxis of each of `axes`, sorted ascending; throws DslError naming `op` for an axis out of range or repeated. */
export function normalizeAxes(op: string, axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => normalizeAxis(op, a, rank));
  if (new Set(out).size !== out.length) throw new DslError(`${op}: repeated axis in [${axes.join(', ')}]`);
  return out.sort((x, y) => x - y);
}

/** Product of dims when all are static, else null. */
export function staticSize(dims: readonly Dim[]): number | null {
  let n = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}
