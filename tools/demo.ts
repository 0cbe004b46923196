/**
 * `synface engine-demo`: the engine alone, without faces. A two-layer network learns to tell
 * three interleaved spirals apart, trained with full-batch SGD with momentum, every step on
 * the GPU. It prints the loss as it falls, the speed, the final accuracy and the memory
 * counters (flat: nothing leaks). bench/profile.ts profiles it too.
 */
import * as E from '../src/index.js';
import { Linear, Sequential } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';

export interface DemoOptions {
  steps: number;
  hidden: number;
  seed: number;
  log: (line: string) => void;
}

/** 3 spirals of n points each, with a little noise: inputs (3n, 2), labels (3n). */
function spirals(n: number, gen: E.Generator): { x: Float32Array; y: Int32Array } {
  const noise = gen.bitsCpu(6 * n);
  const x = new Float32Array(6 * n),
    y = new Int32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const k = c * n + i,
        r = i / n;
      const t = c * 4 + 4 * r + (noise[2 * k] / 2 ** 32 - 0.5) * 0.4;
      x[2 * k] = r * Math.sin(t);
      x[2 * k + 1] = r * Math.cos(t);
      y[k] = c;
    }
  }
  return { x, y };
}

export async function runDemo(o: DemoOptions): Promise<{ loss: number; accuracy: number }> {
  const device = E.getDevice();
  const gen = new E.Generator(o.seed);
  const n = 200,
    classes = 3;
  const data = spirals(n, gen);
  const x = E.tensor(data.x, [3 * n, 2]);
  const labels = E.tensor(data.y, [3 * n], 'i32');

  const model = new Sequential(
    new Linear(2, o.hidden, { gen, gain: Math.sqrt(2) }),
    E.relu,
    new Linear(o.hidden, classes, { gen, gain: Math.sqrt(2) }),
  );
  const optimizer = new SGD(model.parameters(), { lr: 0.5, momentum: 0.9 });

  const forward = () => model.forward(x); // (3n, 3)
  const step = () =>
    E.scope(() => {
      const loss = E.crossEntropy(forward(), labels);
      E.backward(loss);
      optimizer.step();
      optimizer.zeroGrad();
      return loss;
    });

  o.log(`training a 2-${o.hidden}-${classes} network on ${3 * n} points of 3 spirals, ${o.steps} steps`);
  const t0 = performance.now();
  let loss = NaN,
    statsAtStart = device.stats();
  for (let s = 1; s <= o.steps; s++) {
    const l = step();
    if (s === 1) statsAtStart = device.stats();
    if (s % Math.max(1, Math.floor(o.steps / 10)) === 0 || s === o.steps) {
      loss = await l.item(); // the only wait for the GPU: every tenth of the run
      const sec = (performance.now() - t0) / 1000;
      o.log(`  step ${String(s).padStart(5)}  loss ${loss.toFixed(4)}  ${(s / sec).toFixed(0)} steps/s`);
    }
    l.dispose();
  }
  const logits = await E.noGrad(() => E.scope(forward)).toArray();
  let correct = 0;
  for (let i = 0; i < 3 * n; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    if (row.indexOf(Math.max(...row)) === data.y[i]) correct++;
  }
  const accuracy = correct / (3 * n);
  const stats = device.stats();
  o.log(
    `accuracy ${(accuracy * 100).toFixed(1)}% (chance 33.3%), ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  o.log(
    `GPU memory: ${stats.inUse} buffers in use (${statsAtStart.inUse} after step 1), ${stats.allocations} ever allocated, ${stats.pipelines} kernels compiled, ${stats.dispatches} dispatches`,
  );
  for (const t of [x, labels]) t.dispose();
  model.dispose();
  optimizer.dispose();
  return { loss, accuracy };
}
