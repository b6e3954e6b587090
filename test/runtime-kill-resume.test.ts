import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_FILES, train } from '../src/runtime/trainer.js';
import { readJsonl } from '../src/util/jsonl.js';
import { compileTiny, tinyData } from './helpers/tiny-run.js';

const TOTAL = 150;
const opts = { epochs: 1000, batchSize: 16, seed: 4, fusedSteps: 1, evalEvery: 0, patience: 0, json: true, schedule: { kind: 'constant' as const, lr: 5e-3 } };

function stepRecords(dir: string): { step: number; loss: number }[] {
  return (readJsonl(join(dir, RUN_FILES.log), { skipInvalid: true }) as { type: string; step: number; loss: number }[]).filter((r) => r.type === 'step');
}

describe('SIGKILL mid-epoch and --resume', function () {
  this.timeout(120000);

  it('repeats the per-step losses of an uninterrupted run', async () => {
    const reference = compileTiny('hstu', 'bce', { dropout: 0.2 });
    await train({ ...opts, dir: reference, data: tinyData(), checkpointEvery: 0, resume: false, maxSteps: TOTAL });
    const expected = new Map(stepRecords(reference).map((r) => [r.step, r.loss]));
    expect(expected.size).to.equal(TOTAL);

    const dir = compileTiny('hstu', 'bce', { dropout: 0.2 });
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./helpers/train-child.ts', import.meta.url)), dir, String(TOTAL)], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Kill once a few steps are logged; with a checkpoint after every step and 8 steps per
    // epoch, the kill (and so the resume point) almost always falls mid-epoch.
    for (;;) {
      await new Promise((r) => setTimeout(r, 5));
      if (existsSync(join(dir, RUN_FILES.log)) && stepRecords(dir).length >= 11) break;
    }
    child.kill('SIGKILL');
    expect(await exited).to.equal('SIGKILL');
    const before = stepRecords(dir).length;
    expect(before).to.be.below(TOTAL);

    await train({ ...opts, dir, data: tinyData(), checkpointEvery: 0, resume: true, maxSteps: TOTAL });
    const records = stepRecords(dir);
    // Steps logged after the last checkpoint are run again on resume; every occurrence must match.
    for (const r of records) expect(r.loss, `step ${r.step}`).to.equal(expected.get(r.step));
    expect(new Set(records.map((r) => r.step)).size).to.equal(TOTAL);
    expect(readFileSync(join(dir, RUN_FILES.log), 'utf8')).to.include('"type":"resume"');
  });
});
