/**
 * Training batches exactly as docs/models.md §1 ("One training row") (seed `PretrainDataset_NEW`).
 *
 * Per row: pick a user uniformly *with replacement* among users with |train| >= 2; s = train[u];
 * x = s[:-1], y = s[1:], last L kept (with `window: 'random'`, a random run of L), left padded
 * into seq/pos; neg[t] uniform over 1..V rejecting set(train[u]) where pos[t] != 0; negs[t, r] uniform over 1..V without rejection (the official HSTU
 * "local" sampler, collisions with pos allowed); ts_ext[t] = time of seq[t], ts_ext[L] = time of
 * pos[L-1] (all zeros when the data has no timestamps).
 *
 * One epoch is ceil(#users / B) batches, #users counting every user of the split as the seed does.
 * Unlike the seed, the last batch is full too: rows are drawn with replacement anyway (and with
 * shuffled epochs the extra rows come from the next shuffle), so a short batch would only add a
 * second tensor shape (and a second graph specialisation) for no statistical gain.
 *
 * With a positive rule (Split.events.positive), pos[t] is the next event's item only when that
 * event is positive, else 0 (negatives are context, never targets), and only users whose kept
 * window has a target are drawn. `action [B, L]` and `profile [B, P]` come from Split.events.
 *
 * Random windows (`window: 'random'`): a user whose train prefix holds more than L next-item
 * pairs gets a window of L consecutive pairs whose start is drawn uniformly, instead of the last
 * L, so over the epochs every training interaction of a long history can serve as a target (the
 * sliding windows of Caser, Tang & Wang, WSDM 2018, drawn one per row). Rows keep their length
 * (L), so length buckets and the epoch's user distribution are unchanged.
 *
 * Draw order (fixed, so a state restored from a checkpoint reproduces the same batches): per row the
 * user, then (random windows, long rows only) the window start, then neg for t = 0..L-1, then negs
 * for t = 0..L-1, r = 0..R-1. All randomness comes from one Rng whose state getState()/setState()
 * carry.
 *
 * Length buckets (`bucket` > 0): batches of rows of similar length, each trimmed to its longest
 * row (T ≤ L, rounded up to a multiple of `bucket`), so no step computes on columns that are
 * padding in every row. An epoch's rows are drawn first as a pool (the same distribution: one
 * user per row, uniform with replacement), the pool is sorted by row length (stable), cut into
 * batches of B consecutive rows, and the batches' order is shuffled, in groups of `groupSize`
 * consecutive batches (fused steps then get batches of about the same T). The negatives of a
 * row are drawn when its batch is built, as without buckets. The state then also names the pool
 * (the Rng state it was drawn from and the next batch), so a restored sampler redraws it exactly.
 *
 * Shuffled epochs (`users: 'shuffle'`): instead of drawing each row's user with replacement, an
 * epoch's rows are consecutive uniform shuffles of the trainable users (PyTorch's DataLoader with
 * shuffle=True, which SASRec+ and most public trainers use), so every user comes once before any
 * comes twice. An epoch keeps its ceil(#users / B) · B rows, at least as many as the trainable
 * users: the rows past the first shuffle come from a further one (or several, when few users are
 * trainable), so the step count and lr schedule are those of draws with replacement. The
 * epoch's rows form a pool as with length buckets
 * (without buckets it is served in shuffled order, every batch L wide), so the state and its exact
 * restore are the same.
 */
import { BATCH, type BatchInputName } from '../contract/artifacts.js';
import { trimmedLength } from './eval-inputs.js';
import { Int64Writer } from './int64.js';
import { Rng, type RngState } from './rng.js';
import type { Split } from './split.js';
import { userLabel } from './user-label.js';
import { ReclmError } from '../errors.js';

/** Data from which no training row (or no negative) can be drawn: a user error, one line. */
export class SamplerError extends ReclmError {}

/** Which L pairs of a longer train prefix a row takes: the most recent ones (the seed's), or a uniformly drawn run of L. */
export const TRAIN_WINDOWS = ['last', 'random'] as const;
export type TrainWindow = (typeof TRAIN_WINDOWS)[number];

/**
 * How an epoch picks its rows' users: uniformly with replacement (the seed's, the default), or a
 * run of consecutive shuffles of the trainable users, each user once before any twice.
 */
export const EPOCH_USERS = ['replacement', 'shuffle'] as const;
export type EpochUsers = (typeof EPOCH_USERS)[number];

/** Why random windows and a positive rule (other than `all`) do not train together. */
export const RANDOM_WINDOW_WITH_POSITIVE_RULE = 'random windows (--window random) do not combine with a positive rule (--positive): a window may hold no positive target; use --window last';

