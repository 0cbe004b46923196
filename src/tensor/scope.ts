/**
 * Scopes: deterministic freeing of temporaries.
 *
 *   const loss = scope(() => {        // every tensor created inside is tracked...
 *     const h = relu(matmul(x, w));
 *     return mean(square(h));         // ...and freed at the end, except what is returned
 *   });
 *
 * Returned tensors (alone, in arrays, or in plain objects) move to the enclosing scope, or
 * become the caller's to dispose at top level. `keep(t)` takes a tensor out of all scopes
 * (parameters, optimizer state, gradients of leaves). Scopes are synchronous: an async
 * function inside one would let other code run with the wrong scope on top.
 */
import type { Tensor } from './tensor.js';

const stack: Set<Tensor>[] = [];

export function track(t: Tensor): void {
  stack[stack.length - 1]?.add(t);
}

export function untrack(t: Tensor): void {
  for (let i = stack.length - 1; i >= 0; i--) if (stack[i].delete(t)) return;
}

/** Removes a tensor from every scope: its owner now disposes it. */
export function keep<T extends Tensor>(t: T): T {
  untrack(t);
  return t;
}

export function scope<T>(fn: () => T): T {
  const created = new Set<Tensor>();
  stack.push(created);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise)
      throw new Error('scope(): the function returned a Promise; scopes must be synchronous');
  } catch (e) {
    stack.pop();
    for (const t of created) t.dispose();
    throw e;
  }
  stack.pop();
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of created) {
    if (kept.has(t)) stack[stack.length - 1]?.add(t);
    else t.dispose();
  }
  return result;
}

function collectTensors(value: unknown, out: Set<Tensor>): void {
  if (!value || typeof value !== 'object') return;
  if (isTensor(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, out);
  else if (Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collectTensors(v, out);
}

function isTensor(v: object): v is Tensor {
  return 'shape' in v && 'dtype' in v && 'binding' in v;
}
