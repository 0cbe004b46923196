/**
 * Reverse-mode automatic differentiation.
 *
 * Every op that has an input requiring grad records a GradNode on its output: the inputs, and
 * a `backward` closure mapping the output's gradient to the inputs' gradients. The closures
 * are written with the engine's own differentiable ops, so running backward while recording
 * (`createGraph: true`) yields gradients that can be differentiated again: this is how the
 * R1 penalty |dD(x)/dx|^2 of a GAN discriminator gets its own gradient.
 *
 *   backward(loss)                 accumulates d loss / d leaf into every leaf's `.grad`
 *   grad([y], [x], {createGraph})  returns dy/dx without touching `.grad`
 *
 * The tape's own arithmetic sits on the tensor layer, so autograd needs nothing from the ops:
 * `ones` (tensor/create.ts) seeds a backward pass, and the sum of two gradients of one tensor
 * and a gradient's copy are two small recorded kernels at the end of this file.
 */
import { Tensor, type GradNode } from '../tensor/tensor.js';
import { keep, scope } from '../tensor/scope.js';
import { ones } from '../tensor/create.js';
import { elementwise } from '../tensor/kernel.js';

export type { GradNode };

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording anything for autograd (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const before = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = before;
  }
}

/** Attaches a GradNode to `out` when grad is on and some input requires grad. */
export function record(out: Tensor, op: string, inputs: Tensor[], backward: GradNode['backward']): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

/** Outputs first, inputs last: the order in which gradients can flow. */
function reverseTopologicalOrder(roots: Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS (post-order): deep networks would overflow a recursive one.
  const stack: [Tensor, number][] = roots.filter((r) => r.requiresGrad).map((r) => [r, 0]);
  for (const r of roots) seen.add(r);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i];
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

export interface GradOptions {
  /** Gradients of the outputs (default: ones; outputs must then be scalars). */
  gradOutputs?: Tensor[];
  /** Record the backward pass so the gradients can be differentiated again. */
  createGraph?: boolean;
}

/**
 * The core of backward: propagates output gradients through the graph and returns the
 * gradient of every tensor in `wanted` (null where it does not depend on the outputs).
 *
 * Without createGraph, memory is given back as soon as it can be: each node's backward runs in
 * its own scope (its temporaries are freed when it returns), and a gradient is disposed once
 * no entry of the map holds it any more (it was consumed, or summed into another). Tensors the
 * caller gave (`keepAlive`) are never disposed here.
 */
function propagate(
  outputs: Tensor[],
  wanted: Set<Tensor>,
  options: GradOptions,
  keepAlive: Set<Tensor>,
): Map<Tensor, Tensor> {
  const eager = !options.createGraph;
  const grads = new Map<Tensor, Tensor>();
  const holders = new Map<Tensor, number>(); // how many map entries hold each gradient tensor
  const release = (g: Tensor) => {
    const n = (holders.get(g) ?? 0) - 1;
    holders.set(g, n);
    if (n <= 0 && eager && !keepAlive.has(g)) {
      holders.delete(g);
      g.dispose();
    }
  };
  const accumulate = (t: Tensor, g: Tensor) => {
    const prev = grads.get(t);
    const next = prev ? addGradients(prev, g) : g;
    holders.set(next, (holders.get(next) ?? 0) + 1);
    grads.set(t, next);
    if (prev) {
      release(prev);
      if ((holders.get(g) ?? 0) === 0 && eager && !keepAlive.has(g)) g.dispose(); // summed in, held by nobody
    }
  };
  outputs.forEach((o, i) => {
    if (!o.requiresGrad) return; // a constant output: zero gradient everywhere (results stay null)
    const g = options.gradOutputs?.[i];
    if (g && g.shape.join() !== o.shape.join()) {
      throw new RangeError(`backward: gradient of shape [${g.shape}] for output of shape [${o.shape}]`);
    }
    if (!g && o.size !== 1)
      throw new RangeError(`backward: output of shape [${o.shape}] is not a scalar; pass gradOutputs`);
    accumulate(o, g ?? ones(o.shape));
  });
  for (const t of reverseTopologicalOrder(outputs)) {
    const g = grads.get(t);
    if (!g || !t.node) continue;
    const node = t.node;
    const inputGrads = eager ? scope(() => node.backward(g)) : node.backward(g);
    node.inputs.forEach((input, k) => {
      const gi = inputGrads[k];
      if (!gi || !input.requiresGrad) return;
      if (gi.shape.join() !== input.shape.join()) {
        throw new Error(
          `autograd: '${node.op}' returned a gradient of shape [${gi.shape}] for an input of shape [${input.shape}]`,
        );
      }
      accumulate(input, gi);
    });
    if (!wanted.has(t)) {
      grads.delete(t);
      release(g);
    }
    // a gradient returned by the node but not stored (its input needs none) is not held
    if (eager)
      for (const gi of inputGrads) if (gi && !holders.has(gi) && !keepAlive.has(gi) && gi !== g) gi.dispose();
  }
  return grads;
}

/**
 * d(outputs)/d(inputs), null where an input does not affect the outputs. Each returned
 * gradient is a fresh tensor owned by the caller's scope.
 */
export function grad(outputs: Tensor[], inputs: Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const wanted = new Set(inputs);
  // Every result must be a tensor of its own: a gradient that is a pre-existing tensor (a
  // caller's gradOutput passed straight through) or that two inputs share (add returns its
  // incoming gradient to both operands) is copied, so the caller can dispose each freely.
  const before = new Set<Tensor>([...(options.gradOutputs ?? []), ...outputs, ...inputs]);
  const run = () => {
    const grads = propagate(outputs, wanted, options, before);
    const given = new Set<Tensor>();
    return inputs.map((x) => {
      const g = grads.get(x) ?? null;
      if (!g) return null;
      if (before.has(g) || given.has(g)) return copyGradient(g);
      given.add(g);
      return g;
    });
  };
  if (options.createGraph) return run();
  // Without a graph to keep, the temporaries of the backward pass are freed here.
  return scope(() => noGrad(run));
}

/** Accumulates d(output)/d(leaf) into the `.grad` of every leaf that requires grad. */
export function backward(output: Tensor, gradOutput?: Tensor, options: { createGraph?: boolean } = {}): void {
  if (!output.requiresGrad)
    throw new Error(`backward: ${output} does not require grad (no input of its graph has requiresGrad)`);
  const leaves = reverseTopologicalOrder([output]).filter((t) => !t.node);
  const grads = grad([output], leaves, {
    gradOutputs: gradOutput ? [gradOutput] : undefined,
    createGraph: options.createGraph,
  });
  leaves.forEach((leaf, i) => {
    const g = grads[i];
    if (!g) return;
    if (leaf.grad) {
      const sum = options.createGraph
        ? addGradients(leaf.grad, g)
        : noGrad(() => addGradients(leaf.grad!, g));
      leaf.grad.dispose();
      g.dispose();
      leaf.grad = keep(sum);
    } else {
      leaf.grad = keep(g);
    }
  });
}

// ---------------------------------------------------------------- the tape's own arithmetic

// Recorded like any op (the same kernels and backward as ops' add and copy, for operands of
// one shape), so that a createGraph pass can be differentiated again.

/** a + b, for two gradients of the same tensor. */
function addGradients(a: Tensor, b: Tensor): Tensor {
  return record(elementwise('add', 'a + b', [a, b]), 'add', [a, b], (g) => [g, g]);
}

/** A gradient of its own, for a caller who may dispose it freely. */
function copyGradient(x: Tensor): Tensor {
  return record(elementwise('copy', 'a', [x]), 'copy', [x], (g) => [g]);
}
