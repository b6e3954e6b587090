import { Args, Flags } from '@oclif/core';
import { readManifest } from '../compiler/artifacts.js';
import { buildShardOptimizerGraph } from '../compiler/adamw.js';
import { BUILTIN, openDataset } from '../data/open.js';
import { checkReadable } from '../data/readers/source.js';
import { describePresplit, readPresplit, resolvePresplit } from '../data/presplit.js';
import { EPOCH_USERS, RANDOM_WINDOW_WITH_POSITIVE_RULE, TRAIN_WINDOWS, type EpochUsers, type TrainWindow } from '../data/sampler.js';
import { parseDevice, prepareDevice } from '../onnx/providers.js';
import { lrAt, validateSchedule } from '../runtime/schedule.js';
import { RUN_FILES, TrainSummary, bucketFor, checkBatchSplit, checkDataAgainstArtifacts, checkResumable, checkRunFolder, runMetaOf, storedRecipe, train } from '../runtime/trainer.js';
import { loadCheckpoint } from '../runtime/checkpoint.js';
import { join } from 'node:path';
import { ReclmCommand } from '../cli/base-command.js';
import { UsageError } from '../errors.js';
import { checkedStringFlag, cudaLibDirFlag, dataFormatFlag, nonNegativeNumberFlag, positiveNumberFlag, capThreads, seedFlag } from '../cli/flags.js';
import { checkAgainstSchema, columnsFlag, dataReadOptions, featureFlags, parseColumns } from '../cli/data-flags.js';
import { formatPositiveRule, isAllPositive } from '../data/positive.js';
import { openCollective } from '../dist/collective.js';
import { shellQuote } from '../dist/mpirun.js';
import { invocation } from '../cli/invocation.js';
import { EffectiveRecipe, RecipeFlags, TRAIN_DEFAULTS as DEFAULTS, describeRecipe, lossLabel, resolveRecipe } from '../cli/recipe.js';
import { count } from '../util/plural.js';
import type { Manifest } from '../contract/artifacts.js';

/** The flags of `train` that the manifest refusals and the recipe read (parsed values). */
interface TrainFlagValues {
  actions?: boolean;
  positive?: string;
  'user-features'?: string;
  'item-features'?: string;
  window?: string;
  'epoch-users'?: string;
  epochs?: number;
  'batch-size'?: number;
  lr?: number;
  warmup?: number;
  cosine?: boolean;
  'min-lr'?: number;
  'eval-every'?: number;
  patience?: number;
  'fused-steps'?: number;
  seed?: number;
  'train-on-valid'?: boolean;
  bucket?: number;
}

/** The flags of `reclm train` that resumeCommand reads. */
export interface ResumeFlags {
  data: string;
  'valid-data'?: string;
  'test-data'?: string;
  format?: string;
  columns?: string;
  'user-features'?: string;
  'item-features'?: string;
  field?: string[];
  device?: string;
  'cuda-lib-dir'?: string;
  threads?: number;
}

/**
 * The shell command (POSIX quoting) that continues the run in `dir`: `BIN train DIR --data FILE`
 * (BIN: the command's words, e.g. "reclm", ["npx", "reclm"] or ["./bin/run.js"]: cli/invocation.ts),
 * every flag that says how the data was read (pre-split files, --format, --columns, the side
 * files and their --field readings) and where it ran (--device, --cuda-lib-dir, --threads), then
 * --resume. --resume takes the recipe from the checkpoint and the positive rule and actions from
 * the manifest, so those flags are left out; the data flags it cannot know: the user-feature file
 * is required, and the rest change what is read.
 */
export function resumeCommand(bin: string | readonly string[], dir: string, flags: ResumeFlags): string {
  const argv = [...(typeof bin === 'string' ? [bin] : bin), 'train', dir, '--data', flags.data];
  const add = (name: keyof ResumeFlags, value: string | number | undefined) => {
    if (value !== undefined) argv.push(`--${name}`, String(value));
  };
  add('valid-data', flags['valid-data']);
  add('test-data', flags['test-data']);
  if (flags.format !== undefined && flags.format !== 'auto') add('format', flags.format);
  add('columns', flags.columns);
  add('user-features', flags['user-features']);
  add('item-features', flags['item-features']);
  for (const f of flags.field ?? []) add('field', f);
  if (flags.device !== undefined && flags.device !== 'cpu') add('device', flags.device);
  add('cuda-lib-dir', flags['cuda-lib-dir']);
  add('threads', flags.threads);
  argv.push('--resume');
  return shellQuote(argv);
}

