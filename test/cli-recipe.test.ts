// The effective training recipe: flag, else preset, else default; on --resume the checkpoint's.
import { expect } from 'chai';
import { describeRecipe, resolveRecipe } from '../src/cli/recipe.js';
import { scheduleFor } from '../src/runtime/schedule.js';
import { RunRecipe, checkSameRun } from '../src/runtime/trainer.js';

const PRESET = { preset: 'ml-1m-llama', epochs: 70, batchSize: 128, lr: 2e-3, warmup: 0, cosine: true, minLr: 1e-5, evalEvery: 2, patience: 0, fusedSteps: 8 };

describe('training recipe', () => {
  it("the recipe line names the sources of the lr, the schedule and the final lr, once when they agree", () => {
    const line = (r: ReturnType<typeof resolveRecipe>) => describeRecipe('llama-sasrec', 'full-ce loss', r, { value: 1, from: 'default' });
    expect(line(resolveRecipe({ lr: 0.5 }, undefined, null, 6040, 'dir'))).to.include(', lr 0.5 (flag), constant (default), ');
    expect(line(resolveRecipe({ lr: 0.5 }, PRESET, null, 6040, 'dir'))).to.include(', lr 0.5 (flag), cosine to 0.00001 at step 3360 (preset ml-1m-llama), ');
    expect(line(resolveRecipe({}, PRESET, null, 6040, 'dir'))).to.include(', lr 0.002 cosine to 0.00001 at step 3360 (preset ml-1m-llama), ');
    // The final lr names its own source when it is not the cosine's: a flag under the preset's
    // cosine, or the default under --cosine.
    expect(line(resolveRecipe({ minLr: 1e-4 }, PRESET, null, 6040, 'dir'))).to.include(', lr 0.002 (preset ml-1m-llama), cosine (preset ml-1m-llama) to 0.0001 (flag) at step 3360, ');
    expect(line(resolveRecipe({ cosine: true }, undefined, null, 6040, 'dir'))).to.include(', lr 0.001 (default), cosine (flag) to 0.00001 (default) at step 960, ');
  });

  it('scheduleFor: constant, or cosine ending at the last step, and never before the warm-up ends', () => {
    expect(scheduleFor({ lr: 1e-3, warmup: 5, cosine: false, minLr: 1e-5, epochs: 3 }, 10)).to.deep.equal({ kind: 'constant', lr: 1e-3, warmup: 5 });
    expect(scheduleFor({ lr: 1e-3, warmup: 5, cosine: true, minLr: 1e-5, epochs: 3 }, 10)).to.deep.equal({ kind: 'warmup-cosine', lr: 1e-3, warmup: 5, totalSteps: 30, minLr: 1e-5 });
    // A warm-up longer than the run: the decay end moves to warmup + 1 so the schedule stays valid.
    expect(scheduleFor({ lr: 1e-3, warmup: 50, cosine: true, minLr: 1e-5, epochs: 3 }, 10)).to.include({ totalSteps: 51 });
  });

  it('a new run: each value from its flag, else the preset, else the default, with its source', () => {
    const r = resolveRecipe({ epochs: 1, seed: 3 }, PRESET, null, 6040, 'dir');
    expect(r.values).to.deep.equal({ epochs: 1, batchSize: 128, lr: 2e-3, warmup: 0, cosine: true, minLr: 1e-5, evalEvery: 2, patience: 0, fusedSteps: 8, seed: 3, trainOnValid: false, bucket: 0, window: 'last', users: 'replacement' });
    expect(r.from).to.include({ epochs: 'flag', seed: 'flag', lr: 'preset ml-1m-llama', cosine: 'preset ml-1m-llama', trainOnValid: 'default' });
    expect(r.schedule).to.deep.equal({ kind: 'warmup-cosine', lr: 2e-3, warmup: 0, totalSteps: 48, minLr: 1e-5 });
  });

  it('--resume: every value and the schedule come from the checkpoint', () => {
    const stored: RunRecipe = { epochs: 70, batchSize: 128, schedule: { kind: 'warmup-cosine', lr: 2e-3, warmup: 0, totalSteps: 3360, minLr: 1e-5 }, seed: 1, fusedSteps: 8, evalEvery: 2, patience: 0, trainOnValid: false, data: 'f' };
    // Flags equal to the stored values are fine; the preset and defaults play no part.
    const r = resolveRecipe({ lr: 2e-3, batchSize: 128 }, { ...PRESET, lr: 9 }, stored, 6040, 'dir');
    expect(r.schedule).to.equal(stored.schedule);
    expect(r.values).to.include({ epochs: 70, lr: 2e-3, seed: 1, evalEvery: 2, patience: 0, cosine: true });
    expect(new Set(Object.values(r.from))).to.deep.equal(new Set(['checkpoint']));
    // A run of an older reclm stores no length buckets: it resumes unbucketed, and --bucket 16 contradicts it.
    expect(r.values.bucket).to.equal(0);
    expect(() => resolveRecipe({ bucket: 16 }, undefined, stored, 6040, 'dir')).to.throw('--bucket 16 contradicts the run in dir, trained with --bucket 0');
    expect(resolveRecipe({}, undefined, { ...stored, bucket: 8 }, 6040, 'dir').values.bucket).to.equal(8);
    // A batch size capped at an epoch's rows when the run started: the same command with --resume
    // (a larger --batch-size) continues it; a smaller one, or any other with rows to spare, contradicts it.
    const capped = { ...stored, batchSize: 30 };
    expect(resolveRecipe({ batchSize: 128 }, undefined, capped, 30, 'dir').values.batchSize).to.equal(30);
    expect(() => resolveRecipe({ batchSize: 16 }, undefined, capped, 30, 'dir')).to.throw('--batch-size 16 contradicts the run in dir, trained with --batch-size 30');
    expect(() => resolveRecipe({ batchSize: 256 }, undefined, stored, 6040, 'dir')).to.throw('--batch-size 256 contradicts the run in dir, trained with --batch-size 128');
    // Random windows are part of the run: a run without them is not continued with them, and back.
    expect(() => resolveRecipe({ window: 'random' }, undefined, stored, 6040, 'dir')).to.throw('--window random contradicts the run in dir, trained with --window last');
    expect(resolveRecipe({}, undefined, { ...stored, window: 'random' }, 6040, 'dir').values.window).to.equal('random');
    expect(() => resolveRecipe({ window: 'last' }, undefined, { ...stored, window: 'random' }, 6040, 'dir')).to.throw('--window last contradicts the run in dir, trained with --window random');
    // So are shuffled epochs: the sampler state of one is not a state of the other.
    expect(() => resolveRecipe({ users: 'shuffle' }, undefined, stored, 6040, 'dir')).to.throw('--epoch-users shuffle contradicts the run in dir, trained with --epoch-users replacement');
    expect(resolveRecipe({}, undefined, { ...stored, users: 'shuffle' }, 6040, 'dir').values.users).to.equal('shuffle');
    // The trainer's own check (what bench/quality.ts and the API reach) refuses the change both ways.
    expect(() => checkSameRun({ ...stored, users: 'shuffle' }, stored, 'dir')).to.throw('was trained with --epoch-users shuffle, not replacement');
    expect(() => checkSameRun(stored, { ...stored, users: 'shuffle' }, 'dir')).to.throw('was trained with --epoch-users replacement, not shuffle');
    expect(() => checkSameRun({ ...stored, users: 'shuffle' }, { ...stored, users: 'shuffle' }, 'dir')).to.not.throw();
    expect(() => resolveRecipe({ minLr: 1e-4 }, undefined, { ...stored, schedule: { kind: 'constant', lr: 1e-3 } }, 6040, 'dir')).to.throw(
      '--min-lr 0.0001 contradicts the run in dir, trained with a constant lr (no --min-lr); drop the flag to continue that run, or start a new one with --overwrite',
    );
  });
});
