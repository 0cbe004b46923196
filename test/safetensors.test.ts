/**
 * The safetensors format: byte layout, round trips, validation of bad files.
 * Oracle: a hand-computed file, and round trips of CPU data and GPU tensors.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { readTensors, type TensorData } from '../src/tensor/tensor-data.js';

const enc = (s: string) => [...new TextEncoder().encode(s)];

/** A file from its parts: header length (u64 LE), header text, data bytes. */
function file(header: string, data: number[] = [], length = header.length): Uint8Array {
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
  out.set(enc(header), 8);
  out.set(data, 8 + header.length);
  return out;
}

describe('safetensors layout', () => {
  it('is byte-exact on a hand-computed example', () => {
    const bytes = serializeSafetensors({ a: { dtype: 'f32', shape: [2], data: Float32Array.of(1, -2) } });
    // header {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} is 54 bytes; 8 + 54 = 62, so
    // 2 spaces of padding make N = 56 and the data start at byte 64
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(header.length).toBe(54);
    expect([...bytes]).toEqual([
      56,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      ...enc(header),
      0x20,
      0x20,
      0x00,
      0x00,
      0x80,
      0x3f, // 1.0f  = 0x3f800000, little-endian
      0x00,
      0x00,
      0x00,
      0xc0, // -2.0f = 0xc0000000
    ]);
  });

  it('writes metadata first and data in order; an aligned header gets no padding', () => {
    const bytes = serializeSafetensors(
      {
        b: { dtype: 'i32', shape: [1], data: Int32Array.of(-1) },
        e: { dtype: 'u32', shape: [0, 3], data: new Uint32Array(0) },
        c: { dtype: 'u32', shape: [], data: Uint32Array.of(7) },
      },
      { k: 'v' },
    );
    const header =
      '{"__metadata__":{"k":"v"},"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"e":{"dtype":"U32","shape":[0,3],"data_offsets":[4,4]},"c":{"dtype":"U32","shape":[],"data_offsets":[4,8]}}';
    const n = Math.ceil(header.length / 8) * 8;
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true))).toBe(n);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + n))).toBe(header.padEnd(n, ' '));
    expect([...bytes.subarray(8 + n)]).toEqual([0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0]);
    // a header of exactly 56 bytes: the first example with "abc" instead of "a"
    const aligned = serializeSafetensors({ abc: { dtype: 'f32', shape: [2], data: new Float32Array(2) } });
    expect(Number(new DataView(aligned.buffer).getBigUint64(0, true))).toBe(56);
    expect(aligned[8 + 55]).toBe('}'.charCodeAt(0));
  });
});

describe('safetensors round trip', () => {
  it('CPU data, all dtypes, metadata, empty and scalar tensors', () => {
    const tensors: Record<string, TensorData> = {
      'layer1.0.conv1.weight': {
        dtype: 'f32',
        shape: [2, 3],
        data: Float32Array.of(1.5, -0, Infinity, -1e-38, 3.4e38, Math.PI),
      },
      labels: { dtype: 'i32', shape: [3], data: Int32Array.of(-2147483648, 0, 2147483647) },
      bits: { dtype: 'u32', shape: [1, 1], data: Uint32Array.of(0xffffffff) },
      empty: { dtype: 'f32', shape: [0], data: new Float32Array(0) },
      scalar: { dtype: 'f32', shape: [], data: Float32Array.of(42) },
    };
    const back = parseSafetensors(
      serializeSafetensors(tensors, { step: '12', note: 'é ü' }),
      'x.safetensors',
    );
    expect(back.metadata).toEqual({ step: '12', note: 'é ü' });
    expect(Object.keys(back.tensors)).toEqual(Object.keys(tensors));
    for (const [k, t] of Object.entries(tensors)) {
      expect(back.tensors[k].dtype).toBe(t.dtype);
      expect(back.tensors[k].shape).toEqual(t.shape);
      expect(back.tensors[k].data.constructor).toBe(t.data.constructor);
      expect([...back.tensors[k].data]).toEqual([...t.data]);
    }
  });

  it('GPU tensors through readTensors, parsed from an unaligned view', async () => {
    const a = E.randn([5, 7], 0, 1, new E.Generator(3)),
      b = E.tensor([1, 2, 3], [3], 'i32');
    const bytes = serializeSafetensors(await readTensors({ a, b }));
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const back = parseSafetensors(shifted.subarray(1));
    expect([...back.tensors.a.data]).toEqual([...(await a.toArray())]);
    expect([...back.tensors.b.data]).toEqual([1, 2, 3]);
    a.dispose();
    b.dispose();
  });
});

