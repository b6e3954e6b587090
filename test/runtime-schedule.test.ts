import { expect } from 'chai';
import { type LrSchedule, lrAt, scheduleFn, SEED_SCHEDULE, validateSchedule } from '../src/runtime/schedule.js';

// Expected values are worked out by hand from the seed recipe: lr 3e-4, warm-up 1000,
// cosine to 1e-5 at step 80000, so the cosine spans 79000 steps and lr − minLr = 2.9e-4.
describe('runtime/schedule', () => {
  const close = (actual: number, expected: number) => expect(actual).to.be.closeTo(expected, 1e-16);

  it('warms up linearly, reaching the peak at step `warmup`', () => {
    close(lrAt(SEED_SCHEDULE, 1), 3e-7); // 3e-4 · 1/1000
    close(lrAt(SEED_SCHEDULE, 250), 7.5e-5);
    close(lrAt(SEED_SCHEDULE, 500), 1.5e-4);
    close(lrAt(SEED_SCHEDULE, 1000), 3e-4);
  });

  it('decays along a cosine from lr to minLr', () => {
    // One step past the peak: cos(π/79000) ≈ 1 − 7.9e-10, so the drop is ~1.1e-13.
    close(lrAt(SEED_SCHEDULE, 1001), 3e-4 - 0.5 * 2.9e-4 * (1 - Math.cos(Math.PI / 79000)));
    expect(lrAt(SEED_SCHEDULE, 1001)).to.be.below(3e-4);
    // A quarter of the way (step 1000 + 19750): 1e-5 + 1.45e-4 · (1 + √2/2) = 2.5753048327e-4.
    close(lrAt(SEED_SCHEDULE, 20750), 2.5753048327205e-4);
    // Half-way (step 1000 + 39500): cos(π/2) = 0, so 1e-5 + 1.45e-4 = 1.55e-4.
    close(lrAt(SEED_SCHEDULE, 40500), 1.55e-4);
    // Three quarters (step 60250): 1e-5 + 1.45e-4 · (1 − √2/2) = 5.2469516728e-5.
    close(lrAt(SEED_SCHEDULE, 60250), 5.2469516727951e-5);
    close(lrAt(SEED_SCHEDULE, 80000), 1e-5);
  });

  it('stays at minLr after totalSteps', () => {
    expect(lrAt(SEED_SCHEDULE, 80001)).to.equal(1e-5);
    expect(lrAt(SEED_SCHEDULE, 1_000_000)).to.equal(1e-5);
  });

  it('is monotone: up during warm-up, down afterwards', () => {
    let prev = 0;
    for (let s = 1; s <= 1000; s += 37) {
      expect(lrAt(SEED_SCHEDULE, s)).to.be.above(prev);
      prev = lrAt(SEED_SCHEDULE, s);
    }
    prev = Infinity;
    for (let s = 1000; s <= 80000; s += 997) {
      expect(lrAt(SEED_SCHEDULE, s)).to.be.below(prev);
      prev = lrAt(SEED_SCHEDULE, s);
    }
  });

  it('handles a cosine without warm-up', () => {
    const s: LrSchedule = { kind: 'warmup-cosine', lr: 1e-3, warmup: 0, totalSteps: 4, minLr: 0 };
    // p = step/4: 1e-3 · ½(1 + cos(πp)).
    close(lrAt(s, 1), 0.5e-3 * (1 + Math.SQRT1_2));
    close(lrAt(s, 2), 0.5e-3);
    close(lrAt(s, 3), 0.5e-3 * (1 - Math.SQRT1_2));
    close(lrAt(s, 4), 0);
  });

  it('constant schedule: the same lr every step, with optional warm-up', () => {
    const c: LrSchedule = { kind: 'constant', lr: 1e-3 };
    expect(lrAt(c, 1)).to.equal(1e-3);
    expect(lrAt(c, 123456)).to.equal(1e-3);
    const cw: LrSchedule = { kind: 'constant', lr: 1e-3, warmup: 10 };
    close(lrAt(cw, 5), 5e-4);
    expect(lrAt(cw, 10)).to.equal(1e-3);
    expect(lrAt(cw, 11)).to.equal(1e-3);
  });

  it('counts steps from 1', () => {
    expect(() => lrAt(SEED_SCHEDULE, 0)).to.throw(RangeError, /counts from 1/);
    expect(() => lrAt(SEED_SCHEDULE, 1.5)).to.throw(RangeError);
  });

  it('validates configurations and scheduleFn returns the same values', () => {
    expect(() => validateSchedule(SEED_SCHEDULE)).not.to.throw();
    expect(() => validateSchedule({ ...SEED_SCHEDULE, totalSteps: 1000 })).to.throw(/must exceed warmup/);
    expect(() => validateSchedule({ ...SEED_SCHEDULE, minLr: 1 })).to.throw(/minLr/);
    expect(() => validateSchedule({ kind: 'constant', lr: 0 })).to.throw(/lr must be a positive number/);
    expect(() => validateSchedule({ kind: 'constant', lr: 1e-3, warmup: -1 })).to.throw(/warmup/);
    expect(() => validateSchedule({ kind: 'linear' } as unknown as LrSchedule)).to.throw();
    const f = scheduleFn(SEED_SCHEDULE);
    expect(f(40500)).to.equal(lrAt(SEED_SCHEDULE, 40500));
  });
});
