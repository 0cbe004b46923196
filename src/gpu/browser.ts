/** The browser edge: a device from navigator.gpu. */
import type { Device } from './device.js';
import { createDevice, getDevice, hasDevice } from './runtime.js';

export async function initGpu(): Promise<Device> {
  if (hasDevice()) return getDevice();
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is undefined); Chromium needs --enable-unsafe-webgpu on Linux');
  const hint = 'Chromium on Linux needs --enable-unsafe-webgpu (and a Vulkan driver or its bundled SwiftShader)';
  return createDevice(gpu, { powerPreference: 'high-performance' }, hint);
}
