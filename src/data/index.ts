/// <reference types="@webgpu/types" preserve="true" />
/**
 * 'synface-gpu/data': images and face datasets, in pure TypeScript (no Node imports):
 *   decoders        decodeImage (by magic bytes), decodeJpeg, decodePng, decodePnm, inflate
 *   preprocessing   the centre crop and resize a recognizer expects (centerCropResize, ...)
 *   LFW files       pairs and people files, dataset layouts, folder-per-identity datasets
 *   splits          validation people and pairs, the preprocessed-image cache format
 */
export * from './decode-image.js';
export * from './jpeg.js';
export * from './png.js';
export * from './pgm.js';
export * from './inflate.js';
export * from './preprocess.js';
export * from './lfw-pairs.js';
export * from './layout.js';
export * from './folder-dataset.js';
export * from './split.js';
export * from './image-cache.js';
