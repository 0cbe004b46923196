/**
 * Pooling (avg, max, adaptive), upfirdn2d, up/downsampling and bilinear resizing.
 * Oracle: the float64 CPU reference, finite differences, values computed by PyTorch and PyTorch fixtures.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import {
  adaptiveAvgPool2d,
  avgPool2d,
  globalAvgPool,
  maxPool2d,
  reference as P,
  type Size2,
} from '../src/ops/pool.js';
import {
  downsample2d,
  resizeBilinear,
  upfirdn2d,
  upsample2d,
  reference as RS,
  type Upfirdn2dOptions,
} from '../src/ops/resample.js';
import { nd, type NdArray } from '../src/tensor/ndarray.js';
import { checkGradient, checkHessian, expectTensorClose, randomNd, toGpu } from './helpers.js';
import { checkFixtureCase, loadFixture } from './fixtures.js';

describe('avgPool2d (count_include_pad)', () => {
  const cases: [number[], Size2, Size2 | undefined, Size2][] = [
    [[1, 1, 4, 4], 2, undefined, 0],
    [[3, 2, 7, 5], 3, 2, 1],
    [
      [2, 3, 5, 9],
      [2, 3],
      [1, 2],
      [1, 1],
    ],
    [[1, 2, 6, 6], 3, 1, 1],
    [[2, 1, 3, 3], 3, undefined, 0],
  ];
  for (const [shape, k, s, p] of cases) {
    it(`[${shape}] kernel ${k} stride ${s ?? k} padding ${p}: forward, gradient, H v`, async () => {
      const x = randomNd(shape);
      await checkGradient(
        (t) => avgPool2d(t, k, s, p),
        (a) => P.avgPool2d(a, k, s, p),
        [x],
      );
      // linear: the Hessian is zero, and the double backward goes through the adjoint op
      await checkHessian(
        (t) => E.square(avgPool2d(t, k, s, p)),
        (a) => RS_square(P.avgPool2d(a, k, s, p)),
        [x],
      );
    });
  }
});

const RS_square = (a: NdArray): NdArray => ({ shape: a.shape, data: a.data.map((v) => v * v) });

describe('maxPool2d', () => {
  const cases: [number[], Size2, Size2 | undefined, Size2][] = [
    [[1, 1, 4, 4], 2, undefined, 0],
    [[3, 2, 7, 5], 3, 2, 1],
    [
      [2, 3, 5, 9],
      [2, 3],
      [1, 2],
      [1, 1],
    ],
  ];
  for (const [shape, k, s, p] of cases) {
    it(`[${shape}] kernel ${k} stride ${s ?? k} padding ${p}`, async () => {
      // distinct values: the maximum of each window is unique, so finite differences are valid
      const x = randomNd(shape);
      const perm = [...x.data.keys()].sort((a, b) => Math.sin(a * 12.9898) - Math.sin(b * 12.9898));
      perm.forEach((j, i) => (x.data[j] = (i - perm.length / 2) * 0.01));
      await checkGradient(
        (t) => maxPool2d(t, k, s, p),
        (a) => P.maxPool2d(a, k, s, p),
        [x],
        { eps: 1e-4 },
      );
      await checkHessian(
        (t) => E.square(maxPool2d(t, k, s, p)),
        (a) => RS_square(P.maxPool2d(a, k, s, p)),
        [x],
      );
    });
  }
  it('sends the gradient of a tie to the first maximum, and overlapping windows accumulate', async () => {
    const x = toGpu(nd([1, 1, 2, 3], [1, 5, 5, 0, 5, 2]), true);
    const y = maxPool2d(x, 2, 1);
    expect([...(await y.toArray())]).toEqual([5, 5]);
    const [g] = E.grad([y], [x], { gradOutputs: [E.tensor([1, 10], [1, 1, 1, 2])] });
    expect([...(await g!.toArray())]).toEqual([0, 11, 0, 0, 0, 0]);
    [x, y, g!].forEach((t) => t.dispose());
  });
});

describe('global and adaptive average pooling', () => {
  it('globalAvgPool and adaptiveAvgPool2d(x, 1): (N, C, H, W) -> (N, C, 1, 1)', async () => {
    const x = randomNd([3, 4, 5, 7]);
    await checkGradient(globalAvgPool, P.globalAvgPool, [x]);
    await checkGradient((t) => adaptiveAvgPool2d(t, 1), P.globalAvgPool, [x]);
  });
  it('adaptiveAvgPool2d to a divisor size is an average pool', async () => {
    await checkGradient(
      (t) => adaptiveAvgPool2d(t, [2, 3]),
      (a) => P.avgPool2d(a, [3, 2]),
      [randomNd([2, 2, 6, 6])],
    );
  });
});

describe('pooling rejects bad inputs', () => {
  it('with clear messages', () => {
    E.scope(() => {
      expect(() => avgPool2d(E.zeros([2, 3, 4]), 2)).toThrow(
        /avgPool2d: expected an input of shape \(N, C, H, W\), got \[2,3,4\]/,
      );
      expect(() => maxPool2d(E.zeros([1, 1, 2, 2]), 3)).toThrow(
        /maxPool2d: kernel \[3,3\] with padding \[0,0\] does not fit/,
      );
      expect(() => avgPool2d(E.zeros([1, 1, 4, 4]), 2, 1, 2)).toThrow(
        /padding \[2,2\] should be at most half the kernel/,
      );
      expect(() => avgPool2d(E.zeros([1, 1, 4, 4]), 0)).toThrow(/kernel must be integers >= 1/);
      expect(() => adaptiveAvgPool2d(E.zeros([1, 1, 5, 5]), 2)).toThrow(
        /must be 1 x 1 or divide the input size/,
      );
    });
  });
});

describe('upfirdn2d against the StyleGAN2 definition', () => {
  const k = [1, 3, 3, 1];
  const cases: [string, number[], number[] | number[][], Upfirdn2dOptions][] = [
    // StyleGAN2's upsample2d: up 2, padding [(4 + 1) / 2, (4 - 2) / 2] = [2, 1], gain 4
    ['up 2, [1,3,3,1], StyleGAN2 padding', [2, 3, 4, 5], k, { up: 2, padding: [2, 1, 2, 1], gain: 4 }],
    // downsample2d: down 2, padding [(4 - 2 + 1) / 2, (4 - 2) / 2] = [1, 1]
    ['down 2, [1,3,3,1], StyleGAN2 padding', [1, 2, 8, 6], k, { down: 2, padding: [1, 1, 1, 1] }],
    ['down 2 of odd sizes', [3, 1, 7, 9], k, { down: 2, padding: [1, 1, 1, 1] }],
    // the conv2d_resample "up then conv" padding of a 3x3 transposed conv: [pad + (4 + 2 - 1) / 2 - (3 - 1), ...]
    ['up 2, negative padding (crop)', [1, 2, 5, 4], k, { up: 2, padding: [-1, -2, 0, -1], gain: 4 }],
    ['up 2 and down 2 together', [2, 1, 5, 5], k, { up: 2, down: 2, padding: [1, 2, 2, 1] }],
    [
      'up 3, down 2, odd 2-D filter, flip',
      [1, 2, 3, 4],
      [
        [1, 2, 0.5],
        [0, -1, 3],
      ],
      { up: 3, down: 2, padding: [2, 0, 1, 1], flip: true, gain: 0.7 },
    ],
    [
      '2-D asymmetric filter, no flip (a true convolution)',
      [1, 1, 5, 6],
      [
        [1, 2],
        [3, -4],
        [0.5, 6],
      ],
      { padding: [1, 1, 2, 0] },
    ],
    ['separate x / y factors', [2, 2, 4, 3], [1, 2, 1], { up: [2, 1], down: [1, 3], padding: [1, 1, 0, 2] }],
  ];
  for (const [name, shape, f, o] of cases) {
    it(`${name}: forward, gradient, H v`, async () => {
      const x = randomNd(shape);
      await checkGradient(
        (t) => upfirdn2d(t, f, o),
        (a) => RS.upfirdn2d(a, f, o),
        [x],
      );
      await checkHessian(
        (t) => E.square(upfirdn2d(t, f, o)),
        (a) => RS_square(RS.upfirdn2d(a, f, o)),
        [x],
      );
    });
  }
  it('accepts the filter as a 1-D or 2-D tensor', async () => {
    const x = randomNd([1, 2, 4, 4]);
    const want = RS.upfirdn2d(x, [1, 2, 1], { up: 2, padding: 1 });
    const [a, b] = E.scope(() => {
      const xt = toGpu(x);
      return [
        upfirdn2d(xt, E.tensor([1, 2, 1]), { up: 2, padding: 1 }),
        upfirdn2d(
          xt,
          E.tensor([
            [1, 2, 1],
            [2, 4, 2],
            [1, 2, 1],
          ]),
          { up: 2, padding: 1 },
        ),
      ];
    });
    await expectTensorClose(a, want);
    await expectTensorClose(b, want);
    a.dispose();
    b.dispose();
  });
  it('rejects bad inputs', () => {
    E.scope(() => {
      const x = E.zeros([1, 1, 4, 4]);
      expect(() => upfirdn2d(E.zeros([4, 4]), [1, 1])).toThrow(
        /upfirdn2d: expected an input of shape \(N, C, H, W\), got \[4,4\]/,
      );
      expect(() => upfirdn2d(x, [1, 1], { up: 0 })).toThrow(/up must be a positive integer/);
      expect(() => upfirdn2d(x, [1, 1], { padding: [1, 2, 3] })).toThrow(/padding must be/);
      expect(() => upfirdn2d(x, [1, 1, 1, 1, 1, 1])).toThrow(/filter does not fit/);
      expect(() => upfirdn2d(x, [[1, 2], [3]])).toThrow(/non-empty rectangle/);
    });
  });
});

describe('upsample2d and downsample2d (StyleGAN2 conventions)', () => {
  it('upsample2d doubles the size, preserves a constant image (gain 4, filter of sum 1)', async () => {
    const x = randomNd([2, 3, 5, 7]);
    const f = RS.normalizedFilter([1, 3, 3, 1]) as number[];
    await checkGradient(
      (t) => upsample2d(t),
      (a) => RS.upfirdn2d(a, f, { up: 2, padding: [2, 1, 2, 1], gain: 4 }),
      [x],
    );
    const y = E.scope(() => upsample2d(E.full([1, 1, 4, 4], 3)));
    expect(y.shape).toEqual([1, 1, 8, 8]);
    // away from the zero padding of the border, a constant stays constant
    const v = await y.toArray();
    for (let r = 2; r < 6; r++) for (let c = 2; c < 6; c++) expect(v[r * 8 + c]).toBeCloseTo(3, 5);
    y.dispose();
  });
  it('downsample2d halves the size (odd sizes floor), filter of sum 1', async () => {
    const x = randomNd([1, 2, 9, 6]);
    const f = RS.normalizedFilter([1, 3, 3, 1]) as number[];
    await checkGradient(
      (t) => downsample2d(t),
      (a) => RS.upfirdn2d(a, f, { down: 2, padding: [1, 1, 1, 1] }),
      [x],
    );
    const y = E.scope(() => downsample2d(toGpu(x)));
    expect(y.shape).toEqual([1, 2, 4, 3]);
    y.dispose();
  });
});

describe('resizeBilinear (PyTorch F.interpolate bilinear)', () => {
  const cases: [number[], [number, number], boolean][] = [
    [[2, 3, 5, 7], [9, 4], false],
    [[1, 2, 4, 4], [8, 8], false],
    [[1, 1, 7, 5], [3, 2], false],
    [[3, 1, 6, 5], [11, 13], true],
    [[1, 2, 1, 4], [3, 1], true],
    [[1, 1, 3, 3], [3, 3], false],
  ];
  for (const [shape, size, align] of cases) {
    it(`[${shape}] -> [${size}], alignCorners ${align}: forward, gradient, H v`, async () => {
      const x = randomNd(shape);
      await checkGradient(
        (t) => resizeBilinear(t, size, { alignCorners: align }),
        (a) => RS.resizeBilinear(a, size, align),
        [x],
      );
      await checkHessian(
        (t) => E.square(resizeBilinear(t, size, { alignCorners: align })),
        (a) => RS_square(RS.resizeBilinear(a, size, align)),
        [x],
      );
    });
  }
  it('matches values computed by PyTorch', async () => {
    // torch.nn.functional.interpolate(torch.arange(12.).view(1,1,3,4), size=(2,3), mode='bilinear', align_corners=False)
    const y = E.scope(() => resizeBilinear(E.tensor([...Array(12).keys()], [1, 1, 3, 4]), [2, 3]));
    // rows: src = 1.5 (o + 0.5) - 0.5 = 0.25, 1.75; cols: src = (4/3)(o + 0.5) - 0.5 = 1/6, 3/2, 17/6
    const row = (r: number) => [1 / 6, 1.5, 17 / 6].map((c) => r * 4 + c);
    await expectTensorClose(y, nd([1, 1, 2, 3], [...row(0.25), ...row(1.75)]), 1e-5, 1e-5);
    y.dispose();
  });
  it('rejects bad inputs', () => {
    E.scope(() => {
      expect(() => resizeBilinear(E.zeros([3, 4]), [2, 2])).toThrow(
        /resizeBilinear: expected an input of shape \(N, C, H, W\)/,
      );
      expect(() => resizeBilinear(E.zeros([1, 1, 3, 4]), [0, 2])).toThrow(
        /output size must be positive integers/,
      );
    });
  });
});

describe('upfirdn2d, upsample2d, downsample2d vs PyTorch fixtures', () => {
  const fx = loadFixture('upfirdn2d.json');
  for (const c of fx.cases) {
    const { up, down, pad, gain, wrapper, filter1d } = c.params;
    it(`${c.name}`, async () => {
      await checkFixtureCase(c, (x) => ({ y: upfirdn2d(x.x, x.filter, { up, down, padding: pad, gain }) }));
      if (wrapper !== 'raw')
        await checkFixtureCase(c, (x) => ({
          y: wrapper === 'up' ? upsample2d(x.x, filter1d) : downsample2d(x.x, filter1d),
        }));
    });
  }
});
