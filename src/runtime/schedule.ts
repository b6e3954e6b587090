// Learning-rate schedules as pure functions of the optimizer step, so a resumed run
// recomputes exactly the lr the original run would have used (no hidden state to save).
//
// Steps count from 1: step 1 is the first optimizer update (AdamW's t = 1).

export interface ConstantSchedule {
  kind: 'constant';
  lr: number;
  /** Optional linear warm-up from lr/warmup to lr over the first `warmup` steps. */
  warmup?: number;
}

export interface WarmupCosineSchedule {
  kind: 'warmup-cosine';
  /** Peak learning rate, reached at step `warmup`. */
  lr: number;
  warmup: number;
  /** Step at which the cosine reaches minLr; later steps stay at minLr. */
  totalSteps: number;
  minLr: number;
}

export type LrSchedule = ConstantSchedule | WarmupCosineSchedule;

/** The seed recipe (docs/models.md §4): lr 3e-4, warm-up 1000 steps, cosine to 1e-5 at 80000. */
export const SEED_SCHEDULE: Readonly<WarmupCosineSchedule> = Object.freeze({
  kind: 'warmup-cosine',
  lr: 3e-4,
  warmup: 1000,
  totalSteps: 80000,
  minLr: 1e-5,
});

/** Throws a RangeError naming the bad field; call once when a run is configured. */
export function validateSchedule(s: LrSchedule): void {
  const positive = (name: string, x: number) => {
    if (!(Number.isFinite(x) && x > 0)) throw new RangeError(`lr schedule: ${name} must be a positive number, got ${x}`);
  };
  const count = (name: string, x: number) => {
    if (!(Number.isSafeInteger(x) && x >= 0)) throw new RangeError(`lr schedule: ${name} must be a non-negative integer, got ${x}`);
  };
  positive('lr', s.lr);
  if (s.kind === 'constant') {
    count('warmup', s.warmup ?? 0);
    return;
  }
  if (s.kind !== 'warmup-cosine') throw new RangeError(`lr schedule: unknown kind ${String((s as { kind: unknown }).kind)}`);
  count('warmup', s.warmup);
  count('totalSteps', s.totalSteps);
  if (!(Number.isFinite(s.minLr) && s.minLr >= 0 && s.minLr <= s.lr)) {
    throw new RangeError(`lr schedule: minLr must be in [0, lr], got ${s.minLr}`);
  }
  if (s.totalSteps <= s.warmup) {
    throw new RangeError(`lr schedule: totalSteps (${s.totalSteps}) must exceed warmup (${s.warmup})`);
  }
}

/**
 * The learning rate for optimizer step `step` (1-based).
 * Warm-up: lr·step/warmup for step ≤ warmup (so step `warmup` is the first at full lr).
 * Cosine: minLr + ½(lr − minLr)(1 + cos(π·p)), p = (step − warmup)/(totalSteps − warmup),
 * clamped to 1, so step `totalSteps` and every later step give minLr.
 */
export function lrAt(s: LrSchedule, step: number): number {
  if (!(Number.isSafeInteger(step) && step >= 1)) throw new RangeError(`lrAt: step counts from 1, got ${step}`);
  const warmup = s.warmup ?? 0;
  if (step <= warmup) return (s.lr * step) / warmup;
  if (s.kind === 'constant') return s.lr;
  const progress = Math.min(1, (step - warmup) / (s.totalSteps - warmup));
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}

/** Validates once and returns step → lr. */
export function scheduleFn(s: LrSchedule): (step: number) => number {
  validateSchedule(s);
  return (step) => lrAt(s, step);
}

/** A training recipe's lr settings (a preset's, or the train command's flags). */
export interface LrRecipe {
  lr: number;
  /** Linear warm-up steps. */
  warmup: number;
  /** Cosine decay to minLr at the last step of the last epoch; false: constant after warm-up. */
  cosine: boolean;
  minLr: number;
  epochs: number;
}

/**
 * The schedule of a recipe: constant (after warm-up), or warm-up then cosine decay ending at
 * the run's last step, epochs × stepsPerEpoch. The end is kept past the warm-up (warmup + 1 at
 * least) so that a warm-up longer than the run still gives a valid schedule.
 */
export function scheduleFor(r: LrRecipe, stepsPerEpoch: number): LrSchedule {
  return r.cosine
    ? { kind: 'warmup-cosine', lr: r.lr, warmup: r.warmup, totalSteps: Math.max(r.epochs * stepsPerEpoch, r.warmup + 1), minLr: r.minLr }
    : { kind: 'constant', lr: r.lr, warmup: r.warmup };
}
