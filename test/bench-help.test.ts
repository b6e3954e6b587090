// Every script in bench/ answers --help with its usage and starts no work (no compile, no data read).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const scripts = readdirSync(`${root}/bench`).filter((f) => f.endsWith('.ts') && f !== 'help.ts');

describe('bench scripts answer --help', function () {
  // Each run is one node start with tsx (a few seconds on a loaded machine); the child's own
  // 30 s timeout fails a script that starts real work (a compile or an epoch takes minutes).
  this.timeout(60000);

  it('finds the scripts', () => expect(scripts).to.include.members(['quality.ts', 'throughput.ts', 'profile-step.ts']));

  for (const script of scripts) {
    it(`${script} --help prints its usage and exits 0 within 30 s`, () => {
      const out = execFileSync(process.execPath, ['--import', 'tsx', `bench/${script}`, '--help'], { cwd: root, encoding: 'utf8', timeout: 30000 });
      expect(out).to.include(`usage: npx tsx bench/${script}`);
    });
  }
});
