/**
 * face-api's tiny 68-point landmark network (`face_landmark_68_tiny_model`) on the engine: the
 * same output as landmark68.ts, (N, 68, 2) points relative to the 112x112 input, from a smaller
 * trunk (dense-trunk.ts: 3 dense blocks of 3 convs, 32, 64, 128 channels, avg pool 14/2) and a
 * fully connected layer 128 -> 136. The full and tiny networks agree to about 1% of the image
 * width on the sample's faces.
 */
import type { TensorData } from '../../tensor/tensor-data.js';
import type { Tensor } from '../../tensor/tensor.js';
import { TINY_TRUNK, TrunkNet } from './dense-trunk.js';
import { LANDMARK_POINTS, toPoints } from './landmark68.js';

export const LANDMARK68_TINY_WEIGHTS_NAME = 'face_landmark_68_tiny_model';

export class Landmark68Tiny extends TrunkNet {
  constructor(weights: Record<string, TensorData>, source = LANDMARK68_TINY_WEIGHTS_NAME) {
    super(weights, TINY_TRUNK, 2 * LANDMARK_POINTS, 'landmark68 tiny', source);
  }

  /** (N, 3, 112, 112) RGB in [0, 255] -> (N, 68, 2): (x, y) relative to the input. */
  forward(x: Tensor): Tensor {
    return toPoints(this.head(x));
  }
}
