/**
 * The TensorFlow.js weights-manifest reader (src/io/tfjs-weights.ts) on small synthetic
 * manifests: float32, uint8/uint16-quantized and float16 tensors, two groups and a group split
 * over two shards; decoded values checked against the formula and against tfjs-core's own
 * `io.decodeWeights` (an independent decoder); each error (truncated shard, bytes left over,
 * missing tensor, wrong shape, bad manifest) names the file and the tensor. Then the real
 * face-api manifests in node_modules decode completely.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  decodeWeights,
  parseManifest,
  requireTensor,
  type ManifestEntry,
  type ManifestGroup,
} from '../src/io/tfjs-weights.js';
import { loadTfjsWeights } from '../src/io/tfjs-weights-node.js';

const dir = mkdtempSync(join(tmpdir(), 'synface-tfjs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const u16 = (...v: number[]) => new Uint8Array(Uint16Array.from(v).buffer);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

// Group 0 (one shard): a float32 [2, 3], a uint8 [4] (scale 0.5, min -1), a float16 [3].
// Group 1 (two shards, split inside a tensor): a uint16 [2, 2] (scale 0.01, min 2), a float32 [1].
const entries0: ManifestEntry[] = [
  { name: 'a/filters', shape: [2, 3], dtype: 'float32' },
  { name: 'a/bias', shape: [4], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
  { name: 'h', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
];
const entries1: ManifestEntry[] = [
  { name: 'b', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.01, min: 2 } },
  { name: 'c', shape: [1], dtype: 'float32' },
];
// float16: 1.0 = 0x3c00, -2.5 = 0xc100, 2^-24 (smallest subnormal) = 0x0001
const shard0 = cat(f32(1, -2, 3.5, 0, 1e-3, -7), Uint8Array.of(0, 1, 2, 255), u16(0x3c00, 0xc100, 0x0001));
const shard1 = cat(u16(0, 1, 100, 65535), f32(42));
const files: Record<string, Uint8Array> = {
  'net.bin': shard0,
  'net-2of2a.bin': shard1.slice(0, 3),
  'net-2of2b.bin': shard1.slice(3),
};
const groups: ManifestGroup[] = [
  { paths: ['net.bin'], weights: entries0 },
  { paths: ['net-2of2a.bin', 'net-2of2b.bin'], weights: entries1 },
];
const read = (p: string) => files[p];

describe('TensorFlow.js weights manifest', () => {
  it('decodes float32, uint8, uint16 and float16 tensors across groups and shards', () => {
    const w = decodeWeights(groups, read, 'net-weights_manifest.json');
    expect(Object.keys(w)).toEqual(['a/filters', 'a/bias', 'h', 'b', 'c']);
    expect(w['a/filters'].shape).toEqual([2, 3]);
    expect([...w['a/filters'].data]).toEqual([...Float32Array.from([1, -2, 3.5, 0, 1e-3, -7])]);
    expect([...w['a/bias'].data]).toEqual([-1, -0.5, 0, 126.5]); // q * 0.5 - 1
    expect([...w.h.data]).toEqual([1, -2.5, 2 ** -24]);
    expect([...w.b.data]).toEqual([...Float32Array.from([0, 1, 100, 65535], (q) => q * 0.01 + 2)]);
    expect([...w.c.data]).toEqual([42]);
    for (const t of Object.values(w)) expect(t.dtype).toBe('f32');
  });

  it("agrees with tfjs-core's io.decodeWeights on every tensor", () => {
    const ours = decodeWeights(groups, read, 'net-weights_manifest.json');
    for (const [g, bytes] of [
      [groups[0], shard0],
      [groups[1], shard1],
    ] as const) {
      const theirs = tf.io.decodeWeights(bytes.slice().buffer, g.weights as tf.io.WeightsManifestEntry[]);
      for (const e of g.weights) {
        expect(ours[e.name].shape, e.name).toEqual(theirs[e.name].shape);
        expect([...ours[e.name].data], e.name).toEqual([...theirs[e.name].dataSync()]);
      }
      Object.values(theirs).forEach((t) => t.dispose());
    }
  });

  it('a truncated shard names the file, the tensor and the byte counts', () => {
    const short = (p: string) => (p === 'net.bin' ? shard0.slice(0, 30) : read(p));
    expect(() => decodeWeights(groups, short, 'm.json')).toThrow(
      /net\.bin \(from m\.json\): truncated: tensor 'h' \[3\] needs bytes 28\.\.34 but the file has 30/,
    );
    const shortSplit = (p: string) => (p === 'net-2of2b.bin' ? new Uint8Array(2) : read(p));
    expect(() => decodeWeights(groups, shortSplit, 'm.json')).toThrow(
      /net-2of2a\.bin \+ net-2of2b\.bin \(from m\.json\): truncated: tensor 'b'/,
    );
  });

  it('bytes after the last tensor are an error (a different file than the manifest describes)', () => {
    const long = (p: string) => (p === 'net.bin' ? cat(shard0, new Uint8Array(8)) : read(p));
    expect(() => decodeWeights(groups, long, 'm.json')).toThrow(/net\.bin \(from m\.json\): 8 bytes after/);
  });

  it('a missing tensor and a wrong shape name the file and the tensor', () => {
    const w = decodeWeights(groups, read, 'm.json');
    expect(requireTensor(w, 'b', [2, 2], 'm.json').data.length).toBe(4);
    expect(() => requireTensor(w, 'conv/filters', [3, 3, 8, 8], 'm.json')).toThrow(
      "m.json: tensor 'conv/filters' is missing (the network needs it, shape [3,3,8,8])",
    );
    expect(() => requireTensor(w, 'a/filters', [3, 2], 'm.json')).toThrow(
      "m.json: tensor 'a/filters' has shape [2,3] but the network expects [3,2]",
    );
  });

  it('a malformed manifest is refused with the reason', () => {
    expect(() => parseManifest('{', 'm.json')).toThrow(/^m\.json: not JSON/);
    expect(() => parseManifest('{}', 'm.json')).toThrow(
      'm.json: a weights manifest is a JSON array of groups',
    );
    expect(() => parseManifest('[{"weights": []}]', 'm.json')).toThrow(/group 0 has no "paths"/);
    const bad = (w: object) => JSON.stringify([{ paths: ['x.bin'], weights: [w] }]);
    expect(() => parseManifest(bad({ name: 't', shape: [2, -1], dtype: 'float32' }), 'm.json')).toThrow(
      /tensor 't' has a bad shape \[2,-1\]/,
    );
    expect(() => parseManifest(bad({ name: 't', shape: [2], dtype: 'string' }), 'm.json')).toThrow(
      /tensor 't' has unsupported dtype "string"/,
    );
    expect(() =>
      parseManifest(
        bad({ name: 't', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8' } }),
        'm.json',
      ),
    ).toThrow(/tensor 't' is uint8-quantized without a finite scale and min/);
  });

  it('reads from a folder; a missing shard file names it', () => {
    writeFileSync(join(dir, 'net-weights_manifest.json'), JSON.stringify(groups));
    for (const [p, b] of Object.entries(files)) writeFileSync(join(dir, p), b);
    expect([...loadTfjsWeights('net', dir).c.data]).toEqual([42]);
    rmSync(join(dir, 'net-2of2b.bin'));
    expect(() => loadTfjsWeights('net', dir)).toThrow(/net-2of2b\.bin: shard file listed in .* is missing/);
    expect(() => loadTfjsWeights('nothing', dir)).toThrow(
      /nothing-weights_manifest\.json: no such weights manifest/,
    );
  });

  it("decodes face-api's shipped networks completely", () => {
    const rec = loadTfjsWeights('face_recognition_model');
    expect(rec['conv32_down/conv/filters'].shape).toEqual([7, 7, 3, 32]);
    expect(rec.fc.shape).toEqual([256, 128]);
    for (const name of ['face_landmark_68_model', 'face_landmark_68_tiny_model', 'face_expression_model'])
      expect(Object.keys(loadTfjsWeights(name)).length, name).toBeGreaterThan(10);
  });
});
