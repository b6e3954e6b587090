// `--preset auto`: the rules on synthetic statistics (short and long sequences, small and large
// catalogues, few and many users) and on a real file, and the CLI path: compile prints and stores
// every choice, --set/--model override it, and the stored recipe drives `reclm train`.
import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoPresetStats, autoPreset, chooseDropout, describeChoices } from '../graphs/auto-preset.js';
import { getModel } from '../graphs/index.js';
import { PRESET_NAMES, presetNamed } from '../graphs/presets.js';
import Compile from '../src/commands/compile.js';
import Train from '../src/commands/train.js';
import { writeBuiltinDataset } from '../src/data/builtin.js';
import { openDataset } from '../src/data/open.js';
import { datasetStats } from '../src/data/stats.js';
import { runCommand } from './helpers/cli.js';
import { tinyData } from './helpers/tiny-run.js';

/** Statistics of a log; the defaults are an Amazon-Beauty-like log (mean 7.6 actions per user in the SASRec paper). */
function stats(over: Partial<AutoPresetStats> & { mean?: number; p90?: number } = {}): AutoPresetStats {
  const { mean = 7.6, p90 = 14, ...rest } = over;
  return { users: 20_000, items: 12_000, interactions: Math.round(20_000 * mean), seqLen: { mean, median: Math.max(1, Math.floor(mean * 0.7)), p90, max: p90 * 10 }, hasTimestamps: true, ...rest };
}

const choice = (p: ReturnType<typeof autoPreset>, field: string) => p.choices.find((c) => c.field === field)!.value;

