/**
 * face-api's 112x112 networks on the engine, against the original: the 68-point landmark
 * networks, full (src/models/face-api/landmark68.ts) and tiny (landmark68-tiny.ts), and the
 * expression network (expression.ts), all on the dense trunk of dense-trunk.ts. The oracle is
 * face-api 1.7.15's own FaceLandmark68Net, FaceLandmark68TinyNet and FaceExpressionNet
 * (`esm-nobundle` build, TF.js 4.22 CPU backend, the same weights decoded by tfjs-core), in this
 * test only. Inputs: two sample faces upsampled to 112x112 by our resize and one noise image,
 * fed to both as the same floats (N = 3).
 *
 * Tolerances: every landmark coordinate within 1e-5 (the points are in [0, 1]; 1e-5 of 112 px
 * is 0.001 px), every expression logit within 1e-4 (logits reach ~10) and every probability
 * within 1e-5. Both sides are float32; the rest is summation order. Measured: landmarks full
 * and tiny ~1e-7, logits ~1e-6, probabilities ~1e-7 (numbers printed by the test).
 *
 * Then gradients with respect to the input, through each whole network at its real size
 * (1, 3, 112, 112): the input gradient of sum(w * output) (landmarks; for the expression net,
 * the probabilities, so the softmax is inside) against central finite differences along three
 * directions: the gradient's own (within 3%) and two random ones (within 3% + 3e-4, for float32
 * noise in the loss), as test/faceapi-dlib.test.ts does, with a smaller step (see below).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { decodeImage } from '../src/data/decode-image.js';
import { toUint8CHW } from '../src/data/preprocess.js';
import { faceApiModelDir, loadTfjsWeights } from '../src/io/tfjs-weights-node.js';
import { Landmark68, LANDMARK68_WEIGHTS_NAME } from '../src/models/face-api/landmark68.js';
import { Landmark68Tiny, LANDMARK68_TINY_WEIGHTS_NAME } from '../src/models/face-api/landmark68-tiny.js';
import { EXPRESSIONS, EXPRESSION_WEIGHTS_NAME, FaceExpression } from '../src/models/face-api/expression.js';
import { grad, mul, noGrad, resizeBilinear, scope, sum, tensor, type Tensor } from '../src/index.js';
import type { NdArray } from '../src/tensor/ndarray.js';
import { randomNd, toGpu } from './helpers.js';

const FACES = ['Ana_Guevara/Ana_Guevara_0001', 'Arnold_Palmer/Arnold_Palmer_0001'];
const S = 112;

/** The part of face-api's API used here (its .d.ts files name another copy of tfjs's types). */
interface FaceApiNet {
  loadFromWeightMap(weights: tf.NamedTensorMap): void;
  runNet(input: unknown): tf.Tensor;
  dispose(): void;
}
interface FaceApi {
  FaceLandmark68Net: new () => FaceApiNet;
  FaceLandmark68TinyNet: new () => FaceApiNet;
  FaceExpressionNet: new () => FaceApiNet;
  toNetInput(images: tf.Tensor3D[]): Promise<unknown>;
}

/** (3, 3, 112, 112) in [0, 255]: two sample faces upsampled by our resize, one noise image. */
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
      resizeBilinear(tensor(Float32Array.from(u8.flatMap((a) => [...a])), [FACES.length, 3, 64, 64]), [S, S]),
    ),
  );
  const n = FACES.length + 1;
  const data = new Float32Array(n * 3 * S * S);
  data.set(await faces.toArray());
  faces.dispose();
  data.set(Float32Array.from(randomNd([3 * S * S], 0, 255).data), FACES.length * 3 * S * S);
  return { data, n };
}

