import Train from '../src/commands/train.js';
import Compile from '../src/commands/compile.js';
import Stats from '../src/commands/data/stats.js';
import Eval from '../src/commands/eval.js';
import { runCommand } from './helpers/cli.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
const t = mkdtempSync('/tmp/reclm-probe-');
writeFileSync(`${t}/bad.txt`, '1 2 3\n1 3 4\n\nfoo bar\n');
writeFileSync(`${t}/empty.txt`, '');
writeFileSync(`${t}/cfg.json`, '{dim: 3');
const cases: [any, string[]][] = [
  [Compile, ['--foo']],
  [Compile, ['--model', 'llama-sasrec', '--num-items', '10', '--out', `${t}/o`, '--set', 'foo=1']],
  [Compile, ['--model', 'llama-sasrec', '--num-items', '10', '--out', `${t}/o`, '--config', `${t}/cfg.json`]],
  [Compile, ['--model', 'llama-sasrec', '--data', `${t}/nope.txt`, '--out', `${t}/o`]],
  [Compile, ['--model', 'llama-sasrec', '--data', `${t}/bad.txt`, '--out', `${t}/o`]],
  [Compile, ['--model', 'llama-sasrec', '--data', `${t}/empty.txt`, '--out', `${t}/o`]],
  [Compile, ['--model', 'llama-sasrec', '--data', `builtin`, '--out', `${t}/o`, '--set', 'num_items=5']],
  [Compile, ['--model', 'llama-sasrec', '--num-items', '0', '--out', `${t}/o`]],
  [Compile, ['--model', 'llama-sasrec', '--num-items', '10']],
  [Compile, ['--model', 'llama-sasrec', '--num-items', '10', '--out', `${t}/o`, '--set', 'dim']],
  [Compile, ['--model', 'llama-sasrec', '--num-items', '10', '--out', `${t}/o`, '--set', 'dim=-1']],
  [Compile, ['--model', 'llama-sasrec', '--num-items', '10', '--out', `${t}/o`, '--weight-decay', 'x']],
  [Compile, ['--preset', 'nope', '--num-items', '10', '--out', `${t}/o`]],
  [Train, [t, '--data', 'builtin', '--lr', '-1']],
  [Train, [t, '--data', 'builtin', '--batch-size', '0']],
  [Train, [`${t}/nodir`, '--data', 'builtin']],
  [Eval, [t, '--data', 'builtin']],
  [Eval, [t, '--data', 'builtin', '--k', '0,x']],
  [Stats, [`${t}/nope.txt`]],
  [Stats, [`${t}/bad.txt`]],
  [Stats, [`${t}/empty.txt`]],
  [Stats, [t]],
];
for (const [C, argv] of cases) {
  const r = await runCommand(C, argv);
  console.log(C.name, argv.join(' ').replaceAll(t, 'T'), '=>', r.exitCode, r.error?.constructor.name, JSON.stringify(r.error?.message), r.stdout.slice(0, 100), r.stderr.slice(0, 200));
}
