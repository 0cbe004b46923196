/**
 * The safetensors format (https://github.com/huggingface/safetensors), for F32, F16, BF16, I32
 * and U32:
 *
 *   8 bytes   N, the header length, unsigned 64-bit little-endian
 *   N bytes   JSON: {"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
 *             padded with spaces so that 8 + N is a multiple of 8
 *   the rest  the tensors' bytes (little-endian, row-major), offsets relative to here, in order
 *
 * Written: compact JSON, __metadata__ first (when given), tensors in the record's order, data
 * in the same order without gaps. Parsed: any order, with every rule of the format checked
 * (the whole buffer indexed, no overlap, sizes matching shapes) and errors naming the source
 * and the tensor. This file imports nothing from Node: bytes in, bytes out.
 *
 * Half precision: F16 and BF16 tensors are read as f32 (exactly); an f32 tensor is written as
 * F16 when the options ask (half the bytes, about 3 significant digits, rounded to nearest even),
 * and a value F16 cannot hold (|x| >= 65520) is then an error naming the tensor, not an Inf.
 */
import type { DType } from '../tensor/tensor.js';
import type { TensorData, TensorValues } from '../tensor/tensor-data.js';
import { f16Overflow, fromBf16, fromF16, toF16 } from './half.js';

/** What each dtype of a file is read as, and its bytes per value. */
const DTYPES: Record<string, { dtype: DType; bytes: number }> = {
  F32: { dtype: 'f32', bytes: 4 },
  F16: { dtype: 'f32', bytes: 2 },
  BF16: { dtype: 'f32', bytes: 2 },
  I32: { dtype: 'i32', bytes: 4 },
  U32: { dtype: 'u32', bytes: 4 },
};
const NAMES: Record<DType, string> = { f32: 'F32', i32: 'I32', u32: 'U32' };

/** How an f32 tensor is stored: exactly, or in half precision. */
export type FloatStorage = 'F32' | 'F16';

export interface SerializeOptions {
  /**
   * How f32 tensors are stored (default 'F32'); a function chooses per tensor name (e.g. a
   * model's weights in F16 and an optimizer's moments in F32). I32 and U32 stay as they are.
   */
  float?: FloatStorage | ((name: string) => FloatStorage);
}
/** The reference implementation's limit; a larger "header" is a corrupt or foreign file. */
const MAX_HEADER = 100_000_000;

if (new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1)
  throw new Error('safetensors: a big-endian platform is not supported');

export interface Safetensors {
  /** Every tensor as the engine holds it: F16 and BF16 read as f32. */
  tensors: Record<string, TensorData>;
  metadata: Record<string, string>;
  /** Each tensor's dtype in the file ('F32', 'F16', 'BF16', 'I32', 'U32'). */
  stored: Record<string, string>;
}

export function serializeSafetensors(
  tensors: Record<string, TensorData>,
  metadata?: Record<string, string>,
  options: SerializeOptions = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new TypeError(`safetensors: metadata '${k}' must be a string`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const blobs: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error(`safetensors: '__metadata__' cannot be a tensor name`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count)
      throw new RangeError(
        `safetensors: tensor '${name}' has ${t.data.length} values for shape [${t.shape}]`,
      );
    if (!NAMES[t.dtype])
      throw new TypeError(`safetensors: tensor '${name}' has unsupported dtype ${t.dtype}`);
    const storage = typeof options.float === 'function' ? options.float(name) : (options.float ?? 'F32');
    if (storage !== 'F32' && storage !== 'F16')
      throw new TypeError(`safetensors: tensor '${name}': float storage '${storage}' is not F32 or F16`);
    let blob = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    let dtype = NAMES[t.dtype];
    if (t.dtype === 'f32' && storage === 'F16') {
      const over = f16Overflow(t.data as Float32Array);
      if (over)
        throw new RangeError(
          `safetensors: tensor '${name}' [${t.shape}] holds ${over.value} at index ${over.index}, which half precision cannot hold (its largest value is 65504): store the tensor as F32`,
        );
      const half = toF16(t.data as Float32Array);
      blob = new Uint8Array(half.buffer);
      dtype = 'F16';
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + blob.byteLength] };
    blobs.push(blob);
    offset += blob.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const blob of blobs) {
    out.set(blob, at);
    at += blob.byteLength;
  }
  return out;
}

/** Parses and validates safetensors bytes; `source` (a file name) prefixes every error. */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors data'): Safetensors {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, not even the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n} is implausible (corrupt file, or not safetensors)`);
  const headerLength = Number(n);
  if (8 + headerLength > bytes.length)
    fail(
      `truncated: the header needs ${headerLength} bytes, the file has ${bytes.length - 8} after the length`,
    );
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail('the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`the header does not start with '{' (not a safetensors file?)`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`the header is not valid JSON: ${(e as Error).message}`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header))
    return fail('the header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; stored: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!info || typeof info !== 'object' || Array.isArray(info)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info as object)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const bad = (msg: string) => fail(`tensor '${name}': ${msg}`);
    if (!info || typeof info !== 'object') bad('the entry is not an object');
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') return bad('no dtype');
    if (!Object.hasOwn(DTYPES, dtype))
      bad(`unsupported dtype '${dtype}' (supported: ${Object.keys(DTYPES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      return bad(`invalid shape ${JSON.stringify(shape)}`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      return bad(`invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end) bad(`data_offsets [${begin}, ${end}] are reversed`);
    if (end > dataLength)
      bad(
        `data_offsets [${begin}, ${end}] go past the end of the data (${dataLength} bytes; truncated file?)`,
      );
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPES[dtype].bytes;
    if (end - begin !== expected)
      bad(`${end - begin} bytes of data for ${dtype} [${shape.join(', ')}], which needs ${expected}`);
    entries.push({ name, stored: dtype, shape: shape as number[], begin, end });
  }

  // The data must be indexed exactly: no overlap, no gap, nothing left over.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = '';
  for (const e of sorted) {
    if (e.begin < covered)
      fail(`tensor '${e.name}' (bytes ${e.begin}..${e.end}) overlaps tensor '${previous}'`);
    if (e.begin > covered)
      fail(`bytes ${covered}..${e.begin} of the data belong to no tensor (before '${e.name}')`);
    covered = e.end;
    previous = e.name;
  }
  if (covered !== dataLength) fail(`${dataLength - covered} bytes after the last tensor belong to no tensor`);

  const tensors: Record<string, TensorData> = {};
  const stored: Record<string, string> = {};
  for (const e of entries) {
    // a copy: the source bytes may not be 4-byte aligned, and the caller may reuse them
    // (not bytes.slice: on a Node Buffer that is a view)
    const copy = new Uint8Array(e.end - e.begin);
    copy.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    const buf = copy.buffer;
    const data: TensorValues =
      e.stored === 'F32'
        ? new Float32Array(buf)
        : e.stored === 'F16'
          ? fromF16(new Uint16Array(buf))
          : e.stored === 'BF16'
            ? fromBf16(new Uint16Array(buf))
            : e.stored === 'I32'
              ? new Int32Array(buf)
              : new Uint32Array(buf);
    tensors[e.name] = { dtype: DTYPES[e.stored].dtype, shape: e.shape, data };
    stored[e.name] = e.stored;
  }
  return { tensors, metadata, stored };
}
