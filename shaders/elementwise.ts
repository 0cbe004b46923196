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
  /**
   * Four elements per invocation through vec4 loads and stores (only without 'bcast' operands
   * and when n % 4 == 0). On CPU adapters this halves to quarters the time of a large op: one
   * invocation is one SIMD lane, and wide contiguous loads replace per-lane gathers.
   */
  vec4: boolean;
}

export function elementwiseKey(s: ElementwiseSpec): string {
  return `elementwise:${s.name}:${s.modes.join(',')}:r${s.modes.includes('bcast') ? s.rank : 0}${s.vec4 ? ':vec4' : ''}`;
}

export function elementwiseWgsl(s: ElementwiseSpec): string {
  const names = ['a', 'b', 'c'];
  const elem = s.vec4 ? 'vec4<f32>' : 'f32';
  const bindings = s.modes
    .map((_, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<${elem}>;`)
    .join('\n');
  const params = names.map((n) => `${n}: f32`).join(', ');
  let body: string;
  if (s.vec4) {
    const loads = s.modes.map(
      (mode, k) => `let ${names[k]} = ${mode === 'scalar' ? `vec4<f32>(in${k}[0].x)` : `in${k}[i]`};`,
    );
    const arg = (q: string) => names.map((n, k) => (k < s.modes.length ? `${n}.${q}` : '0.0')).join(', ');
    body = `if (i * 4u >= p.n) { return; }
  ${loads.join('\n  ')}
  out[i] = vec4<f32>(op(${arg('x')}), op(${arg('y')}), op(${arg('z')}), op(${arg('w')}));`;
  } else {
    const loads = s.modes.map((mode, k) => {
      if (mode === 'same') return `let ${names[k]} = in${k}[i];`;
      if (mode === 'scalar') return `let ${names[k]} = in${k}[0];`;
      return `${offsetCode(s.rank, 'i', 'p.shape', `p.strides${k}`, `off${k}`)}\n  let ${names[k]} = in${k}[off${k}];`;
    });
    const args = names.map((n, k) => (k < s.modes.length ? n : '0.0')).join(', ');
    body = `if (i >= p.n) { return; }
  ${loads.join('\n  ')}
  out[i] = op(${args});`;
  }
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
@group(0) @binding(${s.modes.length + 1}) var<storage, read_write> out: array<${elem}>;
${dimFn}
fn op(${params}) -> f32 {
  let alpha = p.alpha;
  let beta = p.beta;
  return ${s.expr};
}
${flatMain}
  ${body}
}`;
}
