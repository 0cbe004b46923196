/**
 * The engine against PyTorch golden fixtures (test/fixtures/*.json; see the README there):
 * outputs, and gradients of sum(w * out) for the fixture's random w.
 */
import { describe, it } from 'vitest';
import { add, mean, neg, sum, mul, logSoftmax } from '../src/index.js';
import { arcfaceLogits, crossEntropy, synfaceLoss } from '../src/ops/loss.js';
import { softplus } from '../src/ops/activation.js';
import { ganLossD, ganLossG } from '../src/ops/gan-loss.js';
import { conv2d } from '../src/ops/conv.js';
import { batchNorm } from '../src/ops/norm.js';
import { modulatedConv2d } from '../src/ops/modconv.js';
import { prelu } from '../src/ops/activation.js';
import { downsample2d, upfirdn2d, upsample2d } from '../src/ops/resample.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { checkFixtureCase, fixtureCase, loadFixture } from './fixtures.js';

describe('losses vs PyTorch', () => {
  const arc = loadFixture('arcface.json');
  for (const c of arc.cases) {
    it(`arcfaceLogits ${c.name}`, async () => {
      const { s, m, easyMargin } = c.params;
      // logits are O(s): float32 rounding of s * cos is ~ s * 6e-8
      await checkFixtureCase(
        c,
        (x) => ({ logits: arcfaceLogits(x.cosine, x.labels, { s, m, easyMargin }) }),
        { atol: 1e-5 * s, gradAtol: 1e-3 * s, gradRtol: 2e-3 },
      );
    });
  }

  const syn = loadFixture('synface_loss.json');
  for (const c of syn.cases) {
    it(`synfaceLoss ${c.name}`, async () => {
      const { psi, s, m } = c.params;
      await checkFixtureCase(
        c,
        (x) => {
          const { loss, logits } = synfaceLoss(x.cosine, {
            a: x.a,
            b: x.b,
            r: x.r,
            wA: x.wA,
            wB: x.wB,
            psi,
            s,
            m,
          });
          return { loss, logits };
        },
        { atol: 1e-5 * s, gradAtol: 2e-3 },
      );
    });
  }

  const losses = loadFixture('losses.json');
  const runs: Record<string, (x: Record<string, Tensor>) => Record<string, Tensor>> = {
    cross_entropy_mean: (x) => ({ loss: crossEntropy(x.x, x.labels) }),
    soft_cross_entropy_mean: (x) => ({ loss: mean(neg(sum(mul(x.t, logSoftmax(x.x, 1)), 1))) }),
    softplus: (x) => ({ y: softplus(x.x) }),
    gan_loss_g: (x) => ({ loss: ganLossG(x.fake) }),
    gan_loss_d: (x) => ({ loss: ganLossD(x.real, x.fake) }),
  };
  for (const [name, run] of Object.entries(runs)) {
    it(`${name}`, async () => {
      await checkFixtureCase(fixtureCase(losses, name), run);
    });
  }
});

describe('conv2d vs PyTorch', () => {
  const fx = loadFixture('conv2d.json');
  for (const c of fx.cases) {
    it(c.name, async () => {
      const { stride, padding, dilation, groups } = c.params;
      await checkFixtureCase(c, (x) => ({
        y: conv2d(x.x, x.weight, x.bias, { stride, padding, dilation, groups }),
      }));
    });
  }
});

describe('batchNorm2d vs PyTorch (output, gradients, running stats)', () => {
  const fx = loadFixture('batchnorm2d.json');
  for (const c of fx.cases) {
    it(c.name, async () => {
      const { training, momentum, eps } = c.params;
      await checkFixtureCase(c, (x) => ({
        y: batchNorm(x.x, {
          weight: x.weight,
          bias: x.bias,
          runningMean: x.running_mean,
          runningVar: x.running_var,
          training,
          momentum,
          eps,
        }),
      }));
    });
  }
});

describe('StyleGAN2 modulated conv vs PyTorch', () => {
  const fx = loadFixture('modulated_conv.json');
  for (const c of fx.cases) {
    it(c.name, async () => {
      const { demodulate, padding, eps } = c.params;
      await checkFixtureCase(c, (x) => ({
        y: modulatedConv2d(x.x, x.weight, x.styles, { demodulate, padding, eps }),
      }));
    });
  }
});

describe('StyleGAN2 upfirdn2d, upsample2d, downsample2d vs PyTorch', () => {
  const fx = loadFixture('upfirdn2d.json');
  for (const c of fx.cases) {
    const { up, down, pad, gain, wrapper, filter1d } = c.params;
    it(`${c.name}: upfirdn2d with the effective arguments`, async () => {
      await checkFixtureCase(c, (x) => ({ y: upfirdn2d(x.x, x.filter, { up, down, padding: pad, gain }) }));
    });
    if (wrapper !== 'raw') {
      it(`${c.name}: ${wrapper === 'up' ? 'upsample2d' : 'downsample2d'}`, async () => {
        await checkFixtureCase(c, (x) => ({
          y: wrapper === 'up' ? upsample2d(x.x, filter1d) : downsample2d(x.x, filter1d),
        }));
      });
    }
  }
});

describe('IResNet block (train mode) vs PyTorch', () => {
  const c = loadFixture('iresnet_block.json').cases[0];
  it(c.name, async () => {
    const { eps, momentum, stride } = c.params;
    await checkFixtureCase(
      c,
      (p) => {
        const bn = (t: Tensor, n: string) =>
          batchNorm(t, {
            weight: p[`${n}.weight`],
            bias: p[`${n}.bias`],
            runningMean: p[`${n}.running_mean`],
            runningVar: p[`${n}.running_var`],
            training: true,
            momentum,
            eps,
          });
        let h = conv2d(bn(p.x, 'bn1'), p['conv1.weight'], null, { padding: 1 });
        h = prelu(bn(h, 'bn2'), p['prelu.weight']);
        h = bn(conv2d(h, p['conv2.weight'], null, { stride, padding: 1 }), 'bn3');
        const sc = bn(conv2d(p.x, p['shortcut.conv.weight'], null, { stride }), 'shortcut.bn');
        return { y: add(h, sc) };
      },
      { rtol: 2e-4, atol: 5e-5, gradRtol: 2e-3, gradAtol: 5e-4 },
    );
  });
});
