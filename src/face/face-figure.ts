/**
 * A grid of analysed faces, drawn for people: each face (a 64x64 cache image) upscaled to
 * `size` pixels (nearest neighbour), with
 *   - its 68 landmarks: the jaw, brows and nose as open lines, eyes and lips closed (green);
 *   - the pose: the mean face's axes rotated by the fitted rotation and projected (orthographic)
 *     from the nose tip (point 30): x (the subject's left) red, up (-y) green, forward (out of
 *     the face, -z) blue; a frontal face shows a red line right, a green one up, a blue dot;
 *   - the lighting: in the top-right corner, a yellow arrow from a disc's centre towards the
 *     brighter side of the face, along b e_u + c e_v of the lighting code (lighting.ts: b the
 *     left-right, c the top-bottom gradient in the face's own frame), its length growing with
 *     the gradient's size relative to the brightness a (full radius at |(b, c)| / a >= 0.5);
 *   - a caption: yaw, pitch, roll in degrees.
 * Faces: quality 0 only, sorted by yaw and taken at even steps, so the grid spans the
 * dataset's range of yaw. No Node imports.
 */
import type { ImageCache } from '../data/image-cache.js';
import { Canvas, type Color, type Point, type RgbaImage } from '../plot/raster.js';
import type { FactorsTable } from './factors-file.js';
import { LEFT_EYE_OUTER, RIGHT_EYE_OUTER } from './landmarks68.js';
import { rotationFromAngles } from './pose.js';

export interface FaceGridOptions {
  rows: number;
  columns: number;
  /** Pixels per face (default 128). */
  size?: number;
}

const OPEN: [number, number][] = [
  [0, 17],
  [17, 22],
  [22, 27],
  [27, 31],
  [31, 36],
];
const CLOSED: [number, number][] = [
  [36, 42],
  [42, 48],
  [48, 60],
  [60, 68],
];
const CAPTION = 14;

/**
 * The cache image `row` resized to size x size into the canvas at (x0, y0): nearest neighbour
 * (each pixel a block: the resolution the factors were measured at, and a PNG a third the size
 * of a bilinear one's).
 */
function drawFace(canvas: Canvas, cache: ImageCache, row: number, x0: number, y0: number, size: number) {
  const { C, H, W } = cache;
  const px = cache.pixels.subarray(row * C * H * W, (row + 1) * C * H * W);
  for (let j = 0; j < size; j++)
    for (let i = 0; i < size; i++) {
      const at = Math.floor((j * H) / size) * W + Math.floor((i * W) / size);
      const rgb = [0, 1, 2].map((c) => px[(C === 3 ? c : 0) * H * W + at]);
      canvas.rgba.set([rgb[0], rgb[1], rgb[2], 255], ((y0 + j) * canvas.width + x0 + i) * 4);
    }
}

function arrow(canvas: Canvas, from: Point, to: Point, color: Color, width: number) {
  canvas.line(from[0], from[1], to[0], to[1], color, { width });
  const [dx, dy] = [to[0] - from[0], to[1] - from[1]];
  const len = Math.hypot(dx, dy);
  if (len < 3) return;
  const [ux, uy] = [dx / len, dy / len];
  const head = Math.min(6, len / 2);
  for (const s of [1, -1])
    canvas.line(
      to[0],
      to[1],
      to[0] - head * (ux * 0.87 - s * uy * 0.5),
      to[1] - head * (uy * 0.87 + s * ux * 0.5),
      color,
      { width },
    );
}

/** The rows of the faces drawn: quality 0, evenly spaced in yaw order. */
export function pickFaces(t: FactorsTable, count: number): number[] {
  const good = Array.from({ length: t.done }, (_, r) => r).filter(
    (r) => t.columns.quality[r] === 0 && Number.isFinite(t.columns.pose[3 * r]),
  );
  good.sort((a, b) => t.columns.pose[3 * a] - t.columns.pose[3 * b]);
  if (good.length <= count) return good;
  return Array.from(
    { length: count },
    (_, k) => good[Math.round((k * (good.length - 1)) / (count - 1 || 1))],
  );
}

