/**
 * The benchmarks, side by side with peers in the same run and on the same machine: synface-gpu
 * against TensorFlow.js's WebGPU backend (both on Dawn) and, for the big kernels, ONNX Runtime
 * Web's WebAssembly backend (bench/peers/ort.ts says what differs between the sides).
 *
 *   npm run bench                     a table
 *   npm run bench -- --json           one JSON object per line:
 *                                     {"bench":"matmul-1024","system":"synface","value":12.3,"unit":"GFLOPS"}
 *   npm run bench -- --filter matmul  only cases whose name contains "matmul"
 *   npm run bench -- --time 3000      milliseconds of sampling per case and system (default 1500)
 *   npm run bench -- --only synface   only these systems (comma-separated) of synface, tfjs-webgpu,
 *                                     ort-wasm, ort-webgpu; default all but ort-webgpu, whose
 *                                     start costs ~2 minutes of compiling (see bench/peers/ort.ts)
 *   npm run bench -- --ort-threads 1  ort-wasm's thread count (default 2; its rows say "threads")
 *
 * For each case the systems take turns (ours, then each peer's) so that all see the same
 * machine state. Each timed unit issues several ops and waits once (see bench/cases).
 */
import { Bench } from 'tinybench';
import { initGpu, nodeGpu, shutdownGpu } from '../src/gpu/node.js';
import { initTfjsWebgpu, peerValue, type PeerCase } from './peers/tfjs-webgpu.js';
import { initOrtWasm, initOrtWebgpu } from './peers/ort.js';
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
const time = Number(option('time', '1500'));
const ortThreads = Number(option('ort-threads', '2'));

const SYSTEMS = ['synface', 'tfjs-webgpu', 'ort-wasm', 'ort-webgpu'] as const;
type System = (typeof SYSTEMS)[number];
const only = option('only', '');
const systems = (only ? only.split(',') : SYSTEMS.filter((s) => s !== 'ort-webgpu')) as System[];
for (const s of systems)
  if (!SYSTEMS.includes(s))
    throw new Error(`--only ${only}: unknown system "${s}" (systems: ${SYSTEMS.join(', ')})`);
const wants = (s: System) => systems.includes(s);

interface Row {
  bench: string;
  system: string;
  value: number;
  unit: string;
  threads?: number;
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
const peer = wants('tfjs-webgpu') ? await initTfjsWebgpu(nodeGpu()) : null;
const ortWasm = wants('ort-wasm') ? await initOrtWasm(ortThreads) : null;
const ortWebgpu = wants('ort-webgpu') ? await initOrtWebgpu(nodeGpu()) : null;
for (const o of [ortWasm, ortWebgpu]) if (o) console.error(`${o.system}: ${o.describe}`);
const orts = [ortWasm, ortWebgpu].filter((o) => o != null);

/** One bench case: our side, and each peer's where it has one. */
type Sides = Partial<Record<System, PeerCase>> & { synface: PeerCase };
const sides: Sides[] = [
  ...[256, 512, 1024].map((n) => ({
    synface: synfaceCases.matmul(n),
    'tfjs-webgpu': peer?.cases.matmul(n),
    ...Object.fromEntries(orts.map((o) => [o.system, o.cases.matmul(n)])),
  })),
  { synface: synfaceCases.elementwiseAdd(1 << 20), 'tfjs-webgpu': peer?.cases.elementwiseAdd(1 << 20) },
  { synface: synfaceCases.smallDispatch(), 'tfjs-webgpu': peer?.cases.smallDispatch() },
  ...(['fwd', 'dgrad', 'wgrad'] as const).map((pass) => ({
    synface: {
      fwd: synfaceCases.conv2dForward,
      dgrad: synfaceCases.conv2dInputGrad,
      wgrad: synfaceCases.conv2dWeightGrad,
    }[pass](),
    'tfjs-webgpu': peer?.cases.conv2d(pass, CONV_BENCH),
    ...Object.fromEntries(orts.map((o) => [o.system, o.cases.conv2d(pass, CONV_BENCH)])),
  })),
  { synface: resnet18TrainStep(), 'tfjs-webgpu': peer ? tfjsResnet18TrainStep(peer) : undefined },
  { synface: recognizerTrainStep('small'), 'tfjs-webgpu': peer ? tfjsRecognizerTrainStep(peer) : undefined },
  {
    synface: faceApiForward('landmark68'),
    'tfjs-webgpu': peer ? tfjsFaceApiForward(peer, 'landmark68') : undefined,
  },
  { synface: faceApiForward('dlib'), 'tfjs-webgpu': peer ? tfjsFaceApiForward(peer, 'dlib') : undefined },
  { synface: styleganTrainStep(), 'tfjs-webgpu': peer ? tfjsStyleganTrainStep(peer) : undefined },
  { synface: generatorTrainStep(), 'tfjs-webgpu': peer ? tfjsGeneratorTrainStep(peer) : undefined },
];

const rows: Row[] = [];
try {
  for (const side of sides) {
    if (filter && !side.synface.name.includes(filter)) continue;
    for (const system of SYSTEMS) {
      const c = side[system];
      if (!c || !wants(system)) continue;
      const row = await measure(c, system);
      if (system === 'ort-wasm') row.threads = ortThreads;
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
  for (const o of orts) await o.dispose();
  shutdownGpu();
}

if (!json) {
  // a column per system measured; ratios are ours over each peer's (speed-up: >1 means we are faster)
  const cols = SYSTEMS.filter((s) => rows.some((r) => r.system === s));
  const peers = cols.includes('synface') ? cols.filter((s) => s !== 'synface') : [];
  const head = [...cols, 'unit', ...peers.map((p) => `vs ${p}`)];
  console.log(`\n| bench | ${head.join(' | ')} |\n|${'---|'.repeat(head.length + 1)}`);
  for (const name of [...new Set(rows.map((r) => r.bench))]) {
    const value = (s: System) => rows.find((r) => r.bench === name && r.system === s);
    const ours = value('synface');
    const unit = rows.find((r) => r.bench === name)!.unit;
    const ratio = (p: System) => {
      const theirs = value(p);
      if (!ours || !theirs) return '';
      return (unit === 'us' ? theirs.value / ours.value : ours.value / theirs.value).toFixed(2) + 'x';
    };
    const cells = [...cols.map((s) => String(value(s)?.value ?? '')), unit, ...peers.map(ratio)];
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
}
