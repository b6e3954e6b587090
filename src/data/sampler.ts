/**
 * Training batches exactly as docs/models.md §1 ("One training row") (seed `PretrainDataset_NEW`).
 *
 * Per row: pick a user uniformly *with replacement* among users with |train| >= 2; s = train[u];
 * x = s[:-1], y = s[1:], last L kept, left padded into seq/pos; neg[t] uniform over 1..V rejecting
 * set(train[u]) where pos[t] != 0; negs[t, r] uniform over 1..V without rejection (the official HSTU
 * "local" sampler, collisions with pos allowed); ts_ext[t] = time of seq[t], ts_ext[L] = time of
 * pos[L-1] (all zeros when the data has no timestamps).
 *
 * One epoch is ceil(#users / B) batches, #users counting every user of the split as the seed does.
 * Unlike the seed, the last batch is full too: rows are drawn with replacement anyway, so a short
 * batch would only add a second tensor shape (and a second graph specialisation) for no statistical gain.
 *
 * With a positive rule (Split.events.positive), pos[t] is the next event's item only when that
 * event is positive, else 0 (negatives are context, never targets), and only users whose kept
 * window has a target are drawn. `action [B, L]` and `profile [B, P]` come from Split.events.
 *
 * Draw order (fixed, so a state restored from a checkpoint reproduces the same batches): per row the
 * user, then neg for t = 0..L-1, then negs for t = 0..L-1, r = 0..R-1. All randomness comes from one
 * Rng whose state getState()/setState() carry.
 */
import { BATCH, type BatchInputName } from '../contract/artifacts.js';
import { Int64Writer } from './int64.js';
import { Rng, type RngState } from './rng.js';
import type { Split } from './split.js';
import { userLabel } from './user-label.js';
import { ReclmError } from '../errors.js';

/** Data from which no training row (or no negative) can be drawn: a user error, one line. */
export class SamplerError extends ReclmError {}

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
}

/** One batch; the tensors are keyed by the training graph's input names (docs/artifacts.md). */
export interface TrainBatch extends Partial<Record<BatchInputName, BigInt64Array>> {
  seq: BigInt64Array; // [B, L]
  pos: BigInt64Array; // [B, L]
  neg?: BigInt64Array; // [B, L]
  negs?: BigInt64Array; // [B, L, R], or [R] with sharedNegatives
  ts_ext?: BigInt64Array; // [B, L+1]
  action?: BigInt64Array; // [B, L]
  profile?: BigInt64Array; // [B, P]
  batchSize: number;
  maxlen: number;
  numNegatives: number;
  sharedNegatives: boolean;
  /** Number of positions with pos != 0 (the loss denominator |M|). */
  realTokens: number;
}

export interface SamplerState {
  rng: RngState;
  batchesDrawn: number;
}

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
    return { rng: this.rng.getState(), batchesDrawn: this.batchesDrawn };
  }

  setState(state: SamplerState): void {
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

  nextBatch(): TrainBatch {
    const { L, B, R, V, rng, split, marks } = this;
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
      const u = this.users[rng.nextInt(this.users.length)];
      const s = split.train[u];
      const m = s.length;
      const n = Math.min(m - 1, L);
      const off = b * L + (L - n); // first real slot of this row
      const src = m - 1 - n; // index in s of seq's first kept item
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
        ts.set(b * (L + 1) + L, t[m - 1]);
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
