/**
 * SynFace's two mixups as strips of images (no Node imports), for the demo and the docs:
 *
 *   identity mixup  one synthetic face whose identity input goes from person B to person A:
 *                   image k has the identity code phi_k code(A) + (1 - phi_k) code(B),
 *                   phi_k = k / steps (mixIdentity, as `synthesize --mixup` makes its images),
 *                   every other input (expression, pose, lighting, z, noise) that of A's image,
 *                   so the strip shows the identity alone moving; its soft label is
 *                   (A: phi_k, B: 1 - phi_k)
 *   domain mixup    a synthetic face S and a real face R blended in pixels:
 *                   x_k = psi_k S + (1 - psi_k) R, psi_k = k / steps. Training blends in the
 *                   normalized space (u / 127.5 - 1), an affine map of the pixels, so this is the
 *                   same picture up to the final rounding; the label mixes the same way
 *                   (synthetic identity psi_k, real person 1 - psi_k)
 */
import type { FactorRequest, SyntheticRequests } from './generator-samples.js';

/** The weights of a strip of steps + 1 images: 0, 1/steps, ..., 1. */
export function mixWeights(steps: number): Float32Array {
  if (!(Number.isInteger(steps) && steps >= 1))
    throw new RangeError(`mixWeights: steps must be an integer >= 1, got ${steps}`);
  return Float32Array.from({ length: steps + 1 }, (_, k) => k / steps);
}

/** Row `i` of each per-image array of a request, repeated `n` times. */
function repeatRow(a: Float32Array, dim: number, i: number, n: number): Float32Array {
  const out = new Float32Array(n * dim);
  for (let k = 0; k < n; k++) out.set(a.subarray(i * dim, (i + 1) * dim), k * dim);
  return out;
}

/**
 * The identity-mixup strip's requests (see the header): A is image `a` of `base`, B image `b`
 * (their descriptors); all the other inputs are image a's.
 */
export function identityMixupRequests(
  base: SyntheticRequests,
  a: number,
  b: number,
  steps: number,
  zDim: number,
): FactorRequest & { mix: NonNullable<FactorRequest['mix']> } {
  if (!(a >= 0 && a < base.count && b >= 0 && b < base.count && a !== b))
    throw new RangeError(`identityMixupRequests: images ${a} and ${b} of ${base.count} (two different ones)`);
  const phi = mixWeights(steps);
  const n = phi.length;
  const dims = {
    descriptor: base.descriptor.length / base.count,
    expression: base.expression.length / base.count,
    pose: base.pose.length / base.count,
    lighting: base.lighting.length / base.count,
  };
  return {
    count: n,
    descriptor: repeatRow(base.descriptor, dims.descriptor, a, n),
    expression: repeatRow(base.expression, dims.expression, a, n),
    pose: repeatRow(base.pose, dims.pose, a, n),
    lighting: repeatRow(base.lighting, dims.lighting, a, n),
    z: repeatRow(base.z, zDim, a, n),
    mix: { partner: repeatRow(base.descriptor, dims.descriptor, b, n), phi },
  };
}

/**
 * The domain-mixup strip (see the header): synthetic and real, u8 images of the same size
 * (any layout, e.g. CHW), -> (steps + 1) images, concatenated.
 */
export function domainMixupStrip(synthetic: Uint8Array, real: Uint8Array, steps: number): Uint8Array {
  if (synthetic.length !== real.length)
    throw new RangeError(
      `domainMixupStrip: the synthetic image has ${synthetic.length} values, the real one ${real.length}`,
    );
  const psi = mixWeights(steps);
  const size = synthetic.length;
  const out = new Uint8Array(psi.length * size);
  psi.forEach((p, k) => {
    for (let i = 0; i < size; i++) out[k * size + i] = Math.round(p * synthetic[i] + (1 - p) * real[i]);
  });
  return out;
}
