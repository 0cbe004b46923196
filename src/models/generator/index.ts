/** The face generator (issue 11): config, factor inputs, mapping, synthesis, discriminator, weights. */
export * from './config.js';
export * from './factors.js';
export { FaceGenerator } from './generator.js';
export { IdentityEncoder, MappingNetwork, mixIdentity, type FactorInputs } from './mapping.js';
export { Synthesis } from './synthesis.js';
export { FaceDiscriminator, conditionDim } from './discriminator.js';
export { GENERATOR_FORMAT, serializeGenerator, loadGenerator } from './weights.js';
export {
  fitIdentityPrior,
  sampleIdentities,
  widenPrior,
  nearestPersonDistance,
  peopleNearestDistances,
  type IdentityPrior,
} from './identity-prior.js';
export {
  sampleFactors,
  factorRanges,
  SAMPLED_FACTORS,
  type SampledFactor,
  type FactorRange,
} from './factor-prior.js';
