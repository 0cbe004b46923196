/**
 * The face generator: factors -> w (mapping.ts) -> image (synthesis.ts), and the identity
 * encoder that turns a real image's dlib descriptor into its identity code.
 *
 *   const G = new FaceGenerator(config, gen);
 *   const id = G.identityCode(descriptors);                 // (N, idDim), standardized descriptors in
 *   const img = G.forward({ identity: id, expression, pose, lighting, z });   // (N, 3, R, R)
 *
 * Noise: the synthesis convs draw their per-pixel noise from the generator `gen` given here
 * (a training run checkpoints it); withFixedNoise() makes images reproducible whatever the
 * stream (sample grids, tests).
 */
import { Module } from '../../nn/module.js';
import { randn, type Generator } from '../../tensor/random.js';
import { keep } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { checkGeneratorConfig, type GeneratorConfig } from './config.js';
import { IdentityEncoder, MappingNetwork, type FactorInputs } from './mapping.js';
import { Synthesis } from './synthesis.js';

export class FaceGenerator extends Module {
  readonly identity: IdentityEncoder;
  readonly mapping: MappingNetwork;
  readonly synthesis: Synthesis;

  constructor(
    readonly config: GeneratorConfig,
    gen: Generator,
  ) {
    super();
    checkGeneratorConfig(config);
    this.identity = this.registerModule('identity', new IdentityEncoder(config, gen));
    this.mapping = this.registerModule('mapping', new MappingNetwork(config, gen));
    this.synthesis = this.registerModule('synthesis', new Synthesis(config, gen));
  }

  /** Standardized descriptors (N, descriptorDim) -> identity codes (N, idDim). */
  identityCode(descriptor: Tensor): Tensor {
    return this.identity.forward(descriptor);
  }

  /** Factors -> w (N, wDim). */
  styles(f: FactorInputs): Tensor {
    const n = f.identity.shape[0];
    const want = {
      identity: this.config.idDim,
      expression: this.config.expDim,
      pose: 3,
      lighting: this.config.lightDim,
      z: this.config.zDim,
    };
    for (const [k, d] of Object.entries(want)) {
      const t = f[k as keyof FactorInputs];
      if (t.rank !== 2 || t.shape[0] !== n || t.shape[1] !== d)
        throw new RangeError(`FaceGenerator: ${k} has shape [${t.shape}], expected [${n}, ${d}]`);
    }
    return this.mapping.forward(f);
  }

  /** Factors -> images (N, 3, R, R). */
  forward(f: FactorInputs): Tensor {
    return this.synthesis.forward(this.styles(f));
  }

  /** The side of each noise layer's map, from 4 px up (4, 8, 8, 16, 16, ...). */
  noiseSizes(): number[] {
    return this.synthesis.noiseLayers().map((m, i) => 4 * 2 ** Math.floor((i + 1) / 2));
  }

  /**
   * Runs fn with the noise of every synthesis layer fixed to `maps` (one per layer, of shape
   * (N or 1, 1, r, r) with r from noiseSizes(); 1: shared by the batch); the layers draw fresh
   * noise again afterwards. The maps stay the caller's.
   */
  withNoiseMaps<T>(maps: Tensor[], fn: () => T): T {
    const layers = this.synthesis.noiseLayers();
    const sizes = this.noiseSizes();
    if (maps.length !== layers.length)
      throw new RangeError(`FaceGenerator: ${maps.length} noise maps for ${layers.length} noise layers`);
    maps.forEach((t, i) => {
      const [, c, h, w] = t.shape;
      if (t.rank !== 4 || c !== 1 || h !== sizes[i] || w !== sizes[i])
        throw new RangeError(
          `FaceGenerator: noise map ${i} has shape [${t.shape}], expected [N, 1, ${sizes[i]}, ${sizes[i]}]`,
        );
    });
    layers.forEach((m, i) => (m.fixedNoise = maps[i]));
    try {
      return fn();
    } finally {
      layers.forEach((m) => (m.fixedNoise = null));
    }
  }

  /**
   * Runs fn with the noise of every synthesis layer fixed to one map per layer drawn from
   * `gen` (shared by the batch); the layers draw fresh noise again afterwards.
   */
  withFixedNoise<T>(gen: Generator, fn: () => T): T {
    const maps = this.noiseSizes().map((r) => keep(randn([1, 1, r, r], 0, 1, gen)));
    try {
      return this.withNoiseMaps(maps, fn);
    } finally {
      maps.forEach((t) => t.dispose());
    }
  }
}
