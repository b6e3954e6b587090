// Compiled artifacts, one-process runs and train.jsonl readers for the data-parallel tests
// (MovieLens-100K: 943 users, so 30 steps per epoch at batch 32).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_FILES } from '../../src/contract/artifacts.js';
import { readJsonl } from '../../src/util/jsonl.js';

export const RECLM = fileURLToPath(new URL('./dist-reclm.ts', import.meta.url));
export const DATA = fileURLToPath(new URL('../../../shared/data/ml-100k.u.data.gz', import.meta.url));
/** A small LLaMA2-SASRec with dropout on (rows draw their masks by global row index). */
export const LLAMA = ['--model', 'llama-sasrec', '--loss', 'bce', '--set', 'dim=16', '--set', 'n_layers=1', '--set', 'n_heads=2', '--set', 'maxlen=20', '--set', 'dropout=0.2', '--set', 'attn_dropout=0.1'];

/** One `reclm compile|train ARGS` process from the sources; throws with its stderr when it fails. */
export function reclm(args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', RECLM, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reclm ${args.slice(0, 2).join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Fresh copies of artifacts compiled once (LLAMA on DATA) in a temporary folder. */
export function artifactFactory(prefix: string): (name: string) => string {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  let compiled: string | null = null;
  return (name: string) => {
    if (compiled === null) {
      compiled = join(tmp, 'compiled');
      reclm(['compile', ...LLAMA, '--data', DATA, '--out', compiled]);
    }
    const dir = join(tmp, name);
    cpSync(compiled, dir, { recursive: true });
    return dir;
  };
}

export interface LogRecord {
  type: string;
  step?: number;
  epoch?: number;
  loss?: number;
  ranks?: number;
  hosts?: string[];
  stoppedBy?: string;
  epochs?: number;
  lastStep?: number;
  allreduce_ms?: number;
  step_ms?: number;
  valid?: Record<string, number>;
}

/** The records of DIR's train.jsonl (a line rank 0 is still writing is skipped). */
export function records(dir: string): LogRecord[] {
  return readJsonl(join(dir, RUN_FILES.log), { skipInvalid: true }) as LogRecord[];
}

/**
 * The loss of every step, by step number, from the latest record of each step: a run resumed
 * from a checkpoint before its last logged step logs those steps again.
 */
export function stepLosses(dir: string): number[] {
  const byStep = new Map<number, number>();
  for (const r of records(dir)) if (r.type === 'step') byStep.set(r.step!, r.loss!);
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  steps.forEach((s, i) => expect(s, 'steps logged without a gap').to.equal(i + 1));
  return steps.map((s) => byStep.get(s)!);
}

/** The records of one type, in order. */
export function ofType(dir: string, type: string): LogRecord[] {
  return records(dir).filter((r) => r.type === type);
}

/** Every step's loss within `rtol` (relative) of the reference's. */
export function expectLossesClose(got: number[], want: number[], rtol: number): void {
  expect(got).to.have.length(want.length);
  got.forEach((l, i) => expect(Math.abs(l - want[i]), `step ${i + 1}: ${l} vs ${want[i]}`).to.be.at.most(rtol * Math.abs(want[i])));
}
