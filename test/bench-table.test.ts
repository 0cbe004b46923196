/**
 * The bench's shared pieces (bench/measure.ts, bench/cases/kernels.ts), which the Node bench and
 * the browser bench both use: the table's ratios and the kernel cases' pairing with each peer's.
 */
import { describe, expect, it } from 'vitest';
import { formatTable, type Row } from '../bench/measure.js';
import { kernelSides, type KernelPeer } from '../bench/cases/kernels.js';
import type { PeerCase } from '../bench/peers/tfjs-webgpu.js';

describe('formatTable', () => {
  const rows: Row[] = [
    { bench: 'matmul-1024', system: 'synface', value: 15, unit: 'GFLOPS' },
    { bench: 'matmul-1024', system: 'tfjs-webgpu', value: 5, unit: 'GFLOPS' },
    { bench: 'dispatch-small', system: 'synface', value: 60, unit: 'us' },
    { bench: 'dispatch-small', system: 'tfjs-webgpu', value: 30, unit: 'us' },
    { bench: 'add-1048576', system: 'synface', value: 3, unit: 'GB/s' },
  ];
  const lines = formatTable(rows, ['synface', 'tfjs-webgpu', 'ort-wasm']).split('\n');

  it('has a column per system measured, in the order given, and a ratio per peer', () => {
    expect(lines[0]).toBe('| bench | synface | tfjs-webgpu | unit | vs tfjs-webgpu |');
    expect(lines).toHaveLength(2 + 3);
  });
  it('gives ours over theirs for rates, theirs over ours for times (> 1: synface faster)', () => {
    expect(lines[2]).toBe('| matmul-1024 | 15 | 5 | GFLOPS | 3.00x |');
    expect(lines[3]).toBe('| dispatch-small | 60 | 30 | us | 0.50x |');
  });
  it('leaves a missing measurement and its ratio empty', () => {
    expect(lines[4]).toBe('| add-1048576 | 3 |  | GB/s |  |');
  });
});

describe('kernelSides', () => {
  /** A peer whose cases only carry the name and unit they were asked for. */
  const stub = (name: string, unit: PeerCase['unit']): PeerCase => ({
    name,
    unit,
    work: 0,
    opsPerRun: 1,
    setup: async () => {},
    run: async () => {},
    teardown: async () => {},
  });
  const full: KernelPeer = {
    system: 'full',
    cases: {
      matmul: (n) => stub(`matmul-${n}`, 'GFLOPS'),
      conv2d: (pass) => stub(`conv2d-${pass}`, 'GFLOPS'),
      elementwiseAdd: (n) => stub(`add-${n}`, 'GB/s'),
      smallDispatch: () => stub('dispatch-small', 'us'),
    },
  };
  const partial: KernelPeer = {
    system: 'partial',
    cases: { matmul: full.cases.matmul, conv2d: full.cases.conv2d },
  };
  const sides = kernelSides([full, partial]);

  it('pairs each of our cases with the peer case of the same name and unit', () => {
    expect(sides.map((s) => s.synface.name)).toEqual([
      'matmul-256',
      'matmul-512',
      'matmul-1024',
      'add-1048576',
      'dispatch-small',
      'conv2d-fwd',
      'conv2d-dgrad',
      'conv2d-wgrad',
    ]);
    for (const s of sides) {
      expect(s.full?.name).toBe(s.synface.name);
      expect(s.full?.unit).toBe(s.synface.unit);
    }
  });
  it('leaves out the cases a peer does not have', () => {
    expect(sides.filter((s) => s.partial).map((s) => s.synface.name)).toEqual([
      'matmul-256',
      'matmul-512',
      'matmul-1024',
      'conv2d-fwd',
      'conv2d-dgrad',
      'conv2d-wgrad',
    ]);
  });
});
