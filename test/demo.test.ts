import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../graphs/index.js';
import { presetNamed } from '../graphs/presets.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import { builtinDataset } from '../src/data/builtin.js';
import { evaluate } from '../src/eval/evaluate.js';
import { train } from '../src/runtime/trainer.js';

describe('the main job on the built-in dataset (what `npm run demo` runs)', function () {
  this.timeout(300000);

  it('trains a model that beats the most-popular baseline on NDCG@10', async () => {
    const preset = presetNamed('builtin');
    const r = preset.recipe;
    const dir = join(mkdtempSync(join(tmpdir(), 'reclm-demo-')), 'demo');
    const data = builtinDataset();
    compileJob({ model: MODELS[preset.model] as never, loss: preset.loss, config: { ...preset.config }, optimizer: { ...SEED_ADAMW, ...preset.optimizer }, data, initSeed: 42, outDir: dir });
    await train({
      dir, data, epochs: r.epochs, batchSize: r.batchSize, seed: 1, fusedSteps: r.fusedSteps, evalEvery: r.evalEvery, patience: r.patience,
      checkpointEvery: 0, resume: false, json: true, schedule: { kind: 'constant', lr: r.lr },
    });
    const result = await evaluate({ model: dir, data: 'builtin', split: 'test', negatives: 0, ks: [10], batchSize: 256, seed: 0 });
    // The built-in data follows item chains a sequence model can learn; popularity cannot.
    expect(result.metrics['ndcg@10']).to.be.above(2 * result.popularity['ndcg@10']);
    expect(result.metrics['ndcg@10']).to.be.above(0.3);
  });
});
