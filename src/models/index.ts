/// <reference types="@webgpu/types" preserve="true" />
/**
 * 'synface-gpu/models': the face models. No Node imports
 * (a recognizer file is read from bytes), so this runs in a browser as well.
 *   IResNet          the backbone (LResNet-E-IR), with the paper's and the small presets
 *   Recognizer       backbone + ArcFace head, as trained
 *   loadRecognizer   a recognizer file (safetensors + preprocessing metadata) to a backbone;
 *                    in Node the shipped one is at shippedRecognizerPath() ('synface-gpu')
 *   FactorStudent    a small 64x64 net predicting a face image's standardized measured factors
 *                    (the generator's factor losses); loadFactorStudent reads its file
 * The verification protocol that compares their embeddings is 'synface-gpu/eval'.
 */
export * from './iresnet.js';
export * from './recognizer.js';
export * from './recognizer-weights.js';
export * from './factor-student.js';
export * from './factor-student-weights.js';
