import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODELS } from '../graphs/index.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import { readManifest } from '../src/compiler/artifacts.js';
import { train } from '../src/runtime/trainer.js';
import { compileTiny, tinyData, TINY_CONFIGS } from './helpers/tiny-run.js';

describe('compile job', () => {
  it('refuses to replace a folder holding a training run unless forced', async () => {
    const dir = compileTiny('llama-sasrec');
    await train({ dir, data: tinyData(), epochs: 1, batchSize: 8, seed: 1, fusedSteps: 2, evalEvery: 0, patience: 0, checkpointEvery: 0, resume: false, json: true, schedule: { kind: 'constant', lr: 1e-3 }, maxSteps: 2 });
    const job = { model: MODELS['llama-sasrec'] as never, loss: 'bce' as const, config: { ...TINY_CONFIGS['llama-sasrec'] }, optimizer: SEED_ADAMW, data: tinyData(), initSeed: 3, outDir: dir };
    expect(() => compileJob(job)).to.throw(/holds a training run \(last.ckpt\).*--force/);
    expect(existsSync(join(dir, 'last.ckpt'))).to.equal(true);
    compileJob({ ...job, force: true });
    expect(existsSync(join(dir, 'last.ckpt'))).to.equal(false);
  });

  it('turns the HSTU time bias off for data without timestamps, and says so', () => {
    const data = { ...tinyData(), timestamps: null };
    const notes: string[] = [];
    const out = join(compileTiny('hstu'), '..', 'no-ts');
    compileJob({ model: MODELS.hstu as never, loss: 'bce', config: { ...TINY_CONFIGS.hstu }, optimizer: SEED_ADAMW, data, initSeed: 3, outDir: out, onNote: (n) => notes.push(n) });
    const manifest = readManifest(out);
    expect(manifest.config.time_bias).to.equal(false);
    expect(manifest.params.map((p) => p.name)).to.not.include('layers.0.rab_ts');
    expect(notes.join()).to.match(/no timestamps/);
    // With timestamps (the tiny data has them) the bias and its parameters stay.
    const withTs = readManifest(compileTiny('hstu'));
    expect(withTs.config.time_bias).to.equal(true);
    expect(withTs.params.map((p) => p.name)).to.include('layers.0.rab_ts');
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).to.include('"time_bias": false');
  });

  it('a damaged manifest.json: one line naming the file and what is wrong with it', () => {
    const dir = compileTiny('llama-sasrec');
    const path = join(dir, 'manifest.json');
    const good = readFileSync(path, 'utf8');
    const message = (text: string): string => {
      writeFileSync(path, text);
      try {
        readManifest(dir);
      } catch (e) {
        return (e as Error).message;
      }
      return expect.fail('expected an error');
    };
    // A cut file: JSON.parse's message quotes the text, newlines included; the error stays one line.
    const cut = message(good.slice(0, 40));
    expect(cut).to.match(/manifest\.json is not valid JSON \(.*\); the file is corrupted or was changed, recompile$/);
    expect(cut).to.not.include('\n');
    expect(message('{}')).to.match(/manifest\.json is not a reclm manifest \(no 'format' field\); recompile the artifacts$/);
    for (const text of ['null', '[1]', '"x"', '42']) expect(message(text)).to.match(/manifest\.json is not a reclm manifest \(not a JSON object\); recompile the artifacts$/);
    expect(message(JSON.stringify({ ...JSON.parse(good), format: 'reclm-artifacts/0' }))).to.match(/manifest\.json: format "reclm-artifacts\/0" is not this reclm's "reclm-artifacts\/1"; recompile/);
    writeFileSync(path, good);
    expect(readManifest(dir).format).to.equal('reclm-artifacts/1');
    // A file given where the folder belongs.
    expect(() => readManifest(path)).to.throw(/manifest\.json is a file, not a reclm artifact folder; give the folder that 'reclm compile --out' wrote$/);
  });
});
