// The effective training recipe of `reclm train` and where each value came from: a flag, the
// preset stored in the manifest at compile time, the built-in default, or, with --resume, the
// run's own checkpoint (where a contradicting flag is refused).
import { LrSchedule, scheduleFor } from '../runtime/schedule.js';
import { RunRecipe } from '../runtime/trainer.js';
import { UsageError } from '../errors.js';
import type { EpochUsers, TrainWindow } from '../data/sampler.js';

/**
 * Defaults when the artifacts carry no preset recipe. `bucket` is the length-bucket multiple of
 * a new run (0: off); a stored run without one (older reclm) resumes unbucketed. `window` is
 * which maxlen pairs of a longer history a training row takes (TrainSampler): the last ones. `users` is
 * how an epoch picks its rows' users: uniformly with replacement (the seed's).
 */
export const TRAIN_DEFAULTS = { epochs: 20, batchSize: 128, lr: 1e-3, warmup: 0, cosine: false, minLr: 1e-5, evalEvery: 1, patience: 5, fusedSteps: 8, seed: 1, trainOnValid: false, bucket: 0, window: 'last' as TrainWindow, users: 'replacement' as EpochUsers };

type Key = keyof typeof TRAIN_DEFAULTS;
/** The recipe flags of `reclm train`, undefined when not given. */
export type RecipeFlags = { [K in Key]?: (typeof TRAIN_DEFAULTS)[K] };

export const RECIPE_FLAG: Record<Key, string> = {
  epochs: '--epochs', batchSize: '--batch-size', lr: '--lr', warmup: '--warmup', cosine: '--cosine', minLr: '--min-lr',
  evalEvery: '--eval-every', patience: '--patience', fusedSteps: '--fused-steps', seed: '--seed', trainOnValid: '--train-on-valid', bucket: '--bucket', window: '--window', users: '--epoch-users',
};

/** Where a recipe value came from; `… capped at …` is a batch size cut to an epoch's rows. */
export type Source = 'flag' | 'default' | 'checkpoint' | `preset ${string}` | `${string}, capped at the rows of an epoch`;

export interface EffectiveRecipe {
  values: typeof TRAIN_DEFAULTS;
  from: Record<Key, Source>;
  schedule: LrSchedule;
}

/** The flat recipe values of a stored run (minLr is absent for a constant schedule). */
function flatten(r: RunRecipe): Partial<typeof TRAIN_DEFAULTS> {
  const s = r.schedule;
  return {
    epochs: r.epochs, batchSize: r.batchSize, lr: s.lr, warmup: s.warmup ?? 0, cosine: s.kind === 'warmup-cosine', ...(s.kind === 'warmup-cosine' ? { minLr: s.minLr } : {}),
    evalEvery: r.evalEvery, patience: r.patience, fusedSteps: r.fusedSteps, seed: r.seed, trainOnValid: r.trainOnValid, bucket: r.bucket ?? 0, window: r.window ?? 'last', users: r.users ?? 'replacement',
  };
}

/**
 * Resolves the recipe. A new run takes each value from its flag, else the manifest's preset
 * recipe, else TRAIN_DEFAULTS, and its schedule from scheduleFor. A resumed run (`stored`)
 * takes every value and the schedule from the checkpoint; a flag that contradicts it throws a
 * UsageError naming the flag and the stored value. The one documented override: --epochs with
 * a constant schedule (which does not depend on the run's length). `users` is the number of
 * training rows of an epoch (one per user): a resumed run whose stored batch size is that number
 * takes any larger --batch-size as its own (the cap that started it); 0 turns this off.
 */
