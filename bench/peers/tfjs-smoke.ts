/**
 * Smoke run of the tfjs-webgpu peer: each case once through tinybench, prints
 * JSON lines {"bench","system","value","unit"} to stdout (diagnostics to stderr).
 *   XDG_RUNTIME_DIR=/tmp/xdg npx tsx bench/peers/tfjs-smoke.ts
 */
import { create, globals } from 'webgpu';
import { Bench } from 'tinybench';
import { initTfjsWebgpu, peerValue, type PeerCase } from './tfjs-webgpu.ts';

Object.assign(globalThis, globals);
const gpu = create([]);
const peer = await initTfjsWebgpu(gpu);
console.error(`tfjs-webgpu on: ${peer.adapterInfo}`);

const cases: PeerCase[] = [
  peer.cases.matmul(256),
  peer.cases.matmul(512),
  peer.cases.matmul(1024),
  peer.cases.elementwiseAdd(1 << 20),
  peer.cases.smallDispatch(),
];

try {
  for (const c of cases) {
    await c.setup();
    try {
      // warm-up: first run compiles pipelines and uploads inputs; time it separately
      const t0 = performance.now();
      await c.run();
      const firstMs = performance.now() - t0;
      const bench = new Bench({
        name: c.name,
        time: 1000,
        iterations: 3,
        warmup: true,
        warmupIterations: 1,
        warmupTime: 0,
        throws: true,
      });
      bench.add(c.name, () => c.run());
      await bench.run();
      const r = bench.tasks[0]!.result;
      if (r.state !== 'completed') throw new Error(`${c.name}: ${r.state}`);
      const ms = r.latency.mean;
      console.error(
        `${c.name}: first run ${firstMs.toFixed(1)} ms, ${r.latency.samplesCount} samples, ` +
          `mean ${ms.toFixed(2)} ms/run (${c.opsPerRun} ops), rme ${r.latency.rme.toFixed(1)}%`,
      );
      const value = Number(peerValue(c, ms).toPrecision(4));
      console.log(JSON.stringify({ bench: c.name, system: 'tfjs-webgpu', value, unit: c.unit }));
    } finally {
      await c.teardown();
    }
  }
} finally {
  await peer.dispose();
}
