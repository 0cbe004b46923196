/**
 * The Node edge: a WebGPU device from Dawn (the npm package `webgpu`).
 *
 * Which adapter: SYNFACE_ADAPTER (or the `adapter` option)
 *   auto         (default) whatever Dawn offers first, a real GPU where there is one
 *   lavapipe     Mesa's CPU Vulkan driver (bookworm-backports mesa-vulkan-drivers >= 23)
 *   swiftshader  Chromium's bundled CPU Vulkan driver (/usr/lib/chromium)
 *   gpu          a hardware adapter, or an error
 *   <file.json>  any Vulkan ICD manifest, passed to the loader as VK_ICD_FILENAMES
 * Dawn toggles: SYNFACE_DAWN_FLAGS, e.g. "enable-dawn-features=dump_shaders,disable_symbol_renaming".
 *
 * Dawn keeps Node's event loop alive while a device exists: call `shutdownGpu()` at the end
 * of a command-line tool.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { quietAdapterDiscovery } from './dawn-stderr.js';
import type { Device } from './device.js';
import { createDevice, getDevice, hasDevice, setDevice } from './runtime.js';
import { runStartupTasks, type KeyValueStore } from './startup.js';

/** The Vulkan drivers known by name, each with the places its ICD manifest may be. */
export const ICDS: Record<string, string[]> = {
  lavapipe: ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'],
  swiftshader: ['/usr/lib/chromium/vk_swiftshader_icd.json'],
};

/**
 * The ICD manifest for a driver name of ICDS (the first of its places that exists) or a path to
 * an ICD .json (as given); undefined when a known name has none installed or the name is unknown.
 */
export const findVulkanIcd = (choice: string): string | undefined =>
  choice.endsWith('.json') ? choice : ICDS[choice]?.find((f) => existsSync(f));

export interface NodeGpuOptions {
  adapter?: string;
  /**
   * Print "synface: adapter ..." to stderr, and keep Dawn's two adapter-limit warnings off it
   * (dawn-stderr.ts): the tools do; tests don't need to.
   */
  announce?: boolean;
  /**
   * Run the start-up tasks (startup.ts; today the ops' ranking of the matmul kernel versions by
   * speed on this adapter). Default true; results are cached in
   * $XDG_CACHE_HOME/synface-gpu/autotune.json, so each runs once per machine and adapter.
   */
  autotune?: boolean;
}

/** The start-up tasks' store: a JSON file, replaced atomically (write to a temp file, rename). */
function fileStore(): KeyValueStore {
  const file = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'synface-gpu', 'autotune.json');
  const load = (): Record<string, unknown> => {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      return {}; // missing or unreadable: tune again
    }
  };
  return {
    get: (key) => load()[key],
    set(key, value) {
      try {
        mkdirSync(dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify({ ...load(), [key]: value }, null, 2));
        renameSync(tmp, file);
      } catch (e) {
        console.error(`synface: could not write the autotune cache ${file}: ${(e as Error).message}`);
      }
    },
  };
}

let dawnGpu: GPU | null = null;

export async function initGpu(options: NodeGpuOptions = {}): Promise<Device> {
  if (hasDevice()) return getDevice();
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const choice = options.adapter ?? process.env.SYNFACE_ADAPTER ?? 'auto';
  if (choice !== 'auto' && choice !== 'gpu') {
    const icd = findVulkanIcd(choice);
    if (!icd || !existsSync(icd)) {
      throw new Error(
        `SYNFACE_ADAPTER=${choice}: no Vulkan ICD found (${ICDS[choice]?.join(', ') ?? choice}). ` +
          `Known names: auto, gpu, ${Object.keys(ICDS).join(', ')}, or a path to an ICD .json. Run tools/setup.sh to install lavapipe.`,
      );
    }
    process.env.VK_ICD_FILENAMES = icd; // read by the Vulkan loader when Dawn creates its instance
  }
  const webgpu = (await import('webgpu')) as unknown as {
    create(flags: string[]): GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, webgpu.globals); // GPUBufferUsage, GPUMapMode, ... as in a browser
  const flags = (process.env.SYNFACE_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  dawnGpu ??= webgpu.create(flags);
  const gpu = dawnGpu;
  const request = () => createDevice(gpu, { powerPreference: 'high-performance' });
  // the tools keep Dawn's two harmless adapter-limit warnings off stderr (dawn-stderr.ts)
  const device = await (options.announce ? quietAdapterDiscovery(request) : request()).catch((e: Error) => {
    throw new Error(
      `${e.message}\nSYNFACE_ADAPTER=${choice}; is a Vulkan driver installed? tools/setup.sh installs lavapipe.`,
    );
  });
  if (choice === 'gpu' && device.adapter.isCpu) {
    device.destroy();
    throw new Error(`SYNFACE_ADAPTER=gpu but the only adapter is a CPU one: ${device.adapter.name}`);
  }
  if (options.announce) console.error(`synface: adapter ${device.adapter.name}`);
  if (options.autotune ?? true) {
    const lines = await runStartupTasks(fileStore());
    if (options.announce) for (const line of lines) console.error(`synface: ${line}`);
  }
  return device;
}

/** Dawn's GPU object (after initGpu), e.g. to run a peer library on the same adapter. */
export function nodeGpu(): GPU {
  if (!dawnGpu) throw new Error('initGpu() first');
  return dawnGpu;
}

/** Destroys the device so that Node can exit. */
export function shutdownGpu(): void {
  if (hasDevice()) getDevice().destroy();
  setDevice(null);
  dawnGpu = null;
}
