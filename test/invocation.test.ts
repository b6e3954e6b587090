import { expect } from 'chai';
import { invocation } from '../src/cli/invocation.js';

describe('invocation: how the printed commands start', () => {
  it('a clone started as bin/run.js gets the script path relative to the working directory', () => {
    expect(invocation('reclm', '/home/u/reclm/bin/run.js', '/home/u/reclm')).to.deep.equal(['./bin/run.js']);
    expect(invocation('reclm', '/home/u/reclm/bin/dev.js', '/home/u/reclm/artifacts')).to.deep.equal(['/home/u/reclm/bin/dev.js']);
    expect(invocation('reclm', '/home/u/reclm/bin/run.js', '/home/u')).to.deep.equal(['./reclm/bin/run.js']);
  });

  it("a project's own install gets npx, a global install and anything else the command name", () => {
    expect(invocation('reclm', '/home/u/app/node_modules/.bin/reclm', '/home/u/app')).to.deep.equal(['npx', 'reclm']);
    expect(invocation('reclm', '/home/u/app/node_modules/reclm/bin/run.js', '/home/u/app')).to.deep.equal(['npx', 'reclm']);
    expect(invocation('reclm', '/usr/lib/node_modules/reclm/bin/run.js', '/home/u/app')).to.deep.equal(['reclm']);
    expect(invocation('reclm', '/usr/local/bin/reclm', '/home/u')).to.deep.equal(['reclm']);
    expect(invocation('reclm', '/repo/test/helpers/train-cli-child.ts', '/repo')).to.deep.equal(['reclm']);
    expect(invocation('reclm', undefined, '/repo')).to.deep.equal(['reclm']);
  });
});
