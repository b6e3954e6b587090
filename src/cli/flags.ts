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
