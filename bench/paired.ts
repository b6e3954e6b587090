// Paired comparison of result rows: per-user differences of HR@k, NDCG@k and MRR between a base
// run and other runs ranked on the same users, with their standard errors over users. The
// noise level the README quotes for "which inputs pay off" comes from here.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { answerHelp } from './help.js';
import { pairedDifference } from '../src/eval/paired.js';
import { readUserRanks } from '../src/report/user-ranks.js';

answerHelp(`Compares runs user by user: for each metric, the mean over the users both ranked of (other − base),
with its standard error (sample standard deviation of the per-user differences / √users) and the
ratio of the two (z). Inputs are ranks.csv files (bench/quality.ts writes one into --out; reclm eval
--ranks FILE writes one for any model), or folders holding ranks.csv.

usage: npx tsx bench/paired.ts [--help] [--k 10] BASE OTHER [OTHER ...]

  --k K      cut-off of HR@K and NDCG@K (default 10)

example: npx tsx bench/paired.ts artifacts/quality/ids artifacts/quality/items artifacts/quality/all
`);

/** Prints the comparison table; throws (one-line messages) on bad arguments or files. */
function main(): void {
  const argv = process.argv.slice(2);
  const kAt = argv.indexOf('--k');
  const k = kAt >= 0 ? Number(argv[kAt + 1]) : 10;
  if (!Number.isInteger(k) || k < 1) throw new Error(`--k expects a positive integer, got '${argv[kAt + 1]}'`);
  const files = argv.filter((_, i) => kAt < 0 || (i !== kAt && i !== kAt + 1)).map((p) => (existsSync(p) && statSync(p).isDirectory() ? join(p, 'ranks.csv') : p));
  if (files.length < 2) throw new Error('expected a base ranks file and at least one other (see --help)');
  for (const f of files) if (!existsSync(f)) throw new Error(`${f} does not exist (give ranks.csv files, or folders holding one)`);
  const metrics = [`hr@${k}`, `ndcg@${k}`, 'mrr'];
  const base = readUserRanks(files[0]);
  // Every comparison first, so a bad file stops before any table line is printed.
  const rows = files.slice(1).map((file) => ({ file, c: pairedDifference(base, readUserRanks(file), metrics) }));
  const signed = (x: number, digits: number) => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(digits);
  // z is undefined when every user's difference is the same (e.g. a file against itself): SE 0.
  const z = (diff: number, se: number) => (se > 0 ? signed(diff / se, 1) : '-');
  console.log(`base: ${files[0]} (${base.length} users)\n`);
  console.log(`| run | users | ${metrics.map((m) => `${m.toUpperCase()} (base → run) | Δ ± SE (z)`).join(' | ')} |`);
  console.log(`|---|---|${metrics.map(() => '---|---|').join('')}`);
  for (const { file, c } of rows) {
    const cells = c.metrics.map((m) => `${m.a.toFixed(4)} → ${m.b.toFixed(4)} | ${signed(m.diff, 4)} ± ${m.se.toFixed(4)} (${z(m.diff, m.se)})`);
    const missing = c.onlyA || c.onlyB ? ` (${c.onlyA} only in base, ${c.onlyB} only here)` : '';
    console.log(`| ${file} | ${c.users}${missing} | ${cells.join(' | ')} |`);
  }
}

try {
  main();
} catch (e) {
  // A user's mistake (arguments, files) is one line, not a stack.
  console.error(`bench/paired.ts: ${(e as Error).message}`);
  process.exit(1);
}
