/** The browser edge: a device from navigator.gpu. */
import type { Device } from './device.js';
import { createDevice, getDevice, hasDevice } from './runtime.js';
import { runStartupTasks, type KeyValueStore } from './startup.js';

/** The start-up tasks' store. */
const localStorageStore: KeyValueStore = {
  get(key) {
    const v = globalThis.localStorage?.getItem(`synface-gpu:${key}`);
    return v ? JSON.parse(v) : undefined;
  },
  set(key, value) {
    globalThis.localStorage?.setItem(`synface-gpu:${key}`, JSON.stringify(value));
  },
};

/** `autotune` runs the start-up tasks (startup.ts: the matmul kernel ranking), cached in localStorage. */
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
  if (options.autotune ?? true) await runStartupTasks(localStorageStore);
  return device;
}
