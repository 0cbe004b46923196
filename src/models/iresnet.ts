/**
 * The face recognizer: IResNet / LResNet-E-IR (Deng et al., ArcFace, CVPR 2019), the backbone
 * SynFace trains (LResNet50E-IR at 112x96).
 *
 *   stem    conv3x3/1 (3 -> w0) + BN + PReLU                     (N, w0, H, W)
 *   stages  for each stage s: blocks[s] IR blocks of width w_s, the first with stride 2
 *   block   BN - conv3x3/1 - BN - PReLU - conv3x3/stride - BN   (+ shortcut)
 *           shortcut: identity, or conv1x1/stride + BN when the shape changes
 *   head    BN2d - Dropout - Flatten - Linear(w_last * H/16 * W/16, emb) - BN1d -> embedding
 *
 * The four stride-2 stages shrink the input 16x: 112x96 ends at 7x6, as in the paper. With
 * stemStride 2 (the small preset) the stem halves it once more: 64x64 ends at 2x2.
 * Parameter names follow the PyTorch convention of the reference implementations (bn1,
 * conv1, prelu, ..., shortcut.conv), so state dicts line up with theirs.
 */
import { add, flatten } from '../ops/index.js';
import { BatchNorm, Conv2d, Dropout, Linear, Module, PReLU, type Layer } from '../nn/index.js';
import { getDefaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

export interface IResNetConfig {
  /** Input (height, width); both multiples of 16 * stemStride. */
  input: [number, number];
  /**
   * Stride of the stem conv (the paper: 1). 2 halves every feature map after the stem, a 4x
   * cheaper network for small adapters; the input stays at the image size (64x64, the
   * generator's), so domain mixup still blends images at that size.
   */
  stemStride?: number;
  /** IR blocks per stage, e.g. [3, 4, 14, 3] for LResNet50E-IR. */
  blocks: number[];
  /** Channels per stage, e.g. [64, 128, 256, 512]. */
  widths: number[];
  /** Channels of the stem (the paper: 64). */
  stem: number;
  embedding: number;
  dropout: number;
}

export const IRESNET_PRESETS: Record<'paper' | 'small', IResNetConfig> = {
  /** SynFace's LResNet50E-IR: 112x96, stages [3, 4, 14, 3], 512-d. */
  paper: {
    input: [112, 96],
    blocks: [3, 4, 14, 3],
    widths: [64, 128, 256, 512],
    stem: 64,
    embedding: 512,
    dropout: 0.5,
  },
  /**
   * For a CPU adapter: 64x64 (the generator's resolution, so domain mixup blends same-size
   * images), a stride-2 stem, few and narrow blocks.
   */
  small: {
    input: [64, 64],
    stemStride: 2,
    blocks: [1, 2, 2, 1],
    widths: [16, 32, 64, 128],
    stem: 16,
    embedding: 256,
    dropout: 0.2,
  },
};

/** One IR block: BN - conv3x3 - BN - PReLU - conv3x3(stride) - BN, plus the shortcut. */
export class IRBlock extends Module implements Layer {
  readonly bn1: BatchNorm;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm;
  readonly prelu: PReLU;
  readonly conv2: Conv2d;
  readonly bn3: BatchNorm;
  readonly shortcut: Shortcut | null;

  constructor(cin: number, cout: number, stride: number, gen: Generator) {
    super();
    const he = Math.sqrt(2);
    this.bn1 = this.registerModule('bn1', new BatchNorm(cin));
    this.conv1 = this.registerModule(
      'conv1',
      new Conv2d(cin, cout, 3, { padding: 1, bias: false, gen, gain: he }),
    );
    this.bn2 = this.registerModule('bn2', new BatchNorm(cout));
    this.prelu = this.registerModule('prelu', new PReLU(cout));
    this.conv2 = this.registerModule(
      'conv2',
      new Conv2d(cout, cout, 3, { stride, padding: 1, bias: false, gen, gain: he }),
    );
    this.bn3 = this.registerModule('bn3', new BatchNorm(cout));
    this.shortcut =
      stride !== 1 || cin !== cout
        ? this.registerModule('shortcut', new Shortcut(cin, cout, stride, gen))
        : null;
  }

  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(this.bn1.forward(x));
    h = this.prelu.forward(this.bn2.forward(h));
    h = this.bn3.forward(this.conv2.forward(h));
    return add(h, this.shortcut ? this.shortcut.forward(x) : x);
  }
}

