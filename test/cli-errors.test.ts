// One base class for user-facing errors, checked with instanceof: user errors end as one line
// without a stack, flag-value errors with exit code 2; anything else is a bug and keeps its stack.
import { Errors } from '@oclif/core';
import { expect } from 'chai';
import { ConfigError } from '../graphs/config.js';
import { oneLineParseMessage, switchGivenValue, toCliError } from '../src/cli/errors.js';
import { parsePositive } from '../src/cli/flags.js';
import { ArtifactError } from '../src/compiler/artifacts.js';
import { DataFormatError } from '../src/data/errors.js';
import { DslError } from '../src/dsl/types.js';
import { ReclmError, UsageError } from '../src/errors.js';
import { CheckpointError } from '../src/runtime/checkpoint.js';
import { FeedError } from '../src/runtime/feeds.js';
import { ProviderError } from '../src/onnx/providers.js';
import { TrainError } from '../src/runtime/trainer.js';
import { LockError } from '../src/util/run-lock.js';
import { UnsafePathError } from '../src/util/safe-paths.js';
import { CollectiveError } from '../src/dist/errors.js';
import { DataParallelError } from '../src/runtime/data-parallel.js';
import { HostfileError } from '../src/dist/hostfile.js';
import { LaunchError } from '../src/dist/mpirun.js';
import { NonFiniteScoreError } from '../src/eval/metrics.js';
import { SamplerError } from '../src/data/sampler.js';
import { ReportError } from '../src/report/run.js';
import { SizeError } from '../src/runtime/memory.js';
import DataStats from '../src/commands/data/stats.js';
import { runCommand } from './helpers/cli.js';

describe('errors', () => {
  it('every user-facing error class extends ReclmError and keeps its own name', () => {
    const errors = [
      new ConfigError('c'), new ArtifactError('a'), new DataFormatError('f.txt', 3, 'bad'), new DslError('d'), new UsageError('u'),
      new CheckpointError('k', 'corrupted'), new FeedError('e'), new ProviderError('p', 'invalid-device'), new TrainError('t'),
      new LockError('l'), new UnsafePathError('s'), new CollectiveError('m'), new DataParallelError('dp'), new HostfileError('h'), new LaunchError('la'),
      new NonFiniteScoreError('user 1', 3, NaN), new ReportError('r'), new SizeError('z'), new SamplerError('sa'),
    ];
    for (const e of errors) {
      expect(e, e.constructor.name).to.be.instanceOf(ReclmError);
      expect(e.name).to.equal(e.constructor.name);
    }
  });

  it('with --json a failure is also JSON on stdout', async () => {
    const r = await runCommand(DataStats, ['no-such-file.txt', '--json']);
    expect(r.exitCode).to.equal(1);
    const out = JSON.parse(r.stdout) as { error: { message: string; exit: number } };
    expect(out.error.exit).to.equal(1);
    expect(out.error.message).to.equal(r.error!.message);
    expect(out.error.message).to.match(/^no-such-file\.txt: cannot read the data file: no such file/);
  });

  it('a switch given a value (--json=true) is refused before oclif reads the value as an argument', async () => {
    // oclif would read `true` as the data file and call the real file an unexpected argument.
    const r = await runCommand(DataStats, ['data.csv', '--json=true']);
    expect(r.exitCode).to.equal(2);
    expect(r.error!.message).to.equal("--json is a switch and takes no value: write --json, or leave it out, got '--json=true' (see --help)");
    // A switch with a --no- form names both; after `--` the token is an argument, not a flag.
    expect(switchGivenValue(['--no-cosine=1'], { cosine: { type: 'boolean', allowNo: true } })).to.equal("--no-cosine is a switch and takes no value: write --cosine or --no-cosine, got '--no-cosine=1'");
    expect(switchGivenValue(['--', '--json=true'], { json: { type: 'boolean' } })).to.equal(null);
    // A flag that takes a value keeps --name=value.
    expect(switchGivenValue(['--format=csv'], { format: { type: 'option' } })).to.equal(null);
  });

  it('a user error becomes one CLIError line with exit code 1', () => {
    const e = toCliError(new TrainError('artifacts in x were compiled for 60 items'));
    expect(e).to.be.instanceOf(Errors.CLIError);
    expect(e.message).to.equal('artifacts in x were compiled for 60 items');
    expect((e as Errors.CLIError).oclif.exit).to.equal(1);
  });

  it("a flag parser's error, as oclif wraps it, becomes its own line with exit code 2", () => {
    let thrown: Error | undefined;
    try {
      parsePositive('-1', 'lr');
    } catch (err) {
      thrown = err as Error;
    }
    // What oclif's flag parsing does to an error thrown by a flag's parse function.
    thrown!.message = `Parsing --lr \n\t${thrown!.message}\nSee more help with --help`;
    const e = toCliError(thrown);
    expect(e.message).to.equal("--lr must be a positive decimal number, got '-1'");
    expect((e as Errors.CLIError).oclif.exit).to.equal(2);
  });

  it('an internal bug (a RangeError inside the runtime) is not turned into a user error: its stack stays', () => {
    const bug = new RangeError('Invalid typed array length: -1');
    const e = toCliError(bug);
    expect(e).to.equal(bug);
    expect(e).to.not.be.instanceOf(Errors.CLIError);
    expect(e.stack).to.match(/\n\s+at /);
    // Also one named like a user error: the class decides, not the name.
    const lookalike = Object.assign(new Error('x'), { name: 'TrainError' });
    expect(toCliError(lookalike)).to.equal(lookalike);
  });
});

