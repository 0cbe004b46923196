/**
 * The GAN losses of StyleGAN2 (logistic, non-saturating), from softplus (activation.ts):
 *   generator      mean(softplus(-D(G(z))))
 *   discriminator  mean(softplus(D(G(z)))) + mean(softplus(-D(x)))
 * Composed of differentiable ops, so second order works (the R1 penalty differentiates through
 * the discriminator). With the float64 CPU reference.
 */
import { Tensor } from '../tensor/tensor.js';
import { nd, type NdArray } from '../tensor/ndarray.js';
import { softplus, softplus64 } from './activation.js';
import { add, neg } from './elementwise.js';
import { mean } from './reduce.js';

/** StyleGAN2's non-saturating generator loss: mean(softplus(-D(G(z)))). */
export function ganLossG(fakeLogits: Tensor): Tensor {
  return mean(softplus(neg(fakeLogits)));
}

/** StyleGAN2's logistic discriminator loss: mean(softplus(D(G(z)))) + mean(softplus(-D(x))). */
export function ganLossD(realLogits: Tensor, fakeLogits: Tensor): Tensor {
  return add(mean(softplus(fakeLogits)), mean(softplus(neg(realLogits))));
}

// ---------------------------------------------------------------- CPU reference (float64)

export const reference = {
  ganLossG: (fake: NdArray): NdArray =>
    nd([], [fake.data.reduce((a, v) => a + softplus64(-v), 0) / fake.data.length]),
  ganLossD: (real: NdArray, fake: NdArray): NdArray =>
    nd(
      [],
      [
        fake.data.reduce((a, v) => a + softplus64(v), 0) / fake.data.length +
          real.data.reduce((a, v) => a + softplus64(-v), 0) / real.data.length,
      ],
    ),
};
