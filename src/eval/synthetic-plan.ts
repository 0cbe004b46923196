/**
 * What `synface synthesize` renders, as a pure function of (seed, identity, image): no GPU, no
 * Node. Nothing depends on which machine, shard or run renders an image, so shards made
 * anywhere add up to the dataset one machine makes, and a resumed run repeats what it lost.
 *
 * Random streams: every draw comes from its own Generator (Philox, counter-based) whose seed is
 * derived from (seed, stream, identity, image) by one Philox block (deriveSeed):
 *   identity i        its descriptor: the identity prior with rejection near the training
 *                     people (sampleIdentities, one identity), stream IDENTITY, (i, 0)
 *   image (i, j)      expression, pose and lighting (sampleFactors, one row: each copied from
 *                     a uniformly drawn training image), stream FACTORS; z ~ N(0, I), stream Z;
 *                     the per-pixel noise maps, stream NOISE; with mixup, the partner and phi,
 *                     stream MIX
 * Identity mixup (SynFace's official recipe): every image of identity i gets its own partner p,
 * the perId partners of an identity distinct (drawn without replacement from the other ids - 1
 * identities, stream MIX at (i, PARTNERS)), and phi = k / 20, k uniform in 0 .. 20; its
 * identity code is phi code(i) + (1 - phi) code(p); the image's other factors are drawn once and
 * shared by both parents (they are inputs beside the identity code).
 *
 * Batches: the GPU's arithmetic is only promised to be the same for the same batch, so the
 * batches are fixed by the dataset's settings, never by the sharding: identities are grouped in
 * blocks of `block` = max(1, floor(batch / perId)) consecutive identities, a block is rendered
 * in consecutive batches of at most `batch` of its images, and a shard i/n takes the blocks
 * b with b % n == i. A block is also the unit of resume (rendered again whole if any of its
 * identities is incomplete; the complete ones are not rewritten).
 */
import { Generator, philox4x32 } from '../tensor/random.js';
import type { FactorRows } from '../models/generator/factors.js';
import { sampleFactors } from '../models/generator/factor-prior.js';
import { sampleIdentities, type IdentityPrior } from '../models/generator/identity-prior.js';
import {
  PHI_STEPS,
  identityFolder,
  imageFileName,
  phiAt,
  type SyntheticLabel,
} from '../data/synthetic-labels.js';
import { standardNormals, type FactorRequest } from './generator-samples.js';

/** The streams of deriveSeed. */
export const STREAM = { IDENTITY: 1, FACTORS: 2, Z: 3, NOISE: 4, MIX: 5 } as const;
/** Stream MIX's second key for an identity's partners (its images' phis take 0 .. perId - 1). */
const PARTNERS = 0xffffffff;

/** A 53-bit seed for (stream, a, b) under `seed`: one Philox block, keyed by the seed. */
export function deriveSeed(seed: number, stream: number, a: number, b: number): number {
  const r = philox4x32(
    [a >>> 0, b >>> 0, stream >>> 0, 0x5eed],
    [(seed % 2 ** 32) >>> 0, Math.floor(seed / 2 ** 32) >>> 0],
  );
  return r[0] + (r[1] & 0x1fffff) * 2 ** 32;
}

export interface Shard {
  index: number;
  count: number;
}

/** 'i/n' with 0 <= i < n (shards are numbered from 0). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN,
    count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count))
    throw new Error(
      `synthesize: --shard needs i/n with n >= 1 and 0 <= i < n (shards count from 0: 0/3, 1/3, 2/3), got '${text}'`,
    );
  return { index, count };
}

/** Identities per block (see the header). */
export function blockSize(batch: number, perId: number): number {
  return Math.max(1, Math.floor(batch / perId));
}

/** The blocks [first, end) of a shard, in order. */
export function shardBlocks(ids: number, block: number, shard: Shard): [number, number][] {
  const out: [number, number][] = [];
  for (let b = shard.index; b * block < ids; b += shard.count)
    out.push([b * block, Math.min(ids, (b + 1) * block)]);
  return out;
}

export interface SynthesisPlan {
  train: FactorRows;
  prior: IdentityPrior;
  seed: number;
  ids: number;
  perId: number;
  mixup: boolean;
  minDistance: number;
  zDim: number;
  /** Noise values per image (noiseLength(G)). */
  noiseLength: number;
}

/**
 * Identity i's raw descriptor (a new identity from the prior; the same whatever ids is). Up to
 * 1,000 draws of its own stream (sampleIdentities' budget for 9 identities, here for one: a
 * single stream cannot borrow the tries another identity left over).
 */
export function identityDescriptor(plan: SynthesisPlan, i: number): Float32Array {
  const gen = new Generator(deriveSeed(plan.seed, STREAM.IDENTITY, i, 0));
  return sampleIdentities(plan.prior, 1, gen, plan.minDistance, 1000);
}

