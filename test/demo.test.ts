import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS } from '../graphs/index.js';
import { presetNamed } from '../graphs/presets.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import { builtinDataset } from '../src/data/builtin.js';
import { evaluate } from '../src/eval/evaluate.js';
import { train } from '../src/runtime/trainer.js';
import Compile from '../src/commands/compile.js';
import Eval from '../src/commands/eval.js';
import Train from '../src/commands/train.js';
import { runCommand } from './helpers/cli.js';

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

describe('scripts/demo.sh (`npm run demo`)', function () {
  this.timeout(300000);

  it('runs twice into the same folder: its commands replace what the first run wrote', async () => {
    const script = readFileSync(fileURLToPath(new URL('../scripts/demo.sh', import.meta.url)), 'utf8');
    const commands = script.split('\n').filter((l) => l.startsWith('./bin/run.js '));
    expect(commands.map((l) => l.split(' ')[1])).to.deep.equal(['compile', 'train', 'eval']);
    const out = join(mkdtempSync(join(tmpdir(), 'reclm-demo-twice-')), 'demo');
    const classes = { compile: Compile, train: Train, eval: Eval } as const;
    for (const round of [1, 2]) {
      for (const line of commands) {
        const [, id, ...argv] = line.split(/\s+/).map((w) => (w === '"$out"' ? out : w));
        // Two steps are enough: what breaks a second run is what the first one left in the folder.
        const extra = id === 'train' ? ['--max-steps', '2'] : [];
        const r = await runCommand(classes[id as keyof typeof classes], [...argv, ...extra]);
        expect(r.error, `round ${round}, ${id}: ${r.error?.message}`).to.equal(undefined);
      }
    }
  });
});
