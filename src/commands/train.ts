import { Args, Command, Flags } from '@oclif/core';
import { readManifest } from '../compiler/artifacts.js';
import { openDataset } from '../data/open.js';
import { readPresplit, resolvePresplit } from '../data/presplit.js';
import { parseDevice } from '../onnx/providers.js';
import { LrSchedule } from '../runtime/schedule.js';
import { train } from '../runtime/trainer.js';
import { asCliError, UsageError } from '../cli/errors.js';
import { dataFormatFlag } from '../cli/flags.js';
import { columnsFlag, dataReadOptions } from '../cli/data-flags.js';

/** Defaults when the artifacts carry no preset recipe. */
const DEFAULTS = { epochs: 20, batchSize: 128, lr: 1e-3, warmup: 0, cosine: false, minLr: 1e-5, evalEvery: 1, patience: 5, fusedSteps: 8 };

export default class Train extends Command {
  static override summary = 'Train compiled artifacts on a data file (leave-one-out split, seed recipe).';
  static override description = `Runs K fused AdamW steps per onnxruntime call (train_step.onnx), validates NDCG@10/HR@10 on the validation split every --eval-every epochs (full ranking over the items not in the user's input sequence, as reclm eval ranks) with early stopping, and writes into DIR: last.ckpt, best.ckpt (atomic, hash-verified), train.jsonl (every step and epoch) and inference.onnx (exported from the best checkpoint).

Defaults come from the preset recipe stored at compile time, else: --epochs ${DEFAULTS.epochs} --batch-size ${DEFAULTS.batchSize} --lr ${DEFAULTS.lr} --warmup ${DEFAULTS.warmup} --no-cosine --min-lr ${DEFAULTS.minLr} --eval-every ${DEFAULTS.evalEvery} --patience ${DEFAULTS.patience} --fused-steps ${DEFAULTS.fusedSteps}.
The same --seed and data give the same losses; after a kill, --resume continues exactly where the last checkpoint left off.`;
  static override examples = [
    '<%= config.bin %> train artifacts/hstu --data ml-1m.seq.txt.gz --epochs 50',
    '<%= config.bin %> train artifacts/hstu --data ml-1m.seq.txt.gz --resume',
  ];
  static override args = { dir: Args.string({ description: 'artifact folder written by `reclm compile`', required: true }) };
  static override flags = {
    data: Flags.string({ description: 'training data file (the one the artifacts were compiled for), or a folder of pre-split files', required: true }),
    'valid-data': Flags.string({ description: 'pre-split files: the validation file (per-user item lists) used instead of the leave-one-out split' }),
    'test-data': Flags.string({ description: 'pre-split files: the test file (per-user item lists)' }),
    format: dataFormatFlag(),
    columns: columnsFlag(),
    epochs: Flags.integer({ description: 'epochs (one epoch = ceil(#users / batch) steps)', min: 1 }),
    'batch-size': Flags.integer({ description: 'rows per step', min: 1 }),
    lr: Flags.string({ description: 'peak learning rate' }),
    warmup: Flags.integer({ description: 'linear warm-up steps', min: 0 }),
    cosine: Flags.boolean({ description: 'cosine decay to --min-lr at the last step', allowNo: true }),
    'min-lr': Flags.string({ description: 'final learning rate of the cosine decay' }),
    seed: Flags.integer({ description: 'seed of batch sampling and dropout', default: 1, min: 0 }),
    resume: Flags.boolean({ description: 'continue from DIR/last.ckpt' }),
    overwrite: Flags.boolean({ description: 'start again even though DIR holds a previous run' }),
    device: Flags.string({ description: 'cpu, cuda or cuda:N', default: 'cpu' }),
    'cuda-lib-dir': Flags.string({ description: 'folder with the ORT 1.30 CUDA provider libraries (or set RECLM_CUDA_LIB_DIR)' }),
    threads: Flags.integer({ description: 'intra-op threads (1 is fastest for small graphs on CPU)', min: 1 }),
    'fused-steps': Flags.integer({ description: 'optimizer steps per onnxruntime call (K)', min: 1 }),
    'eval-every': Flags.integer({ description: 'validate every N epochs (0: never)', min: 0 }),
    'train-on-valid': Flags.boolean({ description: "also train on each user's validation item (all but the test item, as Meta's HSTU training); turns validation off and exports the last model" }),
    patience: Flags.integer({ description: 'stop after N validations without a better NDCG@10 (0: never)', min: 0 }),
    'checkpoint-every': Flags.integer({ description: 'also save last.ckpt every N steps within an epoch (0: epoch ends only)', default: 0, min: 0 }),
    'max-steps': Flags.integer({ description: 'stop after N optimizer steps in total', min: 1 }),
    'time-limit': Flags.integer({ description: 'start no new epoch after this many minutes (the best model is still exported)', min: 1 }),
    json: Flags.boolean({ description: 'print the summary as JSON (no progress bar)' }),
  };

