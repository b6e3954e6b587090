// Training checkpoints: one self-checking binary file.
//
// Layout (all integers little-endian):
//   0      8 bytes   magic "RECLMCK1"
//   8      uint32    header length H
//   12     H bytes   header, UTF-8 JSON (tensor table + scalar/JSON state)
//   ...    zero padding up to a multiple of 8
//   D      raw float32 tensor data; every tensor starts on an 8-byte boundary
//   end-32 sha256 of every byte before it
//
// Why this shape: the tensor bytes are written straight from (and loaded straight into)
// Float32Array views, so saving and loading cost one pass of I/O plus one hash, with no
// per-element work. The trailing hash makes a torn or bit-rotted file fail loudly instead
// of resuming training from garbage.

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { writeFileAtomic } from '../util/atomic.js';
import { ReclmError } from '../errors.js';

export const CHECKPOINT_MAGIC = 'RECLMCK1';
const MAGIC_BYTES = Buffer.from(CHECKPOINT_MAGIC, 'latin1');
const PREFIX_BYTES = MAGIC_BYTES.length + 4;
const HASH_BYTES = 32;
const ALIGN = 8;
const FORMAT_VERSION = 1;
// A header is a tensor table plus small JSON state; anything bigger is a corrupt length field.
const MAX_HEADER_BYTES = 256 * 1024 * 1024;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

export type TensorGroup = 'param' | 'm' | 'v';

export interface ParamTensor {
  shape: readonly number[];
  data: Float32Array;
}

/** Where the learning-rate schedule stands; lrAt(config, step) recomputes the rest. */
export interface SchedulePosition {
  step: number;
  lr?: number;
  config?: unknown;
}

export interface CheckpointState {
  /** Optimizer steps done (AdamW's t for the next step is step + 1). */
  step: number;
  epoch: number;
  stepInEpoch: number;
  params: Map<string, ParamTensor>;
  /** Adam moments, keyed like params (same shapes). Both empty before the first step. */
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  schedule: SchedulePosition;
  /** JSON-able state that lets the sampler continue with the very next batch. */
  samplerState: unknown;
  rngState?: unknown;
  /** Model name, config, numItems, best metric, ...: anything JSON-able. */
  meta: Record<string, unknown>;
}

export type CheckpointErrorReason = 'not-checkpoint' | 'truncated' | 'corrupted' | 'invalid-state' | 'io';

