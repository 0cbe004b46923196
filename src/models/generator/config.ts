/**
 * The face generator's configuration: one JSON-able object that fixes the architecture (it
 * travels in the weights' metadata and in every checkpoint), with the presets and the checks.
 *
 *   factors      the inputs and their sizes: identity (the dlib descriptor, 128, mapped to an
 *                identity code of idDim), expression code (expDim, the analyze file's PCA),
 *                pose (yaw, pitch, roll), lighting code (6), noise z (zDim)
 *   norm         per-dimension mean and std of the raw measurements of the training data:
 *                inputs are standardized with them (factors.ts), so a yaw of 30 degrees means
 *                the same to every checkpoint of a run
 *   widths       channels at each resolution 4 .. resolution (synthesis and discriminator)
 */

export interface FactorNorm {
  mean: number[];
  std: number[];
}

export interface GeneratorConfig {
  /** Output size in pixels: a power of 2, 8 .. 256 (64 for SynFace). */
  resolution: number;
  /** Length of the identity descriptor given for real images (dlib: 128). */
  descriptorDim: number;
  /** Length of the identity code the descriptor is mapped to; identities mix in this space. */
  idDim: number;
  /** Length of the expression code (the analyze file's PCA components). */
  expDim: number;
  /** Pose: yaw, pitch, roll. */
  poseDim: 3;
  /** Length of the lighting code (analyze's quadratic: 6). */
  lightDim: number;
  /** Length of the noise z (what the factors leave open: hair, background, clothes). */
  zDim: number;
  /** Length of w. */
  wDim: number;
  /** Layers of the mapping network (lr multiplier 0.01). */
  mappingLayers: number;
  /** Channels at 4, 8, ..., resolution px, as { "4": 128, ... }. */
  widths: Record<string, number>;
  /** The discriminator is projection-conditioned on the factors (real and requested). */
  conditionalD: boolean;
  /** Standardization of the raw measurements (see factors.ts). */
  norm: { descriptor: FactorNorm; expression: FactorNorm; pose: FactorNorm; lighting: FactorNorm };
}

/** The architecture without the data-dependent parts (factor sizes come from the data). */
export type GeneratorShape = Omit<GeneratorConfig, 'expDim' | 'norm'>;

export const GENERATOR_PRESETS = {
  /**
   * SynFace's generator on this machine: StyleGAN2 at 64x64 with the widths of the
   * stylegan-step-64 bench (about 2.5-3.4 images/s for a G + D step at batch 16 on lavapipe).
   */
  base: {
    resolution: 64,
    descriptorDim: 128,
    idDim: 64,
    poseDim: 3,
    lightDim: 6,
    zDim: 32,
    wDim: 128,
    mappingLayers: 2,
    widths: { 4: 128, 8: 128, 16: 64, 32: 32, 64: 16 },
    conditionalD: true,
  },
  /** For the command's tests: 64x64 (the data's size), a few channels. */
  tiny64: {
    resolution: 64,
    descriptorDim: 128,
    idDim: 8,
    poseDim: 3,
    lightDim: 6,
    zDim: 4,
    wDim: 16,
    mappingLayers: 1,
    widths: { 4: 8, 8: 8, 16: 4, 32: 4, 64: 4 },
    conditionalD: true,
  },
  /** For tests: 16x16, a few channels. */
  tiny: {
    resolution: 16,
    descriptorDim: 128,
    idDim: 8,
    poseDim: 3,
    lightDim: 6,
    zDim: 4,
    wDim: 16,
    mappingLayers: 1,
    widths: { 4: 8, 8: 8, 16: 4 },
    conditionalD: true,
  },
} satisfies Record<string, GeneratorShape>;

/** The resolutions of the synthesis blocks: 4, 8, ..., resolution. */
export function resolutions(config: Pick<GeneratorConfig, 'resolution'>): number[] {
  const out: number[] = [];
  for (let r = 4; r <= config.resolution; r *= 2) out.push(r);
  return out;
}

/** Channels at resolution r. */
export function widthAt(config: Pick<GeneratorConfig, 'widths'>, r: number): number {
  return config.widths[String(r)];
}

/** Throws naming the first field that is not valid; `source` starts the message. */
export function checkGeneratorConfig(c: GeneratorConfig, source = 'generator config'): void {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  const r = c.resolution;
  if (!(Number.isInteger(r) && r >= 8 && r <= 256 && (r & (r - 1)) === 0))
    fail(`resolution ${r} is not a power of 2 in 8..256`);
  for (const k of ['descriptorDim', 'idDim', 'expDim', 'lightDim', 'zDim', 'wDim', 'mappingLayers'] as const)
    if (!(Number.isInteger(c[k]) && c[k] >= 1)) fail(`${k} ${c[k]} is not a positive integer`);
  if (c.poseDim !== 3) fail(`poseDim ${c.poseDim} must be 3 (yaw, pitch, roll)`);
  for (const res of resolutions(c)) {
    const w = widthAt(c, res);
    if (!(Number.isInteger(w) && w >= 1)) fail(`widths has no positive integer for ${res} px (got ${w})`);
  }
  const sizes = { descriptor: c.descriptorDim, expression: c.expDim, pose: 3, lighting: c.lightDim };
  for (const [k, n] of Object.entries(sizes)) {
    const norm = c.norm?.[k as keyof typeof sizes];
    if (!norm || norm.mean?.length !== n || norm.std?.length !== n)
      fail(`norm.${k} needs a mean and a std of ${n} values`);
    if (!norm.std.every((s) => s > 0 && Number.isFinite(s)) || !norm.mean.every(Number.isFinite))
      fail(`norm.${k} has a std that is not positive or a value that is not finite`);
  }
}

/**
 * Throws when the architecture of `got` (weights read from `source`) differs from `want`:
 * names every field that differs, e.g. "resolution 32 there, 64 here".
 */
export function checkSameArchitecture(
  got: GeneratorConfig,
  want: Partial<GeneratorConfig>,
  source: string,
): void {
  const keys = Object.keys(want).filter((k) => k !== 'norm') as (keyof GeneratorConfig)[];
  const diff = keys.filter((k) => JSON.stringify(got[k]) !== JSON.stringify(want[k]));
  if (diff.length)
    throw new Error(
      `${source}: weights of another generator architecture: ${diff
        .map((k) => `${k} ${JSON.stringify(got[k])} there, ${JSON.stringify(want[k])} here`)
        .join('; ')}`,
    );
}