describe('--preset auto: the rules', () => {
  it('short sequences (Amazon-like): maxlen 50, dropout 0.5, as SASRec chose for its sparse datasets', () => {
    const p = autoPreset(stats());
    expect(p.config.maxlen).to.equal(50);
    expect(p.config.dropout).to.equal(0.5);
    expect(p.loss).to.equal('full-ce');
  });

  it('long sequences (ML-1M-like): maxlen capped at 200, dropout 0.2, as SASRec and HSTU chose for ML-1M', () => {
    const p = autoPreset(stats({ users: 6040, items: 3416, mean: 163.5, p90: 400 }));
    expect(p.config.maxlen).to.equal(200);
    expect(p.config.dropout).to.equal(0.2);
  });

  it('in between, maxlen is the 90th percentile rounded up to a multiple of 10', () => {
    expect(autoPreset(stats({ mean: 40, p90: 83 })).config.maxlen).to.equal(90);
    expect(autoPreset(stats({ mean: 60, p90: 120 })).config.maxlen).to.equal(120);
  });

  it('dropout falls from 0.5 to 0.2 as the mean length grows, never outside that range, in steps of 0.05', () => {
    const means = [1, 5, 11, 15, 25, 40, 70, 106, 163.5, 400, 5000];
    const values = means.map((mean) => chooseDropout(stats({ mean })).value as number);
    for (let i = 1; i < values.length; i++) expect(values[i], `mean ${means[i]}`).to.be.at.most(values[i - 1]);
    expect(values[0]).to.equal(0.5);
    expect(values[values.length - 1]).to.equal(0.2);
    // 1e-9: the values are multiples of 0.05 printed to 2 decimals; only float rounding may differ.
    for (const v of values) expect(Math.abs(v * 20 - Math.round(v * 20))).to.be.below(1e-9);
    // Strictly inside the two anchors the interpolation gives something between them.
    expect(chooseDropout(stats({ mean: 40 })).value).to.be.within(0.25, 0.45);
  });

  it('the model follows the timestamps: HSTU with them, LLaMA2-SASRec without; --model forces one', () => {
    expect(autoPreset(stats({ hasTimestamps: true })).model).to.equal('hstu');
    expect(autoPreset(stats({ hasTimestamps: false })).model).to.equal('llama-sasrec');
    const forced = autoPreset(stats({ hasTimestamps: true }), { model: 'llama-sasrec' });
    expect(forced.model).to.equal('llama-sasrec');
    expect(forced.config).to.include({ dim: 64, n_heads: 2, key_padding_mask: true });
    expect(forced.choices[0].reason).to.match(/--model/);
  });

  it('a small catalogue trains with full cross-entropy, a very large one with 128 sampled negatives', () => {
    expect(autoPreset(stats({ items: 10_000 })).loss).to.equal('full-ce');
    const large = autoPreset(stats({ items: 150_000 }));
    expect(large.loss).to.equal('sampled-softmax');
    expect(large.config.num_negatives).to.equal(128);
  });

  it('batch 128 and lr 0.001 in the target range; fewer users shrink the batch and the lr by √(batch/128)', () => {
    for (const users of [1000, 40_000]) expect(autoPreset(stats({ users })).recipe).to.include({ batchSize: 128, lr: 0.001 });
    const tiny = autoPreset(stats({ users: 200 })).recipe;
    // 200 users: 128 and 64 give under 4 steps per epoch, 32 gives 7.
    expect(tiny.batchSize).to.equal(32);
    expect(tiny.lr).to.equal(0.0005);
    // Below 64 users the floor of 16 cannot give 4 steps, and the reason says how many it gives.
    const few = autoPreset(stats({ users: 40 }));
    expect(few.recipe.batchSize).to.equal(16);
    expect(few.choices.find((c) => c.field === 'batchSize')!.reason).to.equal('halved from 128 to the smallest batch, 16; 40 users give only 3 steps per epoch');
    expect(autoPreset(stats({ users: 200 })).choices.find((c) => c.field === 'batchSize')!.reason).to.equal('halved from 128 so that 200 users give at least 4 steps per epoch');
  });

  it('the epoch cap keeps about the optimizer steps of HSTU\'s 101 ML-1M epochs, in [20, 200]; patience ≥ 10 and ≥ a tenth of it', () => {
    // 6,040 users, batch 128: 48 steps per epoch, so 101 epochs, HSTU's own count.
    const ml1m = autoPreset(stats({ users: 6040, mean: 163.5, p90: 400 })).recipe;
    expect(ml1m.epochs).to.equal(101);
    expect(ml1m.patience).to.equal(11);
    const many = autoPreset(stats({ users: 40_000 })).recipe;
    expect(many.epochs).to.equal(20);
    expect(many.patience).to.equal(10);
    const few = autoPreset(stats({ users: 1000 })).recipe;
    expect(few.epochs).to.equal(200);
    expect(few.patience).to.equal(20);
    for (const r of [ml1m, many, few]) expect(r).to.include({ evalEvery: 1, cosine: false, warmup: 0 });
  });

  it('every preset it builds is a valid config of its model, and every choice prints as one line with a reason', () => {
    for (const s of [stats(), stats({ hasTimestamps: false }), stats({ items: 150_000, users: 1000, mean: 15, p90: 30 }), stats({ users: 30, mean: 300, p90: 900 })]) {
      const p = autoPreset(s);
      expect(() => getModel(p.model).resolveConfig({ ...p.config, num_items: s.items })).to.not.throw();
      const lines = describeChoices(p.choices);
      expect(lines.length).to.equal(p.choices.length);
      for (const l of lines) {
        expect(l).to.match(/^auto: \S.* \(.{20,}\)$/);
        expect(l).to.not.include('\n');
      }
    }
  });

  it('refuses empty statistics, and presetNamed("auto") says it needs the data', () => {
    expect(() => autoPreset(stats({ users: 0 }))).to.throw(RangeError, /users/);
    expect(() => autoPreset(stats({ mean: 0, interactions: 10 }))).to.throw(RangeError, /lengths/);
    expect(() => presetNamed('auto')).to.throw(/chosen from the data.*--data/);
    expect(PRESET_NAMES).to.include('auto');
  });

  it('on a real file (MovieLens-100K: 943 users, 1,682 items, timestamps, p90 245, mean 106)', function () {
    this.timeout(30000);
    const s = datasetStats(openDataset('../shared/data/ml-100k.u.data.gz', {}));
    const p = autoPreset(s);
    expect(p.model).to.equal('hstu');
    // p90 245 rounds up to 250, above the cap.
    expect(p.config.maxlen).to.equal(200);
    // mean 106: t = ln(106/11)/ln(163.5/11) = 0.84, 0.5 - 0.3 t = 0.248, rounded to 0.25.
    expect(p.config.dropout).to.equal(0.25);
    // 943 users: 8 steps per epoch, 4,848/8 = 606 epochs, capped at 200; patience 200/10.
    expect(p.recipe).to.include({ batchSize: 128, lr: 0.001, epochs: 200, patience: 20 });
    expect(choice(p, 'loss')).to.equal('full-ce');
  });
});

