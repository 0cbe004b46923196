/**
 * The engine's current device, and how one is made from a `GPU` object (navigator.gpu in a
 * browser, Dawn's `create()` in Node; see node.ts and browser.ts for the two edges).
 */
import { Device, type AdapterDescription } from './device.js';

let current: Device | null = null;

/** The device every op runs on. */
export function getDevice(): Device {
  if (!current || current.isDestroyed) {
    throw new Error(
      'no GPU device: call initGpu() (Node: src/gpu/node.ts, browser: src/gpu/browser.ts) first',
    );
  }
  return current;
}

export function setDevice(device: Device | null): void {
  current = device;
}

export function hasDevice(): boolean {
  return current !== null && !current.isDestroyed;
}

/** Whether the device runs subgroups of at least `lanes` lanes (kernels that trade values need it). */
export function hasSubgroups(lanes: number): boolean {
  return getDevice().adapter.subgroupMinSize >= lanes;
}

/** Features the engine uses where the adapter has them, and does without elsewhere. */
const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups'];

const CPU_ADAPTERS = /llvmpipe|lavapipe|swiftshader|software|cpu/i;

export function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const name = [description || device, vendor, architecture].filter(Boolean).join(' / ') || 'unknown adapter';
  return {
    vendor,
    architecture,
    device,
    description,
    name,
    isCpu:
      CPU_ADAPTERS.test(`${vendor} ${architecture} ${device} ${description}`) ||
      (info as { isFallbackAdapter?: boolean })?.isFallbackAdapter === true,
    subgroupMinSize: adapter.features.has('subgroups')
      ? ((info as { subgroupMinSize?: number })?.subgroupMinSize ?? 0)
      : 0,
  };
}

/**
 * Requests an adapter and a device with the adapter's full compute limits (the defaults are
 * smaller than what real workloads need: 128 MiB storage bindings, 256 invocations).
 */
export async function createDevice(
  gpu: GPU,
  options: GPURequestAdapterOptions = {},
  hint = 'run tools/setup.sh, or see README "Choosing an adapter"',
): Promise<Device> {
  const adapter = await gpu.requestAdapter(options);
  if (!adapter) throw new Error(`WebGPU: no adapter found (${hint})`);
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupSizeZ: l.maxComputeWorkgroupSizeZ,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
  };
  // timestamp queries feed the per-kernel profiler (device.startProfiling()) where available;
  // subgroups let lanes trade values without memory (the matmul's shared-rows versions)
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const gpuDevice = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'synface' });
  const device = new Device(gpuDevice, describeAdapter(adapter));
  setDevice(device);
  return device;
}