/**
 * Identity i's mixup partners, one per image and all distinct (the official recipe samples them
 * without replacement): the first perId of a uniform shuffle of the other ids - 1 identities
 * (Fisher-Yates stopped after perId swaps, the swaps kept in a map, so the cost is perId, not
 * ids), from stream MIX at (i, PARTNERS). Needs perId <= ids - 1.
 */
export function partnersOf(plan: Pick<SynthesisPlan, 'seed' | 'ids' | 'perId'>, i: number): Int32Array {
  const { ids, perId } = plan;
  if (perId > ids - 1)
    throw new RangeError(`partnersOf: ${perId} distinct partners among the other ${ids - 1} identities`);
  const bits = new Generator(deriveSeed(plan.seed, STREAM.MIX, i, PARTNERS)).bitsCpu(perId);
  const swapped = new Map<number, number>(); // slot -> the value moved there (else the slot itself)
  const at = (k: number) => swapped.get(k) ?? k;
  const out = new Int32Array(perId);
  for (let t = 0; t < perId; t++) {
    // slot u uniform in t .. ids - 2 (bits / 2^32 < 1), swapped with slot t
    const u = t + Math.floor((bits[t] / 2 ** 32) * (ids - 1 - t));
    const v = at(u);
    swapped.set(u, at(t));
    // slots 0 .. ids - 2 stand for the identities other than i, in order
    out[t] = (i + 1 + v) % ids;
  }
  return out;
}

/**
 * Image (i, j)'s mixup weight phi, from stream MIX at (i, j). Its second word: the first drew
 * the partner before an identity's partners were made distinct (partnersOf), so the phis of a
 * seed are what they were.
 */
export function phiOf(seed: number, i: number, j: number): number {
  const bits = new Generator(deriveSeed(seed, STREAM.MIX, i, j)).bitsCpu(2);
  return phiAt(Math.floor((bits[1] / 2 ** 32) * (PHI_STEPS + 1)));
}

export interface BlockRequest {
  request: FactorRequest;
  /** count x noiseLength: each image's noise maps. */
  noise: Float32Array;
  /** Each image's label, in order (identity after identity, image after image). */
  labels: SyntheticLabel[];
}

/**
 * Every image of identities first .. end-1. `descriptorOf` gives an identity's descriptor (the
 * caller caches identityDescriptor: partners recur).
 */
export function blockRequest(
  plan: SynthesisPlan,
  first: number,
  end: number,
  descriptorOf: (i: number) => Float32Array,
): BlockRequest {
  const { perId, ids } = plan;
  const dim = plan.prior.dim;
  const count = (end - first) * perId;
  const descriptor = new Float32Array(count * dim);
  const partner = new Float32Array(plan.mixup ? count * dim : 0);
  const phi = new Float32Array(plan.mixup ? count : 0);
  const rows: Record<'expression' | 'pose' | 'lighting', Float32Array[]> = {
    expression: [],
    pose: [],
    lighting: [],
  };
  const z = new Float32Array(count * plan.zDim);
  const noise = new Float32Array(count * plan.noiseLength);
  const labels: SyntheticLabel[] = [];
  let n = 0;
  for (let i = first; i < end; i++) {
    const partners = plan.mixup ? partnersOf(plan, i) : null;
    for (let j = 0; j < perId; j++, n++) {
      descriptor.set(descriptorOf(i), n * dim);
      const f = sampleFactors(plan.train, 1, new Generator(deriveSeed(plan.seed, STREAM.FACTORS, i, j)));
      rows.expression.push(f.expression);
      rows.pose.push(f.pose);
      rows.lighting.push(f.lighting);
      z.set(standardNormals(plan.zDim, new Generator(deriveSeed(plan.seed, STREAM.Z, i, j))), n * plan.zDim);
      noise.set(
        standardNormals(plan.noiseLength, new Generator(deriveSeed(plan.seed, STREAM.NOISE, i, j))),
        n * plan.noiseLength,
      );
      const label: SyntheticLabel = {
        file: `${identityFolder(i, ids)}/${imageFileName(j, perId)}`,
        identity: i,
      };
      if (plan.mixup) {
        const m = { partner: partners![j], phi: phiOf(plan.seed, i, j) };
        partner.set(descriptorOf(m.partner), n * dim);
        phi[n] = m.phi;
        label.mix = m;
      }
      labels.push(label);
    }
  }
  const concat = (parts: Float32Array[]) => {
    const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) out.set(p, (at += p.length) - p.length);
    return out;
  };
  const request: FactorRequest = {
    count,
    descriptor,
    expression: concat(rows.expression),
    pose: concat(rows.pose),
    lighting: concat(rows.lighting),
    z,
    ...(plan.mixup ? { mix: { partner, phi } } : {}),
  };
  return { request, noise, labels };
}
