/**
 * An RGBA canvas in plain memory: rectangles, lines, text. No browser, no native code.
 *
 * Coordinates. Pixel (i, j) is the unit square [i, i+1) x [j, j+1), its centre at
 * (i + 0.5, j + 0.5); x grows to the right, y downwards. Rectangles and text take whole-pixel
 * positions (rounded). Lines take continuous coordinates, so a line from (2.5, 3.5) to
 * (7.5, 3.5) covers exactly pixels 2..7 of row 3.
 *
 * Lines are drawn in two steps: first a coverage value in [0, 1] is computed for every pixel
 * the line touches (the maximum over the line's segments, so joints are not drawn twice), then
 * the colour is blended once with that coverage as opacity.
 *   - anti-aliased (default): coverage = clamp(w/2 + 0.5 - d, 0, 1), d the distance from the
 *     pixel centre to the segment; a cheap approximation of the area of the pixel inside a
 *     w-wide stroke with round ends, exact (0 or 1) for pixels at whole distances.
 *   - plain: Bresenham's algorithm between the pixels holding the endpoints; coverage 1. A
 *     thicker line repeats each pixel across the minor axis (w rows of an x-major line).
 *
 * Clipping. `clip` (a rectangle or null) limits every write. Lines are also cut to it
 * geometrically (Liang-Barsky) before rasterizing, so a segment reaching far outside costs
 * nothing.
 */
import { GLYPH_ADVANCE, GLYPH_CAP_HEIGHT, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.js';

/** r, g, b (0..255) and optionally alpha (0..255, default 255). */
export type Color = readonly [number, number, number, number?];

export interface RgbaImage {
  width: number;
  height: number;
  /** width * height pixels, row-major from the top-left, 4 bytes (r, g, b, a) each. */
  rgba: Uint8Array;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface LineStyle {
  /** Stroke width in pixels; default 1. */
  width?: number;
  /** Default true. */
  antialias?: boolean;
  /** [on, off] lengths in pixels along the line; solid when absent. */
  dash?: readonly [number, number];
}

export interface TextStyle {
  /** Integer pixel scale of the 5x7 font; default 1. */
  scale?: number;
  /** Rotated 90 degrees counter-clockwise, read from bottom to top (a y-axis label). */
  vertical?: boolean;
}

export type Point = readonly [number, number];

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * GLYPH_ADVANCE - 1) * scale;
}

/** Height from the top of capitals to the baseline; descenders go 2 * scale lower. */
export function textCapHeight(scale = 1): number {
  return GLYPH_CAP_HEIGHT * scale;
}

function checkSize(what: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0)
    throw new Error(`${what}: ${name} must be a positive integer, got ${v}`);
}

