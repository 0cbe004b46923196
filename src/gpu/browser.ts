/** The browser edge: a device from navigator.gpu. */
import type { Device } from './device.js';
import { createDevice, getDevice, hasDevice } from './runtime.js';
import { autotuneMatmul, type TuneCache } from '../ops/matmul-autotune.js';

const localStorageCache: TuneCache = {
  get(key) {
    const v = globalThis.localStorage?.getItem(`synface-gpu:${key}`);
    return v ? (JSON.parse(v) as string[]) : undefined;
  },
  set(key, ranking) {
    globalThis.localStorage?.setItem(`synface-gpu:${key}`, JSON.stringify(ranking));
  },
};

/** `autotune` ranks the matmul kernels on this adapter (cached in localStorage). */
export async function initGpu(options: { autotune?: boolean } = {}): Promise<Device> {
  if (hasDevice()) return getDevice();
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu)
    throw new Error(
      'this browser has no WebGPU (navigator.gpu is undefined); Chromium needs --enable-unsafe-webgpu on Linux',
    );
  const hint =
    'Chromium on Linux needs --enable-unsafe-webgpu (and a Vulkan driver or its bundled SwiftShader)';
  const device = await createDevice(gpu, { powerPreference: 'high-performance' }, hint);
  if (options.autotune ?? true) await autotuneMatmul({ cache: localStorageCache });
  return device;
}
