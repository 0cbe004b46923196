/**
 * The kernel cases of the bench (matmul 256/512/1024, a 1M-element add, one tiny dispatch, the
 * three conv passes at CONV_BENCH), each with the peers' side of the same work: shared by the
 * Node bench (bench/run.ts) and the browser bench (bench/browser/entry.ts), so both time the
 * same shapes. No Node imports: bundled into the browser page too.
 */
import type { ConvShape, PeerCase } from '../peers/tfjs-webgpu.js';
import { CONV_BENCH, synfaceCases } from './synface.js';

/** One bench case: ours, and each peer's where the peer has it (keyed by system name). */
export type Sides = { synface: PeerCase } & Record<string, PeerCase | undefined>;

/** A peer's kernel cases; matmul and conv are the ones every peer has. */
export interface KernelPeer {
  system: string;
  cases: {
    matmul(n: number): PeerCase;
    conv2d(pass: 'fwd' | 'dgrad' | 'wgrad', shape: ConvShape): PeerCase;
    elementwiseAdd?(n: number): PeerCase;
    smallDispatch?(): PeerCase;
  };
}

export const MATMUL_SIZES = [256, 512, 1024];
export const ADD_SIZE = 1 << 20;

export function kernelSides(peers: KernelPeer[]): Sides[] {
  const each = (make: (p: KernelPeer) => PeerCase | undefined) =>
    Object.fromEntries(peers.map((p) => [p.system, make(p)]));
  const ours = {
    fwd: synfaceCases.conv2dForward,
    dgrad: synfaceCases.conv2dInputGrad,
    wgrad: synfaceCases.conv2dWeightGrad,
  };
  return [
    ...MATMUL_SIZES.map((n) => ({ ...each((p) => p.cases.matmul(n)), synface: synfaceCases.matmul(n) })),
    { ...each((p) => p.cases.elementwiseAdd?.(ADD_SIZE)), synface: synfaceCases.elementwiseAdd(ADD_SIZE) },
    { ...each((p) => p.cases.smallDispatch?.()), synface: synfaceCases.smallDispatch() },
    ...(['fwd', 'dgrad', 'wgrad'] as const).map((pass) => ({
      ...each((p) => p.cases.conv2d(pass, CONV_BENCH)),
      synface: ours[pass](),
    })),
  ];
}