export class Canvas implements RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
  /** Writes outside this rectangle are dropped; null = the whole canvas. */
  clip: Rect | null = null;

  constructor(width: number, height: number, background: Color = [255, 255, 255]) {
    checkSize('Canvas', 'width', width);
    checkSize('Canvas', 'height', height);
    this.width = width;
    this.height = height;
    this.rgba = new Uint8Array(width * height * 4);
    const [r, g, b, a = 255] = background;
    for (let i = 0; i < this.rgba.length; i += 4) this.rgba.set([r, g, b, a], i);
  }

  /** Runs `draw` with `clip` set to `rect` (intersected with the current clip), then restores it. */
  withClip<T>(rect: Rect, draw: () => T): T {
    const saved = this.clip;
    this.clip = saved ? intersect(saved, rect) : rect;
    try {
      return draw();
    } finally {
      this.clip = saved;
    }
  }

  getPixel(x: number, y: number): [number, number, number, number] {
    const i = (y * this.width + x) * 4;
    return [this.rgba[i], this.rgba[i + 1], this.rgba[i + 2], this.rgba[i + 3]];
  }

  /** The visible region: the canvas intersected with the clip. */
  private bounds(): Rect {
    const all = { x: 0, y: 0, w: this.width, h: this.height };
    return this.clip ? intersect(all, this.clip) : all;
  }

  /**
   * Source-over blend of `color` with opacity `coverage` (0..1, times the colour's alpha) onto
   * pixel (x, y), integer coordinates; outside the canvas or the clip nothing happens.
   */
  blend(x: number, y: number, color: Color, coverage = 1): void {
    const b = this.bounds();
    if (x < b.x || y < b.y || x >= b.x + b.w || y >= b.y + b.h) return;
    this.blendAt((y * this.width + x) * 4, color, coverage);
  }

  /** blend at byte offset i, no bounds check. */
  private blendAt(i: number, color: Color, coverage: number): void {
    const a = coverage * ((color[3] ?? 255) / 255);
    if (a <= 0) return;
    const px = this.rgba;
    const da = px[i + 3] / 255;
    const oa = a + da * (1 - a); // resulting alpha
    for (let c = 0; c < 3; c++)
      px[i + c] = Math.round(((color[c] as number) * a + px[i + c] * da * (1 - a)) / oa);
    px[i + 3] = Math.round(oa * 255);
  }

  /** Fills pixels x..x+w-1 of rows y..y+h-1 (rounded to whole pixels). */
  fillRect(x: number, y: number, w: number, h: number, color: Color): void {
    const x0 = Math.round(x),
      y0 = Math.round(y);
    const r = intersect(this.bounds(), {
      x: x0,
      y: y0,
      w: Math.round(x + w) - x0,
      h: Math.round(y + h) - y0,
    });
    for (let j = r.y; j < r.y + r.h; j++)
      for (let i = r.x; i < r.x + r.w; i++) this.blendAt((j * this.width + i) * 4, color, 1);
  }

  /** A one-pixel outline on the border pixels of the rectangle fillRect(x, y, w, h) would fill. */
  strokeRect(x: number, y: number, w: number, h: number, color: Color): void {
    this.fillRect(x, y, w, 1, color);
    this.fillRect(x, y + h - 1, w, 1, color);
    this.fillRect(x, y + 1, 1, h - 2, color);
    this.fillRect(x + w - 1, y + 1, 1, h - 2, color);
  }

  line(x0: number, y0: number, x1: number, y1: number, color: Color, style: LineStyle = {}): void {
    this.polyline(
      [
        [x0, y0],
        [x1, y1],
      ],
      color,
      style,
    );
  }

  /**
   * Connects the points in order. A point with a non-finite coordinate breaks the line; a
   * point alone between breaks is drawn as a dot as wide as the line. The dash pattern runs
   * on along the whole polyline.
   */
  polyline(points: readonly Point[], color: Color, style: LineStyle = {}): void {
    const width = style.width ?? 1;
    if (!(width > 0)) throw new Error(`polyline: width must be positive, got ${width}`);
    const dash = style.dash;
    if (dash && !(dash[0] > 0 && dash[1] >= 0)) throw new Error(`polyline: bad dash [${dash}]`);
    const coverage = new Map<number, number>(); // pixel index -> coverage
    const put = (x: number, y: number, c: number) => {
      if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
      const k = y * this.width + x;
      if (c > (coverage.get(k) ?? 0)) coverage.set(k, c);
    };
    const region = this.bounds();
    let along = 0; // path length so far, for the dash pattern
    let run: Point[] = [];
    const flush = () => {
      if (run.length === 1) run.push(run[0]);
      for (let k = 1; k < run.length; k++) {
        const a = run[k - 1],
          b = run[k];
        if (style.antialias === false) plainSegment(a, b, width, dash, along, put);
        else smoothSegment(a, b, width, dash, along, region, put);
        along += Math.hypot(b[0] - a[0], b[1] - a[1]);
      }
      run = [];
    };
    for (const p of points) {
      if (Number.isFinite(p[0]) && Number.isFinite(p[1])) run.push(p);
      else flush();
    }
    flush();
    for (const [k, c] of coverage) this.blend(k % this.width, Math.floor(k / this.width), color, c);
  }

  /**
   * Draws `text` with its top-left corner at (x, y): the cap line at row y, the baseline under
   * row y + 7 * scale - 1. Vertical text: the rotated box, GLYPH_HEIGHT * scale wide and
   * textWidth tall, has its top-left corner at (x, y); the first character is at the bottom.
   */
  text(x: number, y: number, text: string, color: Color, style: TextStyle = {}): void {
    const s = style.scale ?? 1;
    if (!Number.isInteger(s) || s < 1) throw new Error(`text: scale must be a positive integer, got ${s}`);
    x = Math.round(x);
    y = Math.round(y);
    const len = textWidth(text, s);
    for (let n = 0; n < text.length; n++) {
      const rows = glyph(text[n]);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if (!((rows[r] >> (GLYPH_WIDTH - 1 - c)) & 1)) continue;
          const u = (n * GLYPH_ADVANCE + c) * s; // along the text
          const v = r * s; // down from the cap line
          // rotating counter-clockwise: "along" becomes up, "down" becomes right
          if (style.vertical) this.fillRect(x + v, y + len - u - s, s, s, color);
          else this.fillRect(x + u, y + v, s, s, color);
        }
      }
    }
  }
}

