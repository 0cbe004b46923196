/**
 * face-api's four networks on the engine, for the cross-environment suite (suite.ts): the dlib
 * descriptor (150x150 -> 128), the 68-point landmark networks full and tiny (112x112 -> 68 x 2)
 * and the expression network (112x112 -> 7 logits and probabilities), each on one fixed image
 * made by a formula, so Node and the browser start from identical bits. Node's outputs are the
 * reference (run.ts compares within its tolerance); that Node matches face-api's own
 * implementation is checked in test/faceapi-dlib.test.ts and test/faceapi-landmark.test.ts.
 *
 * The weights are the installed @vladmandic/face-api package's model files. A page cannot read
 * node_modules: the caller passes `readModelFile(fileName)`, which reads the package's model/
 * folder in Node and fetches `/model/<fileName>` (served by run.ts from that folder) in the page.
 */
import { noGrad, scope, tensor, type Tensor } from '../../src/index.js';
import { readTfjsWeights } from '../../src/io/tfjs-weights.js';
import { DlibDescriptor, DLIB_WEIGHTS_NAME } from '../../src/models/face-api/dlib-descriptor.js';
import { EXPRESSION_WEIGHTS_NAME, FaceExpression } from '../../src/models/face-api/expression.js';
import { Landmark68, LANDMARK68_WEIGHTS_NAME } from '../../src/models/face-api/landmark68.js';
import { Landmark68Tiny, LANDMARK68_TINY_WEIGHTS_NAME } from '../../src/models/face-api/landmark68-tiny.js';
import type { Module } from '../../src/nn/module.js';

export type ReadModelFile = (fileName: string) => Promise<Uint8Array>;

/** One RGB image (1, 3, S, S) in [0, 255]: smooth blobs plus a little texture, not dyadic. */
function faceLikeImage(S: number): number[] {
  const out = new Array<number>(3 * S * S);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) {
        const u = x / S - 0.5,
          v = y / S - 0.5;
        const blob = Math.exp(-(u * u + v * v * 0.6) * 6); // a bright oval in the middle
        const eyes = Math.exp(-((Math.abs(u) - 0.17) ** 2 + (v + 0.1) ** 2) * 300); // two dark spots
        const value = 40 + 170 * blob - 90 * eyes + 12 * Math.sin(x * 0.9 + y * 0.37 + c * 2.1);
        out[(c * S + y) * S + x] = Math.min(255, Math.max(0, value + c * 9));
      }
  return out;
}

interface Pushed {
  name: string;
  t: Tensor;
}

/** Runs the four networks; returns named output tensors for the suite to read and compare. */
export async function faceApiCases(readModelFile: ReadModelFile): Promise<Pushed[]> {
  const out: Pushed[] = [];
  const run = async <M extends Module>(
    name: string,
    weightsName: string,
    make: (w: Awaited<ReturnType<typeof readTfjsWeights>>) => M,
    f: (net: M) => [string, Tensor][],
  ) => {
    const net = make(await readTfjsWeights(weightsName, readModelFile));
    try {
      for (const [suffix, t] of noGrad(() => f(net))) out.push({ name: `${name}${suffix}`, t });
    } finally {
      net.dispose();
    }
  };
  const x112 = faceLikeImage(112),
    x150 = faceLikeImage(150);
  await run(
    'face-api dlib descriptor 150x150',
    DLIB_WEIGHTS_NAME,
    (w) => new DlibDescriptor(w),
    (net) => [['', scope(() => net.forward(tensor(x150, [1, 3, 150, 150])))]],
  );
  await run(
    'face-api landmark68 112x112',
    LANDMARK68_WEIGHTS_NAME,
    (w) => new Landmark68(w),
    (net) => [['', scope(() => net.forward(tensor(x112, [1, 3, 112, 112])))]],
  );
  await run(
    'face-api landmark68 tiny 112x112',
    LANDMARK68_TINY_WEIGHTS_NAME,
    (w) => new Landmark68Tiny(w),
    (net) => [['', scope(() => net.forward(tensor(x112, [1, 3, 112, 112])))]],
  );
  await run(
    'face-api expression 112x112',
    EXPRESSION_WEIGHTS_NAME,
    (w) => new FaceExpression(w),
    (net) => [
      [' logits', scope(() => net.forward(tensor(x112, [1, 3, 112, 112])))],
      [' probabilities', scope(() => net.probabilities(tensor(x112, [1, 3, 112, 112])))],
    ],
  );
  return out;
}