describe('--preset auto: compile and train', function () {
  this.timeout(120000);
  const tmp = mkdtempSync(join(tmpdir(), 'reclm-auto-'));
  const data = join(tmp, 'tiny.txt');
  before(() => writeBuiltinDataset(data, tinyData()));

  it('compile prints every choice, stores them with the recipe, and train runs with that recipe', async () => {
    const out = join(tmp, 'art');
    const c = await runCommand(Compile, ['--preset', 'auto', '--data', data, '--out', out]);
    expect(c.error, c.error?.message).to.equal(undefined);
    const printed = c.stdout.split('\n').filter((l) => l.startsWith('auto: '));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    const recipe = manifest.recipe;
    expect(recipe.preset).to.equal('auto');
    expect(printed).to.deep.equal(describeChoices(recipe.choices));
    expect(printed.some((l) => l.startsWith('auto: maxlen '))).to.equal(true);
    const expected = autoPreset(datasetStats(openDataset(data, {})));
    expect(manifest.model).to.equal(expected.model);
    expect(manifest.config).to.include({ maxlen: expected.config.maxlen, dropout: expected.config.dropout, dim: expected.config.dim });
    expect(recipe).to.include({ batchSize: expected.recipe.batchSize, lr: expected.recipe.lr, epochs: expected.recipe.epochs, patience: expected.recipe.patience });

    const t = await runCommand(Train, [out, '--data', data, '--max-steps', '2', '--threads', '1']);
    expect(t.error, t.error?.message).to.equal(undefined);
    const line = t.stdout.split('\n').find((l) => l.startsWith('training '))!;
    expect(line).to.include(`${expected.recipe.epochs} epochs (preset auto)`);
    expect(line).to.include(`batch size ${expected.recipe.batchSize} (preset auto)`);
    expect(line).to.include(`lr ${expected.recipe.lr} constant (preset auto)`);
    expect(line).to.include(`patience ${expected.recipe.patience} (preset auto)`);
    expect(line).to.include('validation every epoch (preset auto)');
  });

  it('--set, --loss and --model override the choices, and the stored choices say so', async () => {
    const out = join(tmp, 'over');
    const c = await runCommand(Compile, ['--preset', 'auto', '--data', data, '--model', 'llama-sasrec', '--loss', 'bce', '--set', 'maxlen=20', '--out', out]);
    expect(c.error, c.error?.message).to.equal(undefined);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.model).to.equal('llama-sasrec');
    expect(manifest.loss).to.equal('bce');
    expect(manifest.config.maxlen).to.equal(20);
    const maxlen = manifest.recipe.choices.find((x: { field: string }) => x.field === 'maxlen');
    expect(maxlen.value).to.equal(20);
    expect(maxlen.reason).to.match(/^given with --set\/--config; the rule chose 50: /);
    expect(c.stdout).to.match(/^auto: loss bce \(given with --loss; the rule chose full-ce: /m);
    expect(c.stdout).to.match(/^auto: model llama-sasrec \(given with --model\)$/m);
  });

  it('a refused --preset auto compile prints its one line only, not the choices before it', async () => {
    const r = await runCommand(Compile, ['--preset', 'auto', '--data', data, '--set', 'dim=-4', '--out', join(tmp, 'refused')]);
    expect(r.exitCode).to.equal(1);
    expect(r.error?.message).to.match(/'dim' must be a positive integer, got -4/);
    expect(r.stdout).to.equal('');
  });

  it('--preset auto without --data is refused with one line', async () => {
    const r = await runCommand(Compile, ['--preset', 'auto', '--num-items', '100', '--out', join(tmp, 'none')]);
    expect(r.error?.message).to.equal('--preset auto chooses the model and recipe from the data: give --data FILE');
    expect(r.exitCode).to.not.equal(0);
  });
});
