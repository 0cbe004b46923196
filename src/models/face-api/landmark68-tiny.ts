/**
 * face-api's tiny 68-point landmark network (`face_landmark_68_tiny_model`) on the engine: a
 * 112x112 RGB face -> 136 numbers, the (x, y) of 68 points relative to the input square.
 * (This is the network's raw output; face-api then undoes its square padding.)
 *
 * Preprocessing (face-api 1.7.15): RGB in [0, 255], minus the mean [122.782, 117.001, 104.298],
 * divided by 255. `forward` takes (N, 3, 112, 112) in [0, 255] and does this itself.
 *
 *   3 dense blocks (32, 64, 128 channels), each 112 -> 56 -> 28 -> 14:
 *     a = relu(conv0(x))               stride 2, 'same'; block 0: plain 3x3, others separable
 *     b = conv1(a)                     separable, stride 1
 *     c = conv2(relu(a + b))           separable, stride 1
 *     out = relu(a + b + c)
 *   avg pool 14x14 / 2 'valid' (14 -> 1), fully connected 128 -> 136
 *
 * separable = depthwise 3x3 (a grouped conv with one group per channel) + pointwise 1x1 + bias.
 * TensorFlow's 'same' padding for a 3x3 stride-2 conv on an even size pads 0 before and 1 after
 * (112 -> 56): done with an explicit asymmetric pad, then an unpadded conv.
 */
import { add, affine, avgPool2d, conv2d, flatten, matmul, pad, relu, sub } from '../../ops/index.js';
import { Module } from '../../nn/module.js';
import { requireTensor } from '../../io/tfjs-weights.js';
import { uploadTensor, type TensorData } from '../../tensor/tensor-data.js';
import { tensor } from '../../tensor/create.js';
import type { Tensor } from '../../tensor/tensor.js';
import { DLIB_MEAN_RGB } from './dlib-descriptor.js';

export const LANDMARK_INPUT_SIZE = 112;
export const LANDMARK68_TINY_WEIGHTS_NAME = 'face_landmark_68_tiny_model';

/** TF HWIO [k, k, cin, cout] (depthwise: [k, k, C, 1]) -> the engine's OIHW. */
function toOIHW(t: TensorData, depthwise: boolean): TensorData {
  const [k, , cin, m] = t.shape;
  const cout = depthwise ? cin : m;
  const cinPerGroup = depthwise ? 1 : cin;
  const w = new Float32Array(cout * cinPerGroup * k * k);
  for (let o = 0; o < cout; o++)
    for (let c = 0; c < cinPerGroup; c++)
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++)
          w[((o * cinPerGroup + c) * k + i) * k + j] = depthwise
            ? t.data[(i * k + j) * cin + o] // channel o's own filter
            : t.data[((i * k + j) * cin + c) * cout + o];
  return { dtype: 'f32', shape: [cout, cinPerGroup, k, k], data: w };
}

/** A 3x3 conv with TF 'same' padding: plain (first layer) or depthwise-separable. */
class SameConv extends Module {
  readonly #w: Tensor;
  readonly #dw: Tensor | null = null;
  readonly #bias: Tensor;

  constructor(
    weights: Record<string, TensorData>,
    prefix: string,
    cin: number,
    cout: number,
    readonly separable: boolean,
    readonly stride: number,
    source: string,
  ) {
    super();
    const need = (name: string, shape: number[]) =>
      requireTensor(weights, `${prefix}/${name}`, shape, source);
    if (separable) {
      this.#dw = this.registerBuffer(
        'depthwise',
        uploadTensor(toOIHW(need('depthwise_filter', [3, 3, cin, 1]), true)),
      );
      this.#w = this.registerBuffer(
        'pointwise',
        uploadTensor(toOIHW(need('pointwise_filter', [1, 1, cin, cout]), false)),
      );
    } else
      this.#w = this.registerBuffer(
        'filters',
        uploadTensor(toOIHW(need('filters', [3, 3, cin, cout]), false)),
      );
    this.#bias = this.registerBuffer('bias', uploadTensor(need('bias', [cout])));
  }

  forward(x: Tensor): Tensor {
    const [, C, H, W] = x.shape;
    // TF 'same': output ceil(size / stride); total padding split with the extra one after
    const padFor = (n: number) => {
      const total = Math.max((Math.ceil(n / this.stride) - 1) * this.stride + 3 - n, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)] as [number, number];
    };
    const padded = pad(x, [[0, 0], [0, 0], padFor(H), padFor(W)]);
    if (!this.#dw) return conv2d(padded, this.#w, this.#bias, { stride: this.stride });
    const depthwise = conv2d(padded, this.#dw, null, { stride: this.stride, groups: C });
    return conv2d(depthwise, this.#w, this.#bias);
  }
}

class DenseBlock3 extends Module {
  readonly convs: SameConv[];

  constructor(
    weights: Record<string, TensorData>,
    prefix: string,
    cin: number,
    cout: number,
    first: boolean,
    source: string,
  ) {
    super();
    this.convs = [0, 1, 2].map((i) =>
      this.registerModule(
        `conv${i}`,
        new SameConv(
          weights,
          `${prefix}/conv${i}`,
          i ? cout : cin,
          cout,
          !(first && i === 0),
          i ? 1 : 2,
          source,
        ),
      ),
    );
  }

  forward(x: Tensor): Tensor {
    const a = relu(this.convs[0].forward(x));
    const b = this.convs[1].forward(a);
    const ab = add(a, b);
    const c = this.convs[2].forward(relu(ab));
    return relu(add(ab, c));
  }
}

export class Landmark68Tiny extends Module {
  readonly blocks!: DenseBlock3[];
  readonly fcWeight!: Tensor;
  readonly fcBias!: Tensor;
  readonly meanRgb!: Tensor;

  constructor(weights: Record<string, TensorData>, source = LANDMARK68_TINY_WEIGHTS_NAME) {
    super();
    try {
      this.blocks = [
        [3, 32],
        [32, 64],
        [64, 128],
      ].map(([cin, cout], i) =>
        this.registerModule(`dense${i}`, new DenseBlock3(weights, `dense${i}`, cin, cout, i === 0, source)),
      );
      this.fcWeight = this.registerBuffer(
        'fc_weights',
        uploadTensor(requireTensor(weights, 'fc/weights', [128, 136], source)),
      );
      this.fcBias = this.registerBuffer(
        'fc_bias',
        uploadTensor(requireTensor(weights, 'fc/bias', [136], source)),
      );
      this.meanRgb = this.registerBuffer('mean_rgb', tensor(Float32Array.from(DLIB_MEAN_RGB), [1, 3, 1, 1]));
    } catch (e) {
      this.dispose();
      throw e;
    }
    this.eval();
  }

  /** (N, 3, 112, 112) RGB in [0, 255] -> (N, 136): x0, y0, x1, y1, ... relative to the input. */
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[2] !== 112 || x.shape[3] !== 112)
      throw new RangeError(
        `landmark68 tiny: expected RGB images (N, 3, 112, 112) in [0, 255], got [${x.shape}]`,
      );
    let h = affine(sub(x, this.meanRgb), 1 / 255, 0);
    for (const block of this.blocks) h = block.forward(h);
    h = flatten(avgPool2d(h, 14, 2)); // (N, 128)
    return add(matmul(h, this.fcWeight), this.fcBias);
  }
}
