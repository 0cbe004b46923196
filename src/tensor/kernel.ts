/**
 * The one launch path of elementwise-style kernels: builds Params, picks each operand's read
 * mode, dispatches, returns the new tensor. The op files (src/ops) build on it, and so do the
 * two users below them: tensor creation (create.ts: fills) and autograd's gradient sums.
 */
import { getDevice } from '../gpu/runtime.js';
import { Params } from '../gpu/params.js';
import { Tensor } from './tensor.js';
import { broadcastShapes, broadcastStrides } from './ndarray.js';
import { elementwiseKey, elementwiseWgsl, type OperandMode } from '../../shaders/elementwise.js';
import { flatGrid, MAX_RANK } from '../../shaders/common.js';

export function requireF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts)
    if (t.dtype !== 'f32')
      throw new TypeError(`${op}: expected an f32 tensor, got ${t.dtype} of shape [${t.shape}]`);
}

/**
 * out = expr(inputs...) elementwise, with broadcasting. `expr` names the operands a, b, c and
 * the scalars alpha, beta (see shaders/elementwise.ts).
 */
export function elementwise(
  name: string,
  expr: string,
  inputs: Tensor[],
  alpha = 0,
  beta = 0,
  outShape?: readonly number[],
): Tensor {
  requireF32(name, ...inputs);
  const shape =
    outShape ??
    broadcastShapes(
      inputs.map((t) => t.shape),
      name,
    );
  if (shape.length > MAX_RANK)
    throw new RangeError(`${name}: rank ${shape.length} > ${MAX_RANK} is not supported`);
  const out = Tensor.empty(shape);
  if (out.size === 0) return out;
  const modes: OperandMode[] = inputs.map((t) =>
    t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])
      ? 'same'
      : t.size === 1
        ? 'scalar'
        : 'bcast',
  );
  const params = new Params().u32(out.size).f32(alpha).f32(beta).u32(0).u32x4Array(shape, 2);
  for (let k = 0; k < 3; k++)
    params.u32x4Array(inputs[k] && modes[k] === 'bcast' ? broadcastStrides(inputs[k].shape, shape) : [], 2);
  const vec4 = out.size % 4 === 0 && !modes.includes('bcast');
  const spec = { name, expr, modes, rank: shape.length, vec4 };
  getDevice().dispatch(
    { key: elementwiseKey(spec), code: () => elementwiseWgsl(spec) },
    params.bytes(),
    [...inputs.map((t) => t.binding()), out.binding()],
    flatGrid(vec4 ? out.size / 4 : out.size),
  );
  return out;
}
