/**
 * Module: the unit networks are built from, in the spirit of PyTorch's nn.Module, kept small.
 *
 * A module owns
 *   parameters  tensors trained by an optimizer (requiresGrad, kept out of scopes)
 *   buffers     other state saved with the model, e.g. BatchNorm running statistics
 *   children    sub-modules, whose names prefix their tensors' names: `layer1.0.conv1.weight`
 * and a `training` flag that `train()` / `eval()` set on the whole tree.
 *
 * A layer registers its tensors in its constructor and defines `forward`:
 *
 *   class Affine extends Module {
 *     readonly scale = this.registerParameter('scale', ones([n]));
 *     forward(x: Tensor) { return mul(x, this.scale); }
 *   }
 *
 * `stateDict()` returns the module's own tensors (not copies) by dotted name;
 * `loadStateDict()` copies values into them in place, so optimizers holding the parameters
 * keep working after a restore.
 */
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkCompatible, copyInto, type TensorData } from '../tensor/tensor-data.js';

/** A module that maps one tensor to one tensor (what Sequential chains). */
export interface Layer {
  forward(x: Tensor): Tensor;
}

export interface LoadResult {
  missing: string[];
  unexpected: string[];
}

const NAME = /^[A-Za-z0-9_]+$/;

export class Module {
  /** True in training mode (dropout active, BatchNorm uses batch statistics). */
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, { tensor: Tensor; persistent: boolean }>();
  readonly #children = new Map<string, Module>();

  /** Adopts `t` as a parameter: sets requiresGrad, names it, and takes it out of scopes. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    this.#claimName(name, 'parameter');
    if (t.dtype !== 'f32')
      throw new TypeError(`${this.constructor.name}: parameter '${name}' must be f32, got ${t.dtype}`);
    if (t.node)
      throw new Error(
        `${this.constructor.name}: parameter '${name}' is the result of an op; parameters must be leaves`,
      );
    keep(t);
    t.requiresGrad = true;
    t.name ??= name;
    this.#params.set(name, t);
    return t;
  }

  /** Adopts `t` as a buffer (no gradient). Non-persistent buffers are left out of stateDict. */
  protected registerBuffer(name: string, t: Tensor, persistent = true): Tensor {
    this.#claimName(name, 'buffer');
    keep(t);
    t.name ??= name;
    this.#buffers.set(name, { tensor: t, persistent });
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.#claimName(name, 'module');
    this.#children.set(name, m);
    return m;
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** This module (name '') and every descendant, depth first, with dotted names. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.#children) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /** Direct children, in registration order. */
  children(): Module[] {
    return [...this.#children.values()];
  }

  /** Parameters by dotted name; a tensor shared by two modules is listed once (first name). */
  namedParameters(): [string, Tensor][] {
    return this.#collect((m) => [...m.#params]);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    return this.#collect((m) => [...m.#buffers].map(([n, b]) => [n, b.tensor]));
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /** Parameters and persistent buffers by dotted name: the module's own tensors, not copies. */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(
      this.#collect((m) => [
        ...m.#params,
        ...[...m.#buffers].filter(([, b]) => b.persistent).map(([n, b]) => [n, b.tensor] as [string, Tensor]),
      ]),
    );
  }

  /**
   * Copies values (GPU tensors or CPU TensorData) into the module's tensors, in place.
   * Everything is checked before anything is written. strict (default): every key of the
   * module must be given and no other; otherwise the missing and unexpected keys are returned.
   */
  loadStateDict(dict: Record<string, Tensor | TensorData>, { strict = true } = {}): LoadResult {
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in dict));
    const unexpected = Object.keys(dict).filter((k) => !(k in own));
    if (strict && (missing.length || unexpected.length)) {
      const parts = [];
      if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
      if (unexpected.length) parts.push(`unexpected keys: ${unexpected.join(', ')}`);
      throw new Error(`${this.constructor.name}.loadStateDict: ${parts.join('; ')}`);
    }
    const pairs = Object.entries(own).filter(([k]) => k in dict);
    for (const [k, t] of pairs) checkCompatible(t, dict[k], k, `${this.constructor.name}.loadStateDict`);
    for (const [k, t] of pairs) copyInto(t, dict[k]);
    return { missing, unexpected };
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Frees every parameter and buffer of the tree (with their gradients). */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const t of m.#params.values()) t.dispose();
      for (const b of m.#buffers.values()) b.tensor.dispose();
    }
  }

  /** Number of trainable values. */
  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  #collect(own: (m: Module) => [string, Tensor][]): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of own(m)) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([join(prefix, name), t]);
      }
    }
    return out;
  }

  #claimName(name: string, kind: string): void {
    if (!NAME.test(name))
      throw new Error(`${this.constructor.name}: ${kind} name '${name}' must be letters, digits or _`);
    if (this.#params.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new Error(`${this.constructor.name}: '${name}' is already registered`);
    }
  }
}

const join = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);
