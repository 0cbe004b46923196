/**
 * The same StyleGAN2-shaped G + D training step as bench/cases/stylegan.ts (`stylegan-step-64`:
 * widths, layers, losses, Adam and batch are listed there), in TensorFlow.js on its WebGPU
 * backend, NHWC.
 *
 * What differs from our side, and why it is the same work:
 *  - The modulated conv is written as ours is (StyleGAN2's fused_modconv=False form): x times
 *    the styles, one conv of the whole batch, times the demodulation coefficients
 *    rsqrt(s^2 @ sum_k w^2 + eps).
 *  - FIR resampling with [1, 3, 3, 1]: tfjs has no upfirdn2d, so upsampling inserts zeros by
 *    two stacks with zeros and reshapes, pads (2, 1) and runs a 4x4 depthwise conv (gain 4);
 *    downsampling pads (1, 1) and runs a 4x4 depthwise conv with stride 2. Ours runs one
 *    upfirdn2d kernel for each.
 *  - Noise and z are drawn by tf.randomNormal (on the CPU, then uploaded); ours by a GPU
 *    Philox generator.
 *  - Gradients by optimizer.minimize over the G (or D) variables only; tf.train.adam(0.0025,
 *    0, 0.99, 1e-8) as ours, but as several ops per variable where ours is one kernel.
 *  - Ops on tiny inputs run on the GPU (WEBGPU_CPU_FORWARD off during the case), as ours do.
 *  - The step waits for the GPU (flush + onSubmittedWorkDone) without reading back, as ours.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { PeerCase, TfjsWebgpuPeer } from './tfjs-webgpu.js';
import { STYLEGAN_BENCH as B } from '../cases/stylegan.js';

type Tf = typeof TfCore;
type T = TfCore.Tensor;
type T4 = TfCore.Tensor4D;
type T2 = TfCore.Tensor2D;

/**
 * StyleGAN2's layers in tfjs, NHWC, as the closures both peers build their networks from
 * (this file's stylegan-step-64 and tfjs-generator.ts's generator-train-step). Variables are
 * pushed on the list given; dispose() frees the cached FIR filters.
 */
