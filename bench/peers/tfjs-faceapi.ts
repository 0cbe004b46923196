/**
 * The same forward passes as bench/cases/faceapi.ts in TensorFlow.js on its WebGPU backend: face-api
 * 1.7.15's own implementations (FaceLandmark68Net, FaceRecognitionNet) with the same weights,
 * decoded by tfjs-core.
 *
 * face-api's `esm-nobundle` build imports tfjs's ES module files (`@tensorflow/tfjs/dist/index.js`
 * and the webgl and wasm backends'), which Node cannot load as they are (directory imports; vitest
 * transforms them, tsx does not). So, as tfjs-webgpu.ts does for tfjs's gradients, it is bundled
 * once with esbuild, its tfjs import pointed at tfjs-core's Node entry (left external: Node
 * gives the very instance the peer put on WebGPU; face-api's networks use core ops only)
 * and the two backends it re-exports replaced by empty modules; the umbrella's chained tensor
 * methods (x.as3D(...), which face-api uses) are registered first, as the gradients are.
 *
 * face-api takes a NetInput (a list of HWC images), made once in setup from a random batch; each
 * forward stacks it into a batch (one copy of the input), casts and normalizes it, then runs the
 * network: the landmark net's raw output (runNet, as ours) and the descriptor (forwardInput).
 */
import { readFileSync } from 'node:fs';
import type * as TfCore from '@tensorflow/tfjs-core';
import { faceApiModelDir } from '../../src/io/tfjs-weights-node.js';
import { FACEAPI_BENCH, FORWARDS_PER_RUN, WARMUP_FORWARDS, type FaceApiBenchNet } from '../cases/faceapi.js';
import type { PeerCase, TfjsWebgpuPeer } from './tfjs-webgpu.js';

/** The part of face-api's API used here (typed by hand: its .d.ts name their own tfjs types). */
interface FaceApiNet {
  loadFromWeightMap(weights: TfCore.NamedTensorMap): void;
  runNet(input: unknown): TfCore.Tensor;
  forwardInput(input: unknown): TfCore.Tensor;
  dispose(): void;
}
interface FaceApi {
  FaceLandmark68Net: new () => FaceApiNet;
  FaceRecognitionNet: new () => FaceApiNet;
  toNetInput(images: TfCore.Tensor3D[]): Promise<unknown>;
  tf: { getBackend(): string };
}

async function importFaceApi(): Promise<FaceApi> {
  const { build } = await import('esbuild');
  const { createRequire } = await import('node:module');
  const { tmpdir } = await import('node:os');
  const { dirname, join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const { rmSync } = await import('node:fs');
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@vladmandic/face-api/dist/face-api.esm-nobundle.js');
  const tfjsCore = pathToFileURL(require.resolve('@tensorflow/tfjs-core')).href;
  const outfile = join(tmpdir(), `synface-faceapi-${process.pid}.mjs`);
  const chained =
    require.resolve('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js');
  await build({
    // face-api calls tensor methods (x.as3D(...)) that the umbrella package registers on tfjs's
    // global Tensor class and tfjs-core's Node entry does not: registered here first
    stdin: {
      contents: `import ${JSON.stringify(chained)};\nexport * from ${JSON.stringify(entry)};`,
      resolveDir: dirname(entry),
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile,
    logLevel: 'silent',
    plugins: [
      {
        name: 'tfjs-core-only',
        setup(b) {
          b.onResolve({ filter: /^@tensorflow\/tfjs\/dist\/index\.js$/ }, () => ({
            path: tfjsCore, // absolute: the bundle is written to a temporary folder
            external: true,
          }));
          b.onResolve({ filter: /^@tensorflow\/tfjs-backend-(webgl|wasm)\// }, (a) => ({
            path: a.path,
            namespace: 'empty',
          }));
          b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};' }));
        },
      },
    ],
  });
  try {
    return (await import(pathToFileURL(outfile).href)) as FaceApi;
  } finally {
    rmSync(outfile, { force: true });
  }
}

export function tfjsFaceApiForward(peer: TfjsWebgpuPeer, which: FaceApiBenchNet): PeerCase {
  const tf = peer.tf;
  const { weights, size, batch } = FACEAPI_BENCH[which];
  let net: FaceApiNet | null = null;
  let images: TfCore.Tensor3D[] = [];
  let input: unknown = null;
  let tensorsBefore = 0;
  const forward = () => (which === 'dlib' ? net!.forwardInput(input) : net!.runNet(input)).dispose();
  return {
    name: `faceapi-${which}-forward`,
    unit: 'images/s',
    work: batch,
    opsPerRun: FORWARDS_PER_RUN,
    minIterations: 2,
    async setup() {
      tensorsBefore = tf.memory().numTensors;
      const faceapi = await importFaceApi();
      if (faceapi.tf.getBackend() !== 'webgpu')
        throw new Error(`face-api runs on tfjs backend '${faceapi.tf.getBackend()}', not the peer's webgpu`);
      const dir = faceApiModelDir();
      const manifest = JSON.parse(readFileSync(`${dir}/${weights}-weights_manifest.json`, 'utf8'));
      const bin = readFileSync(`${dir}/${manifest[0].paths[0]}`);
      net = new faceapi[which === 'dlib' ? 'FaceRecognitionNet' : 'FaceLandmark68Net']();
      net.loadFromWeightMap(
        tf.io.decodeWeights(
          bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length),
          manifest[0].weights,
        ),
      );
      images = tf.tidy(() =>
        tf.unstack(tf.randomUniform([batch, size, size, 3], 0, 255, 'float32', 1)),
      ) as TfCore.Tensor3D[];
      input = await faceapi.toNetInput(images);
      for (let k = 0; k < WARMUP_FORWARDS; k++) forward();
      await peer.sync();
    },
    async run() {
      for (let k = 0; k < FORWARDS_PER_RUN; k++) forward();
      await peer.sync();
    },
    async teardown() {
      net?.dispose();
      tf.dispose(images);
      net = input = null;
      images = [];
      await peer.sync();
      const leaked = tf.memory().numTensors - tensorsBefore;
      if (leaked !== 0) throw new Error(`tfjs faceapi-${which}-forward: leaked ${leaked} tensors`);
    },
  };
}
