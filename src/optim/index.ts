/** Optimizers, schedules, clipping, EMA. */
export { Optimizer, type OptimizerState, type OptionValue } from './optimizer.js';
export { SGD, type SgdOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { multiStep, warmupPoly, type MultiStepOptions, type WarmupPolyOptions } from './schedule.js';
export { clipGradNorm } from './clip.js';
export { updateEma, lerpInto, emaBeta } from './ema.js';
