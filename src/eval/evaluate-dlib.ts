/**
 * The verification of pairs by dlib's face descriptor (face-api's weights, run on the engine):
 * `synface eval --model dlib`. The same protocol and the same summary keys as
 * evaluate-recognizer.ts, with two differences:
 *   - pairs are scored by minus the Euclidean distance of the descriptors (dlib's metric);
 *     `threshold` in the summary is a distance (pairs closer than it are "same"; dlib's own
 *     rule is 0.6), chosen by the 10-fold protocol like any threshold;
 *   - the images are prepared as the embedded sample is (the 112x112 centre crop of a 250x250
 *     deep-funneled LFW image, 64x64), then upsampled to 150x150 (bilinear) for the network.
 *     The sample's aligned images are used as they are; raw LFW images are cropped the same way.
 * `weights` in the summary names the manifest the network was read from. Node (reads files).
 */
import { readFileSync } from 'node:fs';
import { parsePairs } from '../data/lfw-pairs.js';
import { loadPairImages } from '../data/pair-images.js';
import { faceApiModelDir, loadTfjsWeights } from '../io/tfjs-weights-node.js';
import { DlibDescriptor, DLIB_INPUT_SIZE, DLIB_WEIGHTS_NAME } from '../models/face-api/dlib-descriptor.js';
import type { Preprocess } from '../data/preprocess.js';
import { affine } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { evaluatePairs } from './embed.js';
import { summarizeVerification, type EvalOptions, type EvalSummary } from './evaluate-recognizer.js';

/** The data preparation of the embedded sample (data/lfw-sample/dataset.json). */
export const DLIB_PREPROCESS: Preprocess = { crop: [112, 112], out: [64, 64] };

export type DlibEvalOptions = Omit<EvalOptions, 'weights'>;

export async function evaluateDlib(o: DlibEvalOptions): Promise<{ summary: EvalSummary; view: 1 | 2 }> {
  const say = o.say ?? (() => {});
  const source = `${faceApiModelDir()}/${DLIB_WEIGHTS_NAME}-weights_manifest.json`;
  const net = new DlibDescriptor(loadTfjsWeights(DLIB_WEIGHTS_NAME), source);
  // embedRows hands over images normalized to [-1, 1] (v / 127.5 - 1), resized to 150x150
  const layer = { forward: (x: Tensor) => net.forward(affine(x, 127.5, 127.5)) };
  try {
    const pairsFile = parsePairs(readFileSync(o.pairs, 'utf8'), o.pairs);
    const images = loadPairImages(o.data, pairsFile.pairs, DLIB_PREPROCESS, `eval: ${o.pairs}`);
    say(`eval: ${images.cache.count} images decoded and aligned in ${images.seconds.toFixed(1)} s`);
    const t0 = performance.now();
    const { report, scores, same } = await evaluatePairs(layer, images.cache, pairsFile.pairs, images.rowOf, {
      input: [DLIB_INPUT_SIZE, DLIB_INPUT_SIZE],
      flip: !!o.flip,
      batch: o.batch ?? 16,
      metric: 'euclidean',
    });
    say(
      `eval: dlib descriptors of ${images.cache.count} images in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const summary = summarizeVerification(report, scores, same, {
      ...o,
      model: source,
      label: `dlib descriptor${o.flip ? ' (flip)' : ''}`,
      distance: true,
    });
    return { summary, view: pairsFile.view };
  } finally {
    net.dispose();
  }
}