export function resolveRecipe(flags: RecipeFlags, preset: Record<string, unknown> | undefined, stored: RunRecipe | null, users: number, dir: string): EffectiveRecipe {
  const values = { ...TRAIN_DEFAULTS };
  const from = {} as Record<Key, Source>;
  const set = (k: Key, v: unknown, s: Source) => {
    (values as Record<Key, unknown>)[k] = v;
    from[k] = s;
  };
  if (stored) {
    const was = flatten(stored);
    for (const k of Object.keys(TRAIN_DEFAULTS) as Key[]) {
      const given = flags[k];
      const extendable = k === 'epochs' && stored.schedule.kind === 'constant';
      // A batch size above an epoch's rows was capped at them when the run started (checkTrainingFits):
      // the command that started it, given again with --resume, asks for that same batch.
      const capped = k === 'batchSize' && users > 0 && was[k] === users && typeof given === 'number' && given > users;
      if (given !== undefined && given !== was[k] && !extendable && !capped) {
        const flag = RECIPE_FLAG[k];
        const givenText = typeof given === 'boolean' ? (given ? flag : `--no-${flag.slice(2)}`) : `${flag} ${given}`;
        const storedText = was[k] === undefined ? `with a constant lr (no ${flag})` : typeof was[k] === 'boolean' ? `${was[k] ? 'with' : 'without'} ${flag}` : `with ${flag} ${was[k]}`;
        // --epochs is the one value a constant-lr run may change: say why a cosine run may not.
        const why = k === 'epochs' ? ' (its cosine decay ends at the last step of those epochs; only a constant-lr run may change --epochs)' : '';
        throw new UsageError(`${givenText} contradicts the run in ${dir}, trained ${storedText}${why}; drop the flag to continue that run, or start a new one with --overwrite`);
      }
      if (given !== undefined && extendable) set(k, given, 'flag');
      else set(k, was[k] ?? TRAIN_DEFAULTS[k], 'checkpoint');
    }
    return { values, from, schedule: stored.schedule };
  }
  const presetName = typeof preset?.preset === 'string' ? preset.preset : 'recipe';
  for (const k of Object.keys(TRAIN_DEFAULTS) as Key[]) {
    if (flags[k] !== undefined) set(k, flags[k], 'flag');
    else if (preset?.[k] !== undefined) set(k, preset[k], `preset ${presetName}`);
    else set(k, TRAIN_DEFAULTS[k], 'default');
  }
  return { values, from, schedule: scheduleFor(values, Math.ceil(users / values.batchSize)) };
}

/** One line: the model and each recipe value with where it came from. */
export function describeRecipe(model: string, lossText: string, r: EffectiveRecipe, threads: { value: number; from: Source }): string {
  const v = r.values;
  const item = (text: string, src: string) => `${text} (${src})`;
  const s = r.schedule;
  const shape = s.kind === 'warmup-cosine' ? `cosine to ${s.minLr} at step ${s.totalSteps}` : 'constant';
  // One source for lr, schedule and final lr when they agree; otherwise each part names its own.
  const ownMinLr = s.kind === 'warmup-cosine' && r.from.minLr !== r.from.cosine;
  const schedule = ownMinLr
    ? `${item(`lr ${v.lr}`, r.from.lr)}, ${item('cosine', r.from.cosine)} ${item(`to ${s.minLr}`, r.from.minLr)} at step ${s.totalSteps}`
    : r.from.cosine === r.from.lr
      ? item(`lr ${v.lr} ${shape}`, r.from.lr)
      : `${item(`lr ${v.lr}`, r.from.lr)}, ${item(shape, r.from.cosine)}`;
  return [
    `training ${model} with ${lossText}`,
    item(`${v.epochs} epoch${v.epochs === 1 ? '' : 's'}`, r.from.epochs),
    schedule,
    item(`warm-up ${v.warmup}`, r.from.warmup),
    item(`batch size ${v.batchSize}`, r.from.batchSize),
    item(`threads ${threads.value}`, threads.from),
    item(`seed ${v.seed}`, r.from.seed),
    item(`fused steps ${v.fusedSteps}`, r.from.fusedSteps),
    // Length buckets: named when on, or turned off by the flag (a model that reads its padding is never bucketed).
    ...(v.bucket > 0 ? [item(`length buckets of ${v.bucket}`, r.from.bucket)] : r.from.bucket === 'flag' ? [item('no length buckets', 'flag')] : []),
    ...(v.window === 'random' ? [item('random windows of long histories', r.from.window)] : []),
    ...(v.users === 'shuffle' ? [item('users shuffled, each once before any twice', r.from.users)] : []),
    v.trainOnValid ? item('training on the validation items, no validation', r.from.trainOnValid) : v.evalEvery === 0 ? item('no validation', r.from.evalEvery) : item(v.evalEvery === 1 ? 'validation every epoch' : `validation every ${v.evalEvery} epochs`, r.from.evalEvery),
    ...(v.trainOnValid || v.evalEvery === 0 ? [] : [item(`patience ${v.patience}`, r.from.patience)]),
  ].join(', ');
}

/**
 * The loss as the CLI names it: `full-ce loss`, or `full-ce loss with label smoothing 0.1` when
 * the manifest's model `config` smooths it.
 */
export function lossLabel(loss: string, config: object): string {
  const smoothing = (config as { label_smoothing?: number }).label_smoothing;
  return smoothing ? `${loss} loss with label smoothing ${smoothing}` : `${loss} loss`;
}
