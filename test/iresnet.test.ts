/**
 * The IResNet backbone: an IR block, a small configuration, the paper preset's shapes.
 * Oracle: a PyTorch fixture (test/fixtures/iresnet_block.json) and hand-derived shapes.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { IRBlock, IResNet, IRESNET_PRESETS } from '../src/models/iresnet.js';
import { fixtureNd, fixtureTensor, loadFixture } from './fixtures.js';
import { expectTensorClose } from './helpers.js';

describe('IResNet', () => {
  it('an IR block with its PyTorch parameters reproduces PyTorch (output, gradients, running stats)', async () => {
    const c = loadFixture('iresnet_block.json').cases[0];
    const block = new IRBlock(4, 6, c.params.stride as number, new E.Generator(1));
    const params = Object.fromEntries(
      Object.entries(c.inputs)
        .filter(([k]) => k !== 'x')
        .map(([k, v]) => [k, fixtureTensor(v)]),
    );
    block.loadStateDict(params);
    Object.values(params).forEach((t) => t.dispose());
    const x = fixtureTensor(c.inputs.x, true);
    const y = E.scope(() => {
      const out = block.forward(x);
      E.backward(E.sum(E.mul(out, fixtureTensor(c.weights!.y))));
      return out;
    });
    await expectTensorClose(y, fixtureNd(c.outputs.y), 2e-4, 5e-5, 'block output');
    await expectTensorClose(x.grad!, fixtureNd(c.grads!.x), 2e-3, 5e-4, 'd x');
    await expectTensorClose(
      block.conv1.weight.grad!,
      fixtureNd(c.grads!['conv1.weight']),
      2e-3,
      5e-4,
      'd conv1.weight',
    );
    const state = block.stateDict();
    for (const [name, want] of Object.entries(c.state!))
      await expectTensorClose(state[name], fixtureNd(want), 1e-4, 1e-5, name);
    y.dispose();
    x.dispose();
    block.dispose();
  });

  it('a small configuration: embeddings of the right shape, PyTorch-style names, gradients everywhere', async () => {
    const net = new IResNet(
      { input: [32, 16], blocks: [1, 1, 1, 1], widths: [8, 8, 16, 16], stem: 8, embedding: 12, dropout: 0.5 },
      new E.Generator(2),
    );
    const names = Object.keys(net.stateDict());
    expect(names).toContain('layer1_0.shortcut.conv.weight');
    expect(names).toContain('fc.weight');
    expect(names).toContain('features.running_var');
    const emb = E.scope(() => {
      const e = net.forward(E.randn([3, 3, 32, 16], 0, 1, new E.Generator(3)));
      E.backward(E.mean(E.square(e)));
      return e;
    });
    expect(emb.shape).toEqual([3, 12]);
    expect(net.fc.weight.shape).toEqual([12, 16 * 2 * 1]);
    for (const [name, p] of net.namedParameters()) expect(p.grad, `gradient of ${name}`).not.toBeNull();
    net.eval();
    const again = E.noGrad(() =>
      E.scope(() => net.forward(E.randn([2, 3, 32, 16], 0, 1, new E.Generator(4)))),
    );
    expect((await again.toArray()).every(Number.isFinite)).toBe(true);
    [emb, again].forEach((t) => t.dispose());
    net.dispose();
  });

  it('the paper preset is LResNet50E-IR at 112x96 ending at 7x6', () => {
    const p = IRESNET_PRESETS.paper;
    expect(p.blocks).toEqual([3, 4, 14, 3]);
    expect([p.input[0] / 16, p.input[1] / 16]).toEqual([7, 6]);
    expect(() => new IResNet({ ...p, input: [100, 96] })).toThrow(/multiples of 16/);
  });

  it('names the expected input shape', () => {
    const net = new IResNet({
      input: [16, 16],
      blocks: [1, 1, 1, 1],
      widths: [4, 4, 4, 4],
      stem: 4,
      embedding: 4,
      dropout: 0,
    });
    const x = E.zeros([1, 3, 16, 32]);
    expect(() => net.forward(x)).toThrow(/expected images of shape \[N, 3, 16, 16\], got \[1,3,16,32\]/);
    x.dispose();
    net.dispose();
  });
});
