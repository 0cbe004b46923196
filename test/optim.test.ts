/**
 * Optimizers (SGD, Adam, AdamW), their state, schedules, gradient clipping, EMA, convergence.
 * Oracle: CPU references of PyTorch's update rules, and bit-identical runs after a state restore.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { Linear, Module, Sequential } from '../src/nn/index.js';
import {
  Adam,
  AdamW,
  clipGradNorm,
  emaBeta,
  lerpInto,
  multiStep,
  SGD,
  updateEma,
  warmupPoly,
  type AdamOptions,
  type Optimizer,
  type SgdOptions,
} from '../src/optim/index.js';
import { reference as sgdRef } from '../src/optim/sgd.js';
import { reference as adamRef } from '../src/optim/adam.js';
import { readTensors } from '../src/tensor/tensor-data.js';
import { expectClose, randomNd } from './helpers.js';

const f32 = (a: Float64Array) => Float32Array.from(a);

/** Parameters of these sizes (odd and vec4-able), one random gradient per step, fed to GPU and CPU alike. */
function problem(sizes: number[], steps: number, seed: number) {
  const init = sizes.map((n, k) => randomNd([n], -1, 1, seed * 100 + k).data.map(Math.fround));
  const grads = Array.from({ length: steps }, (_, s) =>
    sizes.map((n, k) => randomNd([n], -2, 2, seed * 100 + 50 + s * 10 + k).data.map(Math.fround)),
  );
  const params = () =>
    init.map((v) => {
      const t = E.keep(E.tensor(f32(v), [v.length]));
      t.requiresGrad = true;
      return t;
    });
  return { init, grads, params };
}

/** Runs `steps` GPU updates (feeding the given gradients) and returns the final parameter values. */
async function runGpu(
  opt: Optimizer<{ lr: number }>,
  grads: Float64Array[][],
  lrAt?: (s: number) => number,
): Promise<Float32Array[]> {
  grads.forEach((gs, s) => {
    if (lrAt) opt.lr = lrAt(s);
    opt.params.forEach((p, k) => (p.grad = E.keep(E.tensor(f32(gs[k]), p.shape))));
    opt.step();
    opt.zeroGrad();
  });
  return Promise.all(opt.params.map(async (p) => (await p.toArray()) as Float32Array));
}

const SIZES = [7, 12, 1, 37];

describe('SGD', () => {
  const cases: [string, SgdOptions][] = [
    ['plain', { lr: 0.1 }],
    ['momentum', { lr: 0.05, momentum: 0.9 }],
    ['nesterov', { lr: 0.05, momentum: 0.9, nesterov: true }],
    ['weight decay', { lr: 0.1, weightDecay: 0.01 }],
    ['momentum + weight decay + nesterov', { lr: 0.03, momentum: 0.8, weightDecay: 5e-4, nesterov: true }],
    ['dampening', { lr: 0.05, momentum: 0.9, dampening: 0.3 }],
  ];
  for (const [name, o] of cases) {
    it(`${name}: 6 steps match the CPU reference of PyTorch's rule`, async () => {
      const { init, grads, params } = problem(SIZES, 6, 1);
      const full = { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...o };
      const lrAt = (s: number) => o.lr * (s < 3 ? 1 : 0.5); // a schedule change mid-run
      const opt = new SGD(params(), o);
      const got = await runGpu(opt, grads, lrAt);
      const want = init.map((v) => Float64Array.from(v));
      const states = want.map(() => ({}));
      grads.forEach((gs, s) =>
        want.forEach((p, k) => sgdRef.sgd(p, gs[k], states[k], { ...full, lr: lrAt(s) })),
      );
      got.forEach((g, k) => expectClose(g, want[k], 1e-5, 1e-6, `parameter ${k}`));
      opt.params.forEach((p) => p.dispose());
      opt.dispose();
    });
  }

  it('rejects bad options and bad gradients with clear messages', () => {
    const p = E.keep(E.zeros([3]));
    expect(() => new SGD([p], { lr: 0.1 })).toThrow(/parameter 0 does not require grad/);
    p.requiresGrad = true;
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new SGD([p, p], { lr: 0.1 })).toThrow(/listed twice/);
    const opt = new SGD([p], { lr: 0.1 });
    p.grad = E.keep(E.zeros([4]));
    expect(() => opt.step()).toThrow(/gradient of shape \[4\] for parameter 0 of shape \[3\]/);
    p.dispose();
  });

  it('skips parameters without a gradient (their state does not advance)', async () => {
    const { params } = problem([5, 5], 0, 2);
    const [a, b] = params();
    const opt = new SGD([a, b], { lr: 0.1, momentum: 0.9 });
    const before = await b.toArray();
    a.grad = E.keep(E.ones([5]));
    opt.step();
    expect([...(await b.toArray())]).toEqual([...before]);
    expect(opt.stateDict().steps).toEqual([1, 0]);
    expect(Object.keys(opt.stateDict().tensors)).toEqual(['0.momentum']);
    a.dispose();
    b.dispose();
    opt.dispose();
  });
});

