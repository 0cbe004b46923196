/**
 * face-api's 68-point landmark network (`face_landmark_68_model`) on the engine: a 112x112 RGB
 * face -> the (x, y) of 68 points relative to the input square, in [0, 1] for points inside it.
 * (This is the network's raw output; face-api then undoes its square padding.) The trunk (4 dense
 * blocks of 4 convs, 32..256 channels, avg pool 7/2) is dense-trunk.ts; the head is a fully
 * connected layer 256 -> 136 = x0, y0, x1, y1, ...
 *
 * Points follow the iBUG 300-W order: 0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth.
 */
import { reshape } from '../../ops/index.js';
import type { TensorData } from '../../tensor/tensor-data.js';
import type { Tensor } from '../../tensor/tensor.js';
import { FULL_TRUNK, TrunkNet } from './dense-trunk.js';

export const LANDMARK68_WEIGHTS_NAME = 'face_landmark_68_model';
export const LANDMARK_POINTS = 68;

/** (N, 136) interleaved x, y -> (N, 68, 2). */
export function toPoints(flat: Tensor): Tensor {
  return reshape(flat, [flat.shape[0], LANDMARK_POINTS, 2]);
}

export class Landmark68 extends TrunkNet {
  constructor(weights: Record<string, TensorData>, source = LANDMARK68_WEIGHTS_NAME) {
    super(weights, FULL_TRUNK, 2 * LANDMARK_POINTS, 'landmark68', source);
  }

  /** (N, 3, 112, 112) RGB in [0, 255] -> (N, 68, 2): (x, y) relative to the input. */
  forward(x: Tensor): Tensor {
    return toPoints(this.head(x));
  }
}
