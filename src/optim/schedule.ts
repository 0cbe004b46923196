/**
 * Learning-rate schedules as pure functions of the step (0-based: the step about to be taken),
 * so a resumed run gets the same rate from the step count alone:
 *
 *   const lrAt = warmupPoly({ lr: 0.1, warmupSteps: 1000, totalSteps: 100_000 });
 *   for (let s = start; s < total; s++) { opt.lr = lrAt(s); ... }
 */

export interface MultiStepOptions {
  lr: number;
  /** Steps at which the rate is multiplied by gamma (it applies from that step on). */
  milestones: number[];
  gamma?: number;
}

/** lr * gamma^(number of milestones <= step), as PyTorch's MultiStepLR. */
export function multiStep({ lr, milestones, gamma = 0.1 }: MultiStepOptions): (step: number) => number {
  const sorted = [...milestones].sort((a, b) => a - b);
  return (step) => lr * gamma ** sorted.filter((m) => m <= step).length;
}

export interface WarmupPolyOptions {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  /** 1: linear decay, 2: quadratic, ... */
  power?: number;
  /** The rate at step 0, as a fraction of lr (default 0). */
  warmupStart?: number;
  /** The rate reached at totalSteps and kept after (default 0). */
  minLr?: number;
}

/**
 * Linear warm-up from warmupStart * lr (step 0) to lr (step warmupSteps), then polynomial decay
 * minLr + (lr - minLr) (1 - (step - warmupSteps) / (totalSteps - warmupSteps))^power down to
 * minLr at totalSteps.
 */
export function warmupPoly({
  lr,
  warmupSteps,
  totalSteps,
  power = 1,
  warmupStart = 0,
  minLr = 0,
}: WarmupPolyOptions): (step: number) => number {
  if (!(warmupSteps >= 0 && totalSteps >= warmupSteps)) {
    throw new RangeError(`warmupPoly: need 0 <= warmupSteps (${warmupSteps}) <= totalSteps (${totalSteps})`);
  }
  return (step) => {
    if (step < warmupSteps) return lr * (warmupStart + (1 - warmupStart) * (step / warmupSteps));
    if (step >= totalSteps) return minLr;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    return minLr + (lr - minLr) * (1 - progress) ** power;
  };
}