/** face-api's own network `cls` with the weights `name`: runNet (the raw fc output) on NHWC. */
async function oracle(
  cls: keyof Omit<FaceApi, 'toNetInput'>,
  name: string,
  nchw: Float32Array,
  n: number,
): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const faceapi = (await import('@vladmandic/face-api/dist/face-api.esm-nobundle.js')) as unknown as FaceApi;
  const dir = faceApiModelDir();
  const manifest = JSON.parse(readFileSync(`${dir}/${name}-weights_manifest.json`, 'utf8'));
  const bin = readFileSync(`${dir}/${manifest[0].paths[0]}`);
  const net = new faceapi[cls]();
  net.loadFromWeightMap(
    tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length), manifest[0].weights),
  );
  const x = tf.tidy(() => tf.transpose(tf.tensor4d(nchw, [n, 3, S, S]), [0, 2, 3, 1]));
  const images = tf.unstack(x) as tf.Tensor3D[];
  const y = net.runNet(await faceapi.toNetInput(images));
  const out = Float32Array.from(await y.data());
  tf.dispose([x, y, ...images]);
  net.dispose();
  return out;
}

async function run(f: () => Tensor): Promise<{ shape: number[]; values: ArrayLike<number> }> {
  const t = noGrad(() => scope(f));
  try {
    return { shape: [...t.shape], values: await t.toArray() };
  } finally {
    t.dispose();
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Input gradient of sum(w * f(x)) vs central finite differences along three directions. */
async function checkInputGradient(
  f: (x: Tensor) => Tensor,
  outShape: number[],
  label: string,
): Promise<void> {
  const shape = [1, 3, S, S];
  const x0 = randomNd(shape, 40, 215);
  const w = toGpu(randomNd(outShape, -1, 1));
  const loss = (x: Tensor) => sum(mul(f(x), w));
  const g = scope(() => {
    const x = toGpu(x0, true);
    return grad([loss(x)], [x])[0]!;
  });
  const gv = await g.toArray();
  g.dispose();
  const at = async (v: NdArray, h: number) =>
    noGrad(() => scope(() => loss(toGpu({ shape, data: x0.data.map((a, i) => a + h * v.data[i]) })))).item();
  const norm = Math.hypot(...gv);
  expect(norm, `${label}: the input gradient is zero`).toBeGreaterThan(0);
  const along: NdArray = { shape, data: Float64Array.from(gv, (v) => (v / norm) * Math.sqrt(gv.length)) };
  for (const [k, v] of [along, randomNd(shape, -1, 1), randomNd(shape, -1, 1)].entries()) {
    // h in [0, 255] units. These nets are deep stacks of relus: along the gradient's own
    // direction, h = 0.03 (the dlib test's) crosses enough kinks to move the full net's finite
    // difference 9% off, converging to the analytic value as h shrinks (0.03: 5%, 0.003: 1.1%,
    // 0.0003: 0.05%, measured); 0.003 keeps float32's rounding noise in the loss near 1e-4.
    const h = 0.003;
    const fd = ((await at(v, h)) - (await at(v, -h))) / (2 * h);
    let an = 0;
    for (let i = 0; i < gv.length; i++) an += gv[i] * v.data[i];
    console.log(
      `${label} direction ${k}: analytic ${an.toExponential(4)}, finite difference ${fd.toExponential(4)}`,
    );
    expect(
      Math.abs(an - fd),
      `${label} direction ${k}: analytic ${an}, finite difference ${fd}`,
    ).toBeLessThan(0.03 * Math.abs(an) + 1e-4);
  }
  w.dispose();
}

describe("face-api's 112x112 networks: landmark68 full and tiny, expression", () => {
  it("landmark68 (full and tiny) match face-api's own implementations on TensorFlow.js", async () => {
    const { data, n } = await inputs();
    for (const [Net, cls, name] of [
      [Landmark68, 'FaceLandmark68Net', LANDMARK68_WEIGHTS_NAME],
      [Landmark68Tiny, 'FaceLandmark68TinyNet', LANDMARK68_TINY_WEIGHTS_NAME],
    ] as const) {
      const want = await oracle(cls, name, data, n);
      const net = new Net(loadTfjsWeights(name));
      const got = await run(() => net.forward(tensor(data, [n, 3, S, S])));
      net.dispose();
      expect(got.shape).toEqual([n, 68, 2]);
      const worst = maxDiff(got.values, want);
      console.log(
        `${name} vs face-api: max |diff| ${worst.toExponential(2)}, first point ${want[0]}, ${want[1]}`,
      );
      expect(worst).toBeLessThan(1e-5);
      // not a trivial agreement: a face's points spread over the image (eyes above the mouth)
      const y = (p: number) => got.values[2 * p + 1];
      expect(y(36)).toBeLessThan(y(48) - 0.1); // left eye corner above left mouth corner
    }
  }, 120_000);

  it("expression matches face-api's own implementation (logits and softmax)", async () => {
    const { data, n } = await inputs();
    const want = await oracle('FaceExpressionNet', EXPRESSION_WEIGHTS_NAME, data, n);
    const net = new FaceExpression(loadTfjsWeights(EXPRESSION_WEIGHTS_NAME));
    const logits = await run(() => net.forward(tensor(data, [n, 3, S, S])));
    const probs = await run(() => net.probabilities(tensor(data, [n, 3, S, S])));
    net.dispose();
    expect(logits.shape).toEqual([n, EXPRESSIONS.length]);
    expect(probs.shape).toEqual([n, EXPRESSIONS.length]);
    // face-api's reported probabilities: softmax of its logits, in float64
    const wantProbs = Float64Array.from(want);
    for (let i = 0; i < n; i++) {
      const row = Array.from(want.subarray(7 * i, 7 * i + 7));
      const m = Math.max(...row),
        z = row.reduce((s, v) => s + Math.exp(v - m), 0);
      row.forEach((v, j) => (wantProbs[7 * i + j] = Math.exp(v - m) / z));
    }
    const dl = maxDiff(logits.values, want),
      dp = maxDiff(probs.values, wantProbs);
    const top = (a: ArrayLike<number>, i: number) => {
      const row = Array.from(a).slice(7 * i, 7 * i + 7);
      return EXPRESSIONS[row.indexOf(Math.max(...row))];
    };
    console.log(
      `expression vs face-api: logits max |diff| ${dl.toExponential(2)}, probabilities ${dp.toExponential(2)}; ` +
        `top: ${Array.from({ length: n }, (_, i) => top(wantProbs, i)).join(', ')}`,
    );
    expect(dl).toBeLessThan(1e-4);
    expect(dp).toBeLessThan(1e-5);
    // not a trivial agreement: the logits are not all alike
    expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(1);
  }, 120_000);

  it('a missing or misshapen tensor is an error naming the manifest and the tensor', () => {
    const weights = loadTfjsWeights(EXPRESSION_WEIGHTS_NAME);
    const { ['dense3/conv3/bias']: _gone, ...missing } = weights;
    expect(() => new FaceExpression(missing, 'e.json')).toThrow(
      "e.json: tensor 'dense3/conv3/bias' is missing (the network needs it, shape [256])",
    );
    // the expression manifest's head (256 -> 7) is not a landmark head (256 -> 136)
    expect(() => new Landmark68(weights, 'e.json')).toThrow(
      "e.json: tensor 'fc/weights' has shape [256,7] but the network expects [256,136]",
    );
  });

  for (const [label, make, outShape] of [
    ['landmark68', () => new Landmark68(loadTfjsWeights(LANDMARK68_WEIGHTS_NAME)), [1, 68, 2]],
    ['landmark68 tiny', () => new Landmark68Tiny(loadTfjsWeights(LANDMARK68_TINY_WEIGHTS_NAME)), [1, 68, 2]],
  ] as const)
    it(`${label}: input gradient matches finite differences (1x3x112x112)`, async () => {
      const net = make();
      await checkInputGradient((x) => net.forward(x), [...outShape], label);
      net.dispose();
    }, 60_000);

  it('expression: input gradient of the probabilities matches finite differences (1x3x112x112)', async () => {
    const net = new FaceExpression(loadTfjsWeights(EXPRESSION_WEIGHTS_NAME));
    await checkInputGradient((x) => net.probabilities(x), [1, 7], 'expression');
    net.dispose();
  }, 60_000);
});
