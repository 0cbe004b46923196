/**
 * `stylegan-step-64`: one training step of a StyleGAN2-shaped 64x64 GAN, the shape the
 * generator of issue 10 will have, built from the engine's StyleGAN2 layers
 * (src/nn/stylegan-layers.ts, src/ops/stylegan.ts, src/ops/modconv.ts, src/ops/resample.ts).
 * The peer builds the same networks in bench/peers/tfjs-stylegan.ts.
 *
 *   widths      {4: 128, 8: 128, 16: 64, 32: 32, 64: 16} channels at each resolution
 *   mapping     z (128) normalized by its RMS -> 2 x EqualLinear(128, 128, lrelu, lrMul 0.01) -> w (128)
 *   G           const (128, 4, 4); at 4 px one modulated 3x3 conv (128 -> 128); at 8..64 px a
 *               2x FIR-upsampled modulated 3x3 conv (C_prev -> C) and a modulated 3x3 conv
 *               (C -> C); every modulated conv demodulates, adds noise (learned strength) and
 *               bias + lrelu; skip toRGB: a 1x1 modulated conv (no demodulation) at every
 *               resolution, summed with the 2x FIR-upsampled image of the one before.
 *               Filter [1, 3, 3, 1]. All layers take the same w (no style mixing).
 *   D           fromRGB 1x1 (3 -> 16, lrelu) at 64 px; at 64, 32, 16, 8 px a 3x3 conv (C -> C),
 *               a 2x FIR downsample and a 3x3 conv (C -> C_next) at the half size, both lrelu;
 *               at 4 px minibatch std (group 4, 1 channel), 3x3 conv (129 -> 128), fc
 *               (128 * 16 -> 128, lrelu), fc (128 -> 1). Equalized lr everywhere.
 *   step        G: z -> G -> D -> non-saturating loss, gradients for G only (D's parameters do
 *               not require grad during it, as StyleGAN2 does), Adam on G.
 *               D: fakes from G without a tape, D on 16 reals and 16 fakes, logistic loss,
 *               Adam on D. Adam lr 0.0025, betas (0, 0.99), eps 1e-8. No R1, no EMA.
 *   batch       16; the reals are one fixed random batch (speed does not depend on them).
 * Unit: images per second (16 per G + D step).
 *
 * Starting point of issue 10, measured 2026-12-02 with `npm run bench -- --filter stylegan`
 * (lavapipe, 2 cores, load average about 6 from other work on the machine):
 *   synface 2.104 images/s, tfjs-webgpu 0.5101 images/s in the same run (4.1x).
 * A quiet machine gave ours about 2.5 images/s (6.3 s per step, 3 steps timed alone).
 * With the grouped modulated conv at 32 and 64 px (modulatedConv2d's form 'auto'), two runs of
 * the same command (load average 4-6): synface 2.457 and 2.338 images/s, tfjs-webgpu 0.4706
 * and 0.6166 (5.2x, 3.8x). The same-process before/after is in bench/modconv-forms.ts.
 */
import * as E from '../../src/index.js';
import { EqualConv2d, EqualLinear, Module, ModulatedConv, MinibatchStd } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';
import type { ModConvOptions } from '../../src/ops/modconv.js';
import type { PeerCase } from '../peers/tfjs-webgpu.js';

/** How the generator's modulated convs run: the form and, for the upsampling ones, the mode. */
export interface StyleganBenchOptions {
  form?: NonNullable<ModConvOptions['form']>;
  upMode?: 'transposed' | 'fir-first';
}

export const STYLEGAN_BENCH = {
  batch: 16,
  size: 64,
  zDim: 128,
  wDim: 128,
  mappingLayers: 2,
  /** channels at 4, 8, 16, 32, 64 px */
  widths: { 4: 128, 8: 128, 16: 64, 32: 32, 64: 16 } as Record<number, number>,
  resolutions: [4, 8, 16, 32, 64],
  adam: { lr: 0.0025, betas: [0, 0.99] as [number, number], eps: 1e-8 },
};

const B = STYLEGAN_BENCH;

/** One synthesis resolution: (upsampling conv), conv, toRGB. */
class SynthesisBlock extends Module {
  conv0: ModulatedConv | null;
  conv1: ModulatedConv;
  toRgb: ModulatedConv;

  constructor(cin: number, cout: number, first: boolean, gen: E.Generator, o: StyleganBenchOptions) {
    super();
    this.conv0 = first
      ? null
      : this.registerModule('conv0', new ModulatedConv(cin, cout, B.wDim, { up: true, ...o, gen }));
    this.conv1 = this.registerModule('conv1', new ModulatedConv(cout, cout, B.wDim, { ...o, gen }));
    this.toRgb = this.registerModule(
      'torgb',
      new ModulatedConv(cout, 3, B.wDim, {
        kernelSize: 1,
        demodulate: false,
        noise: false,
        act: 'linear',
        form: o.form,
        gen,
      }),
    );
  }

  /** (x, img) at the previous resolution -> at this one. */
  forward(x: E.Tensor, img: E.Tensor | null, w: E.Tensor): [E.Tensor, E.Tensor] {
    for (const m of [this.conv0, this.conv1, this.toRgb]) if (m) m.w = w;
    if (this.conv0) x = this.conv0.forward(x);
    x = this.conv1.forward(x);
    const rgb = this.toRgb.forward(x);
    return [x, img ? E.add(E.upsample2d(img), rgb) : rgb];
  }
}

export class BenchGenerator extends Module {
  mapping: EqualLinear[];
  constInput: E.Tensor;
  blocks: SynthesisBlock[];