describe("oclif's parse messages as one line", () => {
  it('a missing argument names it with its description, and the note on multi-value flags is one clause', () => {
    // The text oclif 4 gives for `reclm data stats --json` (no FILE); the command has a multi-value --field.
    const raw = [
      'Missing 1 required arg:',
      'file  interaction file (.gz and .zip ok), or builtin',
      'Note: --field allows multiple values. Because of this you need to provide all arguments before providing that flag.',
      'Alternatively, you can use "--" to signify the end of the flags and the beginning of arguments.',
      'See more help with --help',
    ].join('\n');
    expect(oneLineParseMessage(raw)).to.equal(
      'Missing 1 required arg: file (interaction file (.gz and .zip ok), or builtin); an argument given after --field (which takes several values) is read as its value: give arguments first, or end the flags with -- (see --help)',
    );
    expect(oneLineParseMessage('Parsing --lr \n\tExpected a number\nSee more help with --help')).to.equal('--lr: Expected a number (see --help)');
  });

  it("a description oclif wrapped is one clause; the multi-value note stays only when that flag was given", () => {
    // oclif 4's text for `reclm data stats` with no FILE: the description wraps onto an indented line.
    const raw = [
      'Missing 1 required arg:',
      'file  interaction file (.gz and .zip ok), a folder of pre-split files (train,',
      '      validation, test), or builtin',
      '',
      'Note: --field allows multiple values. Because of this you need to provide all arguments before providing that flag.',
      'Alternatively, you can use "--" to signify the end of the flags and the beginning of arguments.',
      'See more help with --help',
    ].join('\n');
    const described = 'Missing 1 required arg: file (interaction file (.gz and .zip ok), a folder of pre-split files (train, validation, test), or builtin)';
    expect(oneLineParseMessage(raw, [])).to.equal(`${described} (see --help)`);
    expect(oneLineParseMessage(raw, ['--field', 'genres=multi:|', 'f.txt'])).to.equal(
      `${described}; an argument given after --field (which takes several values) is read as its value: give arguments first, or end the flags with -- (see --help)`,
    );
    // An error list keeps one clause per error.
    expect(oneLineParseMessage('The following errors occurred:\n  Missing required flag out\n  Missing required flag data\nSee more help with --help')).to.equal('Missing required flag --out; Missing required flag --data (see --help)');
  });
});
