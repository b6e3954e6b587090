/**
 * The built-in synthetic dataset: generated in code (no download, no licence), deterministic, and
 * with sequential structure a small transformer can learn but a popularity ranking cannot.
 *
 * Generative story: the catalogue is split into latent genres; each genre orders its items in a
 * cyclic chain. A user likes 2–3 genres (popular genres more often) and walks along a liked genre's
 * chain with a personal stride (1 or 2 steps), sometimes switching to another liked genre (resuming
 * where they left it), and sometimes consuming a popular item at random ("noise" that does not move
 * the walk). So the next item depends on the last *chain* item, the stride and the liked genres:
 * first-order statistics already predict it well, and skipping noise items needs more context.
 * Timestamps increase with gaps of minutes to days (gaps are not informative on purpose).
 */
import { writeFileSync } from 'node:fs';
import { Rng } from './rng.js';
import type { Dataset } from './types.js';

export interface BuiltinOptions {
  users?: number;
  items?: number;
  genres?: number;
  minLen?: number;
  maxLen?: number;
  seed?: number;
}

const DEFAULTS: Required<BuiltinOptions> = { users: 2000, items: 500, genres: 10, minLen: 20, maxLen: 120, seed: 20240607 };

/** Probabilities per step (the rest is "follow the chain"). */
const P_NOISE = 0.12;
const P_SWITCH = 0.1;

/**
 * Generates the built-in dataset (see the file comment): by default 2000 users with 20..120 items
 * each, items 1..500 in 10 genres, timestamps in unix seconds from 2020. The same options give the
 * same data. Throws RangeError when there are fewer than 2 items per genre.
 */
export function builtinDataset(options: BuiltinOptions = {}): Dataset {
  const o = { ...DEFAULTS, ...options };
  if (o.items < o.genres * 2) throw new RangeError('builtin dataset needs at least 2 items per genre');
  const rng = new Rng(o.seed);
  const V = o.items;

  // Items 1..V are dealt into genres in a random order, and each genre's chain is a random cycle.
  const perm = shuffled(rng, V).map((i) => i + 1);
  const chains: Int32Array[] = [];
  for (let g = 0; g < o.genres; g++) {
    const lo = Math.floor((g * V) / o.genres), hi = Math.floor(((g + 1) * V) / o.genres);
    chains.push(Int32Array.from(perm.slice(lo, hi)));
  }
  // Genre popularity (which genres users like) and item popularity (noise) are Zipf-like.
  const genreWeight = cumulative(Array.from({ length: o.genres }, (_, g) => 1 / (g + 2)));
  const itemRank = shuffled(rng, V);
  const itemWeight = cumulative(Array.from({ length: V }, (_, i) => 1 / (itemRank[i] + 5)));

  const users: string[] = [];
  const sequences: Int32Array[] = [];
  const timestamps: Float64Array[] = [];
  for (let u = 0; u < o.users; u++) {
    const nLiked = 2 + rng.nextInt(2);
    const liked: number[] = [];
    while (liked.length < nLiked) {
      const g = pick(rng, genreWeight);
      if (!liked.includes(g)) liked.push(g);
    }
    const stride = rng.nextFloat() < 0.7 ? 1 : 2;
    const where = liked.map((g) => rng.nextInt(chains[g].length));
    let cur = 0;
    const len = o.minLen + rng.nextInt(o.maxLen - o.minLen + 1);
    const seq = new Int32Array(len);
    const ts = new Float64Array(len);
    let t = 1_577_836_800 + rng.nextInt(60 * 86400); // from 2020-01-01 UTC
    for (let j = 0; j < len; j++) {
      const r = rng.nextFloat();
      if (r < P_NOISE) {
        seq[j] = pick(rng, itemWeight) + 1;
      } else {
        if (r < P_NOISE + P_SWITCH) cur = (cur + 1 + rng.nextInt(nLiked - 1)) % nLiked;
        const chain = chains[liked[cur]];
        where[cur] = (where[cur] + stride) % chain.length;
        seq[j] = chain[where[cur]];
      }
      // Mostly minutes apart within a session, sometimes a break of hours to days.
      t += rng.nextFloat() < 0.85 ? 30 + rng.nextInt(1800) : 3600 + rng.nextInt(5 * 86400);
      ts[j] = t;
    }
    users.push(String(u + 1));
    sequences.push(seq);
    timestamps.push(ts);
  }
  const itemIds = [''];
  for (let i = 1; i <= V; i++) itemIds.push(String(i));
  return { name: 'builtin', numItems: V, users, sequences, timestamps, itemIds, remapped: false };
}

/** Write a dataset as SASRec text `user item timestamp` (the built-in one by default). */
export function writeBuiltinDataset(path: string, ds: Dataset = builtinDataset()): void {
  const lines: string[] = [];
  for (let u = 0; u < ds.sequences.length; u++) {
    const s = ds.sequences[u];
    const t = ds.timestamps ? ds.timestamps[u] : null;
    for (let j = 0; j < s.length; j++) lines.push(t ? `${ds.users[u]} ${ds.itemIds[s[j]]} ${t[j]}` : `${ds.users[u]} ${ds.itemIds[s[j]]}`);
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

function shuffled(rng: Rng, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function cumulative(w: number[]): Float64Array {
  const c = new Float64Array(w.length);
  let s = 0;
  for (let i = 0; i < w.length; i++) c[i] = s += w[i];
  for (let i = 0; i < w.length; i++) c[i] /= s;
  return c;
}

/** Index drawn from a normalised cumulative distribution (binary search). */
function pick(rng: Rng, cdf: Float64Array): number {
  const x = rng.nextFloat();
  let lo = 0, hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