export default class Train extends ReclmCommand {
  /** Runs under mpirun / `reclm launch`: every rank trains its slice of each global batch. */
  static distributed = true;
  /** Rank of this process in a data-parallel run; only rank 0 prints. */
  private rank = 0;
  static override summary = 'Train compiled artifacts on a data file (leave-one-out split, seed recipe).';
  static override description = `Runs K fused AdamW steps per onnxruntime call (train_step.onnx), validates NDCG@10/HR@10 on the validation split every --eval-every epochs (full ranking over the items not in the user's input sequence, as reclm eval ranks) with early stopping, and writes into DIR: last.ckpt, best.ckpt (atomic, hash-verified), train.jsonl (every step and epoch) and inference.onnx (exported from the best checkpoint).

Defaults come from the preset recipe stored at compile time, else: --epochs ${DEFAULTS.epochs} --batch-size ${DEFAULTS.batchSize} --lr ${DEFAULTS.lr} --warmup ${DEFAULTS.warmup} --no-cosine --min-lr ${DEFAULTS.minLr} --eval-every ${DEFAULTS.evalEvery} --patience ${DEFAULTS.patience} --fused-steps ${DEFAULTS.fusedSteps} --bucket ${DEFAULTS.bucket} --window ${DEFAULTS.window} --epoch-users ${DEFAULTS.users}.
The first line shows the effective recipe and where each value came from (flag, preset, default, or checkpoint).
The same --seed and data give the same losses. --resume continues the run in DIR exactly where its last checkpoint left off, with the run's own recipe (epochs, lr schedule, batch size, seed, fused steps, validation settings, --bucket, --window, --epoch-users) and only on the same data; a flag that contradicts the stored run is refused. The one override: --epochs with a constant lr schedule (a cosine decay ends with the run's epochs, so it cannot be extended). Only one train runs in a folder at a time (DIR/train.lock).
Data-parallel: under \`mpirun -np N\` (or \`reclm launch -np N -- train ...\`) every rank draws the same global batch and trains its own rows; gradients are allreduced, so N ranks train the run one process would (up to float summation order). Rank 0 alone prints, logs, validates, checkpoints and exports. --grad-accum M splits each batch into M micro-batches per optimizer step (one process too). --zero 1 shards the AdamW moments over the ranks (ZeRO-1: each rank updates its shard, the parameters are allgathered; checkpoints stay ordinary ones). With bce and sampled-softmax only the item-embedding rows of the global batch are exchanged.`;
  static override examples = [
    '<%= config.bin %> train artifacts/hstu --data ml-1m.seq.txt.gz --epochs 50',
    '<%= config.bin %> train artifacts/hstu --data ml-1m.seq.txt.gz --resume',
    '<%= config.bin %> train artifacts/hstu --data ml-1m.seq.txt.gz --window random',
    '<%= config.bin %> train artifacts/llama --data ml-1m.seq.txt.gz --epoch-users shuffle',
    '$ mpirun -np 2 --bind-to none <%= config.bin %> train artifacts/hstu --data ml-1m.seq.txt.gz --epochs 50',
  ];
  static override args = { dir: Args.string({ description: 'artifact folder written by `reclm compile`', required: true }) };
  static override flags = {
    data: Flags.string({ description: 'training data file (the one the artifacts were compiled for), or a folder of pre-split files', required: true }),
    'valid-data': Flags.string({ description: 'pre-split files: the validation file (per-user item lists) used instead of the leave-one-out split' }),
    'test-data': Flags.string({ description: 'pre-split files: the test file (per-user item lists)' }),
    format: dataFormatFlag(),
    columns: columnsFlag(),
    ...featureFlags(),
    epochs: Flags.integer({ description: 'epochs (one epoch = ceil(#users / batch) steps)', min: 1 }),
    'batch-size': Flags.integer({ description: 'rows per step', min: 1 }),
    lr: positiveNumberFlag({ description: 'peak learning rate' }),
    warmup: Flags.integer({ description: 'linear warm-up steps', min: 0 }),
    cosine: Flags.boolean({ description: 'cosine decay to --min-lr at the last step', allowNo: true }),
    'min-lr': nonNegativeNumberFlag({ description: 'final learning rate of the cosine decay (0 allowed)' }),
    seed: seedFlag(`seed of batch sampling and dropout (default ${DEFAULTS.seed})`),
    resume: Flags.boolean({ description: "continue the run in DIR from its last.ckpt, with the run's own recipe" }),
    overwrite: Flags.boolean({ description: "start again: deletes DIR's previous checkpoints, log and export first" }),
    device: checkedStringFlag(parseDevice)({ description: 'cpu, cuda or cuda:N', default: 'cpu' }),
    'cuda-lib-dir': cudaLibDirFlag(),
    threads: Flags.integer({ description: 'intra-op threads (1 is fastest for small graphs on CPU)', min: 1 }),
    'fused-steps': Flags.integer({ description: 'optimizer steps per onnxruntime call (K)', min: 1 }),
    'eval-every': Flags.integer({ description: 'validate every N epochs and after the last one (0: never)', min: 0 }),
    'train-on-valid': Flags.boolean({ description: "also train on each user's validation item (all but the test item, as Meta's HSTU training); turns validation off and exports the last model" }),
    patience: Flags.integer({ description: 'stop after N validations without a better NDCG@10 (0: never)', min: 0 }),
    'checkpoint-every': Flags.integer({ description: 'also save last.ckpt every N steps within an epoch (0: epoch ends only)', default: 0, min: 0 }),
    bucket: Flags.integer({ description: 'length buckets: trim each batch to its longest row rounded up to this multiple (0: off; models that read padding are never trimmed, record 0 and resume with any --bucket); part of the run recipe', min: 0 }),
    window: Flags.string({ description: "which maxlen training pairs a longer history gives its row: last (the most recent, as SASRec and HSTU) or random (a uniformly drawn run of maxlen, so every interaction of a long history can be a target over the epochs; refused with a positive rule); part of the run recipe", options: [...TRAIN_WINDOWS] }),
    'epoch-users': Flags.string({ description: "how an epoch picks its rows' users: replacement (uniformly with replacement, the seed's: some users train twice in an epoch, some not at all) or shuffle (the users in shuffled order, each once before any twice, as a PyTorch DataLoader with shuffle=True; an epoch keeps its number of batches); part of the run recipe", options: [...EPOCH_USERS] }),
    'grad-accum': Flags.integer({ description: 'micro-batches accumulated into each optimizer step (per rank); part of the run recipe', min: 1 }),
    zero: Flags.integer({ description: 'ZeRO stage: 1 shards the AdamW moments over the ranks (each rank updates its shard, the parameters are allgathered); checkpoints stay ordinary; part of the run recipe', min: 0, max: 1 }),
    'max-steps': Flags.integer({ description: 'stop after N optimizer steps counted from the start of the run (a resumed run too: --resume --max-steps N stops at step N)', min: 1 }),
    'time-limit': positiveNumberFlag({ description: 'start no new epoch after this many minutes, fractions allowed (the best model is still exported)' }),
  };

