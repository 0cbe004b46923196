/**
 * The benchmarks, side by side with peers in the same run and on the same machine: synface-gpu
 * against TensorFlow.js's WebGPU backend (both on Dawn) and, for the big kernels, ONNX Runtime
 * Web's WebAssembly backend (bench/peers/ort.ts says what differs between the sides).
 *
 *   npm run bench                     a table
 *   npm run bench -- --json           one JSON object per line:
 *                                     {"bench":"matmul-1024","system":"synface","value":12.3,"unit":"GFLOPS"}
 *   npm run bench -- --filter matmul  only cases whose name contains "matmul" (or any of a
 *                                     comma-separated list: --filter matmul,add,dispatch,conv2d)
 *   npm run bench -- --time 3000      milliseconds of sampling per case and system (default 1500)
 *   npm run bench -- --only synface   only these systems (comma-separated) of synface, tfjs-webgpu,
 *                                     ort-wasm, ort-webgpu; default all but ort-webgpu, whose
 *                                     start costs ~2 minutes of compiling (see bench/peers/ort.ts)
 *   npm run bench -- --ort-threads 1  ort-wasm's thread count (default 2; its rows say "threads")
 *
 * For each case the systems take turns (ours, then each peer's) so that all see the same
 * machine state. Each timed unit issues several ops and waits once (see bench/cases).
 */
import { initGpu, nodeGpu, shutdownGpu } from '../src/gpu/node.js';
import { initTfjsWebgpu } from './peers/tfjs-webgpu.js';
import { formatTable, measure, type Row } from './measure.js';
import { initOrtWasm, initOrtWebgpu } from './peers/ort.js';
import { kernelSides, type KernelPeer, type Sides } from './cases/kernels.js';
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
const filters = option('filter', '').split(',');
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

const device = await initGpu({ announce: true });
console.error(`adapter: ${device.adapter.name}`);
const peer = wants('tfjs-webgpu') ? await initTfjsWebgpu(nodeGpu()) : null;
const ortWasm = wants('ort-wasm') ? await initOrtWasm(ortThreads) : null;
const ortWebgpu = wants('ort-webgpu') ? await initOrtWebgpu(nodeGpu()) : null;
for (const o of [ortWasm, ortWebgpu]) if (o) console.error(`${o.system}: ${o.describe}`);
const orts = [ortWasm, ortWebgpu].filter((o) => o != null);

const kernelPeers: KernelPeer[] = [...(peer ? [{ system: 'tfjs-webgpu', cases: peer.cases }] : []), ...orts];
const sides: Sides[] = [
  ...kernelSides(kernelPeers),
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
    if (!filters.some((f) => side.synface.name.includes(f))) continue;
    for (const system of SYSTEMS) {
      const c = side[system];
      if (!c || !wants(system)) continue;
      const row = await measure(c, system, time);
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

if (!json) console.log(`\n${formatTable(rows, SYSTEMS)}`);