describe('Adam', () => {
  const cases: [string, AdamOptions][] = [
    ['defaults', { lr: 0.01 }],
    ['no bias correction', { lr: 0.01, biasCorrection: false }],
    ['L2 weight decay', { lr: 0.01, weightDecay: 0.1 }],
    ['StyleGAN betas (0, 0.99), eps 1e-8', { lr: 0.0025, betas: [0, 0.99] }],
  ];
  for (const [name, o] of cases) {
    it(`${name}: 6 steps match the CPU reference`, async () => {
      const { init, grads, params } = problem(SIZES, 6, 3);
      const opt = new Adam(params(), o);
      const got = await runGpu(opt, grads);
      const full: Required<AdamOptions> = {
        lr: 1e-3,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 0,
        decoupled: false,
        biasCorrection: true,
        ...o,
      };
      const want = init.map((v) => Float64Array.from(v));
      const states = want.map((p) => ({
        step: 0,
        m: new Float64Array(p.length),
        v: new Float64Array(p.length),
      }));
      grads.forEach((gs) => want.forEach((p, k) => adamRef.adam(p, gs[k], states[k], full)));
      got.forEach((g, k) => expectClose(g, want[k], 1e-5, 1e-6, `parameter ${k}`));
      // the state holds m and v of every parameter, and the step counts
      const st = opt.stateDict();
      expect(st.steps).toEqual([6, 6, 6, 6]);
      expectClose(await st.tensors['3.exp_avg_sq'].toArray(), states[3].v, 1e-4, 1e-7, 'v');
      opt.params.forEach((p) => p.dispose());
      opt.dispose();
    });
  }

  it('AdamW: decoupled weight decay matches the CPU reference', async () => {
    const { init, grads, params } = problem(SIZES, 5, 4);
    const opt = new AdamW(params(), { lr: 0.01, weightDecay: 0.05 });
    const got = await runGpu(opt, grads);
    const full: Required<AdamOptions> = {
      lr: 0.01,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0.05,
      decoupled: true,
      biasCorrection: true,
    };
    const want = init.map((v) => Float64Array.from(v));
    const states = want.map((p) => ({
      step: 0,
      m: new Float64Array(p.length),
      v: new Float64Array(p.length),
    }));
    grads.forEach((gs) => want.forEach((p, k) => adamRef.adam(p, gs[k], states[k], full)));
    got.forEach((g, k) => expectClose(g, want[k], 1e-5, 1e-6, `parameter ${k}`));
    expect(opt.kind).toBe('AdamW');
    opt.params.forEach((p) => p.dispose());
    opt.dispose();
  });

  it('one dispatch per parameter per step', () => {
    const { params } = problem([8, 9, 4], 0, 5);
    const ps = params();
    const opt = new Adam(ps, { lr: 0.01 });
    ps.forEach((p) => (p.grad = E.keep(E.ones(p.shape))));
    opt.step(); // the first step also creates m and v (zero fills)
    const before = E.getDevice().dispatchCount;
    opt.step();
    expect(E.getDevice().dispatchCount - before).toBe(3);
    ps.forEach((p) => p.dispose());
    opt.dispose();
  });
});

describe('optimizer state', () => {
  for (const make of [
    (p: E.Tensor[]) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true }),
    (p: E.Tensor[]) => new Adam(p, { lr: 0.01 }),
  ]) {
    it(`${make([]).kind}: export after 3 steps, restore into fresh parameters, 3 more steps are bit-identical`, async () => {
      const { grads, params } = problem([6, 11], 6, 6);
      const a = make(params());
      await runGpu(a, grads.slice(0, 3));
      const saved = { ...a.stateDict(), tensors: await readTensors(a.stateDict().tensors) };
      const paramValues = await Promise.all(a.params.map((p) => p.toArray()));
      const b = make(params());
      b.lr = 123; // restored from the state
      b.params.forEach((p, k) => E.getDevice().write(p.buffer, paramValues[k]));
      b.loadStateDict(saved);
      expect(b.lr).toBe(a.lr);
      const [ga, gb] = [await runGpu(a, grads.slice(3)), await runGpu(b, grads.slice(3))];
      ga.forEach((v, k) => expect([...gb[k]]).toEqual([...v]));
      [...a.params, ...b.params].forEach((p) => p.dispose());
      a.dispose();
      b.dispose();
    });
  }

  it('loadStateDict names the tensor and both shapes on a mismatch, and checks the kind', async () => {
    const { grads, params } = problem([6, 11], 1, 7);
    const a = new SGD(params(), { lr: 0.1, momentum: 0.5 });
    await runGpu(a, grads);
    const other = new SGD(params().reverse(), { lr: 0.1, momentum: 0.5 });
    expect(() => other.loadStateDict(a.stateDict())).toThrow(
      /'0\.momentum' has shape \[6\] in the state but \[11\] for parameter 0/,
    );
    const adam = new Adam(other.params);
    expect(() => adam.loadStateDict(a.stateDict())).toThrow(
      /Adam\.loadStateDict: the state is of a SGD optimizer/,
    );
    expect(() => new SGD(other.params.slice(1), { lr: 1 }).loadStateDict(a.stateDict())).toThrow(
      /2 parameters, this optimizer 1/,
    );
    [...a.params, ...other.params].forEach((p) => p.dispose());
    a.dispose();
  });
});