  /**
   * The refusals that need the parsed flags only, no file: `reclm launch` runs them once before it
   * starts any rank (the folder may live on other hosts, so it is not read there). Throws a UsageError.
   */
  static checkFlags(flags: { resume?: boolean; overwrite?: boolean }): void {
    if (flags.resume && flags.overwrite) throw new UsageError('--resume continues the run in the folder and --overwrite deletes it; give one of them');
  }

  /**
   * The refusals the manifest alone decides, before a large data file is read: side-data flags
   * for an item-id model, random windows with a positive rule, pre-split files for a model with
   * side inputs. Throws a UsageError.
   */
  static checkAgainstManifest(dir: string, flags: TrainFlagValues, manifest: Manifest, presplit: boolean): void {
    const features = manifest.features;
    const sideFlag = (['actions', 'positive', 'user-features', 'item-features'] as const).find((k) => flags[k] !== undefined && flags[k] !== false);
    if (sideFlag && !features) throw new UsageError(`--${sideFlag}: ${dir} was compiled for item ids only; the positive rule, actions and side files are chosen at compile time (reclm compile --${sideFlag} …)`);
    if (flags.window === 'random' && !isAllPositive(features?.positive)) throw new UsageError(RANDOM_WINDOW_WITH_POSITIVE_RULE);
    if (presplit && features) throw new UsageError(`${dir} was compiled with actions, a positive rule or side files, which pre-split files do not carry; train on the interaction file`);
  }

