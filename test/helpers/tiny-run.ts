import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../../graphs/index.js';
import { SEED_ADAMW } from '../../src/compiler/adamw.js';
import { compileJob } from '../../src/compiler/compile-job.js';
import { builtinDataset } from '../../src/data/builtin.js';
import { Dataset } from '../../src/data/types.js';

/** A small generated dataset: 120 users, 60 items, sequences of 6-30 items. */
export function tinyData(): Dataset {
  return builtinDataset({ users: 120, items: 60, genres: 4, minLen: 6, maxLen: 30, seed: 5 });
}

export const TINY_CONFIGS = {
  'llama-sasrec': { dim: 16, n_layers: 1, n_heads: 2, maxlen: 12, multiple_of: 8 },
  hstu: { dim: 16, n_layers: 1, n_heads: 2, dqk: 4, dv: 8, maxlen: 12 },
} as const;

/** Compiles a tiny model into a fresh temp folder and returns the folder. */
export function compileTiny(model: keyof typeof TINY_CONFIGS, loss: 'bce' | 'sampled-softmax' | 'full-ce' = 'bce', extra: Record<string, unknown> = {}, data = tinyData()): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'reclm-test-')), 'art');
  compileJob({
    model: MODELS[model] as never,
    loss,
    config: { ...TINY_CONFIGS[model], ...extra },
    optimizer: SEED_ADAMW,
    data,
    initSeed: 3,
    outDir: dir,
  });
  return dir;
}