describe('safetensors validation', () => {
  const good = serializeSafetensors({
    w: { dtype: 'f32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
    v: { dtype: 'f32', shape: [1], data: Float32Array.of(5) },
  });
  const parse = (b: Uint8Array) => () => parseSafetensors(b, 'model.safetensors');

  it('truncated files', () => {
    expect(parse(good.subarray(0, 5))).toThrow(/^model\.safetensors: truncated: 5 bytes/);
    expect(parse(good.subarray(0, 40))).toThrow(/model\.safetensors: truncated: the header needs/);
    expect(parse(good.subarray(0, good.length - 4))).toThrow(
      /model\.safetensors: tensor 'v': data_offsets \[16, 20\] go past the end of the data \(16 bytes; truncated file\?\)/,
    );
  });

  it('header length beyond the file, or absurd', () => {
    expect(parse(file('{}', [], 1000))).toThrow(/truncated: the header needs 1000 bytes, the file has 2/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 60n, true);
    expect(parse(huge)).toThrow(/header length \d+ is implausible/);
  });

  it('bad JSON, not an object, not safetensors', () => {
    expect(parse(file('{"a": '))).toThrow(/model\.safetensors: the header is not valid JSON/);
    expect(parse(file('[1, 2]  '))).toThrow(/does not start with '\{'/);
    expect(parse(file('{"__metadata__":{"k":1}}'))).toThrow(/__metadata__ 'k' is not a string/);
  });

  it('offsets out of bounds, overlapping, leaving holes', () => {
    const data = [...new Uint8Array(8)];
    expect(
      parse(
        file(
          '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}  ',
          data,
        ),
      ),
    ).toThrow(/tensor 'b' \(bytes 2\.\.6\) overlaps tensor 'a'/);
    expect(parse(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', data))).toThrow(
      /bytes 0\.\.4 of the data belong to no tensor/,
    );
    expect(parse(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', data))).toThrow(
      /4 bytes after the last tensor/,
    );
    expect(parse(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,12]}}', data))).toThrow(
      /tensor 'a': data_offsets \[0, 12\] go past the end/,
    );
    expect(parse(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', data))).toThrow(
      /tensor 'a': data_offsets \[4, 0\] are reversed/,
    );
    expect(parse(file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', data))).toThrow(
      /tensor 'a': invalid data_offsets \[0\]/,
    );
  });

  it('unsupported dtype, bad shape, size that does not match the shape', () => {
    expect(parse(file('{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]))).toThrow(
      /tensor 'h': unsupported dtype 'F16' \(supported: F32, I32, U32\)/,
    );
    expect(parse(file('{"s":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', [0, 0, 0, 0]))).toThrow(
      /tensor 's': invalid shape \[-1\]/,
    );
    expect(
      parse(file('{"m":{"dtype":"I32","shape":[2,2],"data_offsets":[0,8]}}', [...new Uint8Array(8)])),
    ).toThrow(/tensor 'm': 8 bytes of data for I32 \[2, 2\], which needs 16/);
  });

  it('serialize rejects inconsistent input', () => {
    expect(() =>
      serializeSafetensors({ a: { dtype: 'f32', shape: [3], data: new Float32Array(2) } }),
    ).toThrow(/tensor 'a' has 2 values for shape \[3\]/);
    expect(() =>
      serializeSafetensors({ __metadata__: { dtype: 'f32', shape: [], data: new Float32Array(1) } }),
    ).toThrow(/__metadata__/);
  });
});