/**
 * Refuses a window the sampler cannot train with: an unknown name (RangeError), and random
 * windows with a positive rule (SamplerError): a random window may hold no positive event, and a
 * batch without targets has no loss. The trainer calls it before it touches the run's folder.
 */
export function checkTrainWindow(split: Split, window: TrainWindow | undefined): void {
  if (!TRAIN_WINDOWS.includes(window ?? 'last')) throw new RangeError(`window must be one of ${TRAIN_WINDOWS.join(', ')}, got ${window}`);
  if (window === 'random' && split.events?.positive) throw new SamplerError(RANDOM_WINDOW_WITH_POSITIVE_RULE);
}

export interface SamplerOptions {
  /** L: sequence length after padding. */
  maxlen: number;
  /** B: rows per batch (every batch has exactly B rows). */
  batchSize: number;
  /** Produce `neg [B, L]` (one rejected-sampled negative per position, BCE losses). */
  needNeg?: boolean;
  /** R: produce `negs [B, L, R]` for sampled softmax; 0 or absent = none. */
  numNegatives?: number;
  /** Produce `ts_ext [B, L+1]` (HSTU). */
  needTimestamps?: boolean;
  /** `negs` is one block of R uniform ids [R] shared by the whole batch (cheap sampled softmax). */
  sharedNegatives?: boolean;
  /** Produce `action [B, L]`, the action token of each seq position (needs Split.events.actions). */
  needActions?: boolean;
  /** Produce `profile [B, P]`, the row's user tokens (needs Split.events.profile). */
  needProfile?: boolean;
  /** The dataset's user ids (Dataset.users), so messages name users by their id. */
  userIds?: readonly string[];
  /** Length buckets: trim each batch to its longest row rounded up to this multiple (0 or absent: off, every batch is L wide). */
  bucket?: number;
  /** With buckets: length-sorted batches are shuffled in groups of this many consecutive ones (default 1). */
  groupSize?: number;
  /** Which L pairs a longer train prefix gives its row (default 'last'; see TRAIN_WINDOWS). */
  window?: TrainWindow;
  /** How an epoch picks its rows' users (default 'replacement'; see EPOCH_USERS). */
  users?: EpochUsers;
}

/** One batch; the tensors are keyed by the training graph's input names (docs/artifacts.md). */
export interface TrainBatch extends Partial<Record<BatchInputName, BigInt64Array>> {
  seq: BigInt64Array; // [B, T]
  pos: BigInt64Array; // [B, T]
  neg?: BigInt64Array; // [B, T]
  negs?: BigInt64Array; // [B, T, R], or [R] with sharedNegatives
  ts_ext?: BigInt64Array; // [B, T+1]
  action?: BigInt64Array; // [B, T]
  profile?: BigInt64Array; // [B, P] (not trimmed)
  batchSize: number;
  /** T, the width of this batch's rows: L, or less for a trimmed batch (length buckets). */
  maxlen: number;
  numNegatives: number;
  sharedNegatives: boolean;
  /** Number of positions with pos != 0 (the loss denominator |M|). */
  realTokens: number;
}

export interface SamplerState {
  rng: RngState;
  batchesDrawn: number;
  /** Length buckets or shuffled epochs: the Rng state the current pool was drawn from, and its next batch. */
  pool?: { rng: RngState; next: number };
}

/** A drawn pool: an epoch's batches, length-sorted and shuffled (length buckets) or in shuffled-user order. */
interface Pool {
  start: RngState;
  /** User of each row, B per batch, batches in the order they are served. */
  rows: Int32Array;
  /** For each served batch, the index one past the last batch of its group. */
  groupEnd: Int32Array;
  next: number;
}

/**
 * Draws training batches from a Split as the file comment says: int64 tensors such as seq/pos
 * [B, T] (T <= L), ceil(#users / B) batches per epoch. The constructor throws RangeError for bad
 * sizes or options, and SamplerError when no training row (or, with needNeg, no negative) can be
 * drawn, or the model reads actions or a profile the data lacks.
 */
export class TrainSampler {
  readonly batchesPerEpoch: number;
  readonly numTrainableUsers: number;
  private readonly rng: Rng;
  private readonly users: Int32Array;
  private readonly marks: Uint8Array;
  private readonly L: number;
  private readonly B: number;
  private readonly R: number;
  private readonly V: number;
  private batchesDrawn = 0;
  private readonly bucket: number;
  private readonly groupSize: number;
  private readonly randomWindow: boolean;
  private readonly shuffle: boolean;
  private pool: Pool | null = null;

