// Child process for the SIGKILL-and-resume test: trains until killed, checkpointing every step.
import { train } from '../../src/runtime/trainer.js';
import { tinyData } from './tiny-run.js';

const [dir, maxSteps] = process.argv.slice(2);
await train({
  dir, data: tinyData(), epochs: 1000, batchSize: 16, seed: 4, fusedSteps: 1, evalEvery: 0, patience: 0,
  checkpointEvery: 1, resume: false, json: true, schedule: { kind: 'constant', lr: 5e-3 }, maxSteps: Number(maxSteps),
});
