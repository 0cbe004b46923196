/**
 * Module: names, parameters and buffers, train/eval, state dicts; Linear and Sequential.
 * Oracle: hand-written expectations, and the float64 matmul reference for Linear.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { Linear, Module, Sequential, type Layer } from '../src/nn/index.js';
import { reference as matmulRef } from '../src/ops/matmul.js';
import { expectClose, toNd } from './helpers.js';

/** A stand-in for a residual block: two Linears and a BatchNorm-like buffer. */
class Block extends Module implements Layer {
  readonly conv1 = this.registerModule('conv1', new Linear(4, 4, { gen: new E.Generator(1) }));
  readonly conv2 = this.registerModule('conv2', new Linear(4, 4, { bias: false, gen: new E.Generator(2) }));
  readonly runningMean = this.registerBuffer('running_mean', E.zeros([4]));
  readonly scratch = this.registerBuffer('scratch', E.zeros([2]), false);
  forward(x: E.Tensor): E.Tensor {
    return E.add(x, this.conv2.forward(E.relu(this.conv1.forward(x))));
  }
}

class Net extends Module implements Layer {
  readonly stem = this.registerModule('stem', new Linear(3, 4, { gen: new E.Generator(3) }));
  readonly layer1 = this.registerModule('layer1', new Sequential(new Block(), new Block()));
  readonly scale = this.registerParameter('scale', E.ones([1]));
  forward(x: E.Tensor): E.Tensor {
    return E.mul(this.layer1.forward(this.stem.forward(x)), this.scale);
  }
}

describe('Module', () => {
  it('dotted names for parameters, buffers and modules; parameters are named leaves needing grad', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'scale',
      'stem.weight',
      'stem.bias',
      'layer1.0.conv1.weight',
      'layer1.0.conv1.bias',
      'layer1.0.conv2.weight',
      'layer1.1.conv1.weight',
      'layer1.1.conv1.bias',
      'layer1.1.conv2.weight',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual([
      'layer1.0.running_mean',
      'layer1.0.scratch',
      'layer1.1.running_mean',
      'layer1.1.scratch',
    ]);
    // per module, parameters then persistent buffers (PyTorch's order)
    expect(Object.keys(net.stateDict())).toEqual([
      'scale',
      'stem.weight',
      'stem.bias',
      'layer1.0.running_mean',
      'layer1.0.conv1.weight',
      'layer1.0.conv1.bias',
      'layer1.0.conv2.weight',
      'layer1.1.running_mean',
      'layer1.1.conv1.weight',
      'layer1.1.conv1.bias',
      'layer1.1.conv2.weight',
    ]);
    expect(net.namedModules().map(([n]) => n)).toEqual([
      '',
      'stem',
      'layer1',
      'layer1.0',
      'layer1.0.conv1',
      'layer1.0.conv2',
      'layer1.1',
      'layer1.1.conv1',
      'layer1.1.conv2',
    ]);
    for (const p of net.parameters()) expect(p.requiresGrad && p.node === null).toBe(true);
    expect(net.stem.weight.name).toBe('weight');
    expect(net.parameterCount()).toBe(1 + 12 + 4 + 2 * (16 + 4 + 16));
    net.dispose();
  });

  it('parameters and buffers survive the scope they were created in; dispose frees everything', () => {
    const before = E.liveTensors();
    const net = E.scope(() => new Net());
    expect(net.parameters().every((p) => !p.isDisposed)).toBe(true);
    expect(net.buffers().every((b) => !b.isDisposed)).toBe(true);
    net.dispose();
    expect(E.liveTensors()).toBe(before);
  });

  it('train() and eval() reach every descendant', () => {
    const net = new Net();
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.namedModules().every(([, m]) => !m.training)).toBe(true);
    net.layer1.train();
    expect(net.training).toBe(false);
    expect(net.layer1.namedModules().every(([, m]) => m.training)).toBe(true);
    net.dispose();
  });

  it('a shared parameter is listed once', () => {
    class Tied extends Module {
      readonly a = this.registerModule('a', new Linear(2, 2));
      readonly w = this.registerParameter('w', this.a.weight);
    }
    const t = new Tied();
    expect(t.namedParameters().map(([n]) => n)).toEqual(['w', 'a.bias']);
    t.dispose();
  });

  it('rejects repeated and malformed names, and parameters that are not leaves', () => {
    class Twice extends Module {
      readonly a = this.registerParameter('a', E.zeros([1]));
      readonly b = this.registerBuffer('a', E.zeros([1]));
    }
    expect(() => new Twice()).toThrow(/Twice: 'a' is already registered/);
    class Dotted extends Module {
      readonly a = this.registerParameter('a.b', E.zeros([1]));
    }
    expect(() => new Dotted()).toThrow(/parameter name 'a\.b'/);
    const leaf = E.zeros([2]);
    leaf.requiresGrad = true;
    const derived = E.scale(leaf, 2);
    class NotLeaf extends Module {
      readonly a = this.registerParameter('a', derived);
    }
    expect(() => new NotLeaf()).toThrow(/result of an op/);
  });

  it('zeroGrad drops gradients after backward', async () => {
    const net = new Net();
    const x = E.randn([5, 3], 0, 1, new E.Generator(4));
    E.scope(() => E.backward(E.sum(net.forward(x))));
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
    const live = E.liveTensors();
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
    expect(E.liveTensors()).toBe(live - net.parameters().length);
    x.dispose();
    net.dispose();
  });
});