function intersect(a: Rect, b: Rect): Rect {
  const x = Math.max(a.x, b.x),
    y = Math.max(a.y, b.y);
  const w = Math.min(a.x + a.w, b.x + b.w) - x,
    h = Math.min(a.y + a.h, b.y + b.h) - y;
  return { x, y, w: Math.max(0, w), h: Math.max(0, h) };
}

type Put = (x: number, y: number, coverage: number) => void;

const dashOn = (dash: readonly [number, number] | undefined, s: number) =>
  !dash || s % (dash[0] + dash[1]) < dash[0];

/**
 * Liang-Barsky: the parameter interval [t0, t1] of the segment a + t (b - a), t in [0, 1],
 * inside rectangle r; null if none. Each border gives one inequality p t <= q.
 */
export function clipSegment(a: Point, b: Point, r: Rect): [number, number] | null {
  const dx = b[0] - a[0],
    dy = b[1] - a[1];
  let t0 = 0,
    t1 = 1;
  const sides: [number, number][] = [
    [-dx, a[0] - r.x], // x >= r.x
    [dx, r.x + r.w - a[0]], // x <= r.x + r.w
    [-dy, a[1] - r.y],
    [dy, r.y + r.h - a[1]],
  ];
  for (const [p, q] of sides) {
    if (p === 0) {
      if (q < 0) return null; // parallel to this border and outside it
    } else {
      const t = q / p;
      if (p < 0)
        t0 = Math.max(t0, t); // entering
      else t1 = Math.min(t1, t); // leaving
    }
  }
  return t0 <= t1 ? [t0, t1] : null;
}

/** Anti-aliased segment: coverage from the distance of each nearby pixel centre to the segment. */
function smoothSegment(
  a: Point,
  b: Point,
  width: number,
  dash: readonly [number, number] | undefined,
  along: number,
  region: Rect,
  put: Put,
): void {
  const reach = width / 2 + 0.5; // beyond this distance coverage is 0
  const grown = {
    x: region.x - reach,
    y: region.y - reach,
    w: region.w + 2 * reach,
    h: region.h + 2 * reach,
  };
  const span = clipSegment(a, b, grown);
  if (!span) return;
  const dx = b[0] - a[0],
    dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const ends = span.map((t) => [a[0] + t * dx, a[1] + t * dy]);
  const i0 = Math.floor(Math.min(ends[0][0], ends[1][0]) - reach),
    i1 = Math.ceil(Math.max(ends[0][0], ends[1][0]) + reach);
  const j0 = Math.floor(Math.min(ends[0][1], ends[1][1]) - reach),
    j1 = Math.ceil(Math.max(ends[0][1], ends[1][1]) + reach);
  for (let j = j0; j <= j1; j++) {
    for (let i = i0; i <= i1; i++) {
      const cx = i + 0.5,
        cy = j + 0.5;
      // t of the closest point of the segment to the pixel centre
      const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, ((cx - a[0]) * dx + (cy - a[1]) * dy) / len2));
      const d = Math.hypot(cx - a[0] - t * dx, cy - a[1] - t * dy);
      const c = Math.min(1, reach - d);
      if (c > 0 && dashOn(dash, along + t * Math.sqrt(len2))) put(i, j, c);
    }
  }
}

/** Bresenham's line between the pixels holding a and b, thickened across the minor axis. */
function plainSegment(
  a: Point,
  b: Point,
  width: number,
  dash: readonly [number, number] | undefined,
  along: number,
  put: Put,
): void {
  let x = Math.floor(a[0]),
    y = Math.floor(a[1]);
  const x1 = Math.floor(b[0]),
    y1 = Math.floor(b[1]);
  const dx = Math.abs(x1 - x),
    dy = -Math.abs(y1 - y);
  const sx = x < x1 ? 1 : -1,
    sy = y < y1 ? 1 : -1;
  const xMajor = dx >= -dy;
  const w = Math.max(1, Math.round(width));
  const lo = -Math.floor((w - 1) / 2); // offsets lo .. lo + w - 1 across the line
  const stepLen = Math.hypot(dx, dy) / Math.max(dx, -dy, 1); // path length per pixel step
  // Bresenham's decision variable in its all-octant integer form: err measures (times a
  // constant) how far the current pixel lies from the ideal line; a step in x is taken when it
  // brings the next pixel closer in x, a step in y likewise, both for a diagonal step.
  let err = dx + dy;
  for (let n = 0; ; n++) {
    if (dashOn(dash, along + n * stepLen)) {
      for (let k = lo; k < lo + w; k++) xMajor ? put(x, y + k, 1) : put(x + k, y, 1);
    }
    if (x === x1 && y === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}
