import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

// bin/dev.js is the development entry point: it must find tsx and the command sources from the
// script's own folder, not from the directory it is started in (a shebang `node --import tsx`
// resolved tsx from the working directory and failed anywhere but the repository root).
const devJs = fileURLToPath(new URL('../bin/dev.js', import.meta.url));

describe('bin/dev.js: the development entry point', () => {
  it('runs a command from outside the repository and suggests the command a typo meant', function () {
    this.timeout(90_000); // four node starts that transpile the commands through tsx
    const help = spawnSync(devJs, ['compile', '--help'], { cwd: tmpdir(), encoding: 'utf8' });
    expect(help.status, help.stderr).to.equal(0);
    expect(help.stdout).to.contain('Compile a model and its loss into ONNX training artifacts.');
    const typo = spawnSync(devJs, ['comple'], { cwd: tmpdir(), encoding: 'utf8' });
    expect(typo.status).to.equal(2);
    const message = "'comple' is not a reclm command (did you mean 'compile'?); commands: compile, data filter, data stats, eval, help, launch, presets, report, train (reclm help COMMAND for one)";
    expect(typo.stderr.trim().split('\n')).to.deep.equal([`Error: ${message}`]);
    expect(typo.stdout).to.equal('');
    // With --json the refusal is JSON on stdout too, as any command's.
    const json = spawnSync(devJs, ['comple', '--json'], { cwd: tmpdir(), encoding: 'utf8' });
    expect([json.status, JSON.parse(json.stdout)]).to.deep.equal([2, { error: { message, exit: 2 } }]);
    // --json given a value before the command is no command: the switch's own refusal.
    const valued = spawnSync(devJs, ['--json=true', 'presets'], { cwd: tmpdir(), encoding: 'utf8' });
    expect([valued.status, valued.stderr.trim()]).to.deep.equal([2, "Error: --json is a switch and takes no value: write --json, or leave it out, got '--json=true' (see --help)"]);
  });
});
