// Reproduces a preset's result end to end: compile, train (validation early stopping), then the
// ranking step on the test split with the exported inference.onnx, and appends one row to a
// results table. Not a test: it takes minutes to hours.
//   npx tsx bench/quality.ts --preset ml-1m-llama --data ../shared/data/ml-1m.seq.txt.gz
//     [--out artifacts/quality/NAME] [--epochs N] [--minutes M] [--threads 2] [--table bench/results/ml-1m.md] [--note TEXT]
// --minutes M starts no new epoch after M minutes of training (the best model is still used).
// --finish: do not train; rank with the best checkpoint of an interrupted run in --out.
// --set key=value (repeatable) overrides a config field of the preset, e.g. --set time_bias=true.
// --lr X, --constant-lr, --patience N, --eval-every N, --batch-size N override the preset's recipe, --loss NAME its loss,
// --beta1/--beta2/--max-grad-norm/--weight-decay its optimizer (the row names them).
// --train-on-valid also trains on the validation items (Meta's training protocol): no validation,
// the last model is ranked.
// --keep-seen ranks the test target against the whole catalogue instead of the items the user has
// not seen (the papers' protocol, the default; see src/eval/rank.ts).
// --preset auto chooses model, config and recipe from the data's statistics (graphs/auto-preset.ts).
// --target-ndcg X[,Y] / --target-hr X[,Y]: the row says when validation first reached each value
// (default on ML-1M files: the HSTU paper row, NDCG@10 0.1720 and HR@10 0.3097).
// --positive RULE (e.g. rating>=4) ranks under the positive-only protocol (docs/evaluation.md);
// --inputs ids|actions|items|profile|all picks the generative-recommender inputs the model reads
// (with --user-features FILE and --item-features FILE), so rows of one table differ in inputs only.
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { MODELS } from '../graphs/index.js';
import { AUTO_PRESET, presetNamed, type Preset } from '../graphs/presets.js';
import { ConfigError } from '../graphs/config.js';
import { parseLossName } from '../graphs/types.js';
import { autoPreset, describeChoices, describeStats } from '../graphs/auto-preset.js';
import { datasetStats } from '../src/data/stats.js';
import { HSTU_PAPER_ROW, type QualityTarget, describeTimeToQuality, parseTargets, timeToQuality } from './lib/time-to-quality.js';
import { SEED_ADAMW } from '../src/compiler/adamw.js';
import { compileJob } from '../src/compiler/compile-job.js';
import { openDataset } from '../src/data/open.js';
import { evaluate } from '../src/eval/evaluate.js';
import { parseSets } from '../src/cli/config-flags.js';
import { RUN_FILES, runMetaOf, train } from '../src/runtime/trainer.js';
import { scheduleFor } from '../src/runtime/schedule.js';
import { checkAppendableFile } from '../src/util/safe-paths.js';
import { makeDirs } from '../src/util/atomic.js';
import { TrainingSession } from '../src/runtime/session.js';
import { readJsonl } from '../src/util/jsonl.js';
import { validationSvgReplaceable, writeValidationSvg } from '../src/report/index.js';
import { answerHelp } from './help.js';
import { ReclmError, UsageError } from '../src/errors.js';
import { capThreads, parseFraction, parseNonNegative, parsePositive } from '../src/cli/flags.js';
import { compileFeatures, featureReadOptions } from '../src/cli/data-flags.js';
import { TRAIN_DEFAULTS } from '../src/cli/recipe.js';
import { EPOCH_USERS, RANDOM_WINDOW_WITH_POSITIVE_RULE, TRAIN_WINDOWS, type EpochUsers, type TrainWindow } from '../src/data/sampler.js';
import { isAllPositive, parsePositiveRule } from '../src/data/positive.js';
import { USER_RANKS_HEADER, writeUserRanks } from '../src/report/user-ranks.js';

