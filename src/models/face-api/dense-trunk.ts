/**
 * The trunk shared by face-api's 68-point landmark networks (full and tiny) and its expression
 * network: dense blocks of 3x3 convolutions with TensorFlow's 'same' padding, then one average
 * pool to a feature vector. The heads (a fully connected layer each) are in landmark68.ts,
 * landmark68-tiny.ts and expression.ts.
 *
 * Preprocessing (face-api 1.7.15): RGB in [0, 255], minus the mean [122.782, 117.001, 104.298],
 * divided by 255. `forward` takes (N, 3, 112, 112) in [0, 255] and does this itself.
 *
 * A dense block of n convs (n = 4 for the full trunk, 3 for the tiny one); every block halves
 * the size (112 -> 56 -> 28 -> 14 [-> 7]):
 *
 *   o0 = relu(conv0(x))                  stride 2; block 0: plain 3x3, later blocks separable
 *   o1 = conv1(o0)                       separable, stride 1
 *   ok = convk(relu(o0 + ... + o(k-1)))  k = 2 .. n-1
 *   out = relu(o0 + ... + o(n-1))
 *
 * separable = depthwise 3x3 (a grouped conv with one group per channel) + pointwise 1x1 + bias.
 * TensorFlow's 'same' padding for a 3x3 stride-2 conv on an even size pads 0 before and 1 after
 * (112 -> 56): done with an explicit asymmetric pad, then an unpadded conv. At stride 1 it pads
 * 1 and 1, which the conv does itself.
 *
 *   full: blocks of 4 convs, 32, 64, 128, 256 channels, 112 -> 7, avg pool 7x7/2 'valid' -> 256
 *   tiny: blocks of 3 convs, 32, 64, 128 channels,      112 -> 14, avg pool 14x14/2 'valid' -> 128
 *
 * Weights are named `dense<b>/conv<k>/{filters | depthwise_filter, pointwise_filter}` and
 * `.../bias`, TF layout HWIO; they become buffers (a frozen network; gradients flow to the
 * input only).
 */
import { add, affine, avgPool2d, conv2d, flatten, matmul, pad, relu, sub } from '../../ops/index.js';
import { Module } from '../../nn/module.js';
import { requireTensor } from '../../io/tfjs-weights.js';
import { uploadTensor, type TensorData } from '../../tensor/tensor-data.js';
import { tensor } from '../../tensor/create.js';
import type { Tensor } from '../../tensor/tensor.js';
import { DLIB_MEAN_RGB } from './dlib-descriptor.js';

export const LANDMARK_INPUT_SIZE = 112;

export interface TrunkConfig {
  /** Output channels of each dense block. */
  widths: readonly number[];
  /** Convolutions per dense block (3 or 4). */
  convsPerBlock: number;
}

