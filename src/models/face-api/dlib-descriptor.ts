/**
 * dlib's face descriptor (Davis King's ResNet metric network, `dlib_face_recognition_resnet_model_v1`,
 * public domain) with the weights face-api ships as `face_recognition_model`, run on the engine.
 * It maps a 150x150 RGB face to a 128-d descriptor; two faces are the same person when the
 * Euclidean distance of their descriptors is below about 0.6 (dlib's rule).
 *
 * Preprocessing (as face-api does it): RGB in [0, 255], minus the mean [122.782, 117.001,
 * 104.298], divided by 255 (face-api 1.7.15's build; older face-api sources divide by 256, a 0.4%
 * difference the oracle test detects). `forward` takes (N, 3, 150, 150) in [0, 255] and does
 * this itself; `prepareDlibInput` turns other sizes and ranges into that.
 *
 * Network (sizes for 150x150; every conv is followed by a per-channel scale, folded batch norm):
 *
 *   conv 7x7/2 'valid' + relu                 3 -> 32     150 -> 72
 *   max pool 3x3/2 'valid'                                 72 -> 35
 *   3 residual blocks                         32           35
 *   down + 3 residual                         32 -> 64     35 -> 17
 *   down + 2 residual                         64 -> 128    17 -> 8
 *   down + 2 residual + down                  128 -> 256   8 -> 4 -> 2
 *   mean over H, W; matmul with fc (256, 128), no bias
 *
 *   residual:  relu(x + S(conv3x3(relu(S(conv3x3(x))))))              'same' = pad 1, symmetric
 *   down:      relu(avgpool2x2/2(x) + S(conv3x3(relu(S(conv3x3/2 'valid'(x))))))
 *              where the pooled shortcut gains zero channels to the block's width, and the
 *              residual branch, when smaller than the shortcut (8 -> 3 vs 4; 4 -> 1 vs 2), gains
 *              zero rows at the bottom and zero columns at the right.
 *
 * Each "conv + bias, then y * scale + shift" pair is folded once, at load, into one conv:
 * weight * scale (per output channel) and bias * scale + shift. The weights are buffers, not
 * parameters: a frozen judge. Gradients flow to the input (the generator's identity loss).
 * The smallest input the architecture admits is 103x103 (the last down block needs 3x3).
 */
import { add, affine, conv2d, matmul, maxPool2d, avgPool2d, mean, pad, relu, sub } from '../../ops/index.js';
import { resizeBilinear } from '../../ops/resample.js';
import { Module } from '../../nn/module.js';
import { requireTensor } from '../../io/tfjs-weights.js';
import { uploadTensor, type TensorData } from '../../tensor/tensor-data.js';
import { tensor } from '../../tensor/create.js';
import type { Tensor } from '../../tensor/tensor.js';

export const DLIB_INPUT_SIZE = 150;
export const DLIB_MEAN_RGB = [122.782, 117.001, 104.298] as const;
/** face-api 1.7.15 divides by 255 after subtracting the mean. */
export const DLIB_DIVISOR = 255;
/** dlib's same-person threshold on the Euclidean distance of two descriptors. */
export const DLIB_THRESHOLD = 0.6;
export const DLIB_WEIGHTS_NAME = 'face_recognition_model';

/** A conv whose bias and following scale layer are folded in: y = conv(x, w * s) + (b * s + t). */
class FoldedConv extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    weights: Record<string, TensorData>,
    prefix: string,
    cin: number,
    cout: number,
    k: number,
    readonly stride: number,
    readonly padding: number,
    source: string,
  ) {
    super();
    const need = (name: string, shape: number[]) =>
      requireTensor(weights, `${prefix}/${name}`, shape, source);
    const filters = need('conv/filters', [k, k, cin, cout]).data; // TF: HWIO
    const b = need('conv/bias', [cout]).data;
    const s = need('scale/weights', [cout]).data;
    const t = need('scale/biases', [cout]).data;
    // HWIO -> OIHW (the engine's layout), scaled per output channel
    const w = new Float32Array(cout * cin * k * k);
    for (let o = 0; o < cout; o++)
      for (let c = 0; c < cin; c++)
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++)
            w[((o * cin + c) * k + i) * k + j] = filters[((i * k + j) * cin + c) * cout + o] * s[o];
    this.weight = this.registerBuffer(
      'weight',
      uploadTensor({ dtype: 'f32', shape: [cout, cin, k, k], data: w }),
    );
    this.bias = this.registerBuffer(
      'bias',
      uploadTensor({ dtype: 'f32', shape: [cout], data: Float32Array.from(b, (bo, o) => bo * s[o] + t[o]) }),
    );
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}

/** A residual block (`down` false) or a down block (stride 2, avg-pool shortcut, wider). */
export class ResidualBlock extends Module {
  readonly conv1: FoldedConv;
  readonly conv2: FoldedConv;

