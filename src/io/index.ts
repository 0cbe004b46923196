/** Reading and writing tensors (core: bytes only; the Node file edge is node-files.ts). */
export {
  type TensorData,
  type TensorValues,
  readTensors,
  copyInto,
  uploadTensor,
  isTensorData,
} from '../tensor/tensor-data.js';
export {
  serializeSafetensors,
  parseSafetensors,
  type Safetensors,
  type SerializeOptions,
  type FloatStorage,
} from './safetensors.js';
export {
  buildCheckpoint,
  parseCheckpoint,
  restoreCheckpoint,
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type CheckpointParts,
} from './checkpoint.js';
export {
  parseManifest,
  decodeWeights,
  requireTensor,
  type ManifestEntry,
  type ManifestGroup,
} from './tfjs-weights.js';
