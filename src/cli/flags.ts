import { Errors, Flags } from '@oclif/core';
import { availableParallelism } from 'node:os';
import { DATA_FORMATS } from '../data/types.js';
import { UsageError } from '../errors.js';

/** Flags several commands share, defined once so their help reads the same everywhere. */
export const dataFormatFlag = () =>
  Flags.string({ description: 'data format; auto detects it from the file name and content', options: [...DATA_FORMATS], default: 'auto' });

/** `--cuda-lib-dir DIR` (train, eval): where the onnxruntime CUDA provider libraries are, instead of RECLM_CUDA_LIB_DIR. */
export const cudaLibDirFlag = () => Flags.string({ description: 'folder with the ORT 1.30 CUDA provider libraries (or set RECLM_CUDA_LIB_DIR)' });

/**
 * A seed flag: an integer in [0, 2^53 − 1]. The random generators take any safe integer
 * (data/rng.ts); a larger one is refused while the flags are parsed, before `--overwrite` deletes a run.
 */
export const seedFlag = (description: string, dflt?: number) => Flags.integer({ description: `${description}; 0 to 2^53 − 1`, min: 0, max: Number.MAX_SAFE_INTEGER, default: dflt });

/** A decimal number as people write one (`0.5`, `.5`, `1e-3`); Number() alone also reads 0x10, '' and Infinity. */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** `text` as a number, NaN unless it is a decimal number. */
function decimal(text: string): number {
  return DECIMAL.test(text) ? Number(text) : NaN;
}

/** Parses a number flag that must be > 0 (learning rates); throws a UsageError naming the flag. */
export function parsePositive(text: string, flag: string): number {
  const v = decimal(text);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`--${flag} must be a positive decimal number, got '${text}'`);
  return v;
}

/** Parses a number flag that must be ≥ 0 (weight decay, clipping norm); throws a UsageError naming the flag. */
export function parseNonNegative(text: string, flag: string): number {
  const v = decimal(text);
  if (!Number.isFinite(v) || v < 0) throw new UsageError(`--${flag} must be a non-negative decimal number, got '${text}'`);
  return v;
}

/** Parses a number flag that must lie in [0, 1) (Adam's β1, β2); throws a UsageError naming the flag. */
export function parseFraction(text: string, flag: string): number {
  const v = decimal(text);
  if (!Number.isFinite(v) || v < 0 || v >= 1) throw new UsageError(`--${flag} must be a decimal number in [0, 1), got '${text}'`);
  return v;
}

/** A real-valued flag > 0, parsed while the flags are (before any data is read). */
export const positiveNumberFlag = Flags.custom<number>({ parse: async (input, _ctx, opts) => parsePositive(input, opts.name) });

/** A real-valued flag ≥ 0. */
export const nonNegativeNumberFlag = Flags.custom<number>({ parse: async (input, _ctx, opts) => parseNonNegative(input, opts.name) });

/** A real-valued flag in [0, 1). */
export const fractionFlag = Flags.custom<number>({ parse: async (input, _ctx, opts) => parseFraction(input, opts.name) });

/**
 * A string flag whose value `check` validates while the flags are parsed, so a bad value exits
 * with code 2 like oclif's own checks and any other flag parser; the value stays the text.
 * `check` throws a ReclmError naming the flag.
 */
export const checkedStringFlag = (check: (text: string) => unknown) =>
  Flags.custom<string>({
    parse: async (input) => {
      check(input);
      return input;
    },
  });

/**
 * A command-line error from an argument's own check: exit code 2, its message as a flag
 * parser's reads (toCliError adds no "(see --help)", which oclif's parse errors get).
 */
export class ArgumentCheckError extends Errors.CLIError {}

/**
 * An argument's own check (oclif passes an argument parser's error through as it is, where it
 * wraps a flag parser's): its error becomes an ArgumentCheckError, exit code 2. Returns `text`.
 */
export function argumentCheck(check: (text: string) => unknown, text: string): string {
  try {
    check(text);
  } catch (e) {
    throw new ArgumentCheckError((e as Error).message, { exit: 2 });
  }
  return text;
}

/**
 * A preset name (`compile --preset NAME`, `presets NAME`) must be one of `names`; checked as the
 * command line parses, so an unknown one exits with code 2. Throws a UsageError listing them.
 */
export const presetNameCheck = (names: readonly string[]) => (name: string): void => {
  if (!names.includes(name)) throw new UsageError(`unknown preset '${name}'; presets: ${names.join(', ')}`);
};

/** Parses `--k` (comma-separated positive integers, the cut-offs of HR@k and NDCG@k, each once, kept in the order given); throws a UsageError. */
export function parseCutoffs(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const ks = parts.map(Number);
  // Decimal digits only: Number() would also read 0x10 and 1e1.
  if (parts.some((p) => !/^\d+$/.test(p)) || ks.some((k) => k < 1)) throw new UsageError(`--k expects positive integers separated by commas, got '${text}'`);
  // A repeated cut-off would give two equal columns in the table and one key in --json.
  const twice = ks.find((k, i) => ks.indexOf(k) !== i);
  if (twice !== undefined) throw new UsageError(`--k lists ${twice} twice, got '${text}'`);
  return ks;
}

/**
 * `--threads n` capped at this machine's logical cores (os.availableParallelism), and the
 * warning that says so (null when n fits): onnxruntime's intra-op threads beyond the cores wait
 * on each other, so the run gets slower, not faster (on this 2-core machine, both runs while
 * other work used the cores: an eval with 999 threads took 111 s instead of 0.3 s, one with
 * 64 threads 54 s instead of 2 s).
 * @returns threads: the count to run with (undefined stays undefined: the command's default)
 */
export function capThreads(threads: number | undefined, cores: number = availableParallelism()): { threads: number | undefined; warning: string | null } {
  if (threads === undefined || threads <= cores) return { threads, warning: null };
  return { threads: cores, warning: `--threads ${threads} is more than this machine's ${cores} cores, where the threads would wait on each other and the run would crawl: using ${cores}` };
}
