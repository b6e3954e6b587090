/**
 * Seeded PRNG: xoshiro128** (Blackman & Vigna) on four uint32 words.
 *
 * Why this generator: it needs only 32-bit integer ops (Math.imul, shifts), so it is fast in
 * JavaScript without BigInt, and its whole state is four numbers that serialise to JSON. The same
 * seed gives the same stream in every process and platform, which checkpoints rely on to resume a
 * run with exactly the batches it would have drawn.
 */

export interface RngState {
  algorithm: 'xoshiro128**';
  /** The four uint32 state words. */
  s: [number, number, number, number];
}

/** splitmix32: spreads a seed over the state words so nearby seeds give unrelated streams. */
function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [x, (z ^ (z >>> 16)) >>> 0];
}

const TWO_32 = 4294967296;

/**
 * The seeded xoshiro128** generator of the file comment: uint32, integer and float draws, with
 * a JSON-serialisable state (getState/setState). The constructor throws RangeError for a seed or
 * stream that is not a non-negative safe integer; setState throws Error for a malformed state.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /**
   * @param seed a non-negative integer below 2^53 (both 32-bit halves are used), or a saved state.
   * @param stream optional stream id: the same seed with different streams gives independent generators
   *   (e.g. one for training batches and one for evaluation negatives).
   */
  constructor(seed: number | RngState = 0, stream = 0) {
    if (typeof seed === 'object') {
      this.setState(seed);
      return;
    }
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`Rng seed must be a non-negative safe integer, got ${seed}`);
    if (!Number.isSafeInteger(stream) || stream < 0) throw new RangeError(`Rng stream must be a non-negative safe integer, got ${stream}`);
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_32) >>> 0, 0x27d4eb2d) ^ Math.imul(stream >>> 0, 0x165667b1);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [nx, out] = splitmix32(x);
      x = nx;
      words.push(out);
    }
    // An all-zero state would be a fixed point; splitmix32 cannot give four zeros, but be explicit.
    if (!words.some((w) => w !== 0)) words[0] = 1;
    [this.s0, this.s1, this.s2, this.s3] = words;
  }

  getState(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0, this.s1, this.s2, this.s3] };
  }

  setState(state: RngState): void {
    if (!state || state.algorithm !== 'xoshiro128**' || !Array.isArray(state.s) || state.s.length !== 4) {
      throw new Error(`not an xoshiro128** RNG state: ${JSON.stringify(state)}`);
    }
    const w = state.s.map((v) => {
      if (!Number.isInteger(v) || v < 0 || v >= TWO_32) throw new Error(`RNG state word out of range: ${v}`);
      return v >>> 0;
    });
    if (!w.some((v) => v !== 0)) throw new Error('RNG state must not be all zeros');
    [this.s0, this.s1, this.s2, this.s3] = w;
  }

  clone(): Rng {
    return new Rng(this.getState());
  }

  /** Uniform uint32 in [0, 2^32). */
  nextUint32(): number {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2 ^ s0, s3 = this.s3 ^ s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s1 = (s1 ^ s2) >>> 0;
    this.s0 = (s0 ^ s3) >>> 0;
    this.s2 = (s2 ^ t) >>> 0;
    this.s3 = rotl(s3, 11) >>> 0;
    return r;
  }

  /** Uniform integer in [0, n), unbiased (rejects the top partial block of 2^32), 1 <= n <= 2^32. */
  nextInt(n: number): number {
    if (!(n >= 1 && n <= TWO_32) || !Number.isInteger(n)) throw new RangeError(`nextInt bound must be an integer in [1, 2^32], got ${n}`);
    const threshold = (TWO_32 - n) % n; // = 2^32 mod n: values below it would over-represent small results
    for (;;) {
      const r = this.nextUint32();
      if (r >= threshold) return r % n;
    }
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