/** conv1x1/stride + BN: the shortcut when a block changes shape. */
export class Shortcut extends Module implements Layer {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;

  constructor(cin: number, cout: number, stride: number, gen: Generator) {
    super();
    this.conv = this.registerModule(
      'conv',
      new Conv2d(cin, cout, 1, { stride, bias: false, gen, gain: Math.sqrt(2) }),
    );
    this.bn = this.registerModule('bn', new BatchNorm(cout));
  }

  forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x));
  }
}

export class IResNet extends Module implements Layer {
  readonly stem: Conv2d;
  readonly stemBn: BatchNorm;
  readonly stemPrelu: PReLU;
  readonly blocks: IRBlock[] = [];
  readonly headBn: BatchNorm;
  readonly dropout: Dropout;
  readonly fc: Linear;
  readonly features: BatchNorm;

  constructor(
    readonly config: IResNetConfig,
    gen: Generator = getDefaultGenerator(),
  ) {
    super();
    const [H, W] = config.input;
    const stemStride = config.stemStride ?? 1;
    if (stemStride !== 1 && stemStride !== 2)
      throw new RangeError(`IResNet: stemStride ${stemStride} must be 1 or 2`);
    const shrink = 16 * stemStride;
    if (H % shrink || W % shrink)
      throw new RangeError(
        `IResNet: input ${H}x${W} must be multiples of ${shrink} (stem stride ${stemStride}, four stride-2 stages)`,
      );
    if (config.blocks.length !== 4 || config.widths.length !== 4)
      throw new RangeError('IResNet: blocks and widths need 4 stages each');
    this.stem = this.registerModule(
      'conv1',
      new Conv2d(3, config.stem, 3, { stride: stemStride, padding: 1, bias: false, gen, gain: Math.sqrt(2) }),
    );
    this.stemBn = this.registerModule('bn1', new BatchNorm(config.stem));
    this.stemPrelu = this.registerModule('prelu', new PReLU(config.stem));
    let cin = config.stem;
    config.blocks.forEach((count, s) => {
      for (let b = 0; b < count; b++) {
        const block = new IRBlock(cin, config.widths[s], b === 0 ? 2 : 1, gen);
        this.blocks.push(this.registerModule(`layer${s + 1}_${b}`, block));
        cin = config.widths[s];
      }
    });
    this.headBn = this.registerModule('bn2', new BatchNorm(cin));
    this.dropout = this.registerModule('dropout', new Dropout(config.dropout, gen));
    this.fc = this.registerModule(
      'fc',
      new Linear(cin * (H / shrink) * (W / shrink), config.embedding, { gen }),
    );
    this.features = this.registerModule('features', new BatchNorm(config.embedding));
  }

  /** images (N, 3, H, W) in [-1, 1] -> embeddings (N, embedding) */
  forward(x: Tensor): Tensor {
    const [H, W] = this.config.input;
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[2] !== H || x.shape[3] !== W) {
      throw new RangeError(`IResNet: expected images of shape [N, 3, ${H}, ${W}], got [${x.shape}]`);
    }
    let h = this.stemPrelu.forward(this.stemBn.forward(this.stem.forward(x))); // (N, stem, H/t, W/t), t = stemStride
    for (const block of this.blocks) h = block.forward(h); // (N, w_last, H/16t, W/16t)
    h = flatten(this.dropout.forward(this.headBn.forward(h))); // (N, w_last * H/16t * W/16t)
    return this.features.forward(this.fc.forward(h)); // (N, embedding)
  }
}