export const FULL_TRUNK: TrunkConfig = { widths: [32, 64, 128, 256], convsPerBlock: 4 };
export const TINY_TRUNK: TrunkConfig = { widths: [32, 64, 128], convsPerBlock: 3 };

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
    const [ph, pw] = [padFor(H), padFor(W)];
    // symmetric (every stride-1 conv: 1 and 1): the conv pads; asymmetric: an explicit pad first
    // (a separate pass over the tensor: 17% of the GPU time when every conv did it, measured)
    const symmetric = ph[0] === ph[1] && pw[0] === pw[1];
    const input = symmetric ? x : pad(x, [[0, 0], [0, 0], ph, pw]);
    const opts = { stride: this.stride, padding: symmetric ? ([ph[0], pw[0]] as [number, number]) : 0 };
    if (!this.#dw) return conv2d(input, this.#w, this.#bias, opts);
    const depthwise = conv2d(input, this.#dw, null, { ...opts, groups: C });
    return conv2d(depthwise, this.#w, this.#bias);
  }
}

/** One dense block: n convs, each after the first fed the relu of the sum of all before it. */
export class DenseBlock extends Module {
  readonly convs: SameConv[];

  constructor(
    weights: Record<string, TensorData>,
    prefix: string,
    cin: number,
    cout: number,
    convs: number,
    first: boolean,
    source: string,
  ) {
    super();
    this.convs = Array.from({ length: convs }, (_, k) =>
      this.registerModule(
        `conv${k}`,
        new SameConv(
          weights,
          `${prefix}/conv${k}`,
          k ? cout : cin,
          cout,
          !(first && k === 0),
          k ? 1 : 2,
          source,
        ),
      ),
    );
  }

  forward(x: Tensor): Tensor {
    const o0 = relu(this.convs[0].forward(x));
    let sum = add(o0, this.convs[1].forward(o0)); // o0 >= 0: relu(o0) is o0 itself
    for (let k = 2; k < this.convs.length; k++) sum = add(sum, this.convs[k].forward(relu(sum)));
    return relu(sum);
  }
}

/** Preprocessing, the dense blocks and the average pool: (N, 3, 112, 112) -> (N, last width). */
export class DenseTrunk extends Module {
  readonly blocks: DenseBlock[];
  readonly meanRgb: Tensor;
  /** Side of the last block's output, pooled whole (7 or 14). */
  readonly poolSize: number;

  constructor(weights: Record<string, TensorData>, config: TrunkConfig, source: string) {
    super();
    let cin = 3;
    this.blocks = config.widths.map((cout, b) => {
      const block = new DenseBlock(weights, `dense${b}`, cin, cout, config.convsPerBlock, b === 0, source);
      cin = cout;
      return this.registerModule(`dense${b}`, block);
    });
    this.poolSize = LANDMARK_INPUT_SIZE / 2 ** config.widths.length;
    this.meanRgb = this.registerBuffer('mean_rgb', tensor(Float32Array.from(DLIB_MEAN_RGB), [1, 3, 1, 1]));
  }

  /** (N, 3, 112, 112) RGB in [0, 255] -> (N, C) features; `net` names the network in errors. */
  forward(x: Tensor, net = 'face-api dense trunk'): Tensor {
    const S = LANDMARK_INPUT_SIZE;
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[2] !== S || x.shape[3] !== S)
      throw new RangeError(`${net}: expected RGB images (N, 3, ${S}, ${S}) in [0, 255], got [${x.shape}]`);
    let h = affine(sub(x, this.meanRgb), 1 / 255, 0);
    for (const block of this.blocks) h = block.forward(h);
    // face-api's pool: size 7 (14 for tiny), stride 2, 'valid': one window covering the map
    return flatten(avgPool2d(h, this.poolSize, 2));
  }
}

/**
 * A trunk and a fully connected head (face-api's FaceProcessor): `fc/weights` (C, K) and
 * `fc/bias` (K). `head(x)` is the network's raw output, (N, K); the subclasses shape it.
 */
export class TrunkNet extends Module {
  readonly trunk!: DenseTrunk;
  readonly fcWeight!: Tensor;
  readonly fcBias!: Tensor;

  constructor(
    weights: Record<string, TensorData>,
    config: TrunkConfig,
    outputs: number,
    readonly netName: string,
    source: string,
  ) {
    super();
    try {
      this.trunk = this.registerModule('trunk', new DenseTrunk(weights, config, source));
      const C = config.widths[config.widths.length - 1];
      this.fcWeight = this.registerBuffer(
        'fc_weights',
        uploadTensor(requireTensor(weights, 'fc/weights', [C, outputs], source)),
      );
      this.fcBias = this.registerBuffer(
        'fc_bias',
        uploadTensor(requireTensor(weights, 'fc/bias', [outputs], source)),
      );
    } catch (e) {
      this.dispose(); // frees the layers built so far
      throw e;
    }
    this.eval();
  }

  /** (N, 3, 112, 112) RGB in [0, 255] -> (N, K), the fully connected layer's output. */
  head(x: Tensor): Tensor {
    return add(matmul(this.trunk.forward(x, this.netName), this.fcWeight), this.fcBias);
  }
}