export function faceGrid(t: FactorsTable, cache: ImageCache, o: FaceGridOptions): RgbaImage {
  const size = o.size ?? 128;
  const rows = pickFaces(t, o.rows * o.columns);
  if (!rows.length) throw new Error('faceGrid: no face of quality 0 to draw');
  if (cache.count !== t.total)
    throw new Error(`faceGrid: the image cache holds ${cache.count} images, the factors ${t.total}`);
  const gap = 4;
  const cell = [size + gap, size + CAPTION + gap];
  const cols = Math.min(o.columns, rows.length);
  const canvas = new Canvas(
    cols * cell[0] + gap,
    Math.ceil(rows.length / cols) * cell[1] + gap,
    [20, 20, 20],
  );
  rows.forEach((r, k) => {
    const x0 = gap + (k % cols) * cell[0];
    const y0 = gap + Math.floor(k / cols) * cell[1];
    drawFace(canvas, cache, r, x0, y0, size);
    const lm = t.columns.landmarks.subarray(r * 136, (r + 1) * 136);
    const p = (i: number): Point => [x0 + lm[2 * i] * size, y0 + lm[2 * i + 1] * size];
    canvas.withClip({ x: x0, y: y0, w: size, h: size }, () => {
      const green: Color = [80, 255, 120, 200];
      for (const [a, b] of OPEN)
        canvas.polyline(
          Array.from({ length: b - a }, (_, i) => p(a + i)),
          green,
          { width: 1 },
        );
      for (const [a, b] of CLOSED)
        canvas.polyline(
          Array.from({ length: b - a + 1 }, (_, i) => p(a + ((i % (b - a)) as number))),
          green,
          {
            width: 1,
          },
        );
      // pose axes from the nose tip
      const [yaw, pitch, roll] = [0, 1, 2].map((c) => t.columns.pose[3 * r + c]);
      const R = rotationFromAngles(yaw, pitch, roll);
      const L = 0.3 * size;
      const nose = p(30);
      const axes: [number[], Color][] = [
        [
          [R[0], R[3]],
          [230, 40, 40],
        ], // model x
        [
          [-R[1], -R[4]],
          [40, 220, 40],
        ], // model -y (up)
        [
          [-R[2], -R[5]],
          [60, 120, 255],
        ], // model -z (out of the face)
      ];
      for (const [[dx, dy], color] of axes)
        arrow(canvas, nose, [nose[0] + L * dx, nose[1] + L * dy], color, 2);
      // lighting: brighter side, in the face's frame (e_u from point 36 to 45, e_v towards the chin)
      const [a, b, c] = [0, 1, 2].map((i) => t.columns.lighting[6 * r + i]);
      const [r36, r45] = [p(RIGHT_EYE_OUTER), p(LEFT_EYE_OUTER)];
      const d = Math.hypot(r45[0] - r36[0], r45[1] - r36[1]);
      const [ux, uy] = [(r45[0] - r36[0]) / d, (r45[1] - r36[1]) / d];
      const [gx, gy] = [b * ux - c * uy, b * uy + c * ux]; // b e_u + c e_v, e_v = (-uy, ux)
      const radius = 0.1 * size;
      const centre: Point = [x0 + size - radius - 4, y0 + radius + 4];
      const g = Math.hypot(gx, gy);
      const len = radius * Math.min(1, g / Math.max(1e-6, 0.5 * Math.abs(a)));
      canvas.polyline(
        Array.from({ length: 33 }, (_, i) => {
          const th = (i / 32) * 2 * Math.PI;
          return [centre[0] + radius * Math.cos(th), centre[1] + radius * Math.sin(th)] as Point;
        }),
        [255, 220, 0, 180],
        { width: 1 },
      );
      if (g > 0 && Number.isFinite(len))
        arrow(canvas, centre, [centre[0] + (len * gx) / g, centre[1] + (len * gy) / g], [255, 220, 0], 2);
    });
    const caption = `y${Math.round(yaw(t, r))} p${Math.round(t.columns.pose[3 * r + 1])} r${Math.round(t.columns.pose[3 * r + 2])}`;
    canvas.text(x0 + 2, y0 + size + 4, caption, [230, 230, 230]);
  });
  return { width: canvas.width, height: canvas.height, rgba: canvas.rgba };
}

const yaw = (t: FactorsTable, r: number) => t.columns.pose[3 * r];
