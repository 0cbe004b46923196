/**
 * Forward throughput of face-api's pretrained networks on the engine, as a judge or a loss would
 * run them: a batch of RGB images in [0, 255] (random values: speed does not depend on them)
 * through the 68-point landmark network (112x112 -> 68 points) or the dlib descriptor (150x150
 * -> 128), preprocessing included, no gradient. Unit: images per second, over FORWARDS_PER_RUN
 * forward passes recorded back to back before one wait. The peer (bench/peers/tfjs-faceapi.ts)
 * runs face-api's own implementation of the same networks, with the same weights, on
 * TensorFlow.js's WebGPU backend.
 */
import * as E from '../../src/index.js';
import { loadTfjsWeights } from '../../src/io/tfjs-weights-node.js';
import { DlibDescriptor, DLIB_WEIGHTS_NAME } from '../../src/models/face-api/dlib-descriptor.js';
import { Landmark68, LANDMARK68_WEIGHTS_NAME } from '../../src/models/face-api/landmark68.js';
import type { PeerCase } from '../peers/tfjs-webgpu.js';

export type FaceApiBenchNet = 'landmark68' | 'dlib';

/** Per network: weights, input side, batch. */
export const FACEAPI_BENCH = {
  landmark68: { weights: LANDMARK68_WEIGHTS_NAME, size: 112, batch: 16 },
  dlib: { weights: DLIB_WEIGHTS_NAME, size: 150, batch: 8 },
} as const;
export const FORWARDS_PER_RUN = 1;
/** Untimed forward passes in setup (pipelines compile, memory pools grow), on both sides. */
export const WARMUP_FORWARDS = 1;

export function faceApiForward(which: FaceApiBenchNet, batch: number = FACEAPI_BENCH[which].batch): PeerCase {
  const { weights, size } = FACEAPI_BENCH[which];
  let net: Landmark68 | DlibDescriptor | null = null;
  let x: E.Tensor | null = null;
  const forward = () => E.noGrad(() => E.scope(() => net!.forward(x!))).dispose();
  return {
    name: `faceapi-${which}-forward`,
    unit: 'images/s',
    work: batch,
    opsPerRun: FORWARDS_PER_RUN,
    minIterations: 2,
    async setup() {
      const w = loadTfjsWeights(weights);
      net = which === 'dlib' ? new DlibDescriptor(w) : new Landmark68(w);
      x = E.keep(E.rand([batch, 3, size, size], 0, 255, new E.Generator(1)));
      for (let k = 0; k < WARMUP_FORWARDS; k++) forward();
      await E.getDevice().sync();
    },
    async run() {
      for (let k = 0; k < FORWARDS_PER_RUN; k++) forward();
      await E.getDevice().sync();
    },
    async teardown() {
      x?.dispose();
      net?.dispose();
      x = net = null;
      await E.getDevice().sync();
    },
  };
}
