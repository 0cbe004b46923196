/**
 * face-api's tiny 68-point landmark network on the engine (src/models/face-api/landmark68-tiny.ts)
 * against the original: face-api 1.7.15's own FaceLandmark68TinyNet (`esm-nobundle` build, TF.js
 * 4.22 CPU backend) as an oracle in this test only. Compared: the network's raw output (136
 * values, points relative to the 112x112 input) for two sample faces upsampled to 112x112 and
 * one noise image, fed to both as the same floats. Tolerance: every value within 1e-5 (the
 * points are in [0, 1]; 1e-5 of 112 px is 0.001 px).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../src/data/decode-image.js';
import { toUint8CHW } from '../src/data/preprocess.js';
import { faceApiModelDir, loadTfjsWeights } from '../src/io/tfjs-weights-node.js';
import { Landmark68Tiny, LANDMARK68_TINY_WEIGHTS_NAME } from '../src/models/face-api/landmark68-tiny.js';
import { noGrad, resizeBilinear, scope, tensor } from '../src/index.js';
import { randomNd } from './helpers.js';

const FACES = ['Ana_Guevara/Ana_Guevara_0001', 'Arnold_Palmer/Arnold_Palmer_0001'];
const S = 112;

interface FaceApi {
  FaceLandmark68TinyNet: new () => {
    loadFromWeightMap(weights: tf.NamedTensorMap): void;
    runNet(input: unknown): tf.Tensor;
    dispose(): void;
  };
  toNetInput(images: tf.Tensor3D[]): Promise<unknown>;
}

describe('tiny 68-point landmark network (face-api face_landmark_68_tiny_model)', () => {
  it("matches face-api's own implementation on TensorFlow.js", async () => {
    const u8 = FACES.map((f) =>
      toUint8CHW(decodeImage(readFileSync(`data/lfw-sample/images/${f}.png`), f), {
        crop: [64, 64],
        out: [64, 64],
        channels: 3,
      }),
    );
    const faces = noGrad(() =>
      scope(() =>
        resizeBilinear(tensor(Float32Array.from(u8.flatMap((a) => [...a])), [FACES.length, 3, 64, 64]), [
          S,
          S,
        ]),
      ),
    );
    const n = FACES.length + 1;
    const data = new Float32Array(n * 3 * S * S);
    data.set(await faces.toArray());
    faces.dispose();
    data.set(Float32Array.from(randomNd([3 * S * S], 0, 255).data), FACES.length * 3 * S * S);

    await tf.setBackend('cpu');
    const faceapi =
      (await import('@vladmandic/face-api/dist/face-api.esm-nobundle.js')) as unknown as FaceApi;
    const dir = faceApiModelDir();
    const manifest = JSON.parse(
      readFileSync(`${dir}/${LANDMARK68_TINY_WEIGHTS_NAME}-weights_manifest.json`, 'utf8'),
    );
    const bin = readFileSync(`${dir}/${manifest[0].paths[0]}`);
    const theirsNet = new faceapi.FaceLandmark68TinyNet();
    theirsNet.loadFromWeightMap(
      tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length), manifest[0].weights),
    );
    const x = tf.tidy(() => tf.transpose(tf.tensor4d(data, [n, 3, S, S]), [0, 2, 3, 1]));
    const images = tf.unstack(x) as tf.Tensor3D[];
    const y = theirsNet.runNet(await faceapi.toNetInput(images));
    const want = (await y.data()) as Float32Array;
    tf.dispose([x, y, ...images]);
    theirsNet.dispose();

    const net = new Landmark68Tiny(loadTfjsWeights(LANDMARK68_TINY_WEIGHTS_NAME));
    const out = noGrad(() => scope(() => net.forward(tensor(data, [n, 3, S, S]))));
    expect([...out.shape]).toEqual([n, 136]);
    const got = await out.toArray();
    out.dispose();
    net.dispose();
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    console.log(
      `landmark68 tiny vs face-api: max |diff| ${worst.toExponential(2)}, first point ${want[0]}, ${want[1]}`,
    );
    expect(worst).toBeLessThan(1e-5);
  }, 60_000);
});