describe('stateDict / loadStateDict', () => {
  it('round trip between two instances (GPU tensors and CPU data), in place', async () => {
    const a = new Net(),
      c = new Net();
    const half = E.full([4, 3], 0.5);
    E.assign(c.stem.weight, half);
    half.dispose();
    const weightRef = c.stem.weight;
    c.loadStateDict(a.stateDict());
    expect(c.stem.weight).toBe(weightRef); // same tensor, new values
    for (const [k, t] of Object.entries(a.stateDict()))
      expect([...(await c.stateDict()[k].toArray())]).toEqual([...(await t.toArray())]);
    // from CPU values (what a file gives)
    const cpu = Object.fromEntries(
      await Promise.all(
        Object.entries(a.stateDict()).map(
          async ([k, t]) =>
            [k, { dtype: t.dtype, shape: [...t.shape], data: (await t.toArray()).map(() => 0.25) }] as const,
        ),
      ),
    );
    c.loadStateDict(cpu);
    expect([...(await c.stateDict()['layer1.1.conv2.weight'].toArray())]).toEqual(new Array(16).fill(0.25));
    a.dispose();
    c.dispose();
  });

  it('strict: clear errors for missing and unexpected keys; non-strict returns them', () => {
    const net = new Net();
    const dict = { ...net.stateDict() } as Record<string, E.Tensor>;
    delete dict['layer1.1.conv1.bias'];
    dict['layer1.2.conv1.bias'] = net.stem.bias!;
    expect(() => net.loadStateDict(dict)).toThrow(
      /Net\.loadStateDict: missing keys: layer1\.1\.conv1\.bias; unexpected keys: layer1\.2\.conv1\.bias/,
    );
    expect(net.loadStateDict(dict, { strict: false })).toEqual({
      missing: ['layer1.1.conv1.bias'],
      unexpected: ['layer1.2.conv1.bias'],
    });
    net.dispose();
  });

  it('a shape mismatch names the tensor and both shapes, and nothing is written', async () => {
    const net = new Net();
    const before = await net.scale.toArray();
    const wrong = E.keep(E.zeros([4, 4]));
    const dict = { ...net.stateDict(), scale: E.keep(E.full([1], 7)), 'stem.weight': wrong };
    expect(() => net.loadStateDict(dict)).toThrow(
      /'stem\.weight' has shape \[4, 4\] in the state dict but \[4, 3\] in the model/,
    );
    expect([...(await net.scale.toArray())]).toEqual([...before]);
    const intDict = {
      ...net.stateDict(),
      scale: { dtype: 'i32' as const, shape: [1], data: Int32Array.of(1) },
    };
    expect(() => net.loadStateDict(intDict)).toThrow(/'scale' has dtype i32 in the state dict but f32/);
    wrong.dispose();
    dict.scale.dispose();
    net.dispose();
  });
});

describe('Linear and Sequential', () => {
  it('Linear: PyTorch layout, init within 1/sqrt(in), forward = x W^T + b', async () => {
    const lin = new Linear(13, 5, { gen: new E.Generator(9) });
    expect(lin.weight.shape).toEqual([5, 13]);
    expect(lin.bias!.shape).toEqual([5]);
    const w = (await lin.weight.toArray()) as Float32Array;
    const bound = 1 / Math.sqrt(13);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.8 * bound);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    const same = new Linear(13, 5, { gen: new E.Generator(9) });
    expect([...(await same.weight.toArray())]).toEqual([...w]);
    const x = E.randn([3, 13], 0, 1, new E.Generator(10));
    const y = lin.forward(x);
    const want = matmulRef.matmul(await toNd(x), await toNd(lin.weight), { transB: true });
    const b = await lin.bias!.toArray();
    want.data = want.data.map((v, i) => v + b[i % 5]);
    expectClose(await y.toArray(), want.data, 1e-5, 1e-5, 'linear');
    expect(() => lin.forward(E.zeros([2, 12]))).toThrow(
      /Linear\(13, 5\): input of shape \[2,12\] has 12 features/,
    );
    const noBias = new Linear(2, 3, { bias: false });
    expect(noBias.namedParameters().map(([n]) => n)).toEqual(['weight']);
    const he = new Linear(100, 10, { gain: Math.sqrt(2), gen: new E.Generator(1) });
    expect(Math.max(...(await he.weight.toArray()).map(Math.abs))).toBeGreaterThan(
      (1 / Math.sqrt(100)) * 1.5,
    );
    for (const t of [x, y]) t.dispose();
    for (const m of [lin, same, noBias, he]) m.dispose();
  });

  it('Sequential chains layers and functions; gradients reach every parameter', async () => {
    const gen = new E.Generator(12);
    const seq = new Sequential(new Linear(2, 8, { gen }), E.relu, new Linear(8, 3, { gen }));
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const x = E.randn([4, 2], 0, 1, gen);
    const [l0, , l2] = seq.layers as [Linear, unknown, Linear];
    const direct = E.linear(E.relu(E.linear(x, l0.weight, l0.bias!)), l2.weight, l2.bias!);
    const y = seq.forward(x);
    expect([...(await y.toArray())]).toEqual([...(await direct.toArray())]);
    E.scope(() => E.backward(E.sum(seq.forward(x))));
    expect(seq.parameters().every((p) => p.grad !== null)).toBe(true);
    for (const t of [x, direct, y]) t.dispose();
    seq.dispose();
  });
});
