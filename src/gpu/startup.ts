/**
 * Start-up tasks: measurements that a layer above the device wants made once per adapter, when
 * a device starts. Today there is one, the matmul kernel ranking (src/ops/matmul-autotune.ts),
 * registered in src/ops/index.ts. initGpu (node.ts, browser.ts) runs them after creating the
 * device, each with a store that outlives the process (a JSON file in Node, localStorage in a
 * browser), so a result measured once on a machine is reused: the task builds its keys from the
 * adapter's name.
 */

/** A small persistent key-value store of JSON values. */
export interface KeyValueStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

export interface StartupTask {
  name: string;
  /** Measures (or reads the store) and returns one line saying what it chose. */
  run(store: KeyValueStore): Promise<string>;
}

const tasks: StartupTask[] = [];

/** Adds a task to every later initGpu (once per name). */
export function addStartupTask(task: StartupTask): void {
  if (!tasks.some((t) => t.name === task.name)) tasks.push(task);
}

/** Runs the tasks in the order they were added; returns their lines. */
export async function runStartupTasks(store: KeyValueStore): Promise<string[]> {
  const lines: string[] = [];
  for (const task of tasks) lines.push(await task.run(store));
  return lines;
}
