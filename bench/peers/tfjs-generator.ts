/**
 * The face generator's training step (`generator-train-step`, bench/cases/generator.ts lists the
 * networks and losses) in TensorFlow.js on its WebGPU backend, NHWC, from the layers of the
 * stylegan-step-64 peer (tfjs-stylegan.ts: modulated conv, FIR resampling, minibatch std).
 *
 * The same work as ours: identity encoder, factor embedding and pixel norms in the mapping,
 * the same synthesis, D with residual 1x1 skips and the projection on the factors, the logistic
 * D loss on 16 reals and 16 fakes, the non-saturating G loss plus the reconstruction of the 8
 * fakes with their real image's factors (avgpool to 16 px, masked mean), Adam on D then on G,
 * the EMA of G (one assign per variable). What differs:
 *  - no R1 (tfjs has no second-order gradient through its conv kernels); ours has none in the
 *    timed steps either unless more than 15 are timed (see the case);
 *  - the batch's images, factors and descriptors are fixed tensors made once (ours gathers and
 *    uploads them each step, and draws new identities on the CPU);
 *  - z and noise come from tf.randomNormal (CPU, uploaded), ours from a GPU Philox stream;
 *  - two Adam optimizers (ours one Adam over both networks, only one has gradients per step).
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { PeerCase, TfjsWebgpuPeer } from './tfjs-webgpu.js';
import { tfjsStyleganLayers } from './tfjs-stylegan.js';
import { GENERATOR_BENCH } from '../cases/generator.js';
import { GENERATOR_PRESETS } from '../../src/models/generator/config.js';
import { defaultTrainSettings } from '../../src/train/generator-trainer.js';

type Tf = typeof TfCore;
type T = TfCore.Tensor;
type T4 = TfCore.Tensor4D;
type T2 = TfCore.Tensor2D;

const P = GENERATOR_PRESETS.base;
const { batch: B, resolution: R, expDim } = GENERATOR_BENCH;
const S = defaultTrainSettings(R, B);
const condDim = P.descriptorDim + expDim + P.poseDim + P.lightDim; // D's projection input
const nOwn = B - Math.round(B * S.comboFraction); // fakes with a real image to reconstruct

export function tfjsGeneratorTrainStep(peer: TfjsWebgpuPeer): PeerCase {
  const tf: Tf = peer.tf;
  const gVars: TfCore.Variable[] = [],
    dVars: TfCore.Variable[] = [],
    emaVars: TfCore.Variable[] = [];
  const fixed: T[] = [];
  let G: ((f: Record<string, T2>) => T4) | null = null,
    D: ((img: T4, cond: T2) => T2) | null = null;
  let data: Record<string, T> | null = null;
  let optG: TfCore.AdamOptimizer | null = null,
    optD: TfCore.AdamOptimizer | null = null;
  const L = tfjsStyleganLayers(tf, P.wDim);
  const W = P.widths as Record<number, number>;
  const rs = [4, 8, 16, 32, 64];

  const { pixelNorm } = L;

  const build = () => {
    const g = gVars;
    const id0 = L.equalLinear(g, P.descriptorDim, P.descriptorDim, { act: true });
    const id1 = L.equalLinear(g, P.descriptorDim, P.idDim);
    const embed = L.equalLinear(g, P.idDim + expDim + P.poseDim + P.lightDim, P.wDim);
    const mapping = Array.from({ length: P.mappingLayers }, (_, i) =>
      L.equalLinear(g, i ? P.wDim : P.wDim + P.zDim, P.wDim, { lrMul: 0.01, act: true }),
    );
    const synthesis = L.synthesis(g, W, rs);
    G = (f) => {
      const identity = id1(id0(f.descriptor));
      const cond = tf.concat([identity, f.expression, f.pose, f.lighting], 1) as T2;
      let w = tf.concat([pixelNorm(embed(cond)), pixelNorm(f.z)], 1) as T2;
      for (const m of mapping) w = m(w);
      return synthesis(w);
    };

    const d = dVars;
    const fromRgb = L.equalConv(d, 3, W[64], 1);
    const blocksD = [64, 32, 16, 8].map((r) => ({
      conv0: L.equalConv(d, W[r], W[r], 3),
      conv1: L.equalConv(d, W[r], W[r / 2], 3),
      skip: L.equalConv(d, W[r], W[r / 2], 1, { bias: false, act: false }),
    }));
    const conv4 = L.equalConv(d, W[4] + 1, W[4], 3);
    const fc = L.equalLinear(d, W[4] * 16, W[4], { act: true });
    const out = L.equalLinear(d, W[4], 1);
    const project = L.equalLinear(d, condDim, W[4]);
    D = (img, c) => {
      let x = fromRgb(img);
      for (const b of blocksD) {
        const main = b.conv1(L.downsample(b.conv0(x)));
        x = tf.mul(tf.add(main, b.skip(L.downsample(x))), Math.SQRT1_2) as T4;
      }
      x = conv4(L.minibatchStd(x));
      const h = fc(tf.reshape(x, [x.shape[0], -1]) as T2);
      const proj = tf.mul(tf.sum(tf.mul(h, project(c)), 1, true), 1 / Math.sqrt(W[4]));
      return tf.add(out(h), proj) as T2;
    };
    // G_ema starts as G
    for (const v of gVars) emaVars.push(tf.variable(v.clone(), false));
  };

  let tensorsBefore = 0;
  let cpuForward = true;
  let step = 0;
  return {
    name: 'generator-train-step',
    unit: 'images/s',
    work: B,
    opsPerRun: 1,
    minIterations: 2,
    async setup() {
      cpuForward = tf.env().getBool('WEBGPU_CPU_FORWARD');
      tf.env().set('WEBGPU_CPU_FORWARD', false); // keep the whole step on the GPU, as ours
      tensorsBefore = tf.memory().numTensors;
      tf.tidy(build);
      const keep = <U extends T>(t: U): U => {
        fixed.push(t);
        return t;
      };
      const mask = new Float32Array(B).map((_, n) => (n < nOwn ? 1 : 0));
      data = {
        reals: keep(tf.randomUniform([B, R, R, 3], -1, 1)),
        cond: keep(tf.randomNormal([B, condDim])),
        fakeCond: keep(tf.randomNormal([B, condDim])),
        descriptor: keep(tf.randomNormal([B, P.descriptorDim])),
        expression: keep(tf.randomNormal([B, expDim])),
        pose: keep(tf.randomNormal([B, P.poseDim])),
        lighting: keep(tf.randomNormal([B, P.lightDim])),
        ownMask: keep(tf.tensor4d(mask, [B, 1, 1, 1])),
      };
      optG = tf.train.adam(S.lrG, S.betas[0], S.betas[1], 1e-8);
      optD = tf.train.adam(S.lrD, S.betas[0], S.betas[1], 1e-8);
      step = 0;
      await peer.sync();
    },
    async run() {
      const t = data!;
      const inputs = () =>
        ({
          descriptor: t.descriptor,
          expression: t.expression,
          pose: t.pose,
          lighting: t.lighting,
          z: tf.randomNormal([B, P.zDim]),
        }) as Record<string, T2>;
      // D step: fakes outside the gradient
      const fakes = tf.tidy(() => G!(inputs()));
      optD!.minimize(
        () =>
          tf.add(
            tf.mean(tf.softplus(D!(fakes, t.fakeCond as T2))),
            tf.mean(tf.softplus(tf.neg(D!(t.reals as T4, t.cond as T2)))),
          ) as TfCore.Scalar,
        false,
        dVars,
      );
      fakes.dispose();
      // G step: adversarial + reconstruction of the fakes asked for their own image's factors
      optG!.minimize(
        () => {
          const gen = G!(inputs());
          const lossG = tf.mean(tf.softplus(tf.neg(D!(gen, t.fakeCond as T2))));
          const k = R / S.reconSize;
          const errors = tf.abs(
            tf.sub(tf.avgPool(gen, k, k, 'valid'), tf.avgPool(t.reals as T4, k, k, 'valid')),
          );
          const recon = tf.mul(tf.mean(tf.mul(errors, t.ownMask)), B / nOwn);
          return tf.add(lossG, tf.mul(recon, S.reconWeight)) as TfCore.Scalar;
        },
        false,
        gVars,
      );
      // EMA of G: ema = v + beta (ema - v), the half-life ramped up as the trainer's
      step++;
      const halfLife = Math.min(S.emaHalfLifeImages, S.emaRampup * step * B);
      const beta = halfLife > 0 ? 0.5 ** (B / halfLife) : 0;
      tf.tidy(() =>
        gVars.forEach((v, i) => emaVars[i].assign(tf.add(v, tf.mul(tf.sub(emaVars[i], v), beta)))),
      );
      await peer.sync();
    },
    async teardown() {
      optG?.dispose();
      optD?.dispose();
      optG = optD = null;
      for (const v of [...gVars, ...dVars, ...emaVars]) v.dispose();
      gVars.length = dVars.length = emaVars.length = 0;
      fixed.forEach((x) => x.dispose());
      fixed.length = 0;
      data = null;
      L.dispose();
      await peer.sync();
      tf.env().set('WEBGPU_CPU_FORWARD', cpuForward);
      const leaked = tf.memory().numTensors - tensorsBefore;
      if (leaked !== 0) throw new Error(`tfjs generator-train-step: leaked ${leaked} tensors`);
    },
  };
}
