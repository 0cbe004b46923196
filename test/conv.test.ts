/**
 * conv2d: every kernel version, its input and weight gradients, second order, bad inputs, memory.
 * Oracle: the float64 CPU reference and finite differences (first and second order).
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import {
  conv2d,
  conv2dInputGrad,
  conv2dInputGradKernel,
  conv2dKernel,
  conv2dSupports,
  conv2dVersions,
  conv2dWeightGrad,
  conv2dWeightGradKernel,
  convGeometry,
  reference as R,
  type Conv2dOptions,
} from '../src/ops/conv.js';
import { reference as ER } from '../src/ops/elementwise.js';
import type { NdArray } from '../src/tensor/ndarray.js';
import { checkGradient, checkHessian, expectTensorClose, randomNd, toGpu } from './helpers.js';

/**
 * `allVersions`: run every kernel version that supports the case, not only the one the engine
 * picks. Each version is generated per geometry and compiled anew (about 1-3 s per pipeline on
 * lavapipe with a cold shader cache), so the full cross product is kept to the cases that
 * reach every code path: plain 3x3, grouped with stride, and asymmetric stride/pad/dilation.
 * The other cases check the version the engine chooses for them.
 */
interface Case {
  name: string;
  x: number[];
  w: number[];
  opts: Conv2dOptions;
  bias?: boolean;
  allVersions?: boolean;
}

// [N, C, H, W], [O, C/g, KH, KW]
const CASES: Case[] = [
  {
    name: '3x3 pad 1 stride 1',
    x: [2, 4, 8, 8],
    w: [8, 4, 3, 3],
    opts: { padding: 1 },
    bias: true,
    allVersions: true,
  },
  {
    name: '3x3 pad 0 stride 2, odd 7x9, C=3 O=5',
    x: [3, 3, 7, 9],
    w: [5, 3, 3, 3],
    opts: { stride: 2 },
    bias: true,
  },
  { name: '3x3 pad 2 dilation 2', x: [1, 3, 9, 7], w: [6, 3, 3, 3], opts: { padding: 2, dilation: 2 } },
  {
    name: '3x3 pad 1 stride 2 groups 2',
    x: [3, 4, 9, 10],
    w: [6, 2, 3, 3],
    opts: { padding: 1, stride: 2, groups: 2 },
    bias: true,
    allVersions: true,
  },
  {
    name: 'depthwise 3x3 pad 1 (groups = C)',
    x: [2, 5, 7, 9],
    w: [5, 1, 3, 3],
    opts: { padding: 1, groups: 5 },
    bias: true,
  },
  {
    name: 'depthwise x2 multiplier, stride 2',
    x: [1, 3, 8, 8],
    w: [6, 1, 3, 3],
    opts: { padding: 1, stride: 2, groups: 3 },
  },
  { name: '1x1 stride 1 (matmul path)', x: [3, 6, 5, 7], w: [5, 6, 1, 1], opts: {}, bias: true },
  { name: '1x1 stride 2 pad 1', x: [2, 4, 7, 6], w: [8, 4, 1, 1], opts: { stride: 2, padding: 1 } },
  {
    name: '7x7 stem stride 2 pad 3',
    x: [2, 3, 19, 17],
    w: [8, 3, 7, 7],
    opts: { stride: 2, padding: 3 },
    bias: true,
  },
  {
    name: 'asymmetric stride/pad/dilation, 2x3 kernel',
    x: [2, 3, 11, 13],
    w: [9, 3, 2, 3],
    opts: { stride: [2, 1], padding: [1, 2], dilation: [1, 2] },
    allVersions: true,
  },
  { name: 'kernel as large as the input', x: [1, 2, 3, 5], w: [4, 2, 3, 5], opts: {} },
  // the small-image routes of src/ops/conv.ts (16..64 output positions, <= 128 channels):
  // forward v2-regblock, wgrad v5 at 64 positions, dgrad v2 at <= 16, the rest im2col
  {
    name: 'small image 8x8, N=3 (fwd v2, wgrad v5)',
    x: [3, 8, 8, 8],
    w: [8, 8, 3, 3],
    opts: { padding: 1 },
    bias: true,
  },
  {
    name: 'small image 4x4, N=5 (fwd and dgrad v2)',
    x: [5, 8, 4, 4],
    w: [12, 8, 3, 3],
    opts: { padding: 1 },
    bias: true,
  },
  { name: 'small image odd 5x7, N=3, C=6 O=5', x: [3, 6, 5, 7], w: [5, 6, 3, 3], opts: { padding: 1 } },
  {
    name: 'small image stride 2 (not routed: im2col), 9x9 -> 5x5',
    x: [4, 6, 9, 9],
    w: [8, 6, 3, 3],
    opts: { stride: 2, padding: 1 },
    bias: true,
  },
  {
    name: "gradient into an image, 7x7 stride 2 as dlib's stem (routed: v12 with subgroups, else im2col)",
    x: [2, 3, 23, 23],
    w: [8, 3, 7, 7],
    opts: { stride: 2 },
  },
  {
    name: 'gradient into an image, 3x3 stride 2 pad 1 (routed: im2col)',
    x: [2, 3, 16, 16],
    w: [8, 3, 3, 3],
    opts: { stride: 2, padding: 1 },
  },
  {
    name: 'gradient into an image, 3x3 stride 1 pad 1 (routed: v12 with subgroups, else o1)',
    x: [2, 3, 12, 12],
    w: [8, 3, 3, 3],
    opts: { padding: 1 },
  },
  {
    name: 'padding larger than the dilated kernel',
    x: [2, 2, 4, 4],
    w: [4, 2, 1, 1],
    opts: { padding: 2, stride: 3 },
  },
];

