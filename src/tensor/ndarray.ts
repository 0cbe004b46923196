/**
 * A tiny float64 CPU array: the reference every GPU kernel is tested against, and what finite
 * differences are computed on. Plain loops, no cleverness: it must be obviously right.
 */
export interface NdArray {
  shape: number[];
  data: Float64Array;
}

export function nd(shape: readonly number[], data?: ArrayLike<number>): NdArray {
  const size = shape.reduce((a, b) => a * b, 1);
  const d = new Float64Array(size);
  if (data) {
    if (data.length !== size) throw new RangeError(`nd: ${data.length} values for shape [${shape}]`);
    d.set(data);
  }
  return { shape: [...shape], data: d };
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Numpy broadcasting: align right, sizes equal or 1. Names both shapes and the op on failure. */
export function broadcastShapes(shapes: readonly (readonly number[])[], op: string): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    let size = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + d] ?? 1;
      if (v === 1) continue;
      if (size !== 1 && v !== size) {
        throw new RangeError(
          `${op}: shapes ${shapes.map((x) => `[${x}]`).join(' and ')} cannot be broadcast together (dimension ${d}: ${size} vs ${v})`,
        );
      }
      size = v;
    }
    out.push(shapes.some((s) => (s[s.length - rank + d] ?? 1) === 0) ? 0 : size);
  }
  return out;
}

/** Strides that read `shape` as if broadcast to `outShape` (0 on broadcast dimensions). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, d) => (d < lead || shape[d - lead] === 1 ? 0 : own[d - lead]));
}

/** Visits every index of `shape` in row-major order. */
export function forEachIndex(shape: readonly number[], f: (index: number[], flat: number) => void): void {
  const size = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < size; flat++) {
    f(idx, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** Elementwise map of broadcast inputs. */
export function mapNd(inputs: NdArray[], f: (...v: number[]) => number, op = 'map'): NdArray {
  const shape = broadcastShapes(
    inputs.map((a) => a.shape),
    op,
  );
  const strides = inputs.map((a) => broadcastStrides(a.shape, shape));
  const out = nd(shape);
  const vals = new Array<number>(inputs.length);
  forEachIndex(shape, (idx, flat) => {
    for (let k = 0; k < inputs.length; k++) {
      let off = 0;
      for (let d = 0; d < idx.length; d++) off += idx[d] * strides[k][d];
      vals[k] = inputs[k].data[off];
    }
    out.data[flat] = f(...vals);
  });
  return out;
}
