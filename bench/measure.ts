/**
 * How the bench times one case of one system, and how it prints a run: shared by the Node bench
 * (bench/run.ts) and the browser bench (bench/browser/), so that both measure the same way.
 * No Node imports: this file is bundled into the browser page too.
 */
import { Bench } from 'tinybench';
import { peerValue, type PeerCase } from './peers/tfjs-webgpu.js';

/** One measurement: a JSON line of `npm run bench -- --json`. */
export interface Row {
  bench: string;
  system: string;
  value: number;
  unit: string;
  threads?: number;
}

/**
 * Times `c` for `timeMs` of sampling after one untimed run (pipeline compiles, uploads, caches)
 * and returns its mean in the case's unit (4 significant digits). The case is torn down either
 * way; the run's error wins over a teardown error it may cause (e.g. leaked tensors).
 */
export async function measure(c: PeerCase, system: string, timeMs: number): Promise<Row> {
  await c.setup();
  try {
    await c.run();
    const bench = new Bench({ time: timeMs, iterations: c.minIterations ?? 3, warmup: false, throws: true });
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

/**
 * A markdown table of a run: a column per system, in `systems` order, then ours over each
 * peer's (a speed-up: > 1 means synface is faster; for 'us' the inverse ratio, since less is
 * better).
 */
export function formatTable(rows: Row[], systems: readonly string[]): string {
  const cols = systems.filter((s) => rows.some((r) => r.system === s));
  const peers = cols.includes('synface') ? cols.filter((s) => s !== 'synface') : [];
  const head = [...cols, 'unit', ...peers.map((p) => `vs ${p}`)];
  const lines = [`| bench | ${head.join(' | ')} |`, `|${'---|'.repeat(head.length + 1)}`];
  for (const name of [...new Set(rows.map((r) => r.bench))]) {
    const value = (s: string) => rows.find((r) => r.bench === name && r.system === s);
    const ours = value('synface');
    const unit = rows.find((r) => r.bench === name)!.unit;
    const ratio = (p: string) => {
      const theirs = value(p);
      if (!ours || !theirs) return '';
      return (unit === 'us' ? theirs.value / ours.value : ours.value / theirs.value).toFixed(2) + 'x';
    };
    const cells = [...cols.map((s) => String(value(s)?.value ?? '')), unit, ...peers.map(ratio)];
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