describe('schedules', () => {
  it('multiStep: x gamma from each milestone on', () => {
    const lr = multiStep({ lr: 0.1, milestones: [20, 10], gamma: 0.1 });
    expect([0, 9, 10, 19, 20, 1000].map(lr)).toEqual([
      0.1,
      0.1,
      0.1 * 0.1,
      0.1 * 0.1,
      0.1 * 0.1 * 0.1,
      0.1 * 0.1 * 0.1,
    ]);
  });

  it('warmupPoly: linear warm-up, polynomial decay, minLr at and after the end', () => {
    const lr = warmupPoly({ lr: 1, warmupSteps: 10, totalSteps: 110, power: 2 });
    expect(lr(0)).toBe(0);
    expect(lr(5)).toBeCloseTo(0.5, 12);
    expect(lr(9)).toBeCloseTo(0.9, 12);
    expect(lr(10)).toBe(1);
    expect(lr(60)).toBeCloseTo(0.25, 12);
    expect(lr(109)).toBeCloseTo(1e-4, 12);
    expect(lr(110)).toBe(0);
    expect(lr(1e6)).toBe(0);
    const withFloor = warmupPoly({
      lr: 0.1,
      warmupSteps: 0,
      totalSteps: 100,
      power: 1,
      minLr: 0.01,
      warmupStart: 0.5,
    });
    expect(withFloor(0)).toBe(0.1);
    expect(withFloor(50)).toBeCloseTo(0.055, 12);
    expect(withFloor(100)).toBe(0.01);
    expect(warmupPoly({ lr: 0.2, warmupSteps: 4, totalSteps: 8, warmupStart: 0.5 })(2)).toBeCloseTo(0.15, 12);
    expect(() => warmupPoly({ lr: 1, warmupSteps: 10, totalSteps: 5 })).toThrow(/warmupSteps/);
  });
});

describe('clipGradNorm', () => {
  const sizes = [1, 7, 64, 100_003];
  async function setup(scale: number) {
    const { params } = problem(sizes, 0, 8);
    const ps = params();
    const gs = sizes.map((n, k) => randomNd([n], -1, 1, 900 + k).data.map((v) => Math.fround(v * scale)));
    ps.forEach((p, k) => (p.grad = E.keep(E.tensor(f32(gs[k]), p.shape))));
    const norm = Math.sqrt(gs.reduce((acc, g) => acc + g.reduce((a, v) => a + v * v, 0), 0));
    return { ps, gs, norm };
  }

  it('scales every gradient by maxNorm / norm when the norm is larger, and returns the norm as a tensor', async () => {
    const { ps, gs, norm } = await setup(1);
    const live = E.liveTensors();
    const n = clipGradNorm(ps, 2);
    expect(E.liveTensors()).toBe(live + 1); // only the returned norm
    expect(n.shape).toEqual([]);
    expect(await n.item()).toBeCloseTo(norm, 2);
    const coef = 2 / (norm + 1e-6);
    for (const [k, p] of ps.entries())
      expectClose(
        await p.grad!.toArray(),
        gs[k].map((v) => v * coef),
        1e-5,
        1e-7,
        `gradient ${k}`,
      );
    n.dispose();
    ps.forEach((p) => p.dispose());
  });

  it('leaves gradients alone when the norm is within maxNorm; skips parameters without gradients', async () => {
    const { ps, gs, norm } = await setup(1e-3);
    const [first, ...rest] = ps;
    first.grad!.dispose();
    first.grad = null;
    const n = clipGradNorm(ps, 10);
    const want = Math.sqrt(norm ** 2 - gs[0][0] ** 2);
    expect(await n.item()).toBeCloseTo(want, 5);
    for (const [k, p] of rest.entries()) expect([...(await p.grad!.toArray())]).toEqual([...f32(gs[k + 1])]);
    expect(first.grad).toBeNull();
    n.dispose();
    ps.forEach((p) => p.dispose());
  });

  it('no gradients at all: norm 0', async () => {
    const p = E.keep(E.zeros([3]));
    p.requiresGrad = true;
    const n = clipGradNorm([p], 1);
    expect(await n.item()).toBe(0);
    n.dispose();
    p.dispose();
  });
});

