/**
 * One training step of a ResNet-18 (He et al. 2016) on 64x64 RGB images, batch 64: stem
 * conv7x7/2 + BN + ReLU + maxpool3x3/2, four stages of two basic blocks (64, 128, 256, 512
 * channels), global average pool to a 512-d embedding, a 1000-class linear layer, softmax
 * cross-entropy, SGD with momentum. Unit: images per second. The peer builds the same network
 * in bench/peers/tfjs-resnet18.ts.
 */
import * as E from '../../src/index.js';
import { BatchNorm, Conv2d, Linear, Module, type Layer } from '../../src/nn/index.js';
import { SGD } from '../../src/optim/index.js';
import type { PeerCase } from '../peers/tfjs-webgpu.js';

class BasicBlock extends Module implements Layer {
  conv1: Conv2d;
  bn1: BatchNorm;
  conv2: Conv2d;
  bn2: BatchNorm;
  down: { conv: Conv2d; bn: BatchNorm } | null;

  constructor(cin: number, cout: number, stride: number, gen: E.Generator) {
    super();
    this.conv1 = this.registerModule(
      'conv1',
      new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false, gen }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm(cout));
    this.conv2 = this.registerModule('conv2', new Conv2d(cout, cout, 3, { padding: 1, bias: false, gen }));
    this.bn2 = this.registerModule('bn2', new BatchNorm(cout));
    this.down =
      stride !== 1 || cin !== cout
        ? {
            conv: this.registerModule('down_conv', new Conv2d(cin, cout, 1, { stride, bias: false, gen })),
            bn: this.registerModule('down_bn', new BatchNorm(cout)),
          }
        : null;
  }

  forward(x: E.Tensor): E.Tensor {
    const h = E.relu(this.bn1.forward(this.conv1.forward(x)));
    const y = this.bn2.forward(this.conv2.forward(h));
    const shortcut = this.down ? this.down.bn.forward(this.down.conv.forward(x)) : x;
    return E.relu(E.add(y, shortcut));
  }
}

export class ResNet18 extends Module implements Layer {
  stem: Conv2d;
  bn: BatchNorm;
  blocks: BasicBlock[];
  fc: Linear;

  constructor(classes: number, gen: E.Generator) {
    super();
    this.stem = this.registerModule(
      'conv1',
      new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false, gen }),
    );
    this.bn = this.registerModule('bn1', new BatchNorm(64));
    const widths = [64, 128, 256, 512];
    this.blocks = [];
    let cin = 64;
    widths.forEach((w, s) => {
      for (let b = 0; b < 2; b++) {
        this.blocks.push(
          this.registerModule(`layer${s + 1}_${b}`, new BasicBlock(cin, w, b === 0 && s > 0 ? 2 : 1, gen)),
        );
        cin = w;
      }
    });
    this.fc = this.registerModule('fc', new Linear(512, classes, { gen }));
  }

  /** (N, 3, 64, 64) -> logits (N, classes) */
  forward(x: E.Tensor): E.Tensor {
    let h = E.maxPool2d(E.relu(this.bn.forward(this.stem.forward(x))), 3, 2, 1); // (N, 64, 16, 16)
    for (const b of this.blocks) h = b.forward(h); // (N, 512, 2, 2)
    const embedding = E.flatten(E.globalAvgPool(h)); // (N, 512)
    return this.fc.forward(embedding);
  }
}

export function resnet18TrainStep(batch = 64, size = 64, classes = 1000): PeerCase {
  let model: ResNet18 | null = null,
    opt: SGD | null = null;
  let x: E.Tensor | null = null,
    labels: E.Tensor | null = null;
  return {
    name: 'resnet18-train-step',
    unit: 'images/s',
    work: batch,
    opsPerRun: 1,
    minIterations: 2,
    async setup() {
      const gen = new E.Generator(7);
      model = new ResNet18(classes, gen);
      opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
      x = E.keep(E.randn([batch, 3, size, size], 0, 1, gen));
      labels = E.keep(
        E.tensor(
          Int32Array.from({ length: batch }, (_, i) => (i * 37) % classes),
          [batch],
          'i32',
        ),
      );
      await E.getDevice().sync();
    },
    async run() {
      E.scope(() => {
        const loss = E.crossEntropy(model!.forward(x!), labels!);
        E.backward(loss);
        opt!.step();
        opt!.zeroGrad();
      });
      await E.getDevice().sync();
    },
    async teardown() {
      model?.dispose();
      opt?.dispose();
      x?.dispose();
      labels?.dispose();
      await E.getDevice().sync();
    },
  };
}
