/**
 * face-api's expression network (`face_expression_model`) on the engine: a 112x112 RGB face ->
 * scores of 7 expressions. The trunk is the full landmark network's (dense-trunk.ts, its own
 * weights); the head a fully connected layer 256 -> 7. `forward` gives the logits, `probabilities`
 * their softmax (what face-api reports).
 */
import { softmax } from '../../ops/index.js';
import type { TensorData } from '../../tensor/tensor-data.js';
import type { Tensor } from '../../tensor/tensor.js';
import { FULL_TRUNK, TrunkNet } from './dense-trunk.js';

export const EXPRESSION_WEIGHTS_NAME = 'face_expression_model';
/** The order of the network's outputs. */
export const EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const;

export class FaceExpression extends TrunkNet {
  constructor(weights: Record<string, TensorData>, source = EXPRESSION_WEIGHTS_NAME) {
    super(weights, FULL_TRUNK, EXPRESSIONS.length, 'expression', source);
  }

  /** (N, 3, 112, 112) RGB in [0, 255] -> (N, 7) logits, in the order of EXPRESSIONS. */
  forward(x: Tensor): Tensor {
    return this.head(x);
  }

  /** (N, 3, 112, 112) RGB in [0, 255] -> (N, 7) probabilities (softmax of the logits). */
  probabilities(x: Tensor): Tensor {
    return softmax(this.forward(x), -1);
  }
}
