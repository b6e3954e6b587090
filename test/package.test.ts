// reclm as a user gets it: `npm pack`, then `npm install <tarball>` into an empty project, then the
// installed `reclm` command and the library entry point. Needs the npm registry (for reclm's
// dependencies; the npm cache filled by the project's own `npm ci` serves most of them).
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The environment of the user's shell: without what an enclosing `npm test` exports (the project's
 * own config, among it its `onnxruntime-node-install=skip`, and its package paths), so that only
 * the consumer project's own settings apply to the install there.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(package|lifecycle)_/.test(key) || /^(npm_config_(local_prefix|onnxruntime_node_install.*)|onnxruntime_node_install.*|init_cwd)$/i.test(key)) delete env[key];
  }
  return env;
}

/** Runs a command in `cwd` and returns its stdout; a failure throws with its stdout and stderr. */
function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, env: userEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: e });
  }
}

// The ESM consumer compiles the demo model through the library; the CommonJS one loads the same
// entry point with require() (Node >= 20.19, reclm's engines floor, loads ES modules that way).
const ESM_CONSUMER = `import * as reclm from 'reclm';
import { builtinDataset, compileJob, getModel, presetNamed, SEED_ADAMW } from 'reclm';
const preset = presetNamed('builtin');
const manifest = compileJob({ model: getModel(preset.model), loss: preset.loss, config: { ...preset.config },
  optimizer: { ...SEED_ADAMW, ...preset.optimizer }, data: builtinDataset(), initSeed: 42, outDir: process.argv[2] });
console.log(JSON.stringify({ exports: Object.keys(reclm).sort(), opset: manifest.opset }));
`;
const CJS_CONSUMER = `const reclm = require('reclm');
console.log(JSON.stringify({ exports: Object.keys(reclm).sort(), model: reclm.presetNamed('builtin').model }));
`;
// The same calls, type-checked: an ES module (.mts) and a CommonJS module (.cts). The
// expect-error directive fails the check if 'reclm' resolved to untyped `any`.
const TS_ESM_CONSUMER = `import { builtinDataset, compileJob, dsl, getModel, presetNamed, SEED_ADAMW, type Manifest } from 'reclm';
const preset = presetNamed('builtin');
const manifest: Manifest = compileJob({ model: getModel(preset.model), loss: preset.loss, config: { ...preset.config },
  optimizer: { ...SEED_ADAMW, ...preset.optimizer }, data: builtinDataset(), initSeed: 42, outDir: 'out' });
const g: dsl.Graph = new dsl.Graph('g');
const opset: number = manifest.opset;
console.log(g.nodes.length, opset);
`;
const TS_CJS_CONSUMER = `import { presetNamed, type Preset } from 'reclm';
const preset: Preset = presetNamed('builtin');
const model: string = preset.model;
// @ts-expect-error a preset's model is a name, not a number (an error only if the types were read)
const wrong: number = preset.model;
console.log(model, wrong);
`;
// Strict, and the declarations of reclm and its dependencies checked too (skipLibCheck off).
const TSCONFIG = {
  compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, skipLibCheck: false, types: ['node'] },
  files: ['consumer.mts', 'consumer.cts'],
};