async function compare(t: E.Tensor, want: NdArray, what: string) {
  const tol = 1e-4;
  await expectTensorClose(t, want, tol, tol, what);
  t.dispose();
}

describe('conv2d kernel versions vs the float64 CPU reference', () => {
  for (const c of CASES) {
    const x = randomNd(c.x),
      w = randomNd(c.w),
      b = c.bias ? randomNd([c.w[0]]) : null;
    const g = convGeometry('conv2d', c.x, c.w, c.opts);
    const dy = randomNd([g.N, g.O, g.OH, g.OW]);
    const wantY = R.conv2d(x, w, b, c.opts);
    const wantDx = R.conv2dInputGrad(dy, w, c.x, c.opts);
    const wantDw = R.conv2dWeightGrad(x, dy, c.w, c.opts);
    const which = c.allVersions ? 'every version' : 'the chosen version';
    // every version compiles anew: minutes on a busy machine
    const timeout = c.allVersions ? 240_000 : undefined;
    const versions = (list: string[]) => [
      ...(c.allVersions ? list.filter((v) => conv2dSupports(v, g)) : []),
      undefined,
    ];
    it(
      `${c.name}: forward, ${which}`,
      async () => {
        for (const v of versions(conv2dVersions.forward)) {
          await compare(
            E.scope(() => conv2dKernel(toGpu(x), toGpu(w), b ? toGpu(b) : undefined, c.opts, v)),
            wantY,
            `forward ${v ?? 'auto'}`,
          );
        }
      },
      timeout,
    );
    it(
      `${c.name}: input gradient, ${which}`,
      async () => {
        for (const v of versions(conv2dVersions.dgrad)) {
          await compare(
            E.scope(() => conv2dInputGradKernel(toGpu(dy), toGpu(w), c.x, c.opts, v)),
            wantDx,
            `dgrad ${v ?? 'auto'}`,
          );
        }
      },
      timeout,
    );
    it(
      `${c.name}: weight gradient, ${which}${c.allVersions ? ' (and split-K slices 1, 3, 7)' : ''}`,
      async () => {
        for (const v of versions(conv2dVersions.wgrad)) {
          await compare(
            E.scope(() => conv2dWeightGradKernel(toGpu(x), toGpu(dy), c.w, c.opts, v)),
            wantDw,
            `wgrad ${v ?? 'auto'}`,
          );
        }
        if (!c.allVersions) return;
        for (const s of [1, 3, 7]) {
          await compare(
            E.scope(() => conv2dWeightGradKernel(toGpu(x), toGpu(dy), c.w, c.opts, 'v3-rows-splitK', s)),
            wantDw,
            `wgrad split ${s}`,
          );
        }
      },
      timeout,
    );
  }
  it('a ResNet-like shape (N=2, 16->16, 14x14, 3x3 pad 1): every version', async () => {
    const c = { x: [2, 16, 14, 14], w: [16, 16, 3, 3], opts: { padding: 1 } };
    const x = randomNd(c.x),
      w = randomNd(c.w),
      b = randomNd([16]),
      dy = randomNd([2, 16, 14, 14]);
    const g = convGeometry('conv2d', c.x, c.w, c.opts);
    const [wy, wdx, wdw] = [
      R.conv2d(x, w, b, c.opts),
      R.conv2dInputGrad(dy, w, c.x, c.opts),
      R.conv2dWeightGrad(x, dy, c.w, c.opts),
    ];
    for (const v of conv2dVersions.forward.filter((v) => conv2dSupports(v, g)))
      await compare(
        E.scope(() => conv2dKernel(toGpu(x), toGpu(w), toGpu(b), c.opts, v)),
        wy,
        `forward ${v}`,
      );
    for (const v of conv2dVersions.dgrad.filter((v) => conv2dSupports(v, g)))
      await compare(
        E.scope(() => conv2dInputGradKernel(toGpu(dy), toGpu(w), c.x, c.opts, v)),
        wdx,
        `dgrad ${v}`,
      );
    for (const v of conv2dVersions.wgrad.filter((v) => conv2dSupports(v, g)))
      await compare(
        E.scope(() => conv2dWeightGradKernel(toGpu(x), toGpu(dy), c.w, c.opts, v)),
        wdw,
        `wgrad ${v}`,
      );
  });
});

