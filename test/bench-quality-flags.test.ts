// bench/quality.ts refuses a bad flag with one line and exit 2 before it reads any data: a typo
// must not cost the hour of training that follows it.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validationSvgReplaceable } from '../src/report/index.js';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs bench/quality.ts with `args` on data that does not exist, so any data read would fail with exit 1 instead. */
function quality(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'bench/quality.ts', '--data', 'no-such-file.txt', ...args], { cwd: root, encoding: 'utf8', timeout: 30000 });
}

describe('bench/quality.ts flags', function () {
  // One node start with tsx each (a few seconds on a loaded machine).
  this.timeout(60000);

  const cases: [string, string[], RegExp][] = [
    ['an unknown loss', ['--loss', 'softmax'], /^Error: --loss: unknown loss 'softmax'; known losses: bce, sampled-softmax, full-ce$/],
    ['a flag without its value', ['--loss'], /^Error: --loss expects a value/],
    ['a non-integer epoch count', ['--epochs', '2.5'], /^Error: --epochs expects a positive integer, got '2.5'$/],
    ['a batch size of 0', ['--batch-size', '0'], /^Error: --batch-size expects a positive integer, got '0'$/],
    ['an unknown flag', ['--lose', 'bce'], /^Error: unknown argument '--lose'/],
    ['a value flag given twice (the second would be ignored)', ['--loss', 'bce', '--loss', 'full-ce'], /^Error: --loss is given twice; give it once$/],
    ['an unknown preset', ['--preset', 'nope'], /^Error: unknown preset 'nope'; presets: /],
    ['a time-to-quality target outside (0, 1]', ['--target-ndcg', '2'], /^Error: --target-ndcg: expected numbers in \(0, 1\]/],
    // --name=value is split as reclm's commands split it: the value is checked, not the whole word.
    ['a bad value given as --name=value', ['--window=bogus'], /^Error: --window expects one of last, random, got 'bogus'$/],
    // 41 + N, the initialisation seed, must stay below 2^53 as well.
    ['a seed past the random generators\' limit', ['--seed', '9007199254740951'], /^Error: --seed expects a positive integer up to 2\^53 − 42, got '9007199254740951'$/],
    ['an Adam β of 1', ['--beta2', '1'], /^Error: --beta2 must be a decimal number in \[0, 1\), got '1'$/],
    ['a negative clipping norm', ['--max-grad-norm=-1'], /^Error: --max-grad-norm must be a non-negative decimal number, got '-1'$/],
    ['a negative weight decay', ['--weight-decay', '-0.1'], /^Error: --weight-decay must be a non-negative decimal number, got '-0.1'$/],
    ['random windows with a positive rule', ['--window', 'random', '--positive', 'rating>=4'], /^Error: random windows \(--window random\) do not combine with a positive rule/],
  ];
  for (const [what, args, message] of cases) {
    it(`refuses ${what} with one line and exit 2, before reading the data`, () => {
      const r = quality(...args);
      expect(r.status, r.stderr).to.equal(2);
      const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn'));
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.match(message);
    });
  }

  it('takes a known loss name, and reads the data only then', () => {
    const r = quality('--loss', 'sampled-softmax');
    // The flags pass, so the missing data file is the error (exit 1), not the loss.
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.include('no-such-file.txt').and.not.include('--loss');
  });

  it('--help explains every flag its usage lines name', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/quality.ts', '--help'], { cwd: root, encoding: 'utf8', timeout: 30000 });
    expect(r.status, r.stderr).to.equal(0);
    const [usage, body] = r.stdout.split(/\n\n(?= {2}--)/);
    const named = [...new Set([...usage.matchAll(/\[?(--[a-z-]+)/g)].map((m) => m[1]))].filter((f) => f !== '--help');
    expect(named.length, usage).to.be.greaterThan(20);
    const explained = new Set([...body.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]));
    expect(named.filter((f) => !explained.has(f))).to.deep.equal([]);
  });

  it('never overwrites a file of the validation curve\'s name that is not a curve it wrote, and refuses before training', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reclm-quality-svg-'));
    const args = ['--preset', 'builtin', '--data', 'builtin', '--epochs', '1', '--threads', '1', '--out', join(dir, 'run'), '--table', join(dir, 't.md')];
    const run = () => spawnSync(process.execPath, ['--import', 'tsx', 'bench/quality.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120000 });
    const curve = join(dir, 'valid-builtin-epochs-1-builtin.svg');
    writeFileSync(curve, 'mine\n');
    const refused = run();
    expect(refused.status, refused.stderr).to.equal(2);
    expect(refused.stderr).to.include(`${curve} exists and is not a validation curve this script wrote`);
    expect(readFileSync(curve, 'utf8')).to.equal('mine\n');
    // No training happened: no run folder.
    expect(refused.stdout).to.not.include('epoch 1');
    // Its own curve, from an earlier run, is replaced, as the committed ones are replaceable.
    const earlier = '<svg xmlns="http://www.w3.org/2000/svg"><path aria-label="epoch: 1; validation metric: 0.5; metric: NDCG@10"/></svg>';
    writeFileSync(curve, earlier);
    const ok = run();
    expect(ok.status, ok.stderr).to.equal(0);
    const written = readFileSync(curve, 'utf8');
    expect(written).to.not.equal(earlier);
    expect(written).to.match(/^<svg/).and.include('validation metric: ');
    expect(validationSvgReplaceable(join(root, 'bench', 'results', 'valid-ml-1m-llama-seed=3-ml-1m.seq.svg'))).to.equal(true);
  });
});
