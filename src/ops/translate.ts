/**
 * translate(x, shifts): each image of an (N, C, H, W) batch moved by whole pixels, zeros shifted
 * in (shaders/translate.ts). shifts holds (dy, dx) per image, positive = down/right. A linear
 * map whose adjoint is the opposite move, so its gradient is translate(g, -shifts): the pixels
 * that moved out of the image get no gradient, the zeros that came in give none.
 * DiffAugment's translation (diff-augment.ts) is this op with random shifts.
 */
import { record } from '../autograd/tape.js';
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { tensor } from '../tensor/create.js';
import { requireF32 } from '../tensor/kernel.js';
import { nd, type NdArray } from '../tensor/ndarray.js';
import { Tensor } from '../tensor/tensor.js';
import { flatGrid } from '../../shaders/common.js';
import { translateWgsl } from '../../shaders/translate.js';

function checkShifts(x: Tensor | NdArray, shifts: Int32Array): void {
  if (x.shape.length !== 4)
    throw new RangeError(`translate: expected an (N, C, H, W) batch, got shape [${x.shape}]`);
  const N = x.shape[0];
  if (shifts.length !== 2 * N)
    throw new RangeError(
      `translate: ${shifts.length} shift values for ${N} images (need (dy, dx) per image)`,
    );
}

export function translate(x: Tensor, shifts: Int32Array): Tensor {
  requireF32('translate', x);
  checkShifts(x, shifts);
  const [, C, H, W] = x.shape;
  const out = Tensor.empty(x.shape);
  if (out.size > 0) {
    const s = tensor(shifts, [shifts.length], 'i32');
    getDevice().dispatch(
      { key: 'translate', code: translateWgsl },
      new Params().u32(out.size).u32(C).u32(H).u32(W).bytes(),
      [x.binding(), s.binding(), out.binding()],
      flatGrid(out.size),
    );
    s.dispose();
  }
  const back = Int32Array.from(shifts, (v) => -v);
  return record(out, 'translate', [x], (g) => [translate(g, back)]);
}

export const reference = {
  translate(x: NdArray, shifts: Int32Array): NdArray {
    checkShifts(x, shifts);
    const [N, C, H, W] = x.shape;
    const out = nd(x.shape);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let y = 0; y < H; y++)
          for (let k = 0; k < W; k++) {
            const sy = y - shifts[2 * n],
              sx = k - shifts[2 * n + 1];
            if (sy >= 0 && sy < H && sx >= 0 && sx < W)
              out.data[((n * C + c) * H + y) * W + k] = x.data[((n * C + c) * H + sy) * W + sx];
          }
    return out;
  },
};
