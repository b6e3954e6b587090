import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHECKPOINT_MAGIC,
  CheckpointError,
  type CheckpointState,
  decodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from '../src/runtime/checkpoint.js';
import { removeIfExists, writeFileAtomic } from '../src/util/atomic.js';

function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(seed * 1000 + i) * 0.1;
  return a;
}

function sampleState(): CheckpointState {
  // Odd sizes (3, 5·7) so alignment padding between tensors is exercised.
  const shapes: Record<string, number[]> = { 'item_emb.weight': [11, 4], 'blocks.0.norm.weight': [3], 'blocks.0.attn.wq': [5, 7], 'empty': [0, 4] };
  const params = new Map<string, { shape: number[]; data: Float32Array }>();
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  let seed = 1;
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    params.set(name, { shape, data: filled(n, seed++) });
    m.set(name, filled(n, seed++));
    v.set(name, filled(n, seed++).map(Math.abs));
  }
  return {
    step: 1234,
    epoch: 3,
    stepInEpoch: 17,
    params,
    m,
    v,
    schedule: { step: 1234, lr: 2.5e-4, config: { kind: 'warmup-cosine', lr: 3e-4 } },
    samplerState: { order: [5, 2, 9, 1], cursor: 2, seed: 42 },
    rngState: [123456789, 362436069],
    meta: { model: 'llama-sasrec', numItems: 3706, config: { d: 50, layers: 2 }, bestNdcg10: 0.1834, note: 'ünïcødé ✓' },
  };
}

function expectSameState(a: CheckpointState, b: CheckpointState): void {
  expect(b.step).to.equal(a.step);
  expect(b.epoch).to.equal(a.epoch);
  expect(b.stepInEpoch).to.equal(a.stepInEpoch);
  expect(b.schedule).to.deep.equal(a.schedule);
  expect(b.samplerState).to.deep.equal(a.samplerState);
  expect(b.rngState).to.deep.equal(a.rngState);
  expect(b.meta).to.deep.equal(a.meta);
  expect([...b.params.keys()]).to.deep.equal([...a.params.keys()]);
  for (const [name, p] of a.params) {
    expect(b.params.get(name)!.shape).to.deep.equal(p.shape);
    expect(Array.from(b.params.get(name)!.data)).to.deep.equal(Array.from(p.data));
  }
  for (const g of ['m', 'v'] as const) {
    expect([...b[g].keys()]).to.deep.equal([...a[g].keys()]);
    for (const [name, x] of a[g]) expect(Array.from(b[g].get(name)!)).to.deep.equal(Array.from(x));
  }
}

function expectCheckpointError(fn: () => unknown, reason: string, pattern: RegExp): CheckpointError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(CheckpointError);
    expect((err as CheckpointError).reason).to.equal(reason);
    expect((err as Error).message).to.match(pattern);
    return err as CheckpointError;
  }
  throw new Error(`expected a CheckpointError (${reason})`);
}