  async run(): Promise<void> {
    try {
      const { args, flags } = await this.parse(Train);
      const manifest = readManifest(args.dir);
      const recipe = { ...DEFAULTS, ...((manifest.recipe ?? {}) as Partial<typeof DEFAULTS>) };
      const num = (s: string | undefined, name: string, dflt: number) => {
        if (s === undefined) return dflt;
        const v = Number(s);
        if (!Number.isFinite(v) || v <= 0) throw new UsageError(`--${name} must be a positive number, got '${s}'`);
        return v;
      };
      // Flag values first, so a typo fails before a large data file is read.
      parseDevice(flags.device);
      const lr = num(flags.lr, 'lr', recipe.lr);
      const minLr = num(flags['min-lr'], 'min-lr', recipe.minLr);
      const presplit = resolvePresplit(flags.data, flags['valid-data'], flags['test-data']);
      const given = presplit ? readPresplit(presplit, { format: flags.format as 'auto' }) : null;
      const data = given ? given.data : openDataset(flags.data, dataReadOptions(flags, (line) => this.warn(line)));
      const epochs = flags.epochs ?? recipe.epochs;
      const batchSize = flags['batch-size'] ?? recipe.batchSize;
      const warmup = flags.warmup ?? recipe.warmup;
      const cosine = flags.cosine ?? recipe.cosine;
      const stepsPerEpoch = Math.ceil(data.sequences.length / batchSize);
      const schedule: LrSchedule = cosine
        ? { kind: 'warmup-cosine', lr, warmup, totalSteps: Math.max(epochs * stepsPerEpoch, warmup + 1), minLr }
        : { kind: 'constant', lr, warmup };
      const summary = await train({
        dir: args.dir,
        data,
        split: given?.split,
        epochs,
        batchSize,
        schedule,
        seed: flags.seed,
        device: flags.device,
        threads: flags.threads,
        cudaLibDir: flags['cuda-lib-dir'],
        fusedSteps: flags['fused-steps'] ?? recipe.fusedSteps,
        evalEvery: flags['eval-every'] ?? recipe.evalEvery,
        trainOnValid: flags['train-on-valid'],
        patience: flags.patience ?? recipe.patience,
        checkpointEvery: flags['checkpoint-every'],
        resume: flags.resume,
        overwrite: flags.overwrite,
        maxSteps: flags['max-steps'],
        maxSeconds: flags['time-limit'] === undefined ? undefined : flags['time-limit'] * 60,
        json: flags.json,
        log: flags.json ? undefined : (line) => this.log(line),
      });
      if (flags.json) this.log(JSON.stringify(summary, null, 2));
      else {
        this.log(`trained ${summary.steps} steps in ${summary.seconds.toFixed(1)} s (${Math.round(summary.tokensPerSecond).toLocaleString('en-US')} tokens/s)${summary.stoppedBy === 'epochs' ? '' : `, stopped by ${summary.stoppedBy}`}`);
        if (summary.best) this.log(`best validation: epoch ${summary.bestEpoch}, NDCG@10 ${summary.best['ndcg@10'].toFixed(4)}, HR@10 ${summary.best['hr@10'].toFixed(4)}`);
        this.log(`exported ${summary.inference} (from ${summary.checkpoint})`);
      }
    } catch (e) {
      asCliError(e);
    }
  }
}