export function tfjsStyleganLayers(tf: Tf, wDim: number) {
  const firCache = new Map<string, T4>();

  const lrelu = (x: T) => tf.mul(tf.leakyRelu(x, 0.2), Math.SQRT2);

  /** outer(f, f) / sum^2 * gain, as a depthwise filter (4, 4, C, 1) */
  const fir = (C: number, gain: number): T4 => {
    const key = `${C}:${gain}`;
    if (!firCache.has(key)) {
      const f = [1, 3, 3, 1],
        v: number[] = [];
      for (const a of f) for (const b of f) for (let c = 0; c < C; c++) v.push((a * b * gain) / 64);
      firCache.set(key, tf.keep(tf.tensor4d(v, [4, 4, C, 1])));
    }
    return firCache.get(key)!;
  };
  const upsample = (x: T4): T4 => {
    const [N, H, W, C] = x.shape;
    const zx = tf.zerosLike(x);
    const wide = tf.reshape(tf.stack([x, zx], 3), [N, H, 2 * W, C]);
    const tall = tf.reshape(tf.stack([wide, tf.zerosLike(wide)], 2), [N, 2 * H, 2 * W, C]) as T4;
    const padded = tf.pad(tall, [
      [0, 0],
      [2, 1],
      [2, 1],
      [0, 0],
    ]) as T4;
    return tf.depthwiseConv2d(padded, fir(C, 4), 1, 'valid');
  };
  const downsample = (x: T4): T4 => {
    const padded = tf.pad(x, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]) as T4;
    return tf.depthwiseConv2d(padded, fir(x.shape[3], 1), 2, 'valid');
  };

  const variable = (list: TfCore.Variable[], t: T) => {
    const v = tf.variable(t);
    list.push(v);
    return v;
  };

  /** EqualLinear: y = act(x (gain W) + lrMul b) */
  const equalLinear = (
    list: TfCore.Variable[],
    cin: number,
    cout: number,
    o: { lrMul?: number; biasInit?: number; act?: boolean } = {},
  ) => {
    const lrMul = o.lrMul ?? 1;
    const w = variable(list, tf.randomNormal([cin, cout], 0, 1 / lrMul));
    const b = variable(list, tf.fill([cout], (o.biasInit ?? 0) / lrMul));
    const gain = lrMul / Math.sqrt(cin);
    return (x: T2): T2 => {
      const y = tf.add(tf.matMul(x, tf.mul(w, gain)), tf.mul(b, lrMul)) as T2;
      return o.act ? (lrelu(y) as T2) : y;
    };
  };

  /** EqualConv2d, 'same' padding; bias and lrelu unless turned off */
  const equalConv = (
    list: TfCore.Variable[],
    cin: number,
    cout: number,
    k: number,
    o: { bias?: boolean; act?: boolean } = {},
  ) => {
    const w = variable(list, tf.randomNormal([k, k, cin, cout]));
    const b = (o.bias ?? true) ? variable(list, tf.zeros([cout])) : null;
    const gain = 1 / Math.sqrt(cin * k * k);
    return (x: T4): T4 => {
      let y = tf.conv2d(x, tf.mul(w, gain) as T4, 1, 'same') as T;
      if (b) y = tf.add(y, b);
      return ((o.act ?? true) ? lrelu(y) : y) as T4;
    };
  };

  /** ModulatedConv: affine, (upsample), modulate, conv, demodulate, noise, bias + act */
  const modConv = (
    list: TfCore.Variable[],
    cin: number,
    cout: number,
    o: { k?: number; up?: boolean; toRgb?: boolean } = {},
  ) => {
    const k = o.k ?? 3;
    const affine = equalLinear(list, wDim, cin, { biasInit: 1 });
    const weight = variable(list, tf.randomNormal([k, k, cin, cout]));
    const bias = variable(list, tf.zeros([cout]));
    const strength = o.toRgb ? null : variable(list, tf.zeros([]));
    return (x: T4, w: T2): T4 => {
      const N = x.shape[0];
      const styles = affine(w); // (N, cin)
      const input = o.up ? upsample(x) : x;
      const wt = tf.mul(weight, 1 / Math.sqrt(cin * k * k)) as T4;
      let y = tf.conv2d(tf.mul(input, tf.reshape(styles, [N, 1, 1, cin])) as T4, wt, 1, 'same');
      if (!o.toRgb) {
        const wSquared = tf.sum(tf.square(wt), [0, 1]); // (cin, cout)
        const d = tf.rsqrt(tf.add(tf.matMul(tf.square(styles), wSquared as T2), 1e-8)); // (N, cout)
        y = tf.mul(y, tf.reshape(d, [N, 1, 1, cout]));
        const [, H, W] = y.shape;
        y = tf.add(y, tf.mul(strength!, tf.randomNormal([N, H, W, 1])));
      }
      const z = tf.add(y, bias) as T4;
      return o.toRgb ? z : (lrelu(z) as T4);
    };
  };

  /** x / sqrt(mean(x^2) + 1e-8) over each row's features (StyleGAN's PixelNorm). */
  const pixelNorm = (x: T2): T2 => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), 1e-8))) as T2;

  /**
   * The synthesis network at `resolutions` (4 first) with `widths` channels: a learned 4x4 input,
   * then per resolution an upsampling modulated conv (not at 4 px), a modulated conv and a 1x1
   * toRGB, the RGB images summed upward (skip). Returns w (N, wDim) -> images (N, R, R, 3).
   */
  const synthesis = (list: TfCore.Variable[], widths: Record<number, number>, resolutions: number[]) => {
    const constInput = variable(list, tf.randomNormal([1, 4, 4, widths[4]]));
    const blocks = resolutions.map((r, i) => {
      const cin = i ? widths[resolutions[i - 1]] : widths[4],
        cout = widths[r];
      return {
        conv0: i ? modConv(list, cin, cout, { up: true }) : null,
        conv1: modConv(list, cout, cout),
        toRgb: modConv(list, cout, 3, { k: 1, toRgb: true }),
      };
    });
    return (w: T2): T4 => {
      let x = tf.tile(constInput, [w.shape[0], 1, 1, 1]) as T4;
      let img: T4 | null = null;
      for (const b of blocks) {
        if (b.conv0) x = b.conv0(x, w);
        x = b.conv1(x, w);
        const rgb = b.toRgb(x, w);
        img = img ? (tf.add(upsample(img), rgb) as T4) : rgb;
      }
      return img!;
    };
  };

  const minibatchStd = (x: T4): T4 => {
    const [N, H, W, C] = x.shape;
    const g = Math.min(4, N),
      n = N / g;
    const y = tf.reshape(x, [g, n, H, W, C]);
    const centred = tf.sub(y, tf.mean(y, 0));
    const sd = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), 1e-8)); // (n, H, W, C)
    const stat = tf.mean(sd, [1, 2, 3]); // (n)
    // a rank-4 tile: tfjs tiles rank >= 5 on the CPU, after a read-back
    const maps = tf.reshape(tf.tile(tf.reshape(stat, [1, n, 1, 1]), [g, 1, H * W, 1]), [N, H, W, 1]);
    return tf.concat([x, maps], 3) as T4;
  };

  const dispose = () => {
    for (const f of firCache.values()) f.dispose();
    firCache.clear();
  };
  return {
    lrelu,
    upsample,
    downsample,
    variable,
    equalLinear,
    equalConv,
    modConv,
    pixelNorm,
    synthesis,
    minibatchStd,
    dispose,
  };
}

