// The bench's ONNX writer (bench/peers/onnx-encode.ts) and the ort peer's models
// (bench/peers/ort-models.ts): ONNX Runtime Web parses what we write and computes, on small
// shapes, what the float64 CPU references say, at every output element.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { encodeModel, type OnnxGraph } from '../bench/peers/onnx-encode.js';
import { convModel, matmulModel, type BenchModel, type ConvPass } from '../bench/peers/ort-models.js';

ort.env.wasm.numThreads = 1;

async function runGraph(graph: OnnxGraph, inputs: Float32Array[]) {
  const session = await ort.InferenceSession.create(encodeModel(graph), { executionProviders: ['wasm'] });
  try {
    const feeds = Object.fromEntries(
      graph.inputs.map((v, i) => [v.name, new ort.Tensor('float32', inputs[i]!, v.shape)]),
    );
    const out = (await session.run(feeds))[graph.outputs[0]!.name]!;
    return { dims: out.dims as number[], data: out.data as Float32Array };
  } finally {
    await session.release();
  }
}

/** Small integers in [-3, 3]: float32 sums of a few hundred of them are exact. */
function smallInts(shape: number[], seed: number): Float32Array {
  return Float32Array.from(
    { length: shape.reduce((a, b) => a * b, 1) },
    (_, i) => ((i * 7 + seed * 13) % 7) - 3,
  );
}

async function expectMatchesReference(model: BenchModel) {
  const inputs = model.graph.inputs.map((v, i) => smallInts(v.shape, i + 1));
  const { dims, data } = await runGraph(model.graph, inputs);
  expect(dims).toEqual(model.graph.outputs[0]!.shape);
  const want = Array.from(data, (_, i) => model.reference(inputs, i).value);
  expect(Array.from(data)).toEqual(want);
}

describe('onnx-encode', () => {
  it('writes a MatMul model that ort-wasm runs to the CPU result', async () => {
    const graph: OnnxGraph = {
      nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
      inputs: [
        { name: 'A', shape: [2, 3] },
        { name: 'B', shape: [3, 4] },
      ],
      outputs: [{ name: 'Y', shape: [2, 4] }],
    };
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const b = Float32Array.from([1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1]);
    const { dims, data } = await runGraph(graph, [a, b]);
    expect(dims).toEqual([2, 4]);
    expect(Array.from(data)).toEqual([1, 2, 3, 6, 4, 5, 6, 15]);
  });

  it('writes float attributes (LeakyRelu alpha) and multi-byte varints (a 300-wide input)', async () => {
    const graph: OnnxGraph = {
      nodes: [{ op: 'LeakyRelu', inputs: ['X'], outputs: ['Y'], attributes: { alpha: { float: 0.25 } } }],
      inputs: [{ name: 'X', shape: [1, 300] }],
      outputs: [{ name: 'Y', shape: [1, 300] }],
    };
    const x = Float32Array.from({ length: 300 }, (_, i) => i - 150);
    const { dims, data } = await runGraph(graph, [x]);
    expect(dims).toEqual([1, 300]);
    expect(Array.from(data)).toEqual(Array.from(x, (v) => (v < 0 ? v * 0.25 : v)));
  });

  it('starts with the IR version field and rejects what it cannot write', () => {
    const bytes = encodeModel({ nodes: [], inputs: [], outputs: [] });
    expect(Array.from(bytes.slice(0, 2))).toEqual([0x08, 8]); // field 1, varint 8
    const bad: OnnxGraph = { nodes: [], inputs: [{ name: 'X', shape: [-1] }], outputs: [] };
    expect(() => encodeModel(bad)).toThrow(/varint -1/);
  });
});

describe('ort peer models', () => {
  it('matmul matches the reference', async () => {
    await expectMatchesReference(matmulModel(5));
  });

  const shapes = [
    { N: 2, C: 3, H: 5, W: 5, O: 4, K: 3, stride: 1, pad: 1 },
    { N: 2, C: 3, H: 5, W: 7, O: 4, K: 3, stride: 2, pad: 1 },
  ];
  for (const s of shapes)
    for (const pass of ['fwd', 'dgrad', 'wgrad'] as ConvPass[])
      it(`conv2d ${pass} at stride ${s.stride} matches the reference`, async () => {
        await expectMatchesReference(convModel(pass, s));
      });

  it('conv2d dgrad pads the output when the forward conv dropped a remainder row', async () => {
    await expectMatchesReference(
      convModel('dgrad', { N: 1, C: 2, H: 6, W: 6, O: 3, K: 3, stride: 2, pad: 1 }),
    );
  });

  it('conv2d wgrad refuses a geometry it cannot write as one conv', () => {
    expect(() => convModel('wgrad', { N: 1, C: 2, H: 6, W: 6, O: 3, K: 3, stride: 2, pad: 1 })).toThrow(
      /wgrad as a conv/,
    );
  });
});
