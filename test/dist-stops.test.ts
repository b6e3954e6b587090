// Early stopping (--patience) and --time-limit under mpirun: rank 0 decides, every rank stops
// at the same epoch and exits 0, rank 0 alone logs the reason, and a later --resume behaves as
// in one process. Real data: MovieLens-100K, 15 steps of 64 rows per epoch.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_FILES } from '../src/contract/artifacts.js';
import { mpirun, requireMpirun } from './helpers/dist-mpirun.js';
import { DATA, RECLM, artifactFactory, expectLossesClose, ofType, reclm, stepLosses } from './helpers/dist-runs.js';

const BASE = ['--data', DATA, '--batch-size', '64', '--seed', '3', '--eval-every', '1', '--threads', '1'];

/** `reclm train ARGS` on 2 ranks; every rank must exit 0 (a rank left waiting on a collective would hang until the timeout). */
async function train2(args: string[]): Promise<string> {
  const r = await mpirun(2, [RECLM, 'train', ...args], 60000);
  expect(r.code, `mpirun train: ${r.stderr}`).to.equal(0);
  return r.stdout;
}

describe('dist: stops under mpirun', function () {
  // Each case runs 3-4 trainings of 1-3 epochs of 15 steps (a few seconds each, plus ~3 s of
  // start-up per process): ~30 s on a quiet 2-core machine, 90 s on one shared with other work.
  this.timeout(120000);
  before(requireMpirun);
  const artifacts = artifactFactory('reclm-dist-stops-');

  it('--patience: both ranks stop at the epoch one process stops at; --resume is refused as in one process', async () => {
    // AdamW moves each weight by about lr per step: at 1e-9 the scores barely change, no
    // validation after the first is better, and patience 1 stops the run after its second epoch,
    // well before the 6 it was given (the test checks both runs stop early, at the same epoch).
    const recipe = [...BASE, '--lr', '1e-9', '--epochs', '6', '--patience', '1'];
    const one = artifacts('patience-one');
    reclm(['train', one, ...recipe]);
    const two = artifacts('patience-two');
    const out = await train2([two, ...recipe]);
    // Rank 0 alone prints the summary and its reason.
    expect(out.match(/^trained .*, stopped by patience$/gm)).to.have.length(1);
    const [endOne, endTwo] = [ofType(one, 'end'), ofType(two, 'end')];
    expect(endTwo).to.have.length(1);
    expect(endTwo[0].stoppedBy).to.equal('patience');
    expect(endTwo[0].epochs).to.equal(endOne[0].epochs).and.to.be.below(6);
    expect(ofType(two, 'epoch').map((e) => e.valid?.['ndcg@10'])).to.have.length(endOne[0].epochs!);
    expect(existsSync(join(two, RUN_FILES.inference))).to.equal(true);
    // Only the summation order differs from one process (see dist-train.test.ts): 1e-4 relative.
    expectLossesClose(stepLosses(two), stepLosses(one), 1e-4);
    // --resume of a run that patience stopped is refused (it trained one more epoch each time), by
    // one process and by the 2 ranks alike, and neither run's log grows.
    const refusal = /--resume: the run in .* was stopped by early stopping \(no better validation NDCG@10 in its last 1 validation; best at epoch \d+\); nothing to continue/;
    expect(() => reclm(['train', one, ...recipe, '--resume'])).to.throw(refusal);
    const resumed = await mpirun(2, [RECLM, 'train', two, ...recipe, '--resume'], 60000);
    expect(resumed.code).to.not.equal(0);
    expect(resumed.stderr).to.match(refusal);
    expect([ofType(one, 'end').length, ofType(two, 'end').length]).to.deep.equal([1, 1]);
  });

  it('--time-limit: both ranks stop at an epoch end on rank 0\'s clock; --resume finishes with the uninterrupted run\'s losses', async () => {
    const recipe = [...BASE, '--lr', '5e-3', '--epochs', '3'];
    const whole = artifacts('limit-whole');
    await train2([whole, ...recipe]);
    const dir = artifacts('limit-stopped');
    // 0.001 min = 60 ms: the limit is checked before each epoch, from the moment the run opened
    // (both ranks loaded); the first check comes about 1 ms later, and one epoch (15 steps and a
    // validation of 943 users) takes longer than 60 ms, so the run stops after epoch 1 of 3 (2
    // allowed for a first check delayed by a loaded machine).
    const out = await train2([dir, ...recipe, '--time-limit', '0.001']);
    expect(out.match(/^trained .*, stopped by time limit$/gm)).to.have.length(1);
    const end = ofType(dir, 'end');
    expect(end).to.have.length(1);
    expect(end[0].stoppedBy).to.equal('time limit');
    expect(end[0].epochs).to.be.within(1, 2);
    expect(end[0].lastStep).to.equal(15 * end[0].epochs!);
    // The limit is no part of the run's recipe: --resume without it trains the remaining epochs.
    await train2([dir, ...recipe, '--resume']);
    expect(ofType(dir, 'end')[1].stoppedBy).to.equal('epochs');
    // Same ranks, same batches, same reduction order: the same bits, up to the digits JSON keeps.
    expectLossesClose(stepLosses(dir), stepLosses(whole), 1e-6);
    expect(ofType(dir, 'epoch').map((e) => e.valid?.['ndcg@10'])).to.deep.equal(ofType(whole, 'epoch').map((e) => e.valid?.['ndcg@10']));
  });
});
