/**
 * The same ResNet-18 training step as bench/cases/resnet18.ts, in TensorFlow.js (NHWC, the
 * layout its WebGPU backend is built for): same layers, batch-statistics BN, softmax
 * cross-entropy on one-hot labels, SGD with momentum via tf.train.momentum.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { PeerCase, TfjsWebgpuPeer } from './tfjs-webgpu.js';

type Tf = typeof TfCore;

export function tfjsResnet18TrainStep(peer: TfjsWebgpuPeer, batch = 64, size = 64, classes = 1000): PeerCase {
  const tf: Tf = peer.tf;
  const vars: TfCore.Variable[] = [];
  let x: TfCore.Tensor4D | null = null,
    y: TfCore.Tensor2D | null = null;
  let optimizer: TfCore.MomentumOptimizer | null = null;
  let forward: (() => TfCore.Scalar) | null = null;

  const build = () => {
    const conv = (cin: number, cout: number, k: number) => {
      const w = tf.variable(
        tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cin))) as TfCore.Tensor4D,
      );
      vars.push(w);
      return w;
    };
    const bn = (c: number) => {
      const g = tf.variable(tf.ones([c])),
        b = tf.variable(tf.zeros([c]));
      vars.push(g, b);
      return (h: TfCore.Tensor4D) => {
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        return tf.batchNorm(h, mean, variance, b, g, 1e-5) as TfCore.Tensor4D;
      };
    };
    const stem = conv(3, 64, 7),
      stemBn = bn(64);
    const blocks: ((h: TfCore.Tensor4D) => TfCore.Tensor4D)[] = [];
    let cin = 64;
    [64, 128, 256, 512].forEach((w, s) => {
      for (let k = 0; k < 2; k++) {
        const stride = k === 0 && s > 0 ? 2 : 1;
        const c1 = conv(cin, w, 3),
          b1 = bn(w),
          c2 = conv(w, w, 3),
          b2 = bn(w);
        const down = stride !== 1 || cin !== w ? { c: conv(cin, w, 1), b: bn(w) } : null;
        blocks.push((h) => {
          const a = tf.relu(b1(tf.conv2d(h, c1, stride, 'same')));
          const o = b2(tf.conv2d(a, c2, 1, 'same'));
          const sc = down ? down.b(tf.conv2d(h, down.c, stride, 'same')) : h;
          return tf.relu(tf.add(o, sc)) as TfCore.Tensor4D;
        });
        cin = w;
      }
    });
    const fcW = tf.variable(tf.randomNormal([512, classes], 0, Math.sqrt(1 / 512))),
      fcB = tf.variable(tf.zeros([classes]));
    vars.push(fcW, fcB);
    forward = () => {
      let h = tf.maxPool(
        tf.relu(stemBn(tf.conv2d(x!, stem, 2, 'same'))) as TfCore.Tensor4D,
        3,
        2,
        'same',
      ) as TfCore.Tensor4D;
      for (const b of blocks) h = b(h);
      const emb = tf.mean(h, [1, 2]) as TfCore.Tensor2D;
      const logits = tf.add(tf.matMul(emb, fcW), fcB) as TfCore.Tensor2D;
      return tf.losses.softmaxCrossEntropy(y!, logits) as TfCore.Scalar;
    };
  };

  let tensorsBefore = 0;
  return {
    name: 'resnet18-train-step',
    unit: 'images/s',
    work: batch,
    opsPerRun: 1,
    minIterations: 2,
    async setup() {
      tensorsBefore = tf.memory().numTensors;
      tf.tidy(build); // tf.variable(init) copies init: tidy frees the initial values
      x = tf.randomNormal([batch, size, size, 3]) as TfCore.Tensor4D;
      y = tf.tidy(() =>
        tf.oneHot(
          tf.tensor1d(
            Array.from({ length: batch }, (_, i) => (i * 37) % classes),
            'int32',
          ),
          classes,
        ),
      ) as TfCore.Tensor2D;
      optimizer = tf.train.momentum(0.01, 0.9);
      await peer.sync();
    },
    async run() {
      const cost = optimizer!.minimize(forward!, true, vars);
      await cost!.data();
      cost!.dispose();
    },
    async teardown() {
      optimizer?.dispose();
      // tfjs 4.22's MomentumOptimizer.dispose() leaves SGDOptimizer's learning-rate scalar `c`
      (optimizer as unknown as { c?: TfCore.Tensor } | null)?.c?.dispose();
      optimizer = null;
      for (const v of vars) v.dispose();
      vars.length = 0;
      x?.dispose();
      y?.dispose();
      await peer.sync();
      const leaked = tf.memory().numTensors - tensorsBefore;
      if (leaked !== 0) throw new Error(`tfjs resnet18-train-step: leaked ${leaked} tensors`);
    },
  };
}
