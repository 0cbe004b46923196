/**
 * One generator for every elementwise kernel: unary, binary and ternary ops with numpy
 * broadcasting. Each operand is read in one of three ways, fixed at compile time:
 *   same    its shape is the output's: read in[i]
 *   scalar  it has one element: read in[0]
 *   bcast   anything else: the offset comes from the output index and its strides
 *           (0 on broadcast dimensions), with the rank unrolled
 * so the common cases pay no index arithmetic.
 */
import { dimFn, flatMain, offsetCode } from './common.js';

export type OperandMode = 'same' | 'scalar' | 'bcast';

export interface ElementwiseSpec {
  name: string;
  /** A WGSL f32 expression of a, b, c (the operands) and alpha, beta (scalar parameters). */
  expr: string;
  modes: OperandMode[];
  rank: number;
}

export function elementwiseKey(s: ElementwiseSpec): string {
  return `elementwise:${s.name}:${s.modes.join(',')}:r${s.modes.includes('bcast') ? s.rank : 0}`;
}

export function elementwiseWgsl(s: ElementwiseSpec): string {
  const names = ['a', 'b', 'c'];
  const bindings = s.modes
    .map((_, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<f32>;`)
    .join('\n');
  const loads = s.modes
    .map((mode, k) => {
      if (mode === 'same') return `let ${names[k]} = in${k}[i];`;
      if (mode === 'scalar') return `let ${names[k]} = in${k}[0];`;
      return `${offsetCode(s.rank, 'i', 'p.shape', `p.strides${k}`, `off${k}`)}\n  let ${names[k]} = in${k}[off${k}];`;
    })
    .join('\n  ');
  return /* wgsl */ `
struct Params {
  n: u32, alpha: f32, beta: f32, pad: u32,
  shape: array<vec4<u32>, 2>,
  strides0: array<vec4<u32>, 2>,
  strides1: array<vec4<u32>, 2>,
  strides2: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> p: Params;
${bindings}
@group(0) @binding(${s.modes.length + 1}) var<storage, read_write> out: array<f32>;
${dimFn}
${flatMain}
  if (i >= p.n) { return; }
  let alpha = p.alpha;
  let beta = p.beta;
  ${loads}
  out[i] = ${s.expr};
}`;
}
