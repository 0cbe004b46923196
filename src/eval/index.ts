/// <reference types="@webgpu/types" preserve="true" />
/**
 * 'synface-gpu/eval': how a recognizer's embeddings and a generator's images are judged. No
 * Node imports (files are read by the caller), so this runs in a browser as well.
 *   verification       cosine similarity of pairs, the 10-fold LFW protocol, ROC, TAR at FAR
 *   embed              embeddings of cached images (with the mirrored sum), and pairs scored
 *   frechet, kid       Frechet distance and KID between two sets of feature vectors
 *   generator-samples  synthetic identities rendered by the generator and measured
 *   generator-metrics  identity consistency, factor control, realism, the training run's FD
 */
export * from './verification.js';
export * from './embed.js';
export * from './frechet.js';
export * from './kid.js';
export * from './generator-samples.js';
export * from './generator-metrics.js';
