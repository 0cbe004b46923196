/**
 * TensorFlow.js weights: a `*-weights_manifest.json` and its binary shard files, as written by
 * tfjs-converter (the format @vladmandic/face-api ships its networks in). The manifest is a list
 * of groups:
 *
 *   [{ "paths": ["net.bin", ...],                       the group's shards, concatenated in order
 *      "weights": [{ "name", "shape", "dtype",           tensors stored back to back, in this order
 *                    "quantization"?: { "dtype", "scale"?, "min"? } }, ...] }, ...]
 *
 * A tensor without quantization is raw little-endian float32 (or int32); with it, each value is
 * stored as `uint8` or `uint16` q and decodes to q * scale + min, or as IEEE `float16`.
 * Everything decodes to float32 TensorData (int32 stays int32).
 *
 * Errors name the file and the tensor: a shard shorter than its tensors, bytes left over, a
 * tensor the network needs that is missing, a shape other than the network expects. This file
 * imports nothing from Node: bytes in, tensors out (the Node loader is tfjs-weights-node.ts).
 */
import type { TensorData } from '../tensor/tensor-data.js';

export interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

export interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

/** Bytes of one stored value, by storage dtype (quantized dtype when there is one). */
const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

/** Parses and checks a manifest's JSON text; `source` names the file in errors. */
export function parseManifest(text: string, source: string): ManifestGroup[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(json)) throw new Error(`${source}: a weights manifest is a JSON array of groups`);
  json.forEach((g, gi) => {
    const where = `${source}: group ${gi}`;
    if (!g || !Array.isArray(g.paths) || !g.paths.every((p: unknown) => typeof p === 'string'))
      throw new Error(`${where} has no "paths" list of shard file names`);
    if (!Array.isArray(g.weights)) throw new Error(`${where} has no "weights" list`);
    for (const w of g.weights as ManifestEntry[]) {
      const name = typeof w?.name === 'string' ? w.name : '(unnamed)';
      if (!Array.isArray(w?.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0))
        throw new Error(`${where}: tensor '${name}' has a bad shape ${JSON.stringify(w?.shape)}`);
      if (w.dtype !== 'float32' && w.dtype !== 'int32')
        throw new Error(`${where}: tensor '${name}' has unsupported dtype ${JSON.stringify(w.dtype)}`);
      const q = w.quantization;
      if (q) {
        if (!['uint8', 'uint16', 'float16'].includes(q.dtype))
          throw new Error(
            `${where}: tensor '${name}' has unsupported quantization ${JSON.stringify(q.dtype)}`,
          );
        if (q.dtype !== 'float16' && !(Number.isFinite(q.scale) && Number.isFinite(q.min)))
          throw new Error(
            `${where}: tensor '${name}' is ${q.dtype}-quantized without a finite scale and min`,
          );
      }
    }
  });
  return json as ManifestGroup[];
}

/** IEEE 754 half precision to a number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f,
    frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decodeEntry(w: ManifestEntry, bytes: Uint8Array, offset: number, count: number): TensorData {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  const q = w.quantization;
  const shape = [...w.shape];
  if (!q) {
    if (w.dtype === 'int32') {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(4 * i, true);
      return { dtype: 'i32', shape, data };
    }
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
    return { dtype: 'f32', shape, data };
  }
  const data = new Float32Array(count);
  if (q.dtype === 'float16')
    for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(2 * i, true));
  else if (q.dtype === 'uint16')
    for (let i = 0; i < count; i++) data[i] = view.getUint16(2 * i, true) * q.scale! + q.min!;
  else for (let i = 0; i < count; i++) data[i] = view.getUint8(i) * q.scale! + q.min!;
  if (w.dtype === 'int32') return { dtype: 'i32', shape, data: Int32Array.from(data, Math.round) };
  return { dtype: 'f32', shape, data };
}

/**
 * Decodes every tensor of a manifest. `readShard(path)` gives the bytes of one shard file (named
 * as in the manifest); `source` names the manifest in errors.
 */
export function decodeWeights(
  groups: ManifestGroup[],
  readShard: (path: string) => Uint8Array,
  source: string,
): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const group of groups) {
    const shards = group.paths.map((p) => ({ path: p, bytes: readShard(p) }));
    const total = shards.reduce((n, s) => n + s.bytes.length, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const s of shards) {
      bytes.set(s.bytes, at);
      at += s.bytes.length;
    }
    const files = group.paths.join(' + ');
    let offset = 0;
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const size = count * STORED_BYTES[w.quantization?.dtype ?? w.dtype];
      if (offset + size > total)
        throw new RangeError(
          `${files} (from ${source}): truncated: tensor '${w.name}' [${w.shape}] needs bytes ${offset}..${offset + size} but the file has ${total}`,
        );
      if (w.name in out) throw new Error(`${source}: tensor '${w.name}' appears twice`);
      out[w.name] = decodeEntry(w, bytes, offset, count);
      offset += size;
    }
    if (offset !== total)
      throw new RangeError(
        `${files} (from ${source}): ${total - offset} bytes after the last tensor (the manifest describes ${offset} of ${total}): not the file this manifest was written with`,
      );
  }
  return out;
}

/**
 * The tensor `name` with exactly the shape `shape` (the network's expectation), or an error
 * naming the file, the tensor and both shapes.
 */
export function requireTensor(
  weights: Record<string, TensorData>,
  name: string,
  shape: readonly number[],
  source: string,
): TensorData {
  const t = weights[name];
  if (!t) throw new Error(`${source}: tensor '${name}' is missing (the network needs it, shape [${shape}])`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
    throw new RangeError(
      `${source}: tensor '${name}' has shape [${t.shape}] but the network expects [${shape}]`,
    );
  return t;
}

/**
 * Reads and decodes `<name>-weights_manifest.json` and its shards through `readFile(fileName)`
 * (in a browser: a fetch from wherever the files are served; in Node, tfjs-weights-node.ts
 * reads a folder). Errors name the manifest as `name`'s manifest file.
 */
export async function readTfjsWeights(
  name: string,
  readFile: (fileName: string) => Promise<Uint8Array>,
): Promise<Record<string, TensorData>> {
  const manifestName = `${name}-weights_manifest.json`;
  const groups = parseManifest(new TextDecoder().decode(await readFile(manifestName)), manifestName);
  const shards = new Map<string, Uint8Array>();
  for (const path of groups.flatMap((g) => g.paths)) shards.set(path, await readFile(path));
  return decodeWeights(groups, (path) => shards.get(path)!, manifestName);
}
