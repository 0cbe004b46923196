/**
 * Convolution through im2col + matmul (see shaders/im2col.ts for why and when): the forward,
 * input gradient and weight gradient of an ungrouped convolution, no autograd (src/ops/conv.ts
 * wraps them).
 */
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from '../tensor/tensor.js';
import { col2imWgsl, im2colWgsl } from '../../shaders/im2col.js';
import { flatGrid } from '../../shaders/common.js';
import type { ConvGeometry } from './conv.js';
import { matmulKernel } from './matmul.js';
import { noGrad } from '../autograd/tape.js';
import { permute as permuteOp } from './shape.js';

const permute = (t: Tensor, perm: number[]) => noGrad(() => permuteOp(t, perm));

function geometryParams(g: ConvGeometry, total: number): Uint8Array {
  return new Params()
    .u32(g.N)
    .u32(g.C)
    .u32(g.H)
    .u32(g.W)
    .u32(g.OH)
    .u32(g.OW)
    .u32(g.KH)
    .u32(g.KW)
    .u32(g.sh)
    .u32(g.sw)
    .u32(g.dh)
    .u32(g.dw)
    .u32(g.ph)
    .u32(g.pw)
    .u32(total)
    .u32(0)
    .bytes();
}

/**
 * y (N, O, OH, OW) = conv2d(x, w) for groups = 1: the whole batch is one matmul,
 * y' (N*P, O) = cols (N*P, CK) @ w^T, then y' is permuted to (N, O, P). Merging the batch into
 * the rows keeps the matmul large and on the fast (multiple-of-8) path even when P is 4.
 */
export function conv2dIm2col(x: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const P = g.OH * g.OW,
    CK = g.C * g.KH * g.KW;
  const cols = Tensor.empty([g.N * P, CK]);
  getDevice().dispatch(
    { key: 'conv:im2col', code: im2colWgsl },
    geometryParams(g, cols.size),
    [x.binding(), cols.binding()],
    flatGrid(cols.size),
  );
  const w2 = Tensor.view(w, [g.O, CK]);
  const yRows = matmulKernel(cols, w2, { transB: true }); // (N*P, O)
  w2.dispose();
  cols.dispose();
  const y3 = Tensor.view(yRows, [g.N, P, g.O]);
  yRows.dispose();
  const y = permute(y3, [0, 2, 1]); // (N, O, P)
  y3.dispose();
  const out = Tensor.view(y, [g.N, g.O, g.OH, g.OW]);
  y.dispose();
  return out;
}

/** dx (N, C, H, W) from dy (N, O, OH, OW): dcols (N*P, CK) = dy' (N*P, O) @ w (O, CK), then col2im. */
export function conv2dInputGradIm2col(dy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const P = g.OH * g.OW,
    CK = g.C * g.KH * g.KW;
  const dy3 = Tensor.view(dy, [g.N, g.O, P]);
  const dyRows = permute(dy3, [0, 2, 1]); // (N, P, O)
  dy3.dispose();
  const dyRows2 = Tensor.view(dyRows, [g.N * P, g.O]);
  dyRows.dispose();
  const w2 = Tensor.view(w, [g.O, CK]);
  const dcols = matmulKernel(dyRows2, w2); // (N*P, CK)
  dyRows2.dispose();
  w2.dispose();
  const dx = Tensor.empty([g.N, g.C, g.H, g.W]);
  getDevice().dispatch(
    { key: 'conv:col2im', code: col2imWgsl },
    geometryParams(g, dx.size),
    [dcols.binding(), dx.binding()],
    flatGrid(dx.size),
  );
  dcols.dispose();
  return dx;
}

/**
 * dw (O, C, KH, KW) from x and dy: dw (O, CK) = dy' (O, N*P) @ cols (N*P, CK), where dy' is dy
 * with its batch and channel axes swapped, so the sum over the batch happens inside the matmul.
 */
export function conv2dWeightGradIm2col(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const P = g.OH * g.OW,
    CK = g.C * g.KH * g.KW;
  const cols = Tensor.empty([g.N * P, CK]);
  getDevice().dispatch(
    { key: 'conv:im2col', code: im2colWgsl },
    geometryParams(g, cols.size),
    [x.binding(), cols.binding()],
    flatGrid(cols.size),
  );
  const dy3 = Tensor.view(dy, [g.N, g.O, P]);
  const dyT = permute(dy3, [1, 0, 2]); // (O, N, P)
  dy3.dispose();
  const dyT2 = Tensor.view(dyT, [g.O, g.N * P]);
  dyT.dispose();
  const dw = matmulKernel(dyT2, cols); // (O, CK)
  dyT2.dispose();
  cols.dispose();
  const out = Tensor.view(dw, [g.O, g.C, g.KH, g.KW]);
  dw.dispose();
  return out;
}