export class CheckpointError extends ReclmError {
  constructor(
    message: string,
    readonly reason: CheckpointErrorReason,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface TensorRecord {
  name: string;
  group: TensorGroup;
  dtype: 'float32';
  shape: number[];
  /** Relative to the start of the data section. */
  byteOffset: number;
  byteLength: number;
}

interface Header {
  format: 'reclm-checkpoint';
  version: number;
  dataBytes: number;
  tensors: TensorRecord[];
  state: {
    step: number;
    epoch: number;
    stepInEpoch: number;
    schedule: SchedulePosition;
    samplerState: unknown;
    rngState?: unknown;
    meta: Record<string, unknown>;
  };
}

export interface SaveResult {
  bytes: number;
  sha256: string;
}

/** Serializes the state into chunks (tensor chunks are views, not copies) plus their hash. */
export function encodeCheckpoint(state: CheckpointState): { chunks: Uint8Array[]; bytes: number; sha256: string } {
  const entries = validateState(state);
  const tensors: TensorRecord[] = [];
  let dataBytes = 0;
  for (const { name, group, shape, data } of entries) {
    dataBytes = alignUp(dataBytes);
    tensors.push({ name, group, dtype: 'float32', shape: [...shape], byteOffset: dataBytes, byteLength: data.byteLength });
    dataBytes += data.byteLength;
  }
  dataBytes = alignUp(dataBytes);
  const header: Header = {
    format: 'reclm-checkpoint',
    version: FORMAT_VERSION,
    dataBytes,
    tensors,
    state: {
      step: state.step,
      epoch: state.epoch,
      stepInEpoch: state.stepInEpoch,
      schedule: state.schedule,
      samplerState: state.samplerState,
      ...(state.rngState === undefined ? {} : { rngState: state.rngState }),
      meta: state.meta,
    },
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  if (headerBytes.length > MAX_HEADER_BYTES) {
    throw new CheckpointError(`checkpoint header is ${headerBytes.length} bytes; keep JSON state under ${MAX_HEADER_BYTES}`, 'invalid-state');
  }
  const dataStart = alignUp(PREFIX_BYTES + headerBytes.length);
  const prefix = Buffer.alloc(dataStart); // zero-filled, so the padding is zeros
  MAGIC_BYTES.copy(prefix, 0);
  prefix.writeUInt32LE(headerBytes.length, MAGIC_BYTES.length);
  headerBytes.copy(prefix, PREFIX_BYTES);

  const chunks: Uint8Array[] = [prefix];
  let written = 0;
  for (let i = 0; i < entries.length; i++) {
    const pad = tensors[i].byteOffset - written;
    if (pad > 0) chunks.push(new Uint8Array(pad));
    chunks.push(float32Bytes(entries[i].data));
    written = tensors[i].byteOffset + tensors[i].byteLength;
  }
  if (dataBytes > written) chunks.push(new Uint8Array(dataBytes - written));

  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  const digest = hash.digest();
  chunks.push(digest);
  return { chunks, bytes: dataStart + dataBytes + HASH_BYTES, sha256: digest.toString('hex') };
}

/**
 * Writes a checkpoint atomically (temp file + fsync + rename). Synchronous: the tensor
 * bytes are written straight from the caller's buffers, which must not change meanwhile.
 */
export function saveCheckpoint(path: string, state: CheckpointState): SaveResult {
  const { chunks, bytes, sha256 } = encodeCheckpoint(state);
  try {
    writeFileAtomic(path, chunks);
  } catch (err) {
    throw new CheckpointError(`cannot write checkpoint ${path}: ${(err as Error).message}`, 'io', path, { cause: err });
  }
  return { bytes, sha256 };
}

/** Reads and verifies a checkpoint; tensors are Float32Array views into one buffer. */
export function loadCheckpoint(path: string): CheckpointState {
  return decodeCheckpoint(readWhole(path), path);
}

/**
 * Parses checkpoint bytes. Verifies magic, length and sha256 before returning anything.
 * Tensor views share `bytes`' memory when it is 8-byte aligned (always true for
 * loadCheckpoint); otherwise the data section is copied once into an aligned buffer.
 */
export function decodeCheckpoint(bytes: Uint8Array, label = '<buffer>'): CheckpointState {
  const size = bytes.byteLength;
  const magicSeen = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(size, MAGIC_BYTES.length));
  if (!MAGIC_BYTES.subarray(0, magicSeen.length).equals(magicSeen)) {
    throw new CheckpointError(
      `${label} is not a reclm checkpoint (starts with ${JSON.stringify(magicSeen.toString('latin1'))}, expected "${CHECKPOINT_MAGIC}")`,
      'not-checkpoint',
      label,
    );
  }
  if (size < PREFIX_BYTES + HASH_BYTES) {
    throw new CheckpointError(`checkpoint ${label} is truncated: only ${size} bytes`, 'truncated', label);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, size);
  const headerLength = view.getUint32(MAGIC_BYTES.length, true);
  if (headerLength > MAX_HEADER_BYTES) {
    throw corrupted(label, `header length field says ${headerLength} bytes`);
  }
  if (PREFIX_BYTES + headerLength + HASH_BYTES > size) {
    throw new CheckpointError(
      `checkpoint ${label} is truncated: ${size} bytes, but the header alone needs ${PREFIX_BYTES + headerLength + HASH_BYTES}`,
      'truncated',
      label,
    );
  }

  let header: Header | undefined;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + PREFIX_BYTES, headerLength).toString('utf8')) as Header;
  } catch {
    header = undefined;
  }
  const dataStart = alignUp(PREFIX_BYTES + headerLength);
  const expected = header && Number.isSafeInteger(header.dataBytes) ? dataStart + header.dataBytes + HASH_BYTES : undefined;
  if (expected !== undefined && size < expected) {
    throw new CheckpointError(`checkpoint ${label} is truncated: ${size} bytes, the header says ${expected}`, 'truncated', label);
  }

  // The hash covers everything, header included, so it is checked before trusting any field.
  const body = bytes.subarray(0, size - HASH_BYTES);
  const stored = Buffer.from(bytes.buffer, bytes.byteOffset + size - HASH_BYTES, HASH_BYTES).toString('hex');
  const actual = createHash('sha256').update(body).digest('hex');
  if (stored !== actual) {
    throw corrupted(label, `sha256 mismatch (expected ${stored}, got ${actual})`);
  }
  if (!header) throw corrupted(label, 'header is not valid JSON');
  if (expected !== size) throw corrupted(label, `${size} bytes, the header says ${expected ?? 'an invalid size'}`);
  if (header.format !== 'reclm-checkpoint' || header.version !== FORMAT_VERSION) {
    throw corrupted(label, `unsupported format ${String(header.format)} version ${String(header.version)} (this reclm reads version ${FORMAT_VERSION})`);
  }
  return buildState(header, bytes, dataStart, label);
}