class WithBuffer extends Module {
  readonly w = this.registerParameter('w', E.tensor([1, 2, 3, 4, 5]));
  readonly stat = this.registerBuffer('stat', E.tensor([0, 0]));
  readonly inner = this.registerModule('inner', new Linear(3, 2, { gen: new E.Generator(1) }));
}

describe('EMA', () => {
  it('updateEma lerps parameters by name and copies buffers', async () => {
    const ema = new WithBuffer(),
      src = new WithBuffer();
    E.assign(
      src.w,
      E.scope(() => E.keep(E.tensor([10, 20, 30, 40, 50]))),
    );
    E.assign(
      src.stat,
      E.scope(() => E.keep(E.tensor([7, 8]))),
    );
    E.assign(
      src.inner.weight,
      E.scope(() => E.keep(E.full([2, 3], 1))),
    );
    const beta = 0.9;
    updateEma(ema, src, beta);
    updateEma(ema, src, beta);
    // two steps: ema = s + beta^2 (e0 - s)
    expectClose(
      await ema.w.toArray(),
      [1, 2, 3, 4, 5].map((e, i) => 10 * (i + 1) + beta ** 2 * (e - 10 * (i + 1))),
      1e-6,
      1e-6,
      'w',
    );
    expect([...(await ema.stat.toArray())]).toEqual([7, 8]);
    const e0 = await new WithBuffer().inner.weight.toArray();
    expectClose(
      await ema.inner.weight.toArray(),
      [...e0].map((e) => 1 + beta ** 2 * (e - 1)),
      1e-6,
      1e-6,
      'inner.weight',
    );
    expect(() => updateEma(ema, new Linear(3, 2), 0.9)).toThrow(/the models differ/);
    ema.dispose();
    src.dispose();
  });

  it('lerpInto on an odd size and emaBeta', async () => {
    const t = E.keep(E.tensor([1, 1, 1])),
      s = E.keep(E.tensor([3, 5, 7]));
    lerpInto(t, s, 0.25);
    expectClose(await t.toArray(), [2.5, 4, 5.5], 0, 0, 'lerp');
    expect(emaBeta(32, 10_000)).toBeCloseTo(0.5 ** (32 / 10_000), 15);
    t.dispose();
    s.dispose();
  });
});

describe('convergence', () => {
  for (const [name, make] of [
    ['SGD with momentum', (m: Module) => new SGD(m.parameters(), { lr: 0.1, momentum: 0.9 })],
    ['Adam', (m: Module) => new Adam(m.parameters(), { lr: 0.05 })],
  ] as const) {
    it(`${name} fits a linear regression (and memory stays flat)`, async () => {
      const gen = new E.Generator(11);
      const model = new Sequential(new Linear(3, 1, { gen }));
      const opt = make(model);
      const x = E.keep(E.randn([64, 3], 0, 1, gen));
      const trueW = E.keep(E.tensor([[1.5, -2, 0.5]])),
        trueB = E.keep(E.tensor([0.3]));
      const y = E.keep(E.add(E.linear(x, trueW, trueB), E.scale(E.randn([64, 1], 0, 1, gen), 0.01)));
      const step = () =>
        E.scope(() => {
          const loss = E.mean(E.square(E.sub(model.forward(x), y)));
          E.backward(loss);
          opt.step();
          opt.zeroGrad();
          return loss;
        });
      const first = step();
      const firstLoss = await first.item();
      first.dispose();
      const live = E.liveTensors(),
        inUse = E.getDevice().stats().inUse;
      let last = NaN;
      for (let s = 0; s < 300; s++) {
        const l = step();
        if (s === 299) last = await l.item();
        l.dispose();
      }
      expect(E.liveTensors()).toBe(live);
      expect(E.getDevice().stats().inUse).toBe(inUse);
      expect(last).toBeLessThan(1e-3);
      expect(last).toBeLessThan(firstLoss / 100);
      const [lw, lb] = model.parameters();
      expectClose(await lw.toArray(), [1.5, -2, 0.5], 0, 0.02, 'fitted weight');
      expectClose(await lb.toArray(), [0.3], 0, 0.02, 'fitted bias');
      for (const t of [x, trueW, trueB, y]) t.dispose();
      model.dispose();
      opt.dispose();
    });
  }
});
