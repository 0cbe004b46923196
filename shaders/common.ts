/**
 * WGSL snippets shared by many kernels.
 *
 * Indexing: a kernel over n output elements runs 256 invocations per workgroup; a grid of more
 * than 65535 workgroups is folded into y, and the flat index rebuilt from num_workgroups.
 */
export const WORKGROUP = 64;
export const MAX_RANK = 8;

/** The entry point header of a flat kernel: `i` is the flat output index. */
export const flatMain = /* wgsl */ `
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * (nwg.x * ${WORKGROUP}u) + gid.x;`;

/** Workgroups for a flat kernel over n items (x capped at 65535, the rest in y). */
export function flatGrid(n: number, perWorkgroup = WORKGROUP): [number, number, number] {
  const groups = Math.ceil(n / perWorkgroup);
  if (groups <= 65535) return [Math.max(groups, 1), 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}

/** Element `d` of a dims array stored as array<vec4<u32>, 2> in a uniform block. */
export const dimFn = /* wgsl */ `
fn dim(v: array<vec4<u32>, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }`;

/**
 * Unrolled WGSL that converts the flat index `flat` of an array of shape `p.${'shape'}` (rank
 * known at compile time) into an element offset through `strides`, written to `target`.
 *   offset = sum_d ((flat / prod(shape[d+1..])) % shape[d]) * strides[d]
 */
export function offsetCode(
  rank: number,
  flat: string,
  shape: string,
  strides: string,
  target: string,
): string {
  if (rank === 0) return `let ${target} = 0u;`;
  const lines = [`var ${target} = 0u;`, `var rest_${target} = ${flat};`];
  for (let d = rank - 1; d >= 0; d--) {
    const s = `dim(${shape}, ${d}u)`;
    lines.push(`${target} += (rest_${target} % ${s}) * dim(${strides}, ${d}u);`);
    if (d > 0) lines.push(`rest_${target} /= ${s};`);
  }
  return lines.join('\n  ');
}

/**
 * Subgroup kernels (lavapipe runs a subgroup as its 8 SIMD lanes): lane `sid` loads one of 8
 * values the whole subgroup needs and subgroupBroadcast hands each to every lane, so each value
 * is loaded once instead of once per lane. They need subgroups of at least this many lanes.
 */
export const SUBGROUP_LANES = 8;
/** The module's first line for a subgroup kernel (empty for the others). */
export const enableSubgroups = (on: boolean | undefined) => (on ? 'enable subgroups;\n' : '');
/** The entry point parameter for a subgroup kernel (to append after the others). */
export const subgroupParam = (on: boolean | undefined) =>
  on ? ', @builtin(subgroup_invocation_id) sid: u32' : '';

/**
 * `let <name> = <index>;` for a lane's tile, and what a lane past `count` does: without
 * subgroups it returns; with them (every lane must reach the subgroup operations) it takes the
 * last tile instead and `live` says whether to store.
 */
export function laneTile(name: string, index: string, count: string, shared: boolean | undefined): string[] {
  return shared
    ? [`let ${name}0 = ${index}; let live = ${name}0 < ${count}; let ${name} = min(${name}0, ${count} - 1u);`]
    : [`let ${name} = ${index};`, `if (${name} >= ${count}) { return; }`];
}

/**
 * WGSL that gives every lane `count` values loaded once per subgroup: lane sid loads value
 * m * 8 + sid (clamped to the last) as `load(i)`, i the name of that index, and
 * `<prefix><f>` = value f, broadcast from lane f % 8 of load f / 8.
 */
export function shareAcrossLanes(prefix: string, count: number, load: (i: string) => string): string[] {
  const L = SUBGROUP_LANES;
  const loads = Array.from({ length: Math.ceil(count / L) }, (_, m) => [
    `let ${prefix}i${m} = min(${m * L}u + sid, ${count - 1}u);`,
    `let ${prefix}l${m} = ${load(`${prefix}i${m}`)};`,
  ]).flat();
  const values = Array.from(
    { length: count },
    (_, f) => `let ${prefix}${f} = subgroupBroadcast(${prefix}l${Math.floor(f / L)}, ${f % L}u);`,
  );
  return [...loads, ...values];
}
