/**
 * The bench's matmul and conv shapes as ONNX graphs for the onnxruntime-web peer (bench/peers/ort.ts),
 * each with a float64 CPU reference of one output element, so the peer's result can be checked
 * before it is timed.
 *
 * How each pass is expressed (ONNX Runtime Web runs inference only: it has no conv gradient ops,
 * so the two gradients are written as the forward ops a peer would use to compute them):
 *   fwd   Conv(x, w, b)                                   y (N, O, OH, OW)
 *   dgrad ConvTranspose(dy, w): the transposed conv IS the input gradient; ConvTranspose's
 *         weight (C_in, C_out, K, K) = (O, C, K, K) is the conv's weight as it is
 *   wgrad Conv over the batch axis: x and dy with N and channels swapped (Transpose), dy^T as the
 *         kernel (O, N, OH, OW), dilation = the stride; gives dW^T (C, O, K, K), transposed back.
 *         The three Transposes are inside the timed graph.
 * All tensors are NCHW, as in our engine. Same work for every pass: 2 N O OH OW C K K flops.
 */
import type { OnnxGraph, OnnxNode } from './onnx-encode.js';
import type { ConvShape } from './tfjs-webgpu.js';

export type ConvPass = 'fwd' | 'dgrad' | 'wgrad';

export interface BenchModel {
  graph: OnnxGraph;
  /** the output's value at flat index i (NCHW / row-major), in float64, from the inputs in graph order */
  reference(inputs: Float32Array[], i: number): { value: number; magnitude: number };
}

export function matmulModel(n: number): BenchModel {
  return {
    graph: {
      nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
      inputs: [
        { name: 'A', shape: [n, n] },
        { name: 'B', shape: [n, n] },
      ],
      outputs: [{ name: 'Y', shape: [n, n] }],
    },
    reference([a, b], idx) {
      const i = Math.floor(idx / n),
        j = idx % n;
      let value = 0,
        magnitude = 0;
      for (let k = 0; k < n; k++) {
        const t = a![i * n + k]! * b![k * n + j]!;
        value += t;
        magnitude += Math.abs(t);
      }
      return { value, magnitude };
    },
  };
}

export function convOutputSize(s: ConvShape): [number, number] {
  return [
    Math.floor((s.H + 2 * s.pad - s.K) / s.stride) + 1,
    Math.floor((s.W + 2 * s.pad - s.K) / s.stride) + 1,
  ];
}