  /** The recipe's flags as resolveRecipe takes them; `ignoreBucket`: a resumed run of a model that is never trimmed (it resumes with any --bucket). */
  static recipeFlags(flags: TrainFlagValues, ignoreBucket: boolean): RecipeFlags {
    return {
      epochs: flags.epochs, batchSize: flags['batch-size'], lr: flags.lr, warmup: flags.warmup, cosine: flags.cosine, minLr: flags['min-lr'],
      evalEvery: flags['eval-every'], patience: flags.patience, fusedSteps: flags['fused-steps'], seed: flags.seed, trainOnValid: flags['train-on-valid'], bucket: ignoreBucket ? undefined : flags.bucket,
      window: flags.window as TrainWindow | undefined,
      users: flags['epoch-users'] as EpochUsers | undefined,
    };
  }

  /**
   * What `launch` checks before starting `ranks` ranks on this machine (one line instead of one
   * per rank): DIR holds a manifest (ArtifactError otherwise); the manifest's refusals
   * (checkAgainstManifest); every data file (--data unless 'builtin', a pre-split folder's files,
   * --valid-data, --test-data) can be opened and read as the ranks read it, side files and the
   * positive rule included (DataFormatError or UsageError, as the reader words it: the data is
   * read once more here, seconds for ML-1M), and numbers items as the artifacts do; the folder
   * holds no run unless --resume or --overwrite, and a run with --resume, with steps left to
   * train (TrainError, as the run words it); a --device other than cpu can be readied here
   * (ProviderError, as the run words it); a new run's batch size (flag, else the preset's, else the default) gives
   * every rank its micro-batches (TrainError, as the run words it); a resumed run's flags agree
   * with its checkpoint's recipe (UsageError, as the run words it).
   */
  static preflight(args: { dir: string }, flags: TrainFlagValues & { data: string; format?: string; columns?: string; 'valid-data'?: string; 'test-data'?: string; resume?: boolean; overwrite?: boolean; 'max-steps'?: number; 'grad-accum'?: number; device?: string; 'cuda-lib-dir'?: string }, ranks: number): void {
    const manifest = readManifest(args.dir, false);
    const presplit = resolvePresplit(flags.data, flags['valid-data'], flags['test-data']);
    Train.checkAgainstManifest(args.dir, flags, manifest, presplit !== null);
    const files = presplit ? [presplit.train, presplit.valid, presplit.test] : [flags.data];
    for (const f of files) if (f !== undefined && f !== BUILTIN) checkReadable(f);
    // Read as run() reads it, notes unprinted (each rank prints them): a malformed line fails here once, not once per rank.
    const data = presplit ? readPresplit(presplit, { format: flags.format as 'auto', ...parseColumns(flags.columns) }).data : openDataset(flags.data, dataReadOptions(flags, undefined, manifest.features));
    checkAgainstSchema(data, manifest.features, flags.data);
    checkDataAgainstArtifacts(args.dir, manifest, data);
    checkRunFolder(args.dir, flags.resume ?? false, flags.overwrite ?? false);
    // A device this machine cannot run (no CUDA libraries) fails here once, not in every rank.
    if (flags.device !== undefined && flags.device !== 'cpu') prepareDevice(flags.device, { cudaLibDir: flags['cuda-lib-dir'] });
    if (!flags.resume) checkBatchSplit(flags['batch-size'] ?? Number(manifest.recipe?.batchSize ?? DEFAULTS.batchSize), ranks, flags['grad-accum'] ?? 1);
    else {
      // One read of the checkpoint: its recipe for the flags, its position for what is left to train.
      const state = loadCheckpoint(join(args.dir, RUN_FILES.last));
      const meta = runMetaOf(state);
      const recipe = resolveRecipe(Train.recipeFlags(flags, bucketFor(manifest, 1) === 0), manifest.recipe, meta?.recipe ?? null, data.sequences.length, args.dir);
      checkResumable(args.dir, state, { epochs: recipe.values.epochs, constant: recipe.schedule.kind === 'constant', maxSteps: flags['max-steps'], meta });
    }
  }