describe('conv2d gradients vs finite differences', () => {
  const grads: Case[] = [
    { name: '3x3 pad 1, bias', x: [2, 3, 5, 6], w: [4, 3, 3, 3], opts: { padding: 1 }, bias: true },
    {
      name: 'stride 2, dilation 2, pad 2',
      x: [1, 2, 9, 8],
      w: [3, 2, 3, 3],
      opts: { stride: 2, padding: 2, dilation: 2 },
      bias: true,
    },
    {
      name: 'groups 2, stride 2',
      x: [2, 4, 7, 5],
      w: [6, 2, 3, 2],
      opts: { stride: 2, padding: 1, groups: 2 },
      bias: true,
    },
    { name: 'depthwise', x: [1, 3, 6, 5], w: [3, 1, 3, 3], opts: { padding: 1, groups: 3 }, bias: true },
    { name: '1x1 (matmul path)', x: [3, 4, 3, 5], w: [5, 4, 1, 1], opts: {}, bias: true },
    {
      name: 'small image 8x8 (fwd v2, wgrad v5)',
      x: [2, 3, 8, 8],
      w: [4, 3, 3, 3],
      opts: { padding: 1 },
      bias: true,
    },
    {
      name: 'small image 4x4 (fwd, dgrad v2)',
      x: [3, 2, 4, 4],
      w: [3, 2, 3, 3],
      opts: { padding: 1 },
      bias: true,
    },
  ];
  for (const c of grads) {
    it(`${c.name}: d x, d w, d bias`, async () => {
      await checkGradient(
        (x, w, b) => conv2d(x, w, b, c.opts),
        (x, w, b) => R.conv2d(x, w, b, c.opts),
        [randomNd(c.x), randomNd(c.w), randomNd([c.w[0]])],
      );
    });
  }
  it('conv2dInputGrad and conv2dWeightGrad are differentiable ops themselves', async () => {
    const opts = { stride: 2, padding: 1 };
    const xShape = [2, 3, 7, 6],
      wShape = [4, 3, 3, 3];
    const g = convGeometry('t', xShape, wShape, opts);
    const dyShape = [g.N, g.O, g.OH, g.OW];
    await checkGradient(
      (dy, w) => conv2dInputGrad(dy, w, xShape, opts),
      (dy, w) => R.conv2dInputGrad(dy, w, xShape, opts),
      [randomNd(dyShape), randomNd(wShape)],
    );
    await checkGradient(
      (x, dy) => conv2dWeightGrad(x, dy, wShape, opts),
      (x, dy) => R.conv2dWeightGrad(x, dy, wShape, opts),
      [randomNd(xShape), randomNd(dyShape)],
    );
  });
});

describe('conv2d second order (grad of grad), as in an R1 penalty', () => {
  const cases: Case[] = [
    { name: '3x3 pad 1 then tanh', x: [1, 2, 5, 4], w: [3, 2, 3, 3], opts: { padding: 1 } },
    {
      name: 'stride 2, groups 2 then tanh',
      x: [2, 4, 5, 5],
      w: [4, 2, 3, 3],
      opts: { stride: 2, padding: 1, groups: 2 },
    },
  ];
  for (const c of cases) {
    it(`${c.name}: Hessian-vector products in x and w`, async () => {
      await checkHessian(
        (x, w) => E.tanh(conv2d(x, w, null, c.opts)),
        (x, w) => ER.tanh(R.conv2d(x, w, null, c.opts)),
        [randomNd(c.x), randomNd(c.w)],
      );
    });
  }
  it('two stacked convs with tanh (x, w1, w2), like a tiny discriminator', async () => {
    await checkHessian(
      (x, w1, w2) => conv2d(E.tanh(conv2d(x, w1, null, { padding: 1 })), w2, null, { stride: 2 }),
      (x, w1, w2) => R.conv2d(ER.tanh(R.conv2d(x, w1, null, { padding: 1 })), w2, null, { stride: 2 }),
      [randomNd([1, 2, 5, 5]), randomNd([3, 2, 3, 3]), randomNd([2, 3, 3, 3])],
    );
  });
});

