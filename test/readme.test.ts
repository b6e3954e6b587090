import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('README', () => {
  it('shows examples/dsl-example.ts verbatim, and the example runs', () => {
    const readme = readFileSync(`${root}/README.md`, 'utf8');
    const example = readFileSync(`${root}/examples/dsl-example.ts`, 'utf8');
    expect(readme).to.include('```ts\n' + example + '```');
    const out = execFileSync(process.execPath, ['--import', 'tsx', `${root}/examples/dsl-example.ts`], { encoding: 'utf8', cwd: root });
    expect(out).to.match(/^loss \d+\.\d+ grad of layers\.1\.w \[ 8, 3 \]/);
  });

  it('starts with a quickstart naming the install, main-job and test commands', () => {
    const readme = readFileSync(`${root}/README.md`, 'utf8');
    const quick = readme.slice(readme.indexOf('## Quickstart'), readme.indexOf('## ', readme.indexOf('## Quickstart') + 3));
    for (const cmd of ['npm ci', 'npm run demo', 'npm test']) expect(quick).to.include(cmd);
  });
});
