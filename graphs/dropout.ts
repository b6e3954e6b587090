/**
 * Reproducible dropout computed in-graph from a counter-based hash.
 *
 * ORT's Dropout/Random ops reseed per session (docs/architecture.md), so a resumed or
 * restarted run could not replay its masks. Here the mask of element `e` of dropout site
 * `s` at training step `t` is a pure function hash(seed, t, s, e) built from int64
 * arithmetic modulo the Mersenne prime P = 2^31 − 1 (every product is of two values
 * < 2^31, so it stays below 2^62), BitwiseXor, and integer division by powers of two
 * (a right shift for non-negative values). Same seed and step give the same mask in any
 * session and process; another step gives another mask.
 *
 * Rows: the element index counts from the first row of the graph's batch plus an optional
 * `row_offset` input, so a slice of a global batch (one data-parallel rank's rows) draws the
 * masks of those rows in the whole batch.
 *
 * Cost: the element index is split into the last axis and the rest. Each part gets its own
 * well-mixed stream (two multiply-mod/xorshift rounds, on small tensors), and only their
 * combination, (rows xor cols)·a mod P, runs on the full tensor: three int64 ops and a
 * comparison per element.
 */
import { Graph, Tensor } from '../src/dsl/graph.js';
import * as op from '../src/dsl/index.js';
import { isStatic, numel } from '../src/dsl/types.js';

const P = 2147483647; // 2^31 - 1
/** Multipliers for the multiply-mod rounds: large (so neighbours spread over [0, P)), all in [1, P). */
const A = [742938285, 950706376, 1226874159, 62089911, 1343714438, 397204094, 1583458089, 630360016, 1101141659, 1875056929];
const B = [1013904223, 1664525, 374761393, 668265263, 2246822519 % P, 3266489917 % P];

/** One round: x ← ((x·a + b) mod P) xor ((x·a + b) mod P) / 2^15. Needs 0 <= x < 2^31. */
function mixRound(x: Tensor, a: number, b: number): Tensor {
  let y = op.mul(x, a);
  if (b) y = op.add(y, b);
  y = op.mod(y, P);
  return op.bitwiseXor(y, op.div(y, 1 << 15));
}

/** Scalar keys for one dropout site, mixed from seed, step and the site number. */
function siteKeys(seed: Tensor, step: Tensor, site: number): Tensor[] {
  let h = mixRound(op.mod(seed, P), A[0], B[0]);
  h = mixRound(op.mod(op.add(h, op.mod(step, P)), P), A[1], B[1]);
  h = mixRound(op.mod(op.add(h, site + 1), P), A[2], B[2]);
  const keys: Tensor[] = [];
  for (let i = 0; i < 4; i++) {
    h = mixRound(h, A[3 + i], B[(3 + i) % B.length]);
    keys.push(h);
  }
  return keys;
}

/** A well-mixed stream over non-negative indices `idx`, keyed by (k1, k2); values in [0, 2^31). */
function indexStream(idx: Tensor, k1: Tensor, k2: Tensor, a1: number, a2: number): Tensor {
  const x = mixRound(op.mod(op.add(idx, k1), P), a1, 0);
  return mixRound(op.mod(op.bitwiseXor(x, k2), P), a2, 0);
}

/**
 * int64 indices of the elements of a tensor shaped `outer` (all dims of `like` but the last),
 * shaped [...outer, 1]: 0..n-1, shifted by `rowOffset` rows of the first (batch) dim when
 * given, so that the rows of a slice of a batch number as they do in the whole batch.
 */
function outerIndex(like: Tensor, rowOffset: Tensor | null): Tensor {
  const g = like.graph;
  const outer = like.shape.slice(0, -1);
  let idx: Tensor;
  if (isStatic(outer)) {
    const n = numel(outer);
    idx = g.constant(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), 'int64', [...outer, 1]);
  } else {
    const outerShape = op.slice(op.shapeOf(like), [0], [0], [like.rank - 1]);
    const n = op.reduceProd(outerShape, null);
    const flat = op.range(op.scalar(g, 0, 'int64'), n, op.scalar(g, 1, 'int64'));
    idx = op.reshapeDynamic(flat, op.concat([outerShape, op.int64s(g, [1])], 0), [...outer, 1]);
  }
  if (rowOffset === null || like.rank < 2) return idx;
  // Elements per batch row of the outer index: the product of the outer dims after the first.
  const rest = outer.slice(1);
  const perRow = isStatic(rest)
    ? op.scalar(g, numel(rest), 'int64')
    : op.reduceProd(op.slice(op.shapeOf(like), [0], [1], [like.rank - 1]), null);
  return op.add(idx, op.mul(rowOffset, perRow));
}