  constructor(gen: E.Generator, o: StyleganBenchOptions = {}) {
    super();
    this.mapping = Array.from({ length: B.mappingLayers }, (_, i) =>
      this.registerModule(
        `mapping${i}`,
        new EqualLinear(i ? B.wDim : B.zDim, B.wDim, { lrMul: 0.01, act: 'lrelu', gen }),
      ),
    );
    this.constInput = this.registerParameter('const', E.randn([1, B.widths[4], 4, 4], 0, 1, gen));
    this.blocks = B.resolutions.map((r, i) =>
      this.registerModule(
        `b${r}`,
        new SynthesisBlock(i ? B.widths[B.resolutions[i - 1]] : B.widths[4], B.widths[r], i === 0, gen, o),
      ),
    );
  }

  /** z (N, zDim) -> images (N, 3, 64, 64) */
  forward(z: E.Tensor): E.Tensor {
    const N = z.shape[0];
    // normalize z to unit RMS (StyleGAN2's normalize_2nd_moment)
    let w = E.mul(z, E.rsqrt(E.addScalar(E.mean(E.square(z), 1, true), 1e-8)));
    for (const m of this.mapping) w = m.forward(w);
    let x = E.broadcastTo(this.constInput, [N, ...this.constInput.shape.slice(1)]);
    let img: E.Tensor | null = null;
    for (const b of this.blocks) [x, img] = b.forward(x, img, w);
    return img!;
  }
}

export class BenchDiscriminator extends Module {
  fromRgb: EqualConv2d;
  convs: [EqualConv2d, EqualConv2d][];
  mbstd: MinibatchStd;
  epilogueConv: EqualConv2d;
  fc: EqualLinear;
  out: EqualLinear;

  constructor(gen: E.Generator) {
    super();
    const lrelu = { act: 'lrelu' as const, gen };
    this.fromRgb = this.registerModule('fromrgb', new EqualConv2d(3, B.widths[64], 1, lrelu));
    this.convs = [64, 32, 16, 8].map((r) => {
      const c = B.widths[r],
        next = B.widths[r / 2];
      return [
        this.registerModule(`b${r}_conv0`, new EqualConv2d(c, c, 3, lrelu)),
        this.registerModule(`b${r}_conv1`, new EqualConv2d(c, next, 3, lrelu)),
      ];
    });
    this.mbstd = this.registerModule('mbstd', new MinibatchStd(4, 1));
    const c4 = B.widths[4];
    this.epilogueConv = this.registerModule('b4_conv', new EqualConv2d(c4 + 1, c4, 3, lrelu));
    this.fc = this.registerModule('b4_fc', new EqualLinear(c4 * 16, c4, lrelu));
    this.out = this.registerModule('b4_out', new EqualLinear(c4, 1, { gen }));
  }

  /** images (N, 3, 64, 64) -> logits (N, 1) */
  forward(img: E.Tensor): E.Tensor {
    let x = this.fromRgb.forward(img);
    for (const [c0, c1] of this.convs) x = c1.forward(E.downsample2d(c0.forward(x)));
    x = this.epilogueConv.forward(this.mbstd.forward(x));
    return this.out.forward(this.fc.forward(E.flatten(x)));
  }
}

function setRequiresGrad(m: Module, on: boolean): void {
  for (const p of m.parameters()) p.requiresGrad = on;
}

/** The networks, optimizers and data of one G + D step, for the bench and the profiler. */
export class StyleganBenchStep {
  readonly gen = new E.Generator(11);
  readonly G: BenchGenerator;
  readonly D: BenchDiscriminator;
  readonly optG: Adam;
  readonly optD: Adam;
  readonly reals: E.Tensor;

  /** o: how the generator's modulated convs run (src/ops/modconv.ts); the defaults as in training. */
  constructor(o: StyleganBenchOptions = {}) {
    this.G = new BenchGenerator(this.gen, o);
    this.D = new BenchDiscriminator(this.gen);
    this.optG = new Adam(this.G.parameters(), B.adam);
    this.optD = new Adam(this.D.parameters(), B.adam);
    this.reals = E.keep(E.randn([B.batch, 3, B.size, B.size], 0, 1, this.gen));
  }

  /** One G step and one D step, recorded without waiting. */
  step(): void {
    E.scope(() => {
      // G step: gradients through D into G only
      setRequiresGrad(this.D, false);
      const z = E.randn([B.batch, B.zDim], 0, 1, this.gen);
      E.backward(E.ganLossG(this.D.forward(this.G.forward(z))));
      setRequiresGrad(this.D, true);
      this.optG.step();
      this.optG.zeroGrad();
    });
    E.scope(() => {
      // D step: fakes without a tape, reals and fakes through D
      const fakes = E.noGrad(() => this.G.forward(E.randn([B.batch, B.zDim], 0, 1, this.gen)));
      E.backward(E.ganLossD(this.D.forward(this.reals), this.D.forward(fakes)));
      this.optD.step();
      this.optD.zeroGrad();
    });
  }

  dispose(): void {
    this.G.dispose();
    this.D.dispose();
    this.optG.dispose();
    this.optD.dispose();
    this.reals.dispose();
  }
}

export function styleganTrainStep(): PeerCase {
  let s: StyleganBenchStep | null = null;
  return {
    name: 'stylegan-step-64',
    unit: 'images/s',
    work: B.batch,
    opsPerRun: 1,
    minIterations: 2,
    async setup() {
      s = new StyleganBenchStep();
      await E.getDevice().sync();
    },
    async run() {
      s!.step();
      await E.getDevice().sync();
    },
    async teardown() {
      s?.dispose();
      s = null;
      await E.getDevice().sync();
    },
  };
}
