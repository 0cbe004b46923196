/**
 * The dlib face descriptor on the engine (src/models/face-api/dlib-descriptor.ts) against the
 * original: face-api 1.7.15's own FaceRecognitionNet (its `esm-nobundle` build) on TensorFlow.js
 * 4.22's CPU backend, with the same weights decoded by tfjs-core, as an oracle in this test only.
 * Inputs: three sample faces (64x64, upsampled to 150x150 once by our resize, then fed to both as
 * the same float values, so no resize differs) and one image of uniform noise, as one batch.
 *
 * Tolerance: every descriptor component within 1e-5 of face-api's, and the Euclidean distance
 * between ours and face-api's below 1e-5 per image (descriptors have norm ~1.3; dlib's
 * same-person threshold is 0.6). Both are float32; the rest is summation order. Measured: max
 * |diff| 3.0e-7, distances 0.9e-6..1.1e-6. (Dividing by 256 instead of 255, as older face-api
 * sources do, gives distances of 1.1e-3 and fails this test.)
 *
 * Then gradients: the input gradient of sum(w * descriptor) against central finite differences
 * along three directions (the gradient's own, within 3%; two random ones, within 3% + 1e-4),
 * through the whole network at its smallest input (103x103), and a
 * down block (conv 3x3/2 'valid', zero-padded residual, channel-padded avg-pool shortcut)
 * element by element against a float64 CPU reference.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { euclideanDistance } from '../src/eval/verification.js';
import { decodeImage } from '../src/data/decode-image.js';
import { toUint8CHW } from '../src/data/preprocess.js';
import { faceApiModelDir, loadTfjsWeights } from '../src/io/tfjs-weights-node.js';
import {
  DlibDescriptor,
  DLIB_WEIGHTS_NAME,
  ResidualBlock,
  prepareDlibInput,
} from '../src/models/face-api/dlib-descriptor.js';
import { grad, noGrad, scope, sum, mul, tensor, Tensor } from '../src/index.js';
import { reference as convRef } from '../src/ops/conv.js';
import { reference as poolRef } from '../src/ops/pool.js';
import { nd, type NdArray } from '../src/tensor/ndarray.js';
import { checkGradient, randomNd, toGpu } from './helpers.js';
import { reference as shapeRef } from '../src/ops/shape.js';
import type { TensorData } from '../src/tensor/tensor-data.js';

const FACES = [
  'Ana_Guevara/Ana_Guevara_0001',
  'Ana_Guevara/Ana_Guevara_0002',
  'Arnold_Palmer/Arnold_Palmer_0001',
];

/** (N, 3, 150, 150) in [0, 255]: sample faces upsampled by our resize, and one noise image. */
async function inputs(): Promise<{ data: Float32Array; n: number }> {
  const u8 = FACES.map((f) =>
    toUint8CHW(decodeImage(readFileSync(`data/lfw-sample/images/${f}.png`), f), {
      crop: [64, 64],
      out: [64, 64],
      channels: 3,
    }),
  );
  const faces = noGrad(() =>
    scope(() =>
      prepareDlibInput(
        tensor(Float32Array.from(u8.flatMap((a) => [...a])), [FACES.length, 3, 64, 64]),
        [0, 255],
      ),
    ),
  );
  const data = new Float32Array((FACES.length + 1) * 3 * 150 * 150);
  data.set(await faces.toArray());
  faces.dispose();
  const noise = randomNd([3 * 150 * 150], 0, 255).data;
  data.set(Float32Array.from(noise), FACES.length * 3 * 150 * 150);
  return { data, n: FACES.length + 1 };
}

/**
 * The part of face-api's API used here. Its .d.ts files name tfjs types of their own copy, which
 * TypeScript does not unify with ours, so the module is typed by hand.
 */
interface FaceApi {
  FaceRecognitionNet: new () => {
    loadFromWeightMap(weights: tf.NamedTensorMap): void;
    forwardInput(input: unknown): tf.Tensor;
    dispose(): void;
  };
  toNetInput(images: tf.Tensor3D[]): Promise<unknown>;
}

