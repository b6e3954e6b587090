import { Flags } from '@oclif/core';
import { DATA_FORMATS } from '../data/types.js';
import { UsageError } from '../errors.js';

/** Flags several commands share, defined once so their help reads the same everywhere. */
export const dataFormatFlag = () =>
  Flags.string({ description: 'data format; auto detects it from the file name and content', options: [...DATA_FORMATS], default: 'auto' });

/** Parses a number flag that must be > 0 (learning rates); throws a UsageError naming the flag. */
export function parsePositive(text: string, flag: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) throw new UsageError(`--${flag} must be a positive number, got '${text}'`);
  return v;
}

/** Parses a number flag that must be ≥ 0 (weight decay, clipping norm); throws a UsageError naming the flag. */
export function parseNonNegative(text: string, flag: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0) throw new UsageError(`--${flag} must be a non-negative number, got '${text}'`);
  return v;
}

/** A real-valued flag > 0, parsed while the flags are (before any data is read). */
export const positiveNumberFlag = Flags.custom<number>({ parse: async (input, _ctx, opts) => parsePositive(input, opts.name) });

/** A real-valued flag ≥ 0. */
export const nonNegativeNumberFlag = Flags.custom<number>({ parse: async (input, _ctx, opts) => parseNonNegative(input, opts.name) });

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

/** Parses `--k` (comma-separated positive integers, the cut-offs of HR@k and NDCG@k); throws a UsageError. */
export function parseCutoffs(text: string): number[] {
  const ks = text.split(',').map((s) => Number(s.trim()));
  if (ks.some((k) => !Number.isInteger(k) || k < 1)) throw new UsageError(`--k expects positive integers separated by commas, got '${text}'`);
  return ks;
}