  async run(): Promise<TrainSummary & { recipe: EffectiveRecipe; gradAccum: number }> {
    const { args, flags } = await this.parse(Train);
    const collective = openCollective();
    this.rank = collective.rank;
    const json = this.jsonEnabled();
    // Flag values first, so a typo fails before a large data file is read.
    Train.checkFlags(flags);
    const manifest = readManifest(args.dir);
    const stored = flags.resume ? storedRecipe(args.dir) : null;
    const presplit = resolvePresplit(flags.data, flags['valid-data'], flags['test-data']);
    const features = manifest.features;
    Train.checkAgainstManifest(args.dir, flags, manifest, presplit !== null);
    const given = presplit ? readPresplit(presplit, { format: flags.format as 'auto', ...parseColumns(flags.columns), onNote: (line) => this.rank === 0 && this.note(line) }) : null;
    if (presplit && this.rank === 0) this.log(describePresplit(presplit));
    // Every rank reads the data; rank 0 alone prints the reader's notes, as it alone logs.
    const data = given ? given.data : openDataset(flags.data, dataReadOptions(flags, (line) => this.rank === 0 && this.note(line), features));
    checkAgainstSchema(data, features, flags.data);
    // A model that reads its padding (or artifacts of fixed length) is never trimmed, so --bucket
    // changes nothing there: its run records 0 whatever was asked, and resumes with any --bucket.
    const trims = bucketFor(manifest, 1) > 0;
    const recipe = resolveRecipe(Train.recipeFlags(flags, stored !== null && !trims), manifest.recipe, stored, data.sequences.length, args.dir);
    try {
      validateSchedule(recipe.schedule);
    } catch (e) {
      throw new UsageError(`${(e as Error).message} (from --lr, --min-lr, --warmup, --epochs)`);
    }
    const r = recipe.values;
    // More threads than cores only slow the run down: capped (the recipe line and the --resume command show the count used).
    const cap = capThreads(flags.threads);
    const threads = cap.threads;
    if (cap.warning && this.rank === 0) this.warn(cap.warning);
    // Without validation these two change nothing; say so rather than ignore them.
    if (r.trainOnValid) for (const k of ['patience', 'eval-every'] as const) if (flags[k] !== undefined && this.rank === 0) this.warn(`--${k} has no effect with --train-on-valid: there is no validation (the last model is exported)`);
    // The cosine schedule refuses this (validateSchedule); a constant one would train the whole run below its lr.
    const stepsPerEpoch = Math.ceil(data.sequences.length / r.batchSize);
    if (recipe.schedule.kind === 'constant' && r.warmup >= r.epochs * stepsPerEpoch) {
      this.warn(`--warmup ${r.warmup} is not shorter than the run (${count(r.epochs * stepsPerEpoch, 'step')}: ${count(r.epochs, 'epoch')} of ${stepsPerEpoch}), so the learning rate never reaches ${r.lr}`);
    } else if (flags['max-steps'] !== undefined && flags['max-steps'] < r.warmup) {
      // A smoke test with --max-steps inside the warm-up trains at a fraction of the lr it asks for.
      this.warn(`--max-steps ${flags['max-steps']} stops inside the ${count(r.warmup, 'step')} of warm-up, so the learning rate never reaches ${r.lr} (at most ${Number(lrAt(recipe.schedule, flags['max-steps']).toPrecision(3))})`);
    }
    if (!trims && flags.bucket && this.rank === 0) this.note(`--bucket ${flags.bucket}: batches stay maxlen wide, this model reads its padding (llama-sasrec without key_padding_mask, with either block) or was compiled with a fixed sequence length`);
    if (!trims && r.bucket !== 0) {
      r.bucket = 0;
      recipe.from.bucket = 'default';
    }
    const gradAccum = flags['grad-accum'] ?? stored?.gradAccum ?? 1;
    if (stored && flags['grad-accum'] !== undefined && flags['grad-accum'] !== (stored.gradAccum ?? 1)) {
      throw new UsageError(`--grad-accum ${flags['grad-accum']} contradicts the run in ${args.dir}, trained with --grad-accum ${stored.gradAccum ?? 1}; drop the flag to continue that run, or start a new one with --overwrite`);
    }
    // --resume keeps the run's ZeRO stage unless --zero says otherwise (its checkpoints are ordinary ones).
    const zero = (flags.zero ?? stored?.zero ?? 0) as 0 | 1;
    // How to continue this run from its last checkpoint, for a Ctrl-C.
    const continueWith = resumeCommand(invocation(this.config.bin || 'reclm'), args.dir, { ...flags, threads });
    const summary = await train({
      collective,
      gradAccum,
      zero,
      shardOptimizerGraph: buildShardOptimizerGraph,
      dir: args.dir,
      data,
      split: given?.split,
      epochs: r.epochs,
      batchSize: r.batchSize,
      batchSizeFrom: recipe.from.batchSize,
      schedule: recipe.schedule,
      seed: r.seed,
      device: flags.device,
      threads,
      cudaLibDir: flags['cuda-lib-dir'],
      fusedSteps: r.fusedSteps,
      bucket: r.bucket,
      window: r.window,
      users: r.users,
      evalEvery: r.evalEvery,
      trainOnValid: r.trainOnValid,
      patience: r.patience,
      checkpointEvery: flags['checkpoint-every'],
      resume: flags.resume,
      overwrite: flags.overwrite,
      maxSteps: flags['max-steps'],
      maxSeconds: flags['time-limit'] === undefined ? undefined : flags['time-limit'] * 60,
      json,
      log: (line) => this.log(line),
      note: (line) => this.note(line),
      resumeCommand: continueWith,
      onOpen: ({ batchSize }) => {
        // The recipe line shows the batch size trained with (a larger --batch-size is capped at an epoch's rows; a note says so).
        if (batchSize < r.batchSize) recipe.from.batchSize = `${recipe.from.batchSize}, capped at the rows of an epoch`;
        r.batchSize = batchSize;
        const parallel = [...(features ? [`positive ${formatPositiveRule(features.positive)}`] : []), ...(gradAccum > 1 ? [`${gradAccum} micro-batches per step`] : []), ...(collective.size > 1 ? [`${collective.size} ranks (Open MPI)`] : []), ...(zero === 1 ? ['ZeRO-1'] : [])];
        this.log([describeRecipe(manifest.model, lossLabel(manifest.loss, manifest.config), recipe, { value: threads ?? 1, from: threads === undefined ? 'default' : 'flag' }), ...parallel].join(', '));
      },
    });
    collective.finalize();
    if (summary.stoppedBy === 'interrupted') {
      // Interrupted by the user: the run is saved, but the command did not finish what it was asked.
      process.exitCode = 130;
      this.warn(`interrupted at step ${summary.lastStep}: the run is saved in ${args.dir}; continue it with:`);
      // On a line of its own, without the warning's prefix, so that it can be pasted as it is.
      process.stderr.write(`  ${continueWith}\n`);
    }
    this.log(`trained ${count(summary.steps, 'step')} in ${summary.seconds.toFixed(1)} s (${Math.round(summary.tokensPerSecond).toLocaleString('en-US')} tokens/s)${summary.stoppedBy === 'epochs' ? '' : `, stopped by ${summary.stoppedBy === 'interrupted' ? 'an interrupt' : summary.stoppedBy}`}`);
    if (summary.best) this.log(`best validation: epoch ${summary.bestEpoch}, NDCG@10 ${summary.best['ndcg@10'].toFixed(4)}, HR@10 ${summary.best['hr@10'].toFixed(4)}`);
    this.log(`exported ${summary.inference} (from ${summary.checkpoint})`);
    // --json: micro-batches per step beside the recipe (ranks and the ZeRO stage are in optimizerState).
    return { ...summary, recipe, gradAccum };
  }

  override log(message?: string, ...args: unknown[]): void {
    if (this.rank === 0) super.log(message, ...args);
  }

  protected override logJsonLine(value: unknown): void {
    if (this.rank === 0) super.logJsonLine(value);
  }

  protected override logJson(json: unknown): void {
    if (this.rank === 0) super.logJson(json);
  }
}