answerHelp(`Reproduces a preset's result end to end: compile, train (validation early stopping), rank the test
split with the exported inference.onnx, and append one row to a results table. Takes minutes to hours.
Every test user's rank is written to ranks.csv in --out (compare two runs with bench/paired.ts).

usage: npx tsx bench/quality.ts [--help] [--preset NAME] [--data FILE] [--out DIR] [--epochs N] [--minutes M] [--threads N]
         [--set key=value ...] [--train-on-valid] [--keep-seen] [--finish] [--table bench/results/ml-1m.md] [--note TEXT]
         [--target-ndcg X[,Y...]] [--target-hr X[,Y...]] [--seed N] [--lr X] [--constant-lr] [--patience N] [--eval-every N] [--batch-size N]
         [--beta1 X] [--beta2 X] [--max-grad-norm X] [--weight-decay X] [--loss bce|sampled-softmax|full-ce] [--bucket M] [--window last|random] [--epoch-users replacement|shuffle] [--positive RULE] [--inputs ids|actions|items|profile|all]
         [--user-features FILE] [--item-features FILE]

  --help              this text
  --preset NAME       ml-1m-llama (default), ml-1m-hstu, ml-1m-hstu-large, builtin, auto (chosen from the data)
  --data FILE         interaction file (default: ml-1m.seq.txt.gz of the shared data folder; the built-in dataset for --preset builtin)
  --out DIR           artifact folder (default artifacts/quality/NAME; replaced only if it holds reclm artifacts)
  --epochs N          train N epochs instead of the preset's (the cosine schedule spans N)
  --threads N         onnxruntime intra-op threads (default 2, or 1 on a one-core machine; capped at the cores)
  --minutes M         start no new epoch after M minutes of training (the best model is still used)
  --set key=value     override a config field of the preset (repeatable), e.g. --set time_bias=true
  --train-on-valid    also train on the validation items (Meta's protocol): no validation, the last model is ranked
  --keep-seen         rank against the whole catalogue instead of the items the user has not seen
  --finish            do not train; rank with the best checkpoint of an interrupted run in --out
  --table FILE        results table to append to (created if absent; must be one this script wrote); default
                      bench/results/ml-1m.md for ML-1M files, artifacts/quality/results.md for other data;
                      the run's validation curve is written beside it, valid-<row label>-<data>.svg
  --note TEXT         the row's notes column (say how the epoch count was chosen); the script adds
                      threads, load average and peak RSS
  --target-ndcg X     report the training minutes until validation NDCG@10 first reached X (comma list allowed)
  --target-hr X       the same for HR@10; without either, ML-1M files get the HSTU paper row (NDCG@10 0.1720, HR@10 0.3097)
  --lr X              peak learning rate instead of the preset's
  --constant-lr       constant lr after warm-up instead of the preset's cosine decay
  --patience N        stop after N validations without a better NDCG@10 (0: never); instead of the preset's
  --eval-every N      validate every N epochs instead of the preset's
  --batch-size N      training rows per step instead of the preset's (the cosine schedule spans the new step count; lr unchanged unless --lr)
  --beta1 X, --beta2 X  AdamW's β1, β2 instead of the preset's (reclm presets NAME shows them), e.g. --beta2 0.999 (PyTorch Adam's default)
  --max-grad-norm X   global-norm gradient clipping instead of the preset's 1 (0: none)
  --weight-decay X    AdamW's decoupled weight decay on tensors of rank >= 2 (item embedding included) instead of the preset's 0
  --loss NAME         bce, sampled-softmax or full-ce instead of the preset's loss, e.g. --loss sampled-softmax
                      --set num_negatives=128 for official HSTU's sampled softmax (the fixtures' spellings
                      sampled_softmax and full_ce are accepted too; the row names the hyphenated one)
  --seed N            training seed N and initialisation seed 41 + N (default 1, every row's; N ≤ 2^53 − 42); repeat a row with another seed to see its training noise
  --bucket M          length-bucket multiple (default 0 as in reclm train: every batch maxlen wide)
  --window W          which maxlen training pairs a longer history gives its row: last (default) or random (as reclm train --window)
  --epoch-users U     how an epoch picks its rows' users: replacement (default) or shuffle, each user once before any twice (as reclm train --epoch-users)
  --positive RULE     which events are targets (all, rating>=N, action=V1,V2); the others stay in the input as context
  --inputs SET        what the model reads besides item ids: ids (default), actions, items (item features),
                      profile (user features), all; items needs --item-features FILE, profile --user-features FILE
  --user-features FILE  user-feature file: ML-1M users.dat, ML-100K u.user, or CSV/TSV with a user id column
  --item-features FILE  item-feature file: ML-1M movies.dat, ML-100K u.item, or CSV/TSV with an item id column`);