export function convModel(pass: ConvPass, s: ConvShape): BenchModel {
  const [OH, OW] = convOutputSize(s);
  const { N, C, H, W, O, K, stride, pad } = s;
  const x = { name: 'X', shape: [N, C, H, W] },
    w = { name: 'W', shape: [O, C, K, K] },
    dy = { name: 'DY', shape: [N, O, OH, OW] };
  const conv = { strides: [stride, stride], pads: [pad, pad, pad, pad], kernel_shape: [K, K] };
  // x[n, c, h, w], 0 outside the image (the padding)
  const at = (xs: Float32Array, n: number, c: number, h: number, wi: number) =>
    h < 0 || h >= H || wi < 0 || wi >= W ? 0 : xs[((n * C + c) * H + h) * W + wi]!;

  if (pass === 'fwd') {
    return {
      graph: {
        nodes: [{ op: 'Conv', inputs: ['X', 'W', 'B'], outputs: ['Y'], attributes: conv }],
        inputs: [x, w, { name: 'B', shape: [O] }],
        outputs: [{ name: 'Y', shape: [N, O, OH, OW] }],
      },
      reference([xs, ws, bs], idx) {
        const [n, o, oh, ow] = unflatten(idx, [N, O, OH, OW]);
        let value = bs![o]!,
          magnitude = Math.abs(value);
        for (let c = 0; c < C; c++)
          for (let kh = 0; kh < K; kh++)
            for (let kw = 0; kw < K; kw++) {
              const t =
                at(xs!, n, c, oh * stride + kh - pad, ow * stride + kw - pad) *
                ws![((o * C + c) * K + kh) * K + kw]!;
              value += t;
              magnitude += Math.abs(t);
            }
        return { value, magnitude };
      },
    };
  }
  if (pass === 'dgrad') {
    // (OH - 1) * stride - 2 pad + K falls short of H when the forward conv dropped a remainder
    const outputPadding = [H - ((OH - 1) * stride - 2 * pad + K), W - ((OW - 1) * stride - 2 * pad + K)];
    const attributes = { ...conv, output_padding: outputPadding };
    return {
      graph: {
        nodes: [{ op: 'ConvTranspose', inputs: ['DY', 'W'], outputs: ['DX'], attributes }],
        inputs: [dy, w],
        outputs: [{ name: 'DX', shape: [N, C, H, W] }],
      },
      reference([dys, ws], idx) {
        // dx[n, c, h, w] = sum over (o, kh, kw) with h = oh * stride + kh - pad of dy[n, o, oh, ow] w[o, c, kh, kw]
        const [n, c, h, wi] = unflatten(idx, [N, C, H, W]);
        let value = 0,
          magnitude = 0;
        for (let o = 0; o < O; o++)
          for (let kh = 0; kh < K; kh++)
            for (let kw = 0; kw < K; kw++) {
              const ohs = h + pad - kh,
                ows = wi + pad - kw;
              if (ohs % stride || ows % stride) continue;
              const oh = ohs / stride,
                ow = ows / stride;
              if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
              const t = dys![((n * O + o) * OH + oh) * OW + ow]! * ws![((o * C + c) * K + kh) * K + kw]!;
              value += t;
              magnitude += Math.abs(t);
            }
        return { value, magnitude };
      },
    };
  }
  // wgrad: the conv of x^T (C, N, H, W) with kernel dy^T (O, N, OH, OW) and dilation `stride` has
  // spatial size H + 2 pad - stride (OH - 1), which is K exactly when the forward conv used all rows
  if (H + 2 * pad - stride * (OH - 1) !== K || W + 2 * pad - stride * (OW - 1) !== K) {
    throw new Error(
      `ort peer: wgrad as a conv needs H + 2 pad - stride (OH - 1) = K; ${JSON.stringify(s)} does not`,
    );
  }
  const swap = { perm: [1, 0, 2, 3] };
  const nodes: OnnxNode[] = [
    { op: 'Transpose', inputs: ['X'], outputs: ['XT'], attributes: swap },
    { op: 'Transpose', inputs: ['DY'], outputs: ['DYT'], attributes: swap },
    {
      op: 'Conv',
      inputs: ['XT', 'DYT'],
      outputs: ['DWT'],
      attributes: { pads: conv.pads, dilations: [stride, stride], kernel_shape: [OH, OW] },
    },
    { op: 'Transpose', inputs: ['DWT'], outputs: ['DW'], attributes: swap },
  ];
  return {
    graph: { nodes, inputs: [x, dy], outputs: [{ name: 'DW', shape: [O, C, K, K] }] },
    reference([xs, dys], idx) {
      const [o, c, kh, kw] = unflatten(idx, [O, C, K, K]);
      let value = 0,
        magnitude = 0;
      for (let n = 0; n < N; n++)
        for (let oh = 0; oh < OH; oh++)
          for (let ow = 0; ow < OW; ow++) {
            const t =
              dys![((n * O + o) * OH + oh) * OW + ow]! *
              at(xs!, n, c, oh * stride + kh - pad, ow * stride + kw - pad);
            value += t;
            magnitude += Math.abs(t);
          }
      return { value, magnitude };
    },
  };
}

/** Row-major index -> coordinates. */
function unflatten(i: number, dims: number[]): number[] {
  const out = new Array<number>(dims.length);
  for (let d = dims.length - 1; d >= 0; d--) {
    out[d] = i % dims[d]!;
    i = Math.floor(i / dims[d]!);
  }
  return out;
}