/** face-api's own network on TF.js (NHWC in, (N, 128) out). */
async function oracle(nchw: Float32Array, n: number): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const faceapi = (await import('@vladmandic/face-api/dist/face-api.esm-nobundle.js')) as unknown as FaceApi;
  const dir = faceApiModelDir();
  const manifest = JSON.parse(readFileSync(`${dir}/${DLIB_WEIGHTS_NAME}-weights_manifest.json`, 'utf8'));
  const bin = readFileSync(`${dir}/${manifest[0].paths[0]}`);
  const net = new faceapi.FaceRecognitionNet();
  net.loadFromWeightMap(
    tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length), manifest[0].weights),
  );
  const x = tf.tidy(() => tf.transpose(tf.tensor4d(nchw, [n, 3, 150, 150]), [0, 2, 3, 1]));
  const images = tf.unstack(x) as tf.Tensor3D[];
  const y = net.forwardInput(await faceapi.toNetInput(images));
  const out = (await y.data()) as Float32Array;
  tf.dispose([x, y, ...images]);
  net.dispose();
  return out;
}

describe('dlib face descriptor (face-api face_recognition_model)', () => {
  const weights = loadTfjsWeights(DLIB_WEIGHTS_NAME);

  it("matches face-api's own implementation on TensorFlow.js", async () => {
    const { data, n } = await inputs();
    const want = await oracle(data, n);
    const net = new DlibDescriptor(weights);
    const y = noGrad(() => scope(() => net.forward(tensor(data, [n, 3, 150, 150]))));
    expect([...y.shape]).toEqual([n, 128]);
    const got = await y.toArray();
    y.dispose();
    net.dispose();
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    const row = (a: ArrayLike<number>, i: number) => Array.from(a).slice(i * 128, (i + 1) * 128);
    const dists = Array.from({ length: n }, (_, i) => euclideanDistance(row(got, i), row(want, i)));
    console.log(
      `dlib vs face-api: max |diff| ${worst.toExponential(2)}, distances ${dists.map((d) => d.toExponential(2))}`,
    );
    expect(worst).toBeLessThan(1e-5);
    for (const d of dists) expect(d).toBeLessThan(1e-5);
    // not a trivial agreement: the faces' descriptors differ from each other as faces do
    expect(euclideanDistance(row(want, 0), row(want, 2))).toBeGreaterThan(0.3);
  }, 120_000);

  it('a missing or misshapen tensor is an error naming the manifest and the tensor', () => {
    const { fc, ...noFc } = weights;
    expect(() => new DlibDescriptor(noFc, 'm.json')).toThrow(
      "m.json: tensor 'fc' is missing (the network needs it, shape [256,128])",
    );
    const bad = { ...weights, 'conv64_1/conv2/conv/filters': { ...fc, shape: [3, 3, 64, 32] } };
    expect(() => new DlibDescriptor(bad, 'm.json')).toThrow(
      "m.json: tensor 'conv64_1/conv2/conv/filters' has shape [3,3,64,32] but the network expects [3,3,64,64]",
    );
  });

  it('input gradient through the whole network matches finite differences (103x103)', async () => {
    const net = new DlibDescriptor(weights);
    const shape = [1, 3, 103, 103];
    const x0 = randomNd(shape, 40, 215);
    const w = toGpu(randomNd([1, 128], -1, 1));
    const loss = (x: Tensor) => sum(mul(net.forward(x), w));
    const g = scope(() => {
      const x = toGpu(x0, true);
      return grad([loss(x)], [x])[0]!;
    });
    const gv = await g.toArray();
    g.dispose();
    const at = async (v: NdArray, h: number) =>
      noGrad(() =>
        scope(() => loss(toGpu({ shape, data: x0.data.map((a, i) => a + h * v.data[i]) }))),
      ).item();
    // Directions: the gradient itself (rescaled to entries of size ~1: a large, clean signal) and
    // two random ones (the 32k entries' contributions mostly cancel: a small signal, near the
    // float32 noise of the loss, hence the absolute term). h = 0.03 in [0, 255] units: small
    // enough to cross few relu / max-pool kinks, large enough for float32.
    const norm = Math.hypot(...gv);
    const along: NdArray = { shape, data: Float64Array.from(gv, (v) => (v / norm) * Math.sqrt(gv.length)) };
    for (const [k, v] of [along, randomNd(shape, -1, 1), randomNd(shape, -1, 1)].entries()) {
      const h = 0.03;
      const fd = ((await at(v, h)) - (await at(v, -h))) / (2 * h);
      let an = 0;
      for (let i = 0; i < gv.length; i++) an += gv[i] * v.data[i];
      console.log(
        `direction ${k}: analytic ${an.toExponential(4)}, finite difference ${fd.toExponential(4)}`,
      );
      expect(Math.abs(an - fd), `direction ${k}: analytic ${an}, finite difference ${fd}`).toBeLessThan(
        0.03 * Math.abs(an) + 1e-4,
      );
    }
    w.dispose();
    net.dispose();
  }, 60_000);

  it('a down block (4 -> 6 channels, 8x8 -> 3x3 padded to 4x4): forward and gradient vs a float64 reference', async () => {
    const [cin, cout] = [4, 6];
    const td = (shape: number[], lo: number, hi: number): TensorData => ({
      dtype: 'f32',
      shape,
      data: Float32Array.from(randomNd(shape, lo, hi).data),
    });
    const w: Record<string, TensorData> = {};
    for (const [conv, ci] of [
      ['conv1', cin],
      ['conv2', cout],
    ] as const) {
      w[`blk/${conv}/conv/filters`] = td([3, 3, ci, cout], -0.4, 0.4);
      w[`blk/${conv}/conv/bias`] = td([cout], -0.2, 0.2);
      w[`blk/${conv}/scale/weights`] = td([cout], 0.5, 2);
      w[`blk/${conv}/scale/biases`] = td([cout], -0.3, 0.3);
    }
    const nd64 = (t: TensorData): NdArray => ({ shape: [...t.shape], data: Float64Array.from(t.data) });
    // face-api's layer, unfolded: conv (HWIO -> OIHW) + bias, then * scale + shift
    const convLayer = (x: NdArray, conv: string, stride: number, padding: number): NdArray => {
      const filters = shapeRef.permute(nd64(w[`blk/${conv}/conv/filters`]), [3, 2, 0, 1]);
      const y = convRef.conv2d(x, filters, nd64(w[`blk/${conv}/conv/bias`]), { stride, padding });
      const s = w[`blk/${conv}/scale/weights`].data,
        t = w[`blk/${conv}/scale/biases`].data;
      const hw = y.shape[2] * y.shape[3];
      return {
        shape: y.shape,
        data: y.data.map((v, i) => v * s[Math.floor(i / hw) % cout] + t[Math.floor(i / hw) % cout]),
      };
    };
    const relu64 = (a: NdArray): NdArray => ({ shape: a.shape, data: a.data.map((v) => Math.max(v, 0)) });
    const cpu = (x: NdArray): NdArray => {
      let r = convLayer(relu64(convLayer(x, 'conv1', 2, 0)), 'conv2', 1, 1);
      r = shapeRef.pad(r, [
        [0, 0],
        [0, 0],
        [0, 1],
        [0, 1],
      ]);
      const s = shapeRef.pad(poolRef.avgPool2d(x, 2, 2), [
        [0, 0],
        [0, cout - cin],
      ]);
      return relu64({ shape: r.shape, data: r.data.map((v, i) => v + s.data[i]) });
    };
    const block = new ResidualBlock(w, 'blk', cin, cout, true, 'synthetic');
    await checkGradient((x) => block.forward(x), cpu, [randomNd([2, cin, 8, 8], -1, 1)]);
    block.dispose();
  });
});