// A bad flag or file ends the script with one line (exit 2 for flags, 1 for the rest), before
// any training: a typo must not cost an hour. Anything else is a bug and keeps its stack.
process.on('uncaughtException', (e) => {
  if (!(e instanceof ReclmError)) throw e;
  process.stderr.write(`Error: ${e.message}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
// --name=value is read as --name value, as reclm's own commands take it.
process.argv = process.argv.flatMap((a, i) => {
  const m = i >= 2 ? /^(--[\w-]+)=([\s\S]*)$/.exec(a) : null;
  return m ? [m[1], m[2]] : [a];
});
const VALUE_FLAGS = ['preset', 'data', 'out', 'epochs', 'minutes', 'threads', 'set', 'table', 'note', 'target-ndcg', 'target-hr', 'seed', 'bucket', 'positive', 'inputs', 'user-features', 'item-features', 'lr', 'patience', 'eval-every', 'batch-size', 'loss', 'window', 'epoch-users', 'beta1', 'beta2', 'max-grad-norm', 'weight-decay'];
const SWITCHES = ['train-on-valid', 'keep-seen', 'finish', 'constant-lr'];
// Every value flag but --set is read once (arg() takes the first), so a second one would be ignored.
const given = new Set<string>();
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const name = a.startsWith('--') ? a.slice(2) : null;
  if (name !== null && VALUE_FLAGS.includes(name)) {
    if (i + 1 >= process.argv.length || process.argv[i + 1].startsWith('--')) throw new UsageError(`--${name} expects a value (see --help)`);
    if (name !== 'set' && given.has(name)) throw new UsageError(`--${name} is given twice; give it once`);
    given.add(name);
    i++;
  } else if (name === null || !SWITCHES.includes(name)) throw new UsageError(`unknown argument '${a}' (see --help)`);
}
const arg = (name: string, dflt?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
/** An integer flag checked before anything runs; undefined when not given. */
const intFlag = (name: string, check: (x: number) => boolean, what: string): number | undefined => {
  const v = arg(name);
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !check(x)) throw new UsageError(`--${name} expects ${what}, got '${v}'`);
  return x;
};
const positiveInt = (x: number) => Number.isInteger(x) && x >= 1;
const epochsFlag = intFlag('epochs', positiveInt, 'a positive integer');
// More threads than cores only slow training down (capThreads); the row names the count used.
const threadCap = capThreads(intFlag('threads', positiveInt, 'a positive integer') ?? Math.min(2, availableParallelism()));
if (threadCap.warning) process.stderr.write(`Warning: ${threadCap.warning}\n`);
const threads = threadCap.threads!;
const minutes = arg('minutes') === undefined ? undefined : parsePositive(arg('minutes')!, 'minutes');
// Seed 1 (initialisation seed 42) is every row's default; another seed repeats a row to measure how much training noise moves it.
// The initialisation seed 41 + N must stay a safe integer too (data/rng.ts).
const seed = intFlag('seed', (x) => Number.isSafeInteger(41 + x) && x >= 1, 'a positive integer up to 2^53 − 42') ?? 1;
// Recipe overrides: each one given is named in the row, so rows differ only where they say.
const overrides = {
  lr: arg('lr') === undefined ? undefined : parsePositive(arg('lr')!, 'lr'),
  patience: intFlag('patience', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0'),
  evalEvery: intFlag('eval-every', positiveInt, 'a positive integer'),
  batchSize: intFlag('batch-size', positiveInt, 'a positive integer'),
  cosine: process.argv.includes('--constant-lr') ? false : undefined,
};
// Optimizer overrides, named in the row like the recipe's.
// One table gives both the AdamW fields set and the row's flags, so the two cannot disagree.
const OPTIMIZER_FLAGS = [
  ['beta1', 'beta1', parseFraction],
  ['beta2', 'beta2', parseFraction],
  ['max-grad-norm', 'maxGradNorm', parseNonNegative],
  ['weight-decay', 'weightDecay', parseNonNegative],
] as const;
const optimizerFlagsGiven = OPTIMIZER_FLAGS.flatMap(([flag, field, parse]) => (arg(flag) === undefined ? [] : [{ flag, field, value: parse(arg(flag)!, flag) }]));
const optimizerOverrides = Object.fromEntries(optimizerFlagsGiven.map((o) => [o.field, o.value]));
const lossFlag = (() => {
  const v = arg('loss');
  if (v === undefined) return undefined;
  try {
    return parseLossName(v);
  } catch (e) {
    throw new UsageError(`--loss: ${(e as Error).message}`);
  }
})();
const windowFlag = arg('window') as TrainWindow | undefined;
if (windowFlag !== undefined && !TRAIN_WINDOWS.includes(windowFlag)) throw new UsageError(`--window expects one of ${TRAIN_WINDOWS.join(', ')}, got '${windowFlag}'`);
const usersFlag = arg('epoch-users') as EpochUsers | undefined;
if (usersFlag !== undefined && !EPOCH_USERS.includes(usersFlag)) throw new UsageError(`--epoch-users expects one of ${EPOCH_USERS.join(', ')}, got '${usersFlag}'`);
// The sampler refuses this pair too, but only once the data is read and the model compiled.
const positiveFlag = arg('positive');
if (windowFlag === 'random' && positiveFlag !== undefined && !isAllPositive(parsePositiveRule(positiveFlag))) throw new UsageError(RANDOM_WINDOW_WITH_POSITIVE_RULE);
const bucketFlag = intFlag('bucket', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
const presetName = arg('preset', 'ml-1m-llama')!;
// An unknown name fails before the data is read, as a flag error (exit 2) like the flag loop's.
if (presetName !== AUTO_PRESET) {
  try {
    presetNamed(presetName);
  } catch (e) {
    throw e instanceof ConfigError ? new UsageError(e.message) : e;
  }
}
// The builtin preset is sized for the built-in dataset: without --data it ranks that, not ML-1M.
const dataPath = arg('data', presetName === 'builtin' ? 'builtin' : new URL('../../shared/data/ml-1m.seq.txt.gz', import.meta.url).pathname)!;
const targetFlags = [...(arg('target-ndcg') ? parseTargets('ndcg@10', '--target-ndcg', arg('target-ndcg')!) : []), ...(arg('target-hr') ? parseTargets('hr@10', '--target-hr', arg('target-hr')!) : [])];
const targets: QualityTarget[] = targetFlags.length ? targetFlags : basename(dataPath).startsWith('ml-1m') ? HSTU_PAPER_ROW : [];
// The tracked ML-1M table by default only for ML-1M data: a smoke run on other data (builtin)
// goes to the untracked artifacts folder, not into the published results.
const table = arg('table', basename(dataPath).startsWith('ml-1m') ? 'bench/results/ml-1m.md' : join('artifacts', 'quality', 'results.md'))!;
const TABLE_HEADER = '# Results: leave-one-out, full ranking (test split)';
checkAppendableFile(table, TABLE_HEADER, '--table');
const loadAtStart = loadavg()[0];
const INPUT_SETS = ['ids', 'actions', 'items', 'profile', 'all'] as const;
const inputs = arg('inputs', 'ids') as (typeof INPUT_SETS)[number];
if (!INPUT_SETS.includes(inputs)) throw new UsageError(`--inputs expects one of ${INPUT_SETS.join(', ')}, got '${inputs}'`);
const uses = (what: 'actions' | 'items' | 'profile') => inputs === what || inputs === 'all';
const sideFile = (flag: string, what: 'items' | 'profile') => {
  const file = arg(flag);
  if (uses(what) && !file) throw new UsageError(`--inputs ${inputs} needs --${flag} FILE`);
  return uses(what) ? file : undefined;
};
// The same read options for training and for the ranking step, so both see the same split.
const read = { ...featureReadOptions({ positive: arg('positive'), actions: uses('actions'), 'user-features': sideFile('user-features', 'profile'), 'item-features': sideFile('item-features', 'items') }) };
const data = openDataset(dataPath, read);
const stats = presetName === AUTO_PRESET ? datasetStats(data) : null;
const chosen = stats ? autoPreset(stats) : null;
const preset: Preset = chosen ?? presetNamed(presetName);
for (const line of stats && chosen ? [describeStats(stats), ...describeChoices(chosen.choices)] : []) console.log(line);
const out = arg('out', join('artifacts', 'quality', preset.name))!;
const r = { ...preset.recipe, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
const loss = lossFlag ?? preset.loss;
const recipeLabel = [
  lossFlag !== undefined ? ` --loss ${lossFlag}` : '',
  epochsFlag !== undefined ? ` --epochs ${epochsFlag}` : '',
  overrides.lr !== undefined ? ` --lr ${overrides.lr}` : '',
  overrides.cosine === false ? ' --constant-lr' : '',
  overrides.patience !== undefined ? ` --patience ${overrides.patience}` : '',
  overrides.evalEvery !== undefined ? ` --eval-every ${overrides.evalEvery}` : '',
  overrides.batchSize !== undefined ? ` --batch-size ${overrides.batchSize}` : '',
  windowFlag !== undefined ? ` --window ${windowFlag}` : '',
  usersFlag !== undefined ? ` --epoch-users ${usersFlag}` : '',
  ...optimizerFlagsGiven.map((o) => ` --${o.flag} ${o.value}`),
].join('');
const sets = parseSets(process.argv.flatMap((a, i) => (process.argv[i - 1] === '--set' ? [a] : [])));
// The run's validation curve beside the table, e.g. bench/results/valid-ml-1m-llama-ml-1m.seq.svg:
// the data's name keeps all but its file extensions, so that two files of one corpus
// (ml-1m.seq.txt.gz, ml-1m.sasrec-5core.reconstructed.txt.gz) do not share a curve.
const label = `${preset.name}${Object.entries(sets).map(([k, v]) => ` ${k}=${v}`).join('')}${recipeLabel}${inputs !== 'ids' ? ` inputs=${inputs}` : ''}${seed !== 1 ? ` seed=${seed}` : ''}`;
// Runs of dashes collapse to one: the label's " --lr 0.003" gives "-lr-0.003", not "---lr-0.003".
const curve = join(dirname(table), `valid-${label.replace(/[^\w.=-]+/g, '-').replace(/-{2,}/g, '-')}-${basename(dataPath).replace(/(\.(gz|zip|txt|dat|csv|tsv|json|inter|data))+$/, '')}.svg`);
// Checked before training: a file of that name that is not an earlier curve must not cost the run at its end.
if (!validationSvgReplaceable(curve)) throw new UsageError(`${curve} exists and is not a validation curve this script wrote; refusing to overwrite it (move it, or give another --table folder)`);
const epochs = epochsFlag ?? r.epochs;
const trainOnValid = process.argv.includes('--train-on-valid');
const started = Date.now();
let epochsDone: number;
let bestEpoch: number | null;
let trainMinutes: number;
// The length-bucket multiple the run trained with (--finish: from its log, not the flag).
let bucketUsed = bucketFlag ?? TRAIN_DEFAULTS.bucket;
if (process.argv.includes('--finish')) {
  // An interrupted run: export its best checkpoint, and read how far it got from its log.
  const log = readJsonl(join(out, RUN_FILES.log), { skipInvalid: true }) as { type: string; epoch?: number; valid?: unknown; time?: string; recipe?: { bucket?: number } }[];
  bucketUsed = log.find((x) => x.type === 'start')?.recipe?.bucket ?? 0;
  const epochsLogged = log.filter((x) => x.type === 'epoch');
  const session = await TrainingSession.open(out, null);
  const state = session.loadCheckpoint(join(out, RUN_FILES.best));
  session.exportModelForInferencing(join(out, RUN_FILES.inference), { checkpoint: RUN_FILES.best });
  await session.release();
  const best = runMetaOf(state)?.best?.epoch;
  epochsDone = epochsLogged.length ? epochsLogged[epochsLogged.length - 1].epoch! : 0;
  bestEpoch = best ?? null;
  const firstStart = log.find((x) => x.type === 'start')?.time;
  trainMinutes = firstStart ? (statSync(join(out, RUN_FILES.log)).mtimeMs - Date.parse(firstStart)) / 60000 : NaN;
} else {
  // The ranks.csv an earlier run of this script left beside its model is this script's own
  // output, so a rerun into the same --out replaces it (compile refuses files it did not write).
  const oldRanks = join(out, 'ranks.csv');
  if (existsSync(oldRanks) && readFileSync(oldRanks, 'utf8').startsWith(USER_RANKS_HEADER)) rmSync(oldRanks);
  compileJob({
    model: MODELS[preset.model] as never, loss, config: { ...preset.config, ...sets }, optimizer: { ...SEED_ADAMW, ...preset.optimizer, ...optimizerOverrides },
    data, dataLabel: dataPath, initSeed: 41 + seed, features: compileFeatures(data), recipe: { preset: preset.name, ...r, ...(chosen ? { choices: chosen.choices } : {}) }, outDir: out, force: true,
  });
  const summary = await train({
    dir: out, data, epochs, batchSize: r.batchSize, seed, threads, fusedSteps: r.fusedSteps, evalEvery: r.evalEvery, patience: r.patience,
    // Length buckets as `reclm train` uses them by default (--bucket 0 there turns them off).
    bucket: bucketUsed,
    window: windowFlag,
    users: usersFlag,
    checkpointEvery: 0, resume: false, overwrite: true, trainOnValid, maxSeconds: minutes !== undefined ? minutes * 60 : undefined,
    schedule: scheduleFor({ ...r, epochs }, Math.ceil(data.sequences.length / r.batchSize)),
    log: (line) => console.log(`[${((Date.now() - started) / 60000).toFixed(1)} min] ${line}`),
  });
  epochsDone = summary.epochs;
  bestEpoch = summary.bestEpoch;
  trainMinutes = (Date.now() - started) / 60000;
  console.log(`stopped by ${summary.stoppedBy}`);
}
const keepSeen = process.argv.includes('--keep-seen');
const test = await evaluate({ model: out, data: dataPath, read, split: 'test', negatives: 0, ks: [10, 50, 200], batchSize: 256, seed: 0, threads, keepSeen });
const m = test.metrics;
// Per-user ranks beside the model, for paired comparisons of rows (bench/paired.ts).
if (test.perUser) writeUserRanks(join(out, 'ranks.csv'), test.perUser);
const f = (x: number) => x.toFixed(4);
if (!existsSync(table)) {
  makeDirs(dirname(table));
  writeFileSync(
    table,
    '# Results: leave-one-out, full ranking (test split)\n\n' +
      'Produced by `bench/quality.ts` on this project\'s 2-core CPU machine; wall time is compile + training + validation. ' +
      'Candidates: "unseen" = every item except those of the user\'s input sequence (the papers\' protocol), "all" = the whole catalogue (`--keep-seen`).\n\n' +
      '| preset | data | candidates | epochs (best) | wall time | HR@10 | NDCG@10 | HR@50 | NDCG@50 | MRR | time to quality (validation) | note |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n',
  );
}
// Tables begun before the time-to-quality column get that text at the start of the note instead.
// --train-on-valid runs do not validate, so they have no time to quality.
const headers = readFileSync(table, 'utf8').split('\n').filter((l) => l.startsWith('| preset |'));
const hasQualityColumn = headers.length > 0 && headers[headers.length - 1].includes('time to quality');
// A log from before epoch records were timed (--finish on an old run) has no time to quality; the row still gets written.
const quality = () => {
  try {
    return timeToQuality(readJsonl(join(out, RUN_FILES.log), { skipInvalid: true }), targets).map(describeTimeToQuality).join('; ');
  } catch (e) {
    return `time to quality unknown (${(e as Error).message})`;
  }
};
const reached = targets.length && !trainOnValid ? quality() : '';
for (const line of reached ? reached.split('; ') : []) console.log(line);
// Peak resident memory of this whole process (compile, training, validation, test ranking).
const peakRss = `peak RSS ${(process.resourceUsage().maxRSS / 1024 ** 2).toFixed(2)} GiB`;
const load = `${bucketUsed > 0 ? `length buckets ${bucketUsed}` : 'no length buckets'}, threads ${threads}, load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end`;
const inputNote = inputs !== 'ids' || arg('positive') ? `inputs ${inputs}${arg('positive') ? `, positive ${arg('positive')}` : ''}` : '';
const note = [inputNote, seed !== 1 ? `seed ${seed}` : '', hasQualityColumn ? '' : reached, arg('note', ''), load, peakRss].filter(Boolean).join('; ');
const auto = chosen ? ` (${preset.model}, d=${preset.config.dim}, ${preset.config.n_layers} layers, maxlen ${preset.config.maxlen}, dropout ${preset.config.dropout}, batch ${r.batchSize}, lr ${r.lr}, patience ${r.patience})` : '';
// Rows of an hour and more read in whole minutes; a smoke run under a minute would show "0 min".
const wallTime = (minutes: number): string => (minutes < 1 ? `${(minutes * 60).toFixed(0)} s` : `${minutes.toFixed(0)} min`);
const row = `| ${preset.name}${auto}${Object.entries(sets).map(([k, v]) => ` ${k}=${v}`).join('')}${recipeLabel}${trainOnValid ? ' --train-on-valid' : ''} | ${basename(dataPath)} | ${keepSeen ? 'all' : 'unseen'} | ${epochsDone} (${bestEpoch ?? '-'}) | ${wallTime(trainMinutes)} | ${f(m['hr@10'])} | ${f(m['ndcg@10'])} | ${f(m['hr@50'])} | ${f(m['ndcg@50'])} | ${f(m.mrr)} |${hasQualityColumn ? ` ${reached || '-'} |` : ''} ${note} |\n`;
appendFileSync(table, row);
console.log(row);
if (await writeValidationSvg(out, curve, `${label} on ${basename(dataPath)}: validation`)) console.log(`validation curve: ${curve}`);
console.log(peakRss);
console.log(`most-popular on the same split: HR@10 ${f(test.popularity['hr@10'])}, NDCG@10 ${f(test.popularity['ndcg@10'])}`);