  constructor(
    weights: Record<string, TensorData>,
    prefix: string,
    cin: number,
    cout: number,
    readonly down: boolean,
    source: string,
  ) {
    super();
    this.conv1 = this.registerModule(
      'conv1',
      new FoldedConv(weights, `${prefix}/conv1`, cin, cout, 3, down ? 2 : 1, down ? 0 : 1, source),
    );
    this.conv2 = this.registerModule(
      'conv2',
      new FoldedConv(weights, `${prefix}/conv2`, cout, cout, 3, 1, 1, source),
    );
  }

  forward(x: Tensor): Tensor {
    let r = this.conv2.forward(relu(this.conv1.forward(x)));
    if (!this.down) return relu(add(x, r));
    let shortcut = avgPool2d(x, 2, 2);
    const [, cin, ph, pw] = shortcut.shape;
    const [, cout, rh, rw] = r.shape;
    if (rh > ph || rw > pw)
      throw new RangeError(
        `dlib descriptor: residual branch [${r.shape}] larger than its shortcut [${shortcut.shape}]`,
      );
    if (rh < ph || rw < pw)
      r = pad(r, [
        [0, 0],
        [0, 0],
        [0, ph - rh],
        [0, pw - rw],
      ]);
    if (cout > cin)
      shortcut = pad(shortcut, [
        [0, 0],
        [0, cout - cin],
      ]);
    return relu(add(shortcut, r));
  }
}

/** The stages after the stem: [name, input channels, output channels, down?]. */
const BLOCKS: [string, number, number, boolean][] = [
  ['conv32_1', 32, 32, false],
  ['conv32_2', 32, 32, false],
  ['conv32_3', 32, 32, false],
  ['conv64_down', 32, 64, true],
  ['conv64_1', 64, 64, false],
  ['conv64_2', 64, 64, false],
  ['conv64_3', 64, 64, false],
  ['conv128_down', 64, 128, true],
  ['conv128_1', 128, 128, false],
  ['conv128_2', 128, 128, false],
  ['conv256_down', 128, 256, true],
  ['conv256_1', 256, 256, false],
  ['conv256_2', 256, 256, false],
  ['conv256_down_out', 256, 256, true],
];

export class DlibDescriptor extends Module {
  readonly stem!: FoldedConv;
  readonly blocks!: ResidualBlock[];
  /** (256, 128): descriptor = mean-pooled features @ fc. */
  readonly fc!: Tensor;
  /** (1, 3, 1, 1): the mean RGB, subtracted from the input. */
  readonly meanRgb!: Tensor;

  /** Builds the network from decoded face-api weights (`source` names the manifest in errors). */
  constructor(weights: Record<string, TensorData>, source = DLIB_WEIGHTS_NAME) {
    super();
    try {
      this.stem = this.registerModule(
        'conv32_down',
        new FoldedConv(weights, 'conv32_down', 3, 32, 7, 2, 0, source),
      );
      this.blocks = BLOCKS.map(([name, cin, cout, down]) =>
        this.registerModule(name, new ResidualBlock(weights, name, cin, cout, down, source)),
      );
      this.fc = this.registerBuffer('fc', uploadTensor(requireTensor(weights, 'fc', [256, 128], source)));
      this.meanRgb = this.registerBuffer('mean_rgb', tensor(Float32Array.from(DLIB_MEAN_RGB), [1, 3, 1, 1]));
    } catch (e) {
      this.dispose(); // the layers built before the bad tensor
      throw e;
    }
    this.eval();
  }

  /** (N, 3, H, W) RGB in [0, 255], H and W >= 103 (150 as trained) -> (N, 128) descriptors. */
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[2] < 103 || x.shape[3] < 103)
      throw new RangeError(
        `dlib descriptor: expected RGB images (N, 3, 150, 150) in [0, 255] (at least 103 x 103), got [${x.shape}]`,
      );
    let h = affine(sub(x, this.meanRgb), 1 / DLIB_DIVISOR, 0);
    h = maxPool2d(relu(this.stem.forward(h)), 3, 2);
    for (const block of this.blocks) h = block.forward(h);
    return matmul(mean(h, [2, 3]), this.fc);
  }
}

/**
 * Images (N, 3, H, W) with values in [lo, hi] (e.g. [-1, 1] for the engine's normalized
 * images) -> the descriptor's input: resized to 150x150 (bilinear, half-pixel centres; face-api
 * uses TensorFlow's legacy resize without them, a shift of under half an input pixel) and
 * mapped to [0, 255]. Square, face-centred crops are expected (face-api pads to a square first).
 */
export function prepareDlibInput(x: Tensor, range: readonly [number, number] = [0, 1]): Tensor {
  const [lo, hi] = range;
  const sized =
    x.shape[2] === DLIB_INPUT_SIZE && x.shape[3] === DLIB_INPUT_SIZE
      ? x
      : resizeBilinear(x, [DLIB_INPUT_SIZE, DLIB_INPUT_SIZE]);
  return affine(sized, 255 / (hi - lo), (-255 * lo) / (hi - lo));
}
