/**
 * The debug dial, read from SYNFACE_DEBUG (Node) or globalThis.SYNFACE_DEBUG (browser):
 *   1          log each kernel compiled
 *   2          also print its WGSL
 *   3          also log every dispatch
 *   validate   check for GPU validation errors after every dispatch (slow, precise)
 * Several may be combined with commas: SYNFACE_DEBUG=1,validate
 */
function fromEnvironment(): string {
  const g = globalThis as { SYNFACE_DEBUG?: string; process?: { env?: Record<string, string | undefined> } };
  return String(g.SYNFACE_DEBUG ?? g.process?.env?.SYNFACE_DEBUG ?? '');
}

let parts: string[] = [];
let level = 0;

/** Changes the dial at run time (tests, the browser console). */
export function setDebug(value: string): void {
  parts = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const levels = parts.map(Number).filter(Number.isFinite);
  level = levels.length ? Math.max(...levels) : 0;
}
setDebug(fromEnvironment());

export function debugLevel(): number {
  return level;
}

export function debugFlag(name: string): boolean {
  return parts.includes(name);
}

export function log(message: string): void {
  console.error(`[synface] ${message}`);
}