describe('reclm installed as a package (npm pack, npm install into an empty project)', function () {
  // Measured on a 2-core machine shared with other work: pack (runs the TypeScript build) ~50 s,
  // install from a warm npm cache ~45 s, compile/train(1 epoch)/eval ~45 s, the strict type
  // check ~40 s. Ten minutes leaves room for a cold cache and a slower CI machine.
  this.timeout(600000);

  let tmp = '';
  let app = '';
  let packed: { filename: string; files: { path: string }[] };

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'reclm-package-'));
    [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], root));
    app = join(tmp, 'app');
    mkdirSync(app);
    run('npm', ['init', '-y'], app);
    // What the README tells a user: skip onnxruntime-node's install script, which would otherwise
    // fetch CUDA provider libraries from NuGet (and fail the install offline), and approve the other
    // dependencies' install scripts; the CPU runtime is in the npm package itself.
    run('npm', ['pkg', 'set', 'allowScripts.onnxruntime-node=false', 'allowScripts.koffi=true', 'allowScripts.protobufjs=true', '--json'], app);
    const types = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies['@types/node'];
    run('npm', ['install', '--no-audit', '--no-fund', join(tmp, packed.filename), `@types/node@${types}`], app);
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('packs the built CLI and library, nothing of the sources, tests or benches', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of ['bin/run.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/commands/compile.js', 'dist/graphs/index.d.ts']) expect(files).to.include(f);
    const stray = files.filter((f) => !/^(README\.md|LICENSE|package\.json|bin\/run\.js|dist\/(src|graphs)\/.*\.(js|d\.ts))$/.test(f));
    expect(stray).to.deep.equal([]);
  });

  it('installs without overrides in the consumer, with arquero on the pinned flechette, and downloads no CUDA libraries', () => {
    const consumer = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
    expect(consumer.overrides).to.equal(undefined);
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
    const flechette = Object.entries(lock.packages as Record<string, { version: string }>).filter(([p]) => p.endsWith('node_modules/@uwdata/flechette'));
    expect(flechette.map(([, v]) => v.version)).to.deep.equal(['2.5.0']);
    const ortBin = join(app, 'node_modules/onnxruntime-node/bin/napi-v6', process.platform, process.arch);
    expect(existsSync(join(ortBin, 'onnxruntime_binding.node'))).to.equal(true);
    expect(existsSync(join(ortBin, 'libonnxruntime_providers_cuda.so'))).to.equal(false);
  });

  it('runs `npx reclm` --help, compile, train and eval on the built-in dataset', () => {
    expect(run('npx', ['--no', '--', 'reclm', '--help'], app)).to.match(/COMMANDS[\s\S]*compile[\s\S]*eval[\s\S]*train/);
    // -h is the usual short form (oclif's additionalHelpFlags in package.json).
    expect(run('npx', ['--no', '--', 'reclm', 'eval', '-h'], app)).to.match(/^USAGE\n\s+\$ reclm eval /m);
    // `reclm help COMMAND`, oclif's usual form, needs its help plugin installed with the package.
    expect(run('npx', ['--no', '--', 'reclm', 'help', 'train'], app)).to.match(/^USAGE\n\s+\$ reclm train DIR --data <value>/m);
    // An unknown command (the package's command_not_found hook): one line, the closest command, exit 2.
    const typo = spawnSync('npx', ['--no', '--', 'reclm', 'trian', 'demo'], { cwd: app, env: userEnv(), encoding: 'utf8' });
    expect(typo.status).to.equal(2);
    expect(typo.stderr.split('\n').filter((l) => l.startsWith('Error: '))).to.deep.equal([
      "Error: 'trian' is not a reclm command (did you mean 'train'?); commands: compile, data filter, data stats, eval, help, launch, presets, report, train (reclm help COMMAND for one)",
    ]);
    // `reclm help trian` ends the same way (the package's help class), not with oclif's "Command trian not found."
    const helpTypo = spawnSync('npx', ['--no', '--', 'reclm', 'help', 'trian'], { cwd: app, env: userEnv(), encoding: 'utf8' });
    expect([helpTypo.status, helpTypo.stderr.split('\n').filter((l) => l.startsWith('Error: '))]).to.deep.equal([2, [typo.stderr.split('\n').find((l) => l.startsWith('Error: '))]]);
    // A bad flag of `reclm help` is one line too, as in every command: no root help after it.
    const helpFlag = spawnSync('npx', ['--no', '--', 'reclm', 'help', '--bogus'], { cwd: app, env: userEnv(), encoding: 'utf8' });
    expect([helpFlag.status, helpFlag.stderr.trim().split('\n').filter((l) => !l.startsWith('npm warn'))]).to.deep.equal([2, ['Error: Nonexistent flag: --bogus (see --help)']]);
    // `help --json`, as every command's --json: the commands, one command's flags and examples, or the error, as JSON on stdout.
    const listed = JSON.parse(run('npx', ['--no', '--', 'reclm', 'help', '--json'], app));
    expect(listed.commands.map((c: { command: string }) => c.command)).to.deep.equal(['compile', 'data filter', 'data stats', 'eval', 'help', 'launch', 'presets', 'report', 'train']);
    const trainHelp = JSON.parse(run('npx', ['--no', '--', 'reclm', 'help', 'train', '--json'], app));
    expect(trainHelp).to.include({ command: 'train' });
    expect(trainHelp.flags.data).to.include({ type: 'option', required: true });
    expect(trainHelp.flags.resume).to.include({ type: 'boolean' });
    expect(trainHelp.examples.join('\n')).to.match(/^reclm train /m);
    const helpTypoJson = spawnSync('npx', ['--no', '--', 'reclm', 'help', 'trian', '--json'], { cwd: app, env: userEnv(), encoding: 'utf8' });
    expect([helpTypoJson.status, JSON.parse(helpTypoJson.stdout).error.exit]).to.deep.equal([2, 2]);
    expect(JSON.parse(helpTypoJson.stdout).error.message).to.match(/^'trian' is not a reclm command \(did you mean 'train'\?\)/);
    // Summaries are rendered as the text help renders them; a topic followed by no command of it is an error, as without --json.
    expect(listed.commands.find((c: { command: string }) => c.command === 'help').summary).to.equal('Display help for reclm.');
    const topicTypo = spawnSync('npx', ['--no', '--', 'reclm', 'help', 'data', 'bogus', '--json'], { cwd: app, env: userEnv(), encoding: 'utf8' });
    expect([topicTypo.status, JSON.parse(topicTypo.stdout).error.message]).to.deep.equal([2, "'data bogus' is not a reclm command; commands: compile, data filter, data stats, eval, help, launch, presets, report, train (reclm help COMMAND for one)"]);
    expect(JSON.parse(run('npx', ['--no', '--', 'reclm', 'help', 'help', '--json'], app)).flags).to.have.property('json');
    // --help with --json prints the same JSON as `help [COMMAND] --json` (oclif would print the text help).
    expect(JSON.parse(run('npx', ['--no', '--', 'reclm', '--help', '--json'], app))).to.deep.equal(listed);
    expect(JSON.parse(run('npx', ['--no', '--', 'reclm', 'train', 'demo', '--help', '--json'], app))).to.deep.equal(trainHelp);
    // A command with a summary only (data stats) shows it as its description rather than ''.
    const stats = JSON.parse(run('npx', ['--no', '--', 'reclm', 'help', 'data', 'stats', '--json'], app));
    expect(stats.description).to.equal(stats.summary).and.match(/^Summarise an interaction file/);
    // --json before the command (oclif takes it for the command) runs the command with --json.
    expect(JSON.parse(run('npx', ['--no', '--', 'reclm', '--json', 'data', 'stats', 'builtin'], app))).to.include({ name: 'builtin', users: 2000 });
    expect(JSON.parse(run('npx', ['--no', '--', 'reclm', '--json'], app))).to.deep.equal(listed);
    expect(JSON.parse(run('npx', ['--no', '--', 'reclm', '--json', 'help'], app))).to.deep.equal(listed);
    // A command with nothing after it runs (oclif also has a topic of that name): the README's own example.
    const presets = JSON.parse(run('npx', ['--no', '--', 'reclm', '--json', 'presets'], app));
    expect(presets.presets.map((p: { name: string }) => p.name)).to.include('ml-1m-llama');
    // A repeated --json counts once, before the command or on both sides of it (oclif refused the first as a command).
    expect(JSON.parse(run('npx', ['--no', '--', 'reclm', '--json', '--json', 'presets'], app))).to.deep.equal(presets);
    expect(JSON.parse(run('npx', ['--no', '--', 'reclm', '--json', 'presets', '--json'], app))).to.deep.equal(presets);
    const dataTopic = JSON.parse(run('npx', ['--no', '--', 'reclm', 'help', 'data', '--json'], app));
    expect(JSON.parse(run('npx', ['--no', '--', 'reclm', 'data', '--json'], app))).to.deep.equal(dataTopic);
    expect(JSON.parse(run('npx', ['--no', '--', 'reclm', '--json', 'data'], app))).to.deep.equal(dataTopic);
    const leadingTypo = spawnSync('npx', ['--no', '--', 'reclm', '--json', 'trian', 'demo'], { cwd: app, env: userEnv(), encoding: 'utf8' });
    expect([leadingTypo.status, JSON.parse(leadingTypo.stdout).error.message]).to.deep.equal([2, JSON.parse(helpTypoJson.stdout).error.message]);
    // Commands are lower case: the hint ignores case.
    const upper = spawnSync('npx', ['--no', '--', 'reclm', 'TRAIN'], { cwd: app, env: userEnv(), encoding: 'utf8' });
    expect(upper.stderr).to.include("Error: 'TRAIN' is not a reclm command (did you mean 'train'?)");
    run('npx', ['--no', '--', 'reclm', 'compile', '--preset', 'builtin', '--data', 'builtin', '--out', 'demo'], app);
    run('npx', ['--no', '--', 'reclm', 'train', 'demo', '--data', 'builtin', '--epochs', '1', '--json'], app);
    expect(existsSync(join(app, 'demo/inference.onnx'))).to.equal(true);
    const result = JSON.parse(run('npx', ['--no', '--', 'reclm', 'eval', 'demo', '--data', 'builtin', '--k', '10', '--json'], app));
    expect(result.users).to.equal(2000);
    // One epoch of the demo model already learns the built-in item chains that popularity cannot
    // (measured: NDCG@10 0.57 against 0.04); a broken install or runtime would not come near 2x.
    expect(result['ndcg@10']).to.be.above(2 * result.popularity['ndcg@10']);
  });

  it('imports the library from an ES module and from a CommonJS module', () => {
    writeFileSync(join(app, 'esm.mjs'), ESM_CONSUMER);
    writeFileSync(join(app, 'cjs.cjs'), CJS_CONSUMER);
    const esm = JSON.parse(run(process.execPath, ['esm.mjs', 'lib-out'], app));
    expect(esm.exports).to.include.members(['compileJob', 'train', 'evaluate', 'TrainingSession', 'dsl', 'getModel', 'presetNamed']);
    expect(esm.opset).to.equal(18);
    expect(existsSync(join(app, 'lib-out/training.onnx'))).to.equal(true);
    const cjs = JSON.parse(run(process.execPath, ['cjs.cjs'], app));
    expect(cjs.exports).to.deep.equal(esm.exports);
    expect(cjs.model).to.equal('llama-sasrec');
  });

  it('type-checks a strict TypeScript consumer (ESM and CommonJS files) against the declarations', () => {
    writeFileSync(join(app, 'consumer.mts'), TS_ESM_CONSUMER);
    writeFileSync(join(app, 'consumer.cts'), TS_CJS_CONSUMER);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    // The project's own compiler, so the check needs nothing more from the registry.
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    run(process.execPath, [tsc, '-p', '.'], app);
  });
});