describe('runtime/checkpoint', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reclm-ckpt-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips parameters, moments and JSON state exactly', () => {
    const state = sampleState();
    const path = join(dir, 'ckpt.bin');
    const res = saveCheckpoint(path, state);
    expect(res.bytes).to.equal(readFileSync(path).length);
    expectSameState(state, loadCheckpoint(path));
  });

  it('writes magic, a length-prefixed JSON header and a trailing sha256 of the rest', () => {
    const path = join(dir, 'ckpt.bin');
    const { sha256 } = saveCheckpoint(path, sampleState());
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 8).toString('latin1')).to.equal(CHECKPOINT_MAGIC);
    const headerLength = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8'));
    expect(header.tensors).to.have.length(12);
    expect(header.tensors[0]).to.include({ name: 'item_emb.weight', group: 'param', byteOffset: 0, byteLength: 11 * 4 * 4 });
    for (const t of header.tensors) expect(t.byteOffset % 8).to.equal(0);
    const dataStart = Math.ceil((12 + headerLength) / 8) * 8;
    expect(bytes.length).to.equal(dataStart + header.dataBytes + 32);
    const digest = createHash('sha256').update(bytes.subarray(0, bytes.length - 32)).digest('hex');
    expect(bytes.subarray(bytes.length - 32).toString('hex')).to.equal(digest).and.to.equal(sha256);
    // First tensor's raw little-endian floats sit at the data start.
    const first = sampleState().params.get('item_emb.weight')!.data;
    expect(bytes.readFloatLE(dataStart)).to.equal(first[0]);
  });

  it('loads tensors as aligned views into one buffer (zero-copy)', () => {
    const path = join(dir, 'ckpt.bin');
    saveCheckpoint(path, sampleState());
    const loaded = loadCheckpoint(path);
    const buffers = new Set<ArrayBufferLike>();
    for (const p of loaded.params.values()) {
      buffers.add(p.data.buffer);
      expect(p.data.byteOffset % 8).to.equal(0);
    }
    for (const x of [...loaded.m.values(), ...loaded.v.values()]) buffers.add(x.buffer);
    expect(buffers.size).to.equal(1);
  });

  it('decodes from an unaligned buffer by copying the data once', () => {
    const path = join(dir, 'ckpt.bin');
    const state = sampleState();
    saveCheckpoint(path, state);
    const file = readFileSync(path);
    const backing = new Uint8Array(file.length + 3);
    backing.set(file, 3);
    expectSameState(state, decodeCheckpoint(backing.subarray(3), 'unaligned'));
  });

  it('accepts empty moments (before the first step) and omits an absent rngState', () => {
    const state = { ...sampleState(), step: 0, m: new Map(), v: new Map(), rngState: undefined };
    const path = join(dir, 'init.bin');
    saveCheckpoint(path, state);
    const loaded = loadCheckpoint(path);
    expect(loaded.m.size).to.equal(0);
    expect(loaded.v.size).to.equal(0);
    expect('rngState' in loaded).to.equal(false);
  });

  it('reports a flipped byte as a sha256 mismatch with both hashes', () => {
    const path = join(dir, 'ckpt.bin');
    saveCheckpoint(path, sampleState());
    const bytes = readFileSync(path);
    bytes[bytes.length - 100] ^= 0x01; // inside the tensor data
    writeFileSync(path, bytes);
    const err = expectCheckpointError(() => loadCheckpoint(path), 'corrupted', /is corrupted: sha256 mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)/);
    expect(err.message).to.include(path);
  });

  it('reports a damaged header as corrupted, not as a JSON SyntaxError', () => {
    const path = join(dir, 'ckpt.bin');
    saveCheckpoint(path, sampleState());
    const bytes = readFileSync(path);
    bytes[14] = 0x7b; // '{' inside the JSON header
    writeFileSync(path, bytes);
    expectCheckpointError(() => loadCheckpoint(path), 'corrupted', /corrupted/);
  });

  it('reports truncated files as truncated', () => {
    const path = join(dir, 'ckpt.bin');
    saveCheckpoint(path, sampleState());
    const bytes = readFileSync(path);
    for (const keep of [bytes.length - 1, bytes.length - 40, 200, 10, 5, 0]) {
      writeFileSync(path, bytes.subarray(0, keep));
      expectCheckpointError(() => loadCheckpoint(path), 'truncated', /is truncated/);
    }
  });

  it('reports other files as not a reclm checkpoint', () => {
    const path = join(dir, 'model.onnx');
    writeFileSync(path, Buffer.from('\x08\x09\x12\x04onnx some protobuf bytes'));
    expectCheckpointError(() => loadCheckpoint(path), 'not-checkpoint', /model\.onnx is not a reclm checkpoint/);
  });

  it('reports a missing file clearly', () => {
    expectCheckpointError(() => loadCheckpoint(join(dir, 'nope.bin')), 'io', /nope\.bin does not exist/);
  });

  it('rejects inconsistent state before writing anything', () => {
    const path = join(dir, 'ckpt.bin');
    const bad: Array<[string, (s: CheckpointState) => void, RegExp]> = [
      ['shape', (s) => (s.params.get('blocks.0.norm.weight')!.shape = [4]), /shape \[4\] does not match 3 values/],
      ['partial moments', (s) => s.m.delete('empty'), /m is missing empty/],
      ['stray moment', (s) => s.v.set('ghost', new Float32Array(1)), /v\/ghost has no matching param/],
      ['moment length', (s) => s.v.set('empty', new Float32Array(2)), /v\/empty: expected a Float32Array of 0 values/],
      ['step', (s) => (s.step = -1), /step must be a non-negative integer/],
      ['Infinity', (s) => (s.meta.bestLoss = Infinity), /meta\.bestLoss is Infinity/],
      ['Map', (s) => (s.samplerState = { seen: new Map() }), /samplerState\.seen is a Map/],
      ['typed array', (s) => (s.rngState = new Uint32Array(4)), /rngState is a Uint32Array/],
      ['bigint', (s) => (s.meta.n = 1n), /meta\.n is bigint/],
    ];
    for (const [, mutate, pattern] of bad) {
      const state = sampleState();
      mutate(state);
      expectCheckpointError(() => saveCheckpoint(path, state), 'invalid-state', pattern);
    }
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('replaces an existing checkpoint and leaves no temp files', () => {
    const path = join(dir, 'ckpt.bin');
    saveCheckpoint(path, sampleState());
    const second = { ...sampleState(), step: 99999 };
    saveCheckpoint(path, second);
    expect(loadCheckpoint(path).step).to.equal(99999);
    expect(readdirSync(dir)).to.deep.equal(['ckpt.bin']);
  });

  it('round-trips a ~10 MB checkpoint', () => {
    // Size check only: timings belong in bench/, never in assertions.
    const n = 2_500_000;
    const state: CheckpointState = {
      ...sampleState(),
      params: new Map([['big', { shape: [n / 50, 50], data: filled(n, 7) }]]),
      m: new Map(),
      v: new Map(),
    };
    const path = join(dir, 'big.bin');
    const { bytes } = saveCheckpoint(path, state);
    expect(bytes).to.be.greaterThan(10_000_000);
    const loaded = loadCheckpoint(path);
    const a = state.params.get('big')!.data;
    const b = loaded.params.get('big')!.data;
    expect(b.length).to.equal(n);
    expect(b[0]).to.equal(a[0]);
    expect(b[n - 1]).to.equal(a[n - 1]);
  });
});