describe('conv2d bad inputs', () => {
  const t = (s: number[]) => E.zeros(s);
  it('channel mismatch names both shapes and the op', () => {
    E.scope(() => {
      expect(() => conv2d(t([1, 3, 5, 5]), t([4, 2, 3, 3]))).toThrow(
        /conv2d: channel mismatch: input \[1,3,5,5\] has C=3 channels, weight \[4,2,3,3\]/,
      );
    });
  });
  it('groups that do not divide the channels', () => {
    E.scope(() => {
      expect(() => conv2d(t([1, 4, 5, 5]), t([6, 2, 3, 3]), null, { groups: 3 })).toThrow(
        /conv2d: groups=3 does not divide the input's 4 channels/,
      );
      expect(() => conv2d(t([1, 4, 5, 5]), t([5, 2, 3, 3]), null, { groups: 2 })).toThrow(
        /conv2d: groups=2 does not divide the weight's 5 output channels/,
      );
    });
  });
  it('output size <= 0', () => {
    E.scope(() => {
      expect(() => conv2d(t([1, 2, 3, 3]), t([2, 2, 5, 5]))).toThrow(
        /conv2d: output size -1x-1 <= 0: input \[1,2,3,3\]/,
      );
      expect(() => conv2d(t([1, 2, 3, 3]), t([2, 2, 3, 3]), null, { dilation: 2 })).toThrow(
        /output size .* <= 0/,
      );
    });
  });
  it('wrong ranks, bias shape, options, dy shape', () => {
    E.scope(() => {
      expect(() => conv2d(t([2, 5, 5]), t([2, 2, 3, 3]))).toThrow(
        /conv2d: input must be 4-D \(N, C, H, W\), got shape \[2,5,5\]/,
      );
      expect(() => conv2d(t([1, 2, 5, 5]), t([2, 2, 3]))).toThrow(/conv2d: weight must be 4-D/);
      expect(() => conv2d(t([1, 2, 5, 5]), t([3, 2, 3, 3]), t([2]))).toThrow(
        /conv2d: bias must have shape \[3\]/,
      );
      expect(() => conv2d(t([1, 2, 5, 5]), t([3, 2, 3, 3]), null, { stride: 0 })).toThrow(
        /conv2d: stride must be a positive integer/,
      );
      expect(() => conv2d(t([1, 2, 5, 5]), t([3, 2, 3, 3]), null, { padding: -1 })).toThrow(
        /conv2d: padding must be a non-negative integer/,
      );
      expect(() => conv2dInputGrad(t([1, 3, 4, 4]), t([3, 2, 3, 3]), [1, 2, 5, 5])).toThrow(
        /conv2dInputGrad: output gradient has shape \[1,3,4,4\], expected \[1,3,3,3\]/,
      );
      expect(() => conv2dKernel(t([1, 2, 5, 5]), t([3, 2, 3, 3]), undefined, {}, 'mm')).toThrow(
        /version 'mm' does not support kernel 3x3.*needs a 1x1 kernel/,
      );
    });
  });
});

describe('conv2d memory', () => {
  it('forward + backward in a scope leaves no live tensors behind', async () => {
    const before = E.liveTensors();
    E.scope(() => {
      const x = toGpu(randomNd([2, 3, 6, 6]), true),
        w = toGpu(randomNd([4, 3, 3, 3]), true),
        b = toGpu(randomNd([4]), true);
      const y = conv2d(x, w, b, { padding: 1, stride: 2 });
      E.grad([E.sum(y)], [x, w, b]);
      const y2 = conv2d(x, toGpu(randomNd([5, 3, 1, 1])), null);
      E.grad([E.sum(y2)], [x]);
    });
    await E.getDevice().sync();
    expect(E.liveTensors()).toBe(before);
  });
});