function buildState(header: Header, bytes: Uint8Array, dataStart: number, label: string): CheckpointState {
  let data = bytes.subarray(dataStart, dataStart + header.dataBytes);
  if (data.byteOffset % ALIGN !== 0 || !LITTLE_ENDIAN_HOST) {
    // Not Buffer#slice, which would be another view: a fresh ArrayBuffer starts aligned.
    const copy = new Uint8Array(data.byteLength);
    copy.set(data);
    data = copy;
  }
  const params = new Map<string, ParamTensor>();
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  const groups = { param: params, m, v };
  if (!Array.isArray(header.tensors)) throw corrupted(label, 'header has no tensor table');
  for (const t of header.tensors) {
    const count = Array.isArray(t.shape) ? t.shape.reduce((a, b) => a * b, 1) : NaN;
    const ok =
      (t.group === 'param' || t.group === 'm' || t.group === 'v') &&
      t.dtype === 'float32' &&
      t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) &&
      t.byteLength === count * 4 &&
      t.byteOffset % ALIGN === 0 &&
      t.byteOffset + t.byteLength <= header.dataBytes;
    if (!ok) throw corrupted(label, `bad tensor record ${JSON.stringify(t)}`);
    const target = groups[t.group];
    if (target.has(t.name)) throw corrupted(label, `tensor ${t.group}/${t.name} appears twice`);
    const arr = new Float32Array(data.buffer, data.byteOffset + t.byteOffset, count);
    if (!LITTLE_ENDIAN_HOST) swapFloat32InPlace(arr);
    if (t.group === 'param') params.set(t.name, { shape: t.shape, data: arr });
    else (target as Map<string, Float32Array>).set(t.name, arr);
  }
  const s = header.state;
  return {
    step: s.step,
    epoch: s.epoch,
    stepInEpoch: s.stepInEpoch,
    params,
    m,
    v,
    schedule: s.schedule,
    samplerState: s.samplerState,
    ...(s.rngState === undefined ? {} : { rngState: s.rngState }),
    meta: s.meta,
  };
}

