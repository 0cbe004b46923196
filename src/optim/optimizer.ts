/**
 * The optimizer base: a list of parameters, per-parameter state (a step count and named
 * buffers such as momentum or Adam's m and v, created at a parameter's first update), and
 * the state's export for checkpoints. Subclasses define one fused update kernel launch.
 *
 *   const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 *   backward(loss); opt.step(); opt.zeroGrad();
 *   opt.lr = schedule(step);            // hyperparameters may change between steps
 */
import { zeros } from '../tensor/create.js';
import { keep } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { checkCompatible, copyInto, uploadTensor, type TensorData } from '../tensor/tensor-data.js';

export type OptionValue = number | boolean | number[];

/** What `stateDict()` returns and `loadStateDict()` takes (TensorData when read from a file). */
export interface OptimizerState<T = Tensor | TensorData> {
  kind: string;
  options: Record<string, OptionValue>;
  /** Updates applied to each parameter (0: no state yet). */
  steps: number[];
  /** `${parameterIndex}.${buffer}`, e.g. '3.momentum', '0.exp_avg'. */
  tensors: Record<string, T>;
}

export abstract class Optimizer<O extends { lr: number }> {
  readonly params: Tensor[];
  protected readonly steps: number[];
  protected readonly buffers: Record<string, Tensor>[];

  constructor(
    params: Iterable<Tensor>,
    readonly options: O,
    readonly kind: string,
  ) {
    this.params = [...params];
    const seen = new Set<Tensor>();
    this.params.forEach((p, i) => {
      const what = `${kind}: parameter ${i}${p.name ? ` (${p.name})` : ''}`;
      if (seen.has(p)) throw new Error(`${what} is listed twice`);
      if (!p.requiresGrad) throw new Error(`${what} does not require grad`);
      if (p.dtype !== 'f32') throw new TypeError(`${what} is ${p.dtype}, not f32`);
      seen.add(p);
    });
    if (!(options.lr >= 0)) throw new RangeError(`${kind}: lr must be >= 0, got ${options.lr}`);
    this.steps = this.params.map(() => 0);
    this.buffers = this.params.map(() => ({}));
  }

  get lr(): number {
    return this.options.lr;
  }

  set lr(v: number) {
    if (!(v >= 0)) throw new RangeError(`${this.kind}: lr must be >= 0, got ${v}`);
    this.options.lr = v;
  }

  /** Applies one update to every parameter that has a gradient (others are skipped, as in PyTorch). */
  step(): void {
    this.params.forEach((p, i) => {
      const g = p.grad;
      if (!g) return;
      if (g.shape.join() !== p.shape.join()) {
        throw new RangeError(
          `${this.kind}.step: gradient of shape [${g.shape}] for parameter ${i}${p.name ? ` (${p.name})` : ''} of shape [${p.shape}]`,
        );
      }
      this.steps[i]++;
      if (p.size > 0) this.update(p, g, i, this.steps[i]);
    });
  }

  /** Drops the gradients of the parameters. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The slot buffer of parameter i, created as zeros (kept out of scopes) on first use. */
  protected slot(i: number, name: string): { tensor: Tensor; fresh: boolean } {
    const existing = this.buffers[i][name];
    if (existing) return { tensor: existing, fresh: false };
    const t = keep(zeros(this.params[i].shape));
    this.buffers[i][name] = t;
    return { tensor: t, fresh: true };
  }

  /** One fused update of parameter i (step = its update count, from 1). */
  protected abstract update(p: Tensor, g: Tensor, i: number, step: number): void;

  /** The optimizer's state: hyperparameters, step counts and buffers (its own tensors, not copies). */
  stateDict(): OptimizerState<Tensor> {
    const tensors: Record<string, Tensor> = {};
    this.buffers.forEach((b, i) => Object.entries(b).forEach(([name, t]) => (tensors[`${i}.${name}`] = t)));
    return {
      kind: this.kind,
      options: structuredClone(this.options) as Record<string, OptionValue>,
      steps: [...this.steps],
      tensors,
    };
  }

  /** Restores a state (checked completely before anything changes). */
  loadStateDict(state: OptimizerState): void {
    const ctx = `${this.kind}.loadStateDict`;
    if (state.kind !== this.kind) throw new Error(`${ctx}: the state is of a ${state.kind} optimizer`);
    if (state.steps.length !== this.params.length) {
      throw new Error(
        `${ctx}: the state has ${state.steps.length} parameters, this optimizer ${this.params.length}`,
      );
    }
    state.steps.forEach((s, i) => {
      if (!Number.isInteger(s) || s < 0)
        throw new Error(`${ctx}: step count ${s} of parameter ${i} is not a non-negative integer`);
    });
    for (const [key, t] of Object.entries(state.tensors)) {
      const m = /^(\d+)\.(\w+)$/.exec(key);
      const i = m ? Number(m[1]) : -1;
      if (!m || i >= this.params.length) throw new Error(`${ctx}: unexpected state tensor '${key}'`);
      const p = this.params[i];
      checkCompatible(p, t, key, ctx, 'in the state', `for parameter ${i}${p.name ? ` (${p.name})` : ''}`);
    }
    for (const key of Object.keys(this.options))
      if (!(key in state.options)) throw new Error(`${ctx}: option '${key}' is missing`);
    Object.assign(this.options, structuredClone(state.options));
    state.steps.forEach((s, i) => (this.steps[i] = s));
    this.buffers.forEach((b, i) => {
      for (const [name, t] of Object.entries(b)) {
        if (!(`${i}.${name}` in state.tensors)) {
          t.dispose();
          delete b[name];
        }
      }
    });
    for (const [key, src] of Object.entries(state.tensors)) {
      const [i, name] = [Number(key.split('.')[0]), key.split('.')[1]];
      const existing = this.buffers[i][name];
      if (existing) copyInto(existing, src);
      else this.buffers[i][name] = keep(src instanceof Tensor ? copyOf(src) : uploadTensor(src));
    }
  }

  /** Frees the optimizer's state (not the parameters). */
  dispose(): void {
    for (const b of this.buffers) {
      for (const t of Object.values(b)) t.dispose();
      for (const k of Object.keys(b)) delete b[k];
    }
  }
}

function copyOf(src: Tensor): Tensor {
  const t = Tensor.empty(src.shape);
  copyInto(t, src);
  return t;
}
