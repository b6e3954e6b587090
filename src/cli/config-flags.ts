import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

/** Parses `key=value` pairs from --set; values are JSON when they parse (numbers, booleans), else strings. */
export function parseSets(sets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects key=value, got '${s}'`);
    const key = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1).trim();
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // keep the string
    }
    out[key] = value;
  }
  return out;
}

/** Reads a config JSON file; a fixture file's `config` block is accepted as it is. */
export function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--config ${path}: cannot read a JSON object (${(e as Error).message.replace(/\s+/g, ' ').trim()})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--config ${path}: expected a JSON object`);
  const obj = parsed as Record<string, unknown>;
  return obj.config && typeof obj.config === 'object' && obj.params ? (obj.config as Record<string, unknown>) : obj;
}