function validateState(state: CheckpointState): { name: string; group: TensorGroup; shape: readonly number[]; data: Float32Array }[] {
  for (const key of ['step', 'epoch', 'stepInEpoch'] as const) {
    const n = state[key];
    if (!Number.isSafeInteger(n) || n < 0) invalid(`${key} must be a non-negative integer, got ${String(n)}`);
  }
  if (!Number.isSafeInteger(state.schedule?.step) || state.schedule.step < 0) {
    invalid(`schedule.step must be a non-negative integer, got ${String(state.schedule?.step)}`);
  }
  assertJsonable(state.schedule, 'schedule');
  assertJsonable(state.samplerState, 'samplerState');
  if (state.rngState !== undefined) assertJsonable(state.rngState, 'rngState');
  assertJsonable(state.meta, 'meta');

  const out: { name: string; group: TensorGroup; shape: readonly number[]; data: Float32Array }[] = [];
  for (const [name, p] of state.params) {
    if (!(p.data instanceof Float32Array)) invalid(`param ${name}: data must be a Float32Array`);
    const count = p.shape.reduce((a, b) => a * b, 1);
    if (!p.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || count !== p.data.length) {
      invalid(`param ${name}: shape [${p.shape.join(', ')}] does not match ${p.data.length} values`);
    }
    out.push({ name, group: 'param', shape: p.shape, data: p.data });
  }
  // Moments are all-or-nothing: a partial set would resume AdamW with silently reset state.
  for (const group of ['m', 'v'] as const) {
    const moments = state[group];
    if (moments.size === 0) continue;
    for (const [name, data] of moments) {
      const p = state.params.get(name);
      if (!p) invalid(`${group}/${name} has no matching param`);
      if (!(data instanceof Float32Array) || data.length !== p.data.length) {
        invalid(`${group}/${name}: expected a Float32Array of ${p.data.length} values`);
      }
      out.push({ name, group, shape: p.shape, data });
    }
    for (const name of state.params.keys()) if (!moments.has(name)) invalid(`${group} is missing ${name}`);
  }
  return out;
}

/**
 * JSON.stringify silently turns Maps into {}, NaN into null and drops undefined; any of
 * those would make a resumed run differ from the original, so refuse them up front.
 */
export function assertJsonable(value: unknown, path: string): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) invalid(`${path} is ${value}, which JSON cannot hold (store null or a string)`);
      return;
    case 'object':
      if (value === null) return;
      if (Array.isArray(value)) {
        value.forEach((x, i) => assertJsonable(x, `${path}[${i}]`));
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        const kind = (value as object).constructor?.name ?? 'object';
        invalid(`${path} is a ${kind}; only plain objects, arrays, strings, finite numbers, booleans and null survive JSON (convert it, e.g. Array.from)`);
      }
      for (const [k, x] of Object.entries(value)) {
        if (x !== undefined) assertJsonable(x, `${path}.${k}`);
      }
      return;
    default:
      invalid(`${path} is ${typeof value}, which JSON cannot hold`);
  }
}

function readWhole(path: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code ?? (err as Error).message})`;
    throw new CheckpointError(`checkpoint ${path} ${what}`, 'io', path, { cause: err });
  }
  try {
    const size = fstatSync(fd).size;
    // allocUnsafeSlow: own ArrayBuffer at offset 0 (never the shared pool), so float views
    // are aligned, and no zero-fill for bytes about to be overwritten.
    const buf = Buffer.allocUnsafeSlow(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break; // file shrank while reading: decode reports it as truncated
      off += n;
    }
    return buf.subarray(0, off);
  } catch (err) {
    throw new CheckpointError(`checkpoint ${path} cannot be read: ${(err as Error).message}`, 'io', path, { cause: err });
  } finally {
    closeSync(fd);
  }
}

function float32Bytes(a: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(i * 4, a[i], true);
  return out;
}

function swapFloat32InPlace(a: Float32Array): void {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let i = 0; i < b.length; i += 4) {
    [b[i], b[i + 1], b[i + 2], b[i + 3]] = [b[i + 3], b[i + 2], b[i + 1], b[i]];
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

function corrupted(label: string, detail: string): CheckpointError {
  return new CheckpointError(`checkpoint ${label} is corrupted: ${detail}`, 'corrupted', label);
}

function invalid(message: string): never {
  throw new CheckpointError(`invalid checkpoint state: ${message}`, 'invalid-state');
}
