/**
 * Fast filling of BigInt64Array batches (ONNX int64 inputs).
 *
 * Writing numbers through BigInt() costs an allocation per element; for a [128, 200] batch per
 * step that dominates sampling time. Instead we write the two 32-bit halves through an Int32Array
 * view of the same buffer. This assumes a little-endian host (every platform Node ships for);
 * a big-endian host falls back to BigInt writes.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const TWO_32 = 4294967296;

/**
 * A zero-filled BigInt64Array of `length` elements (`array`), written through an Int32Array view
 * of its 32-bit halves so no element needs a BigInt (see the file comment). Indices are not checked.
 */
export class Int64Writer {
  readonly array: BigInt64Array;
  private readonly words: Int32Array;

  constructor(length: number) {
    this.array = new BigInt64Array(length);
    this.words = new Int32Array(this.array.buffer);
  }

  /** Store an integer |v| < 2^53 (fractional values are truncated toward zero). */
  set(index: number, v: number): void {
    v = Math.trunc(v);
    if (!LITTLE_ENDIAN) {
      this.array[index] = BigInt(v);
      return;
    }
    const hi = Math.floor(v / TWO_32);
    this.words[2 * index] = v - hi * TWO_32; // 0..2^32-1, wraps to the int32 bit pattern
    this.words[2 * index + 1] = hi;
  }

  /** Store a small non-negative integer (item ids): the high word stays 0 from allocation. */
  setSmall(index: number, v: number): void {
    if (LITTLE_ENDIAN) this.words[2 * index] = v;
    else this.array[index] = BigInt(v);
  }
}
