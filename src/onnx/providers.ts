// Execution-provider selection for onnxruntime-node.
//
// CPU always works. CUDA needs two provider libraries of the same ORT version next to
// onnxruntime-node's libonnxruntime.so.1: ORT dlopens them from its own directory only,
// so LD_LIBRARY_PATH does not help for these two. npm's install script would fetch them
// from NuGet; offline, they can come from a directory the user names (e.g. a Python
// onnxruntime-gpu install), which we symlink into place. If CUDA cannot work we say
// exactly why; we never quietly run on the CPU instead.

import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { ReclmError } from '../errors.js';

export type DeviceSpec = { kind: 'cpu' } | { kind: 'cuda'; deviceId: number };

export const CUDA_LIB_DIR_ENV = 'RECLM_CUDA_LIB_DIR';
export const CUDA_PROVIDER_LIBS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;

export type ProviderErrorCode = 'invalid-device' | 'cuda-missing' | 'cuda-version' | 'cuda-link' | 'cuda-load' | 'cuda-runtime';

export class ProviderError extends ReclmError {
  constructor(
    message: string,
    readonly code: ProviderErrorCode,
    readonly details: { missing?: string[]; searched?: string[] } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 'cpu' | 'cuda' | 'cuda:N' (case and surrounding spaces ignored). */
export function parseDevice(text: string): DeviceSpec {
  const s = String(text).trim().toLowerCase();
  if (s === 'cpu') return { kind: 'cpu' };
  if (s === 'cuda') return { kind: 'cuda', deviceId: 0 };
  const m = /^cuda:(\d{1,4})$/.exec(s);
  if (m) return { kind: 'cuda', deviceId: Number(m[1]) };
  throw new ProviderError(`invalid device ${JSON.stringify(text)}: expected cpu, cuda or cuda:N (N = GPU index, e.g. cuda:0)`, 'invalid-device');
}

/** A device as parseDevice reads it: 'cpu' or 'cuda:N'. */
export function formatDevice(d: DeviceSpec): string {
  return d.kind === 'cpu' ? 'cpu' : `cuda:${d.deviceId}`;
}

/**
 * Session options for a device. intraOpNumThreads defaults to 1: on this project's 2-core
 * machines small graphs ran ~3x faster with one thread (docs/architecture.md). Under CUDA the
 * CPU only runs shape/index glue, so one thread is right there too. Only the named provider
 * is listed: ORT does not fall back from a failed 'cuda' anyway, and we would not want it to.
 *
 * On the CPU the memory pattern is off. With it, onnxruntime plans each run's intermediate
 * tensors into blocks laid out from earlier runs' shapes, and the fused training step's
 * shapes change from batch to batch (full-ce's target rows come from NonZero): training
 * ml-1m-llama (2 layers, the preset until 2026-12-02) on ML-100K for an epoch peaked at 1.60 GiB RSS with it and 1.00 GiB without, with bit-identical
 * losses and the same CPU time. The arena stays on: without it every step's large tensors
 * are fresh mmaps, and the kernel's page zeroing raised system time from 0.8 s to 8.4 s per
 * epoch there, for no lower peak (README, "Memory").
 */
export function sessionOptionsFor(device: DeviceSpec, threads = 1): InferenceSession.SessionOptions {
  if (!(Number.isSafeInteger(threads) && threads >= 1)) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  return {
    executionProviders: device.kind === 'cuda' ? [{ name: 'cuda', deviceId: device.deviceId }] : ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...(device.kind === 'cpu' ? { enableMemPattern: false } : {}),
  };
}

export interface CudaOptions {
  /** Directory holding the provider libraries; defaults to $RECLM_CUDA_LIB_DIR. */
  cudaLibDir?: string;
  /** Where libonnxruntime.so.1 lives (and where links go); tests point this at a temp dir. */
  ortLibDir?: string;
  /** Environment to read RECLM_CUDA_LIB_DIR from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** ORT version the libraries must match (major.minor); defaults to onnxruntime-node's. */
  expectedVersion?: string;
}

export interface CudaCheck {
  ok: boolean;
  /** Library file names found nowhere. */
  missing: string[];
  /** Directories looked in, in order. */
  searched: string[];
  /** Library file name → the path it would be used from. */
  found: Record<string, string>;
  /** Reasons other than missing files (version mismatch, platform). */
  problems: string[];
  /** Things worth telling the user that do not stop CUDA (e.g. version not determinable). */
  notes: string[];
  ortLibDir: string;
}

/** onnxruntime-node's native folder: <package>/bin/napi-v6/<platform>/<arch>/. */
export function ortNativeDir(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node'); // <package>/dist/index.js
  return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** The installed onnxruntime-node's version, from its package.json (e.g. '1.30.0'). */
export function ortNodeVersion(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** Looks for the CUDA provider libraries without changing anything. */
export function checkCudaAvailable(opts: CudaOptions = {}): CudaCheck {
  const ortLibDir = opts.ortLibDir ?? ortNativeDir();
  const userDir = userLibDir(opts);
  const expected = opts.expectedVersion ?? ortNodeVersion();
  const result: CudaCheck = { ok: false, missing: [], searched: [ortLibDir], found: {}, problems: [], notes: [], ortLibDir };
  if (process.platform !== 'linux') {
    result.problems.push(`onnxruntime-node's CUDA execution provider exists for Linux only (this is ${process.platform})`);
  }
  const fromUser: string[] = [];
  const linkedBefore = new Set<string>();
  for (const lib of CUDA_PROVIDER_LIBS) {
    const p = join(ortLibDir, lib);
    if (existsSync(p)) result.found[lib] = p;
    if (isSymlink(p)) linkedBefore.add(lib);
  }
  if (userDir !== undefined) {
    result.searched.push(userDir);
    if (!existsSync(userDir)) result.notes.push(`${userDir} does not exist`);
    for (const lib of CUDA_PROVIDER_LIBS) {
      // A symlink in ORT's folder came from an earlier run; the directory named now wins,
      // so changing RECLM_CUDA_LIB_DIR takes effect. Real files there are never overridden.
      const replaceable = !result.found[lib] || linkedBefore.has(lib);
      if (replaceable && existsSync(join(userDir, lib))) {
        result.found[lib] = join(userDir, lib);
        fromUser.push(lib);
      }
    }
    if (fromUser.length > 0) {
      const v = detectOrtVersion(userDir);
      if (!v) {
        result.notes.push(`could not tell which onnxruntime version ${userDir} holds; it must be ${majorMinor(expected)}.x`);
      } else if (majorMinor(v.version) !== majorMinor(expected)) {
        result.problems.push(
          `${userDir} holds onnxruntime ${v.version} (from ${v.source}), but onnxruntime-node is ${expected}; provider libraries must match its major.minor version`,
        );
      } else {
        result.notes.push(`${userDir} holds onnxruntime ${v.version} (from ${v.source})`);
      }
    }
  }
  result.missing = CUDA_PROVIDER_LIBS.filter((lib) => !result.found[lib]);
  result.ok = result.missing.length === 0 && result.problems.length === 0;
  return result;
}

export interface CudaSetup {
  ortLibDir: string;
  /** One line per symlink made or confirmed ("linked A -> B", "already linked A -> B"). */
  linked: string[];
  notes: string[];
}

/**
 * Makes the CUDA provider libraries visible to onnxruntime-node (symlinking them from the
 * user's directory when needed; idempotent) or throws a ProviderError saying what is missing.
 */
export function ensureCudaProviders(opts: CudaOptions = {}): CudaSetup {
  const check = checkCudaAvailable(opts);
  if (check.missing.length > 0) {
    throw new ProviderError(missingMessage(check, opts), 'cuda-missing', { missing: check.missing, searched: check.searched });
  }
  if (check.problems.length > 0) {
    throw new ProviderError(
      `CUDA execution provider is not usable: ${check.problems.join('; ')}.\n${guidance(opts.expectedVersion ?? ortNodeVersion())}`,
      'cuda-version',
      { searched: check.searched },
    );
  }
  const linked: string[] = [];
  for (const lib of CUDA_PROVIDER_LIBS) {
    const src = resolve(check.found[lib]);
    const dest = join(check.ortLibDir, lib);
    if (src === resolve(dest)) continue; // already a real file (or link) in ORT's folder
    try {
      linked.push(linkIdempotent(src, dest));
    } catch (err) {
      throw new ProviderError(
        `cannot link ${src} into onnxruntime-node's folder (${(err as Error).message}).\n` +
          `Do it by hand: ln -sf ${src} ${dest}   (or copy the file there)`,
        'cuda-link',
        { searched: check.searched },
        { cause: err },
      );
    }
  }
  return { ortLibDir: check.ortLibDir, linked, notes: check.notes };
}

export interface PreparedDevice {
  device: DeviceSpec;
  sessionOptions: InferenceSession.SessionOptions;
  /** Human-readable lines about links made and versions seen; empty for CPU. */
  notes: string[];
}

/** Parses the device, readies CUDA if asked for, and returns the session options. */
export function prepareDevice(device: DeviceSpec | string, opts: CudaOptions & { threads?: number } = {}): PreparedDevice {
  const spec = typeof device === 'string' ? parseDevice(device) : device;
  const sessionOptions = sessionOptionsFor(spec, opts.threads);
  if (spec.kind === 'cpu') return { device: spec, sessionOptions, notes: [] };
  const setup = ensureCudaProviders(opts);
  return { device: spec, sessionOptions, notes: [...setup.linked, ...setup.notes] };
}

/** InferenceSession.create with the device's options; CUDA load failures become ProviderErrors. */
export async function createSession(
  model: string | Uint8Array,
  device: DeviceSpec | string,
  opts: CudaOptions & { threads?: number; sessionOptions?: InferenceSession.SessionOptions; onNote?: (line: string) => void } = {},
): Promise<InferenceSession> {
  const prepared = prepareDevice(device, opts);
  for (const line of prepared.notes) opts.onNote?.(line);
  const ort = await import('onnxruntime-node');
  const options = { ...prepared.sessionOptions, ...opts.sessionOptions };
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (err) {
    throw wrapSessionError(err, prepared.device, opts);
  }
}

/**
 * Turns ORT's terse CUDA failures into ProviderErrors with the same guidance as a missing
 * library. ORT only says "Failed to load shared library" (details go to its stderr log),
 * so we dlopen the libraries ourselves to name the one that fails and why.
 * Errors that have nothing to do with CUDA are returned unchanged.
 */
export function wrapSessionError(err: unknown, device: DeviceSpec, opts: CudaOptions = {}): unknown {
  if (device.kind !== 'cuda' || !(err instanceof Error)) return err;
  const msg = err.message;
  if (/Failed to load shared library|providers_(shared|cuda)|cannot open shared object/i.test(msg)) {
    const ortLibDir = opts.ortLibDir ?? ortNativeDir();
    const why = diagnoseLoad(ortLibDir);
    return new ProviderError(
      `onnxruntime could not load the CUDA execution provider for ${formatDevice(device)}: ${msg}\n` +
        (why ? `Cause: ${why}\n` : '') +
        guidance(opts.expectedVersion ?? ortNodeVersion()),
      'cuda-load',
      { searched: [ortLibDir] },
      { cause: err },
    );
  }
  if (/CUDA failure|cudaError|CUDNN failure|no CUDA-capable device/i.test(msg)) {
    return new ProviderError(
      `CUDA reported an error while creating a session on ${formatDevice(device)}: ${msg}\n` +
        `Check that the GPU exists and is visible (nvidia-smi, CUDA_VISIBLE_DEVICES) and that the device index is right.`,
      'cuda-runtime',
      {},
      { cause: err },
    );
  }
  return err;
}

/** Returns the dlopen error of the first provider library that fails to load, if any. */
export function diagnoseLoad(ortLibDir: string): string | undefined {
  for (const lib of CUDA_PROVIDER_LIBS) {
    const path = join(ortLibDir, lib);
    if (!existsSync(path)) return `${path} does not exist`;
    try {
      process.dlopen({ exports: {} }, path);
    } catch (e) {
      const m = (e as Error).message;
      // dlopen succeeded and Node then found no addon in it: the library itself loads fine.
      if (/did not self-register/.test(m)) continue;
      return m;
    }
  }
  return undefined;
}

/** Which ORT version a directory of ORT libraries belongs to, where the layout tells. */
export function detectOrtVersion(dir: string): { version: string; source: string } | undefined {
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  };
  const list = (p: string) => {
    try {
      return readdirSync(p);
    } catch {
      return [];
    }
  };
  // Python wheel: <site-packages>/onnxruntime/capi/ → onnxruntime/__init__.py has __version__.
  const init = read(join(dir, '..', '__init__.py'));
  const pyVersion = init && /^__version__\s*=\s*["']([^"']+)["']/m.exec(init);
  if (pyVersion) return { version: pyVersion[1], source: join(dir, '..', '__init__.py') };
  // pip metadata beside the package: onnxruntime_gpu-1.30.0.dist-info.
  const sitePackages = join(dir, '..', '..');
  const distInfo = list(sitePackages).find((n) => /^onnxruntime(_gpu)?-[\d.]+[\w.]*\.dist-info$/.test(n));
  if (distInfo) return { version: /-([\d.]+\d)/.exec(distInfo)![1], source: join(sitePackages, distInfo) };
  // GitHub release tarball lib/ or NuGet native/: libonnxruntime.so.1.30.0.
  const soName = list(dir).find((n) => /^libonnxruntime\.so\.\d+\.\d+\.\d+$/.test(n));
  if (soName) return { version: soName.slice('libonnxruntime.so.'.length), source: join(dir, soName) };
  // GitHub release tarball root: VERSION_NUMBER.
  const vn = read(join(dir, '..', 'VERSION_NUMBER'))?.trim();
  if (vn && /^\d+\.\d+\.\d+/.test(vn)) return { version: vn, source: join(dir, '..', 'VERSION_NUMBER') };
  // NuGet package root (runtimes/linux-x64/native → ../../..): *.nuspec.
  const nugetRoot = join(dir, '..', '..', '..');
  const nuspec = list(nugetRoot).find((n) => n.endsWith('.nuspec'));
  const nv = nuspec && /<version>([^<]+)<\/version>/.exec(read(join(nugetRoot, nuspec)) ?? '');
  if (nv) return { version: nv[1], source: join(nugetRoot, nuspec) };
  return undefined;
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function userLibDir(opts: CudaOptions): string | undefined {
  const dir = opts.cudaLibDir ?? (opts.env ?? process.env)[CUDA_LIB_DIR_ENV];
  return dir ? resolve(dir) : undefined;
}

// Replaces the link atomically (symlink to a temp name, rename over) so a concurrent
// process never sees the file missing; a regular file already there is left alone.
function linkIdempotent(src: string, dest: string): string {
  let current: string | undefined;
  try {
    current = readlinkSync(dest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EINVAL') return `kept ${dest} (a regular file)`;
    if (code !== 'ENOENT') throw e;
  }
  if (current === src) return `already linked ${dest} -> ${src}`;
  const tmp = `${dest}.reclm-${process.pid}-${randomBytes(4).toString('hex')}`;
  symlinkSync(src, tmp);
  try {
    renameSync(tmp, dest);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  return current === undefined ? `linked ${dest} -> ${src}` : `relinked ${dest} -> ${src} (was -> ${current})`;
}

function missingMessage(check: CudaCheck, opts: CudaOptions): string {
  const lines = [`CUDA execution provider is not usable: missing ${check.missing.join(' and ')}.`, 'Looked in:'];
  lines.push(`  ${check.ortLibDir}  (onnxruntime-node's own folder)`);
  const userDir = check.searched[1];
  if (userDir !== undefined) {
    const via = opts.cudaLibDir !== undefined ? '--cuda-lib-dir' : CUDA_LIB_DIR_ENV;
    lines.push(`  ${userDir}  (${via}${existsSync(userDir) ? '' : ', does not exist'})`);
  } else {
    lines.push(`  (no other folder: ${CUDA_LIB_DIR_ENV} / --cuda-lib-dir not set)`);
  }
  if (check.problems.length > 0) lines.push(`Also: ${check.problems.join('; ')}`);
  lines.push(guidance(opts.expectedVersion ?? ortNodeVersion()));
  return lines.join('\n');
}

function guidance(version: string): string {
  return [
    `How to get them: set ${CUDA_LIB_DIR_ENV} (or pass --cuda-lib-dir) to a directory holding the onnxruntime ${majorMinor(version)} CUDA provider libraries, e.g.`,
    `  pip install onnxruntime-gpu==${version}`,
    `  export ${CUDA_LIB_DIR_ENV}="$(python -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))')"`,
    `The CUDA 12 and cuDNN 9 runtime libraries must be on LD_LIBRARY_PATH when node starts ` +
      `(a system CUDA install, or the lib folders of pip's nvidia-cuda-runtime-cu12, nvidia-cublas-cu12, nvidia-cudnn-cu12 and nvidia-cufft-cu12).`,
    `Or run on the CPU with --device cpu.`,
  ].join('\n');
}

function majorMinor(v: string): string {
  return v.split('.').slice(0, 2).join('.');
}
