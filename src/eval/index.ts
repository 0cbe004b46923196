/// <reference types="@webgpu/types" preserve="true" />
/**
 * 'synface-gpu/eval': how a recognizer's embeddings are judged. No Node imports (files are read
 * by the caller), so this runs in a browser as well.
 *   verification   cosine similarity of pairs, the 10-fold LFW protocol, ROC, TAR at FAR
 *   embed          embeddings of cached images (with the mirrored sum), and pairs scored
 */
export * from './verification.js';
export * from './embed.js';
