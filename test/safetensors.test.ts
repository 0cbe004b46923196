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
    expect(
      parse(file('{"h":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}', [...new Uint8Array(16)])),
    ).toThrow(/tensor 'h': unsupported dtype 'F64' \(supported: F32, F16, BF16, I32, U32\)/);
    // an inherited property of the dtype table is no dtype either
    expect(parse(file('{"h":{"dtype":"toString","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]))).toThrow(
      /unsupported dtype 'toString'/,
    );
    // F16 takes 2 bytes a value
    expect(
      parse(file('{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}', [...new Uint8Array(8)])),
    ).toThrow(/tensor 'h': 8 bytes of data for F16 \[2\], which needs 4/);
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

describe('safetensors in half precision', () => {
  it('writes F16 byte-exact on a hand-computed example', () => {
    const bytes = serializeSafetensors(
      { a: { dtype: 'f32', shape: [2], data: Float32Array.of(1, -2) } },
      undefined,
      { float: 'F16' },
    );
    // {"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}: 54 bytes, padded to 56 as above
    const header = '{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}';
    expect([...bytes]).toEqual([
      56,
      ...new Array(7).fill(0),
      ...enc(header),
      0x20,
      0x20,
      0x00,
      0x3c, // 1.0 in f16 = 0x3c00
      0x00,
      0xc0, // -2.0 = 0xc000
    ]);
  });

  it('reads F16 and BF16 files made by hand as f32, and says how each tensor was stored', () => {
    // h: f16 1.0 (0x3c00), -0.5 (0xb800), 2^-24 (0x0001); b: bf16 1.0 (0x3f80), -3.0 (0xc040)
    const st = parseSafetensors(
      file(
        '{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]}}',
        [0x00, 0x3c, 0x00, 0xb8, 0x01, 0x00, 0x80, 0x3f, 0x40, 0xc0],
      ),
      'half.safetensors',
    );
    expect(st.tensors.h).toEqual({ dtype: 'f32', shape: [3], data: Float32Array.of(1, -0.5, 2 ** -24) });
    expect(st.tensors.b).toEqual({ dtype: 'f32', shape: [2], data: Float32Array.of(1, -3) });
    expect(st.stored).toEqual({ h: 'F16', b: 'BF16' });
  });

  it('F16 for some tensors: floats rounded to the nearest f16, integers and F32 tensors exact', () => {
    const w = Float32Array.of(0.1, -1 / 3, 1e-6, 65504, 1e-9, -0);
    const tensors: Record<string, TensorData> = {
      'model/w': { dtype: 'f32', shape: [2, 3], data: w },
      'model/steps': { dtype: 'i32', shape: [1], data: Int32Array.of(-7) },
      'model/bits': { dtype: 'u32', shape: [1], data: Uint32Array.of(0xffffffff) },
      'optimizer/m': { dtype: 'f32', shape: [1], data: Float32Array.of(0.1) },
    };
    const float = (name: string) => (name.startsWith('model/') ? 'F16' : 'F32');
    const bytes = serializeSafetensors(tensors, { k: 'v' }, { float });
    const all32 = serializeSafetensors(tensors, { k: 'v' });
    expect(all32.length - bytes.length).toBe(12); // 6 values, 2 bytes each saved (header same length)
    const back = parseSafetensors(bytes, 'x');
    expect(back.stored).toEqual({
      'model/w': 'F16',
      'model/steps': 'I32',
      'model/bits': 'U32',
      'optimizer/m': 'F32',
    });
    expect(back.tensors['model/steps'].data).toEqual(Int32Array.of(-7));
    expect(back.tensors['model/bits'].data).toEqual(Uint32Array.of(0xffffffff));
    expect(back.tensors['optimizer/m'].data).toEqual(Float32Array.of(0.1));
    // the nearest f16 values, written out: 0.1 -> 1638 * 2^-14, 1/3 -> 1365 * 2^-12,
    // 1e-6 -> 17 * 2^-24 (subnormal), 1e-9 -> +0 (below 2^-25), -0 stays -0
    expect([...back.tensors['model/w'].data]).toEqual([
      1638 * 2 ** -14,
      -1365 * 2 ** -12,
      17 * 2 ** -24,
      65504,
      0,
      -0,
    ]);
    for (let i = 0; i < w.length; i++)
      expect(Math.abs(back.tensors['model/w'].data[i] - w[i])).toBeLessThanOrEqual(
        Math.abs(w[i]) * 2 ** -11 + 2 ** -25,
      );
  });

  it('a value beyond f16 is an error naming the tensor and the value, not an Inf', () => {
    const t = (v: number): Record<string, TensorData> => ({
      ok: { dtype: 'f32', shape: [1], data: Float32Array.of(1) },
      'layer.bias': { dtype: 'f32', shape: [3], data: Float32Array.of(0, 1, v) },
    });
    expect(() => serializeSafetensors(t(70000), undefined, { float: 'F16' })).toThrow(
      /tensor 'layer\.bias' \[3\] holds 70000 at index 2, which half precision cannot hold \(its largest value is 65504\): store the tensor as F32/,
    );
    expect(() => serializeSafetensors(t(-65520), undefined, { float: 'F16' })).toThrow(
      /holds -65520 at index 2/,
    );
    // 65519 rounds down to 65504 (an ordinary rounding); the tensor may also stay F32
    const back = parseSafetensors(serializeSafetensors(t(65519), undefined, { float: 'F16' }));
    expect(back.tensors['layer.bias'].data[2]).toBe(65504);
    const kept = serializeSafetensors(t(70000), undefined, { float: (n) => (n === 'ok' ? 'F16' : 'F32') });
    expect(parseSafetensors(kept).tensors['layer.bias'].data[2]).toBe(70000);
    // Inf and NaN are not overflows: they are kept (callers that refuse them check first)
    const inf = parseSafetensors(serializeSafetensors(t(-Infinity), undefined, { float: 'F16' }));
    expect(inf.tensors['layer.bias'].data[2]).toBe(-Infinity);
    const nan = parseSafetensors(serializeSafetensors(t(NaN), undefined, { float: 'F16' }));
    expect(nan.tensors['layer.bias'].data[2]).toBeNaN();
    expect(() => serializeSafetensors(t(1), undefined, { float: 'F8' as 'F16' })).toThrow(
      /tensor 'ok': float storage 'F8' is not F32 or F16/,
    );
  });
});