  constructor(
    private readonly split: Split,
    private readonly options: SamplerOptions,
    seed: number | RngState = 0,
  ) {
    const { maxlen, batchSize } = options;
    if (!Number.isInteger(maxlen) || maxlen < 1) throw new RangeError(`maxlen must be a positive integer, got ${maxlen}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const R = options.numNegatives ?? 0;
    if (!Number.isInteger(R) || R < 0) throw new RangeError(`numNegatives must be a non-negative integer, got ${R}`);
    this.L = maxlen;
    this.B = batchSize;
    this.R = R;
    this.V = split.numItems;
    this.bucket = options.bucket ?? 0;
    this.groupSize = options.groupSize ?? 1;
    if (!Number.isInteger(this.bucket) || this.bucket < 0) throw new RangeError(`bucket must be a non-negative integer, got ${this.bucket}`);
    if (!Number.isInteger(this.groupSize) || this.groupSize < 1) throw new RangeError(`groupSize must be a positive integer, got ${this.groupSize}`);
    checkTrainWindow(split, options.window);
    this.randomWindow = options.window === 'random';
    if (!EPOCH_USERS.includes(options.users ?? 'replacement')) throw new RangeError(`users must be one of ${EPOCH_USERS.join(', ')}, got ${options.users}`);
    this.shuffle = options.users === 'shuffle';
    this.rng = new Rng(seed);
    const eligible: number[] = [];
    const positive = split.events?.positive ?? null;
    for (let u = 0; u < split.train.length; u++) if (split.train[u].length >= 2 && (!positive || hasTarget(split.train[u].length, maxlen, positive[u]))) eligible.push(u);
    if (eligible.length === 0) {
      throw new SamplerError(positive ? 'no user has a positive training event after another training event, so no training example can be built' : 'no user has at least 2 training interactions, so no training example can be built');
    }
    if ((options.needActions && !split.events?.actions) || (options.needProfile && !split.events?.profile)) {
      throw new SamplerError(`the model reads ${options.needActions && !split.events?.actions ? 'actions (give --actions, and --columns action=NAME for a CSV)' : 'a user profile (give --user-features FILE)'}, but the data has none`);
    }
    this.users = Int32Array.from(eligible);
    this.numTrainableUsers = eligible.length;
    this.batchesPerEpoch = Math.ceil(split.train.length / batchSize);
    this.marks = new Uint8Array(this.V + 1);
    if (options.needNeg) this.checkNegativesExist();
  }

  getState(): SamplerState {
    const state: SamplerState = { rng: this.rng.getState(), batchesDrawn: this.batchesDrawn };
    if (this.pool) state.pool = { rng: this.pool.start, next: this.pool.next };
    return state;
  }

  /** Restores a state of getState(); a pool is redrawn from its Rng state (the same rows and order). */
  setState(state: SamplerState): void {
    this.pool = null;
    if (state.pool) {
      if (!this.usesPool) throw new SamplerError('the sampler state holds a pool of batches (length buckets or shuffled epochs) but this sampler has neither');
      this.rng.setState(state.pool.rng);
      this.drawPool();
      this.pool!.next = state.pool.next;
    }
    this.rng.setState(state.rng);
    this.batchesDrawn = state.batchesDrawn;
  }

  /** Batches drawn since construction (or since the restored state was taken). */
  get drawn(): number {
    return this.batchesDrawn;
  }

  *epoch(): Generator<TrainBatch> {
    for (let i = 0; i < this.batchesPerEpoch; i++) yield this.nextBatch();
  }

  /** Whether batches are served from a drawn pool (length buckets or shuffled epochs). */
  private get usesPool(): boolean {
    return this.bucket > 0 || this.shuffle;
  }

  nextBatch(): TrainBatch {
    if (!this.usesPool) return this.buildBatch(() => this.drawUser(), this.L);
    if (!this.pool || this.pool.next >= this.pool.groupEnd.length) this.drawPool();
    const pool = this.pool!;
    const rows = pool.rows.subarray(pool.next * this.B, (pool.next + 1) * this.B);
    pool.next++;
    if (!this.bucket) return this.buildBatch((b) => rows[b], this.L);
    // Every batch of a group is as wide as the group's longest row (rows are length-sorted
    // within a group, so it is among the rows from here to the group's end): fused steps take one T.
    let longest = 0;
    const end = pool.groupEnd[pool.next - 1] * this.B;
    for (let i = (pool.next - 1) * this.B; i < end; i++) longest = Math.max(longest, this.rowLength(pool.rows[i]));
    return this.buildBatch((b) => rows[b], trimmedLength(longest, this.bucket, this.L));
  }

  /**
   * Batches left in the current group of `groupSize` (the next batch's group, counting it), so
   * a caller that takes several batches at once can stop at a group's end: with length buckets
   * every batch of a group has the same T. Infinity without length buckets.
   */
  batchesLeftInGroup(): number {
    if (!this.bucket) return Infinity;
    if (!this.pool || this.pool.next >= this.pool.groupEnd.length) this.drawPool();
    const pool = this.pool!;
    return pool.groupEnd[pool.next] - pool.next;
  }

  private drawUser(): number {
    return this.users[this.rng.nextInt(this.users.length)];
  }

  /** Items in the input of user u's training row: min(|train| − 1, L). */
  private rowLength(u: number): number {
    return Math.min(this.split.train[u].length - 1, this.L);
  }

  /**
   * n rows' users from consecutive shuffles of the trainable users (Fisher-Yates, each shuffle
   * drawn whole before it is used): every user once per shuffle.
   */
  private shuffledUsers(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let o = 0; o < n; ) {
      const perm = Int32Array.from(this.users);
      for (let i = perm.length - 1; i > 0; i--) {
        const j = this.rng.nextInt(i + 1);
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      const take = Math.min(perm.length, n - o);
      out.set(perm.subarray(0, take), o);
      o += take;
    }
    return out;
  }

  /**
   * Draws an epoch's rows. Length buckets: sorts them by length, cuts them into batches and
   * shuffles the batches in groups. Without: the rows in drawn order, each batch its own group.
   */
  private drawPool(): void {
    const { B, rng } = this;
    const start = rng.getState();
    const n = this.batchesPerEpoch * B;
    const users = this.shuffle ? this.shuffledUsers(n) : Int32Array.from({ length: n }, () => this.drawUser());
    if (!this.bucket) {
      this.pool = { start, rows: users, groupEnd: Int32Array.from({ length: this.batchesPerEpoch }, (_, i) => i + 1), next: 0 };
      return;
    }
    const lengths = Int32Array.from(users, (u) => this.rowLength(u));
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
    const G = this.groupSize;
    const groups = Math.ceil(this.batchesPerEpoch / G);
    const perm = Array.from({ length: groups }, (_, i) => i);
    for (let i = groups - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    const rows = new Int32Array(n);
    const groupEnd = new Int32Array(this.batchesPerEpoch);
    let o = 0;
    for (const g of perm) {
      const lo = g * G * B;
      const hi = Math.min(n, (g + 1) * G * B);
      for (let i = lo; i < hi; i++) rows[o++] = users[order[i]];
      groupEnd.fill(o / B, (o - (hi - lo)) / B, o / B);
    }
    this.pool = { start, rows, groupEnd, next: 0 };
  }

  /** One batch of B rows of width T; `userOf(b)` gives row b's user (called in row order, before the row's negatives). */
  private buildBatch(userOf: (b: number) => number, T: number): TrainBatch {
    const { B, R, V, rng, split, marks } = this;
    const L = T;
    const needNeg = this.options.needNeg === true;
    const needTs = this.options.needTimestamps === true;
    const seq = new Int64Writer(B * L);
    const pos = new Int64Writer(B * L);
    const neg = needNeg ? new Int64Writer(B * L) : null;
    const shared = this.options.sharedNegatives === true;
    const negs = R > 0 ? new Int64Writer(shared ? R : B * L * R) : null;
    const ts = needTs ? new Int64Writer(B * (L + 1)) : null;
    const trainTs = needTs ? split.trainTs : null;
    const ev = split.events;
    const positive = ev?.positive ?? null;
    const act = this.options.needActions && ev?.actions ? new Int64Writer(B * L) : null;
    const P = ev ? ev.profileWidth : 0;
    const prof = this.options.needProfile && ev?.profile ? new Int64Writer(B * P) : null;
    let realTokens = 0;
    for (let b = 0; b < B; b++) {
      const u = userOf(b);
      const s = split.train[u];
      const m = s.length;
      const n = Math.min(m - 1, L);
      const off = b * L + (L - n); // first real slot of this row
      // Index in s of seq's first kept item: the last n pairs, or a random run of n of the m − 1.
      const src = this.randomWindow && m - 1 > n ? rng.nextInt(m - n) : m - 1 - n;
      if (positive) {
        const p = positive[u];
        for (let j = 0; j < n; j++) {
          seq.setSmall(off + j, s[src + j]);
          if (p[src + j + 1]) {
            pos.setSmall(off + j, s[src + j + 1]);
            realTokens++;
          }
        }
      } else {
        for (let j = 0; j < n; j++) {
          seq.setSmall(off + j, s[src + j]);
          pos.setSmall(off + j, s[src + j + 1]);
        }
        realTokens += n;
      }
      if (act && ev?.actions) for (let j = 0; j < n; j++) act.setSmall(off + j, ev.actions[u][src + j]);
      if (prof && ev?.profile) for (let f = 0; f < P; f++) prof.setSmall(b * P + f, ev.profile[u * P + f]);
      if (neg) {
        for (let j = 0; j < m; j++) marks[s[j]] = 1;
        for (let j = 0; j < n; j++) {
          let c: number;
          do c = 1 + rng.nextInt(V);
          while (marks[c] === 1);
          neg.setSmall(off + j, c);
        }
        for (let j = 0; j < m; j++) marks[s[j]] = 0;
      }
      if (negs && !shared) {
        const base = off * R;
        for (let k = 0; k < n * R; k++) negs.setSmall(base + k, 1 + rng.nextInt(V));
      }
      if (ts && trainTs) {
        const t = trainTs[u];
        const row = b * (L + 1) + (L - n);
        for (let j = 0; j < n; j++) ts.set(row + j, t[src + j]);
        ts.set(b * (L + 1) + L, t[src + n]); // the time of the last target, pos[L-1]
      }
    }
    // Shared negatives are drawn after the rows, so the per-row draws are the same as without.
    if (negs && shared) for (let k = 0; k < R; k++) negs.setSmall(k, 1 + rng.nextInt(V));
    this.batchesDrawn++;
    const batch: TrainBatch = { [BATCH.seq]: seq.array, [BATCH.pos]: pos.array, batchSize: B, maxlen: L, numNegatives: R, sharedNegatives: shared, realTokens };
    if (neg) batch[BATCH.neg] = neg.array;
    if (negs) batch[BATCH.negs] = negs.array;
    if (ts) batch[BATCH.tsExt] = ts.array;
    if (act) batch[BATCH.action] = act.array;
    if (prof) batch[BATCH.profile] = prof.array;
    return batch;
  }

  /** Rejection sampling would never end for a user whose train set covers every item: say so up front. */
  private checkNegativesExist(): void {
    const { marks } = this;
    for (const u of this.users) {
      const s = this.split.train[u];
      let distinct = 0;
      for (const v of s) {
        if (marks[v] === 0) {
          marks[v] = 1;
          distinct++;
        }
      }
      for (const v of s) marks[v] = 0;
      if (distinct >= this.V) {
        throw new SamplerError(`${userLabel(this.options.userIds, u)} has interacted with all ${this.V} items in train, so no negative item can be sampled for them`);
      }
    }
  }
}

/** Whether a row of a train prefix of length m has a target in its kept window (the last min(m-1, L) next events). */
function hasTarget(m: number, L: number, positive: Uint8Array): boolean {
  for (let j = Math.max(1, m - L); j < m; j++) if (positive[j]) return true;
  return false;
}

/**
 * `batch` widened to sequence length T (≥ its own) by left padding every row with zeros:
 * seq/pos/neg [B, T], negs [B, T, R] (shared negatives [R] unchanged), ts_ext [B, T+1].
 * The padded batch is the one the sampler would have built at width T (rows are left-padded).
 */
export function padBatch(batch: TrainBatch, T: number): TrainBatch {
  const { batchSize: B, maxlen: W, numNegatives: R } = batch;
  if (T === W) return batch;
  if (!(Number.isInteger(T) && T > W)) throw new RangeError(`padBatch: cannot pad a batch of length ${W} to ${T}`);
  const widen = (a: BigInt64Array, per: number, extra: number) => {
    const out = new BigInt64Array(B * (T * per + extra));
    const w = W * per + extra;
    const shift = (T - W) * per;
    for (let b = 0; b < B; b++) out.set(a.subarray(b * w, (b + 1) * w), b * (T * per + extra) + shift);
    return out;
  };
  const out: TrainBatch = { ...batch, maxlen: T, seq: widen(batch.seq, 1, 0), pos: widen(batch.pos, 1, 0) };
  if (batch.neg) out.neg = widen(batch.neg, 1, 0);
  if (batch.negs && !batch.sharedNegatives) out.negs = widen(batch.negs, R, 0);
  if (batch.ts_ext) out.ts_ext = widen(batch.ts_ext, 1, 1);
  if (batch.action) out.action = widen(batch.action, 1, 0);
  return out;
}
