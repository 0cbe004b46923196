/**
 * The 68-point landmark scheme (iBUG 300-W / dlib / face-api) as this module uses it: index
 * groups, the mirror permutation, and reading a flat landmark array into points.
 *
 * Indices, "right" and "left" meaning the subject's (a frontal face shows the subject's right
 * on the image's left):
 *
 *   0-16 jaw (0 at the subject's right ear)    17-21 right brow    22-26 left brow
 *   27-30 nose bridge (30 the tip)            31-35 nostrils (33 the subnasale)
 *   36-41 right eye (36 outer, 39 inner)      42-47 left eye (42 inner, 45 outer)
 *   48-59 outer lip (48 right corner, 51 top, 54 left corner, 57 bottom)   60-67 inner lip
 *
 * Landmarks arrive as the networks give them: a flat array x0, y0, x1, y1, ... of 136 numbers.
 * The factor functions take them in pixels (x right, y down); `toPixels` converts the
 * networks' input-relative [0, 1] coordinates.
 */

export const N_LANDMARKS = 68;

export const JAW = range(0, 17);
export const BROWS = range(17, 27);
export const NOSE = range(27, 36);
export const EYES = range(36, 48);
export const MOUTH = range(48, 68);
/** Outer eye corners: the inter-ocular distance used to normalise is |p36 - p45|. */
export const RIGHT_EYE_OUTER = 36;
export const LEFT_EYE_OUTER = 45;

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/**
 * MIRROR[i] is the index that point i becomes in the mirror image: the subject's right eye's
 * outer corner (36) is seen where the left eye's outer corner (45) was, and so on. A mirrored
 * landmark set is q[i] = flip(p[MIRROR[i]]). The permutation is its own inverse.
 */
export const MIRROR: readonly number[] = (() => {
  const m = range(0, 68);
  const swap = (a: number, b: number) => ((m[a] = b), (m[b] = a));
  for (let i = 0; i < 8; i++) swap(i, 16 - i); // jaw
  for (let i = 0; i < 5; i++) swap(17 + i, 26 - i); // brows
  (swap(31, 35), swap(32, 34)); // nostrils
  [
    [36, 45],
    [37, 44],
    [38, 43],
    [39, 42],
    [40, 47],
    [41, 46],
  ].forEach(([a, b]) => swap(a, b)); // eyes
  [
    [48, 54],
    [49, 53],
    [50, 52],
    [55, 59],
    [56, 58],
  ].forEach(([a, b]) => swap(a, b)); // outer lip
  [
    [60, 64],
    [61, 63],
    [65, 67],
  ].forEach(([a, b]) => swap(a, b)); // inner lip
  return m;
})();

/** The mirror image's landmarks: x -> width - x with the points renumbered by MIRROR. */
export function mirrorLandmarks(points: ArrayLike<number>, width: number): Float64Array {
  const out = new Float64Array(points.length);
  for (let i = 0; i < points.length / 2; i++) {
    out[2 * i] = width - points[2 * MIRROR[i]];
    out[2 * i + 1] = points[2 * MIRROR[i] + 1];
  }
  return out;
}

/** Input-relative [0, 1] landmarks (the networks' output) -> pixels of a width x height image. */
export function toPixels(relative: ArrayLike<number>, width: number, height: number): Float64Array {
  const out = new Float64Array(relative.length);
  for (let i = 0; i < relative.length; i += 2) {
    out[i] = relative[i] * width;
    out[i + 1] = relative[i + 1] * height;
  }
  return out;
}

/**
 * Checks a flat landmark array: 136 numbers, finite at the points `used` (default all 68).
 * `what` names the input in the error (e.g. 'pose: landmarks'); the error names the first bad
 * value and its point.
 */
export function checkLandmarks(points: ArrayLike<number>, what: string, used?: readonly number[]): void {
  if (points.length !== 2 * N_LANDMARKS)
    throw new RangeError(
      `${what}: expected ${2 * N_LANDMARKS} numbers (68 points x, y), got ${points.length}`,
    );
  for (const p of used ?? range(0, N_LANDMARKS))
    for (const k of [0, 1])
      if (!Number.isFinite(points[2 * p + k]))
        throw new RangeError(
          `${what}: point ${p} has ${k ? 'y' : 'x'} = ${points[2 * p + k]} (landmarks must be finite)`,
        );
}

/** |p36 - p45|: the distance between the outer eye corners, in the landmarks' unit. */
export function interOcular(points: ArrayLike<number>): number {
  const dx = points[2 * LEFT_EYE_OUTER] - points[2 * RIGHT_EYE_OUTER];
  const dy = points[2 * LEFT_EYE_OUTER + 1] - points[2 * RIGHT_EYE_OUTER + 1];
  return Math.hypot(dx, dy);
}
