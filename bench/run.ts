/**
 * The benchmarks, side by side with a peer in the same run and on the same adapter:
 * synface-gpu against TensorFlow.js's WebGPU backend (both on Dawn).
 *
 *   npm run bench                     a table
 *   npm run bench -- --json           one JSON object per line:
 *                                     {"bench":"matmul-1024","system":"synface","value":12.3,"unit":"GFLOPS"}
 *   npm run bench -- --filter matmul  only cases whose name contains "matmul"
 *   npm run bench -- --time 3000      milliseconds of sampling per case and system (default 1500)
 *   npm run bench -- --only synface   skip the peer
 *
 * For each case the two systems alternate (ours, then the peer's) so that both see the same
 * machine state. Each timed unit issues several ops and waits once (see bench/cases).
 */
import { Bench } from 'tinybench';
import { initGpu, nodeGpu, shutdownGpu } from '../src/gpu/node.js';
import { initTfjsWebgpu, peerValue, type PeerCase } from './peers/tfjs-webgpu.js';
import { CONV_BENCH, synfaceCases } from './cases/synface.js';
import { resnet18TrainStep } from './cases/resnet18.js';
import { recognizerTrainStep } from './cases/recognizer.js';
import { tfjsResnet18TrainStep } from './peers/tfjs-resnet18.js';
import { tfjsRecognizerTrainStep } from './peers/tfjs-recognizer.js';
import { faceApiForward } from './cases/faceapi.js';
import { tfjsFaceApiForward } from './peers/tfjs-faceapi.js';
import { styleganTrainStep } from './cases/stylegan.js';
import { tfjsStyleganTrainStep } from './peers/tfjs-stylegan.js';
import { generatorTrainStep } from './cases/generator.js';
import { tfjsGeneratorTrainStep } from './peers/tfjs-generator.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const json = flag('json');
const filter = option('filter', '');
const only = option('only', '');
const time = Number(option('time', '1500'));

interface Row {
  bench: string;
  system: string;
  value: number;
  unit: string;
}

async function measure(c: PeerCase, system: string): Promise<Row> {
  await c.setup();
  try {
    await c.run(); // compile pipelines, upload, warm caches
    const bench = new Bench({ time, iterations: c.minIterations ?? 3, warmup: false, throws: true });
    // an async function: given a plain arrow, tinybench calls it once, un-awaited, to see whether
    // it returns a promise, and that extra run overlaps the first timed one
    bench.add(c.name, async () => {
      await c.run();
    });
    await bench.run();
    const r = bench.tasks[0]!.result;
    if (r.state !== 'completed') throw new Error(`${system} ${c.name}: ${r.state}`);
    const value = Number(peerValue(c, r.latency.mean).toPrecision(4));
    await c.teardown();
    return { bench: c.name, system, value, unit: c.unit };
  } catch (e) {
    // report the run's error, not a teardown error it may cause (e.g. leaked tensors)
    await c
      .teardown()
      .catch((t) =>
        console.error(
          `${system} ${c.name}: teardown after the error failed too: ${t instanceof Error ? t.message : t}`,
        ),
      );
    throw e;
  }
}

const device = await initGpu({ announce: true });
console.error(`adapter: ${device.adapter.name}`);
const peer = only === 'synface' ? null : await initTfjsWebgpu(nodeGpu());

const pairs: [PeerCase, PeerCase | null][] = [
  ...[256, 512, 1024].map(
    (n) => [synfaceCases.matmul(n), peer?.cases.matmul(n) ?? null] as [PeerCase, PeerCase | null],
  ),
  [synfaceCases.elementwiseAdd(1 << 20), peer?.cases.elementwiseAdd(1 << 20) ?? null],
  [synfaceCases.smallDispatch(), peer?.cases.smallDispatch() ?? null],
  [synfaceCases.conv2dForward(), peer?.cases.conv2d('fwd', CONV_BENCH) ?? null],
  [synfaceCases.conv2dInputGrad(), peer?.cases.conv2d('dgrad', CONV_BENCH) ?? null],
  [synfaceCases.conv2dWeightGrad(), peer?.cases.conv2d('wgrad', CONV_BENCH) ?? null],
  [resnet18TrainStep(), peer ? tfjsResnet18TrainStep(peer) : null],
  [recognizerTrainStep('small'), peer ? tfjsRecognizerTrainStep(peer) : null],
  [faceApiForward('landmark68'), peer ? tfjsFaceApiForward(peer, 'landmark68') : null],
  [faceApiForward('dlib'), peer ? tfjsFaceApiForward(peer, 'dlib') : null],
  [styleganTrainStep(), peer ? tfjsStyleganTrainStep(peer) : null],
  [generatorTrainStep(), peer ? tfjsGeneratorTrainStep(peer) : null],
];

const rows: Row[] = [];
try {
  for (const [ours, theirs] of pairs) {
    if (filter && !ours.name.includes(filter)) continue;
    for (const [c, system] of [
      [ours, 'synface'],
      [theirs, 'tfjs-webgpu'],
    ] as const) {
      if (!c || (only && only !== system)) continue;
      const row = await measure(c, system);
      rows.push(row);
      if (json) console.log(JSON.stringify(row));
      else
        console.error(
          `  ${row.bench.padEnd(16)} ${system.padEnd(12)} ${String(row.value).padStart(9)} ${row.unit}`,
        );
    }
  }
} finally {
  await peer?.dispose();
  shutdownGpu();
}

if (!json) {
  console.log(`\n| bench | synface | tfjs-webgpu | unit | ratio |\n|---|---|---|---|---|`);
  for (const name of [...new Set(rows.map((r) => r.bench))]) {
    const a = rows.find((r) => r.bench === name && r.system === 'synface');
    const b = rows.find((r) => r.bench === name && r.system === 'tfjs-webgpu');
    const lowerIsBetter = a?.unit === 'us';
    const ratio = a && b ? (lowerIsBetter ? b.value / a.value : a.value / b.value).toFixed(2) + 'x' : '';
    console.log(`| ${name} | ${a?.value ?? ''} | ${b?.value ?? ''} | ${a?.unit ?? b?.unit} | ${ratio} |`);
  }
}