export function tfjsStyleganTrainStep(peer: TfjsWebgpuPeer): PeerCase {
  const tf: Tf = peer.tf;
  const gVars: TfCore.Variable[] = [],
    dVars: TfCore.Variable[] = [];
  let G: ((z: T2) => T4) | null = null,
    D: ((img: T4) => T2) | null = null;
  let reals: T4 | null = null;
  let optG: TfCore.AdamOptimizer | null = null,
    optD: TfCore.AdamOptimizer | null = null;
  const L = tfjsStyleganLayers(tf, B.wDim);
  const { downsample, minibatchStd } = L;
  const equalLinear = L.equalLinear;
  const equalConv = (cin: number, cout: number, k: number) => L.equalConv(dVars, cin, cout, k);

  const build = () => {
    const W = B.widths;
    const mapping = Array.from({ length: B.mappingLayers }, (_, i) =>
      equalLinear(gVars, i ? B.wDim : B.zDim, B.wDim, { lrMul: 0.01, act: true }),
    );
    const synthesis = L.synthesis(gVars, W, B.resolutions);
    G = (z) => {
      let w = L.pixelNorm(z);
      for (const m of mapping) w = m(w);
      return synthesis(w);
    };

    const fromRgb = equalConv(3, W[64], 1);
    const convs = [64, 32, 16, 8].map((r) => [equalConv(W[r], W[r], 3), equalConv(W[r], W[r / 2], 3)]);
    const epilogue = equalConv(W[4] + 1, W[4], 3);
    const fc = equalLinear(dVars, W[4] * 16, W[4], { act: true });
    const out = equalLinear(dVars, W[4], 1);
    D = (img) => {
      let x = fromRgb(img);
      for (const [c0, c1] of convs) x = c1(downsample(c0(x)));
      x = epilogue(minibatchStd(x));
      return out(fc(tf.reshape(x, [x.shape[0], -1]) as T2));
    };
  };

  let tensorsBefore = 0;
  let cpuForward = true;
  return {
    name: 'stylegan-step-64',
    unit: 'images/s',
    work: B.batch,
    opsPerRun: 1,
    minIterations: 2,
    async setup() {
      // tfjs would run ops on tiny inputs on the CPU (WEBGPU_CPU_FORWARD) and read GPU data back
      // for them (the minibatch-std tile): keep the whole step on the GPU, as ours
      cpuForward = tf.env().getBool('WEBGPU_CPU_FORWARD');
      tf.env().set('WEBGPU_CPU_FORWARD', false);
      tensorsBefore = tf.memory().numTensors;
      tf.tidy(build); // tf.variable(init) copies init: tidy frees the initial values
      reals = tf.randomNormal([B.batch, B.size, B.size, 3]) as T4;
      optG = tf.train.adam(B.adam.lr, B.adam.betas[0], B.adam.betas[1], B.adam.eps);
      optD = tf.train.adam(B.adam.lr, B.adam.betas[0], B.adam.betas[1], B.adam.eps);
      await peer.sync();
    },
    async run() {
      const z = () => tf.randomNormal([B.batch, B.zDim]) as T2;
      // G step: gradients for G's variables only
      optG!.minimize(() => tf.mean(tf.softplus(tf.neg(D!(G!(z()))))) as TfCore.Scalar, false, gVars);
      // D step: fakes outside the gradient, reals and fakes through D
      const fakes = tf.tidy(() => G!(z()));
      optD!.minimize(
        () =>
          tf.add(tf.mean(tf.softplus(D!(fakes))), tf.mean(tf.softplus(tf.neg(D!(reals!))))) as TfCore.Scalar,
        false,
        dVars,
      );
      fakes.dispose();
      await peer.sync();
    },
    async teardown() {
      optG?.dispose();
      optD?.dispose();
      optG = optD = null;
      for (const v of [...gVars, ...dVars]) v.dispose();
      gVars.length = dVars.length = 0;
      L.dispose();
      reals?.dispose();
      reals = null;
      await peer.sync();
      tf.env().set('WEBGPU_CPU_FORWARD', cpuForward);
      const leaked = tf.memory().numTensors - tensorsBefore;
      if (leaked !== 0) throw new Error(`tfjs stylegan-step-64: leaked ${leaked} tensors`);
    },
  };
}
