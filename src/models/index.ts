/// <reference types="@webgpu/types" preserve="true" />
/**
 * 'synface-gpu/models': the face models and how their outputs are compared. No Node imports
 * (a recognizer file is read from bytes), so this runs in a browser as well.
 *   IResNet          the backbone (LResNet-E-IR), with the paper's and the small presets
 *   Recognizer       backbone + ArcFace head, as trained
 *   loadRecognizer   a recognizer file (safetensors + preprocessing metadata) to a backbone;
 *                    in Node the shipped one is at shippedRecognizerPath() ('synface-gpu')
 *   verification     cosine similarity of embeddings, the 10-fold LFW protocol, ROC
 */
export * from './iresnet.js';
export * from './recognizer.js';
export * from './recognizer-weights.js';
export * from '../eval/verification.js';