describe('util/atomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reclm-atomic-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes strings, buffers and chunk lists', () => {
    writeFileAtomic(join(dir, 'a.txt'), 'héllo');
    writeFileAtomic(join(dir, 'b.bin'), new Uint8Array([1, 2, 3]));
    writeFileAtomic(join(dir, 'c.bin'), [new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])]);
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).to.equal('héllo');
    expect([...readFileSync(join(dir, 'b.bin'))]).to.deep.equal([1, 2, 3]);
    expect([...readFileSync(join(dir, 'c.bin'))]).to.deep.equal([1, 2, 3]);
    expect(readdirSync(dir).sort()).to.deep.equal(['a.txt', 'b.bin', 'c.bin']);
  });

  it('keeps the old file and removes the temp file when writing fails', () => {
    const path = join(dir, 'keep.txt');
    writeFileSync(path, 'old');
    // The second chunk fails after the temp file exists and holds a byte.
    const exploding = {
      get byteLength(): number {
        throw new Error('disk on fire');
      },
    } as unknown as Uint8Array;
    expect(() => writeFileAtomic(path, [new Uint8Array([1]), exploding])).to.throw('disk on fire');
    expect(readFileSync(path, 'utf8')).to.equal('old');
    expect(readdirSync(dir)).to.deep.equal(['keep.txt']);
  });

  it('removes the temp file when the rename fails', () => {
    const target = join(dir, 'is-a-dir');
    mkdirSync(join(target, 'child'), { recursive: true });
    expect(() => writeFileAtomic(target, 'x')).to.throw();
    expect(readdirSync(dir)).to.deep.equal(['is-a-dir']);
  });

  it('removeIfExists reports whether there was something to remove', () => {
    const path = join(dir, 'x');
    writeFileSync(path, '');
    expect(removeIfExists(path)).to.equal(true);
    expect(removeIfExists(path)).to.equal(false);
    expect(existsSync(path)).to.equal(false);
  });
});