/**
 * int64 indices 0..n-1 of the last axis of `like`: a constant when its size is static, else a
 * Range over its run-time size (e.g. the keys of [batch, H, T, T] attention probabilities).
 * Both hold the same values, so a mask does not depend on how the size is known.
 */
function lastIndex(like: Tensor): Tensor {
  const g = like.graph;
  const last = like.shape[like.rank - 1];
  if (typeof last === 'number') return g.constant(BigInt64Array.from({ length: last }, (_, i) => BigInt(i)), 'int64', [last]);
  const n = op.gather(op.shapeOf(like), op.scalar(g, like.rank - 1, 'int64'), 0);
  return op.range(op.scalar(g, 0, 'int64'), n, op.scalar(g, 1, 'int64'), last);
}

/** Hash values in [0, P) for every element of a tensor shaped like `like` (rank >= 1). */
export function hashLike(like: Tensor, seed: Tensor, step: Tensor, site: number, rowOffset: Tensor | null = null): Tensor {
  const [k1, k2, k3, k4] = siteKeys(seed, step, site);
  const rows = indexStream(outerIndex(like, rowOffset), k1, k2, A[7], A[8]);
  const cols = indexStream(lastIndex(like), k3, k4, A[9], A[5]);
  // Both streams are < 2^31, so their xor is too and the product stays below 2^62.
  return op.mod(op.mul(op.bitwiseXor(rows, cols), A[6]), P);
}

/** Uniform numbers in [0, 1) (float32) shaped like `like`: what the dropout masks compare against. */
export function uniformLike(like: Tensor, seed: Tensor, step: Tensor, site: number): Tensor {
  return op.mul(op.cast(hashLike(like, seed, step, site), 'float32'), 1 / P);
}

/**
 * Dropout sites of one graph. Each call to `apply` is a new site (numbered in call order,
 * so a given model and config always numbers them the same way). Inverted dropout:
 * kept elements are scaled by 1 / (1 − p).
 */
export class Dropout {
  private site = 0;

  private constructor(
    readonly rate: number,
    private readonly seed: Tensor | null,
    private readonly step: Tensor | null,
    private readonly rowOffset: Tensor | null,
  ) {}

  /**
   * Dropout with rate `rate` keyed by the int64 scalars `seed` and `step`. `rowOffset` (int64
   * scalar, optional) is the global index of the batch's first row: a data-parallel rank or
   * an accumulation micro-batch that runs rows [o, o + b) of a global batch feeds o, and
   * gets the masks those rows have in the whole batch (0 for a whole batch).
   */
  static training(rate: number, seed: Tensor, step: Tensor, rowOffset: Tensor | null = null): Dropout {
    if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate ${rate} is outside [0, 1)`);
    return new Dropout(rate, seed, step, rowOffset);
  }

  /** No dropout (evaluation and inference graphs). */
  static none(): Dropout {
    return new Dropout(0, null, null, null);
  }

  get active(): boolean {
    return this.rate > 0 && this.seed !== null;
  }

  /** Dropout at this site with the default rate, or `rate` when given (a site with its own rate). */
  apply(x: Tensor, rate = this.rate): Tensor {
    if (!(rate > 0) || this.seed === null) return x;
    if (!(rate < 1)) throw new Error(`dropout rate ${rate} is outside [0, 1)`);
    const g: Graph = x.graph;
    return g.scope(`dropout${this.site}`, () => {
      const z = hashLike(x, this.seed!, this.step!, this.site++, this.rowOffset);
      // keep where u = z / P >= rate, compared in integers: z >= ceil(rate · P).
      const keep = op.greaterOrEqual(z, Math.ceil(rate * P));
      return op.where(keep, op.mul(x, 1 / (1 - rate)), op.scalar(g, 0, x.dtype));
    });
  }
}
