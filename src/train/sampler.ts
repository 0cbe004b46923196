/**
 * Mini-batches for epochs: each epoch visits the dataset's rows in a fresh random order, in
 * batches of a fixed size; the last incomplete batch of an epoch is dropped (batch norm wants
 * full batches), so every step sees exactly `batch` images.
 *
 * The order of epoch e is a pure function of (seed, e) (a Fisher-Yates shuffle driven by the
 * Philox stream of Generator(seed) at offset e * 2^24), so the sampler's whole state is
 * (epoch, cursor): a checkpoint stores those two numbers and a resumed run draws the same
 * batches.
 */
import { Generator } from '../tensor/random.js';
import { shuffled } from '../data/split.js';

export interface SamplerState {
  epoch: number;
  /** Batches already taken in this epoch. */
  cursor: number;
}

const EPOCH_STRIDE = 2 ** 24; // Philox blocks reserved per epoch's shuffle (4 u32 each)

export class EpochSampler {
  readonly batchesPerEpoch: number;
  private state: SamplerState = { epoch: 0, cursor: 0 };
  private order: Int32Array | null = null;

  constructor(
    readonly rows: Int32Array,
    readonly batch: number,
    readonly seed: number,
  ) {
    if (!(Number.isInteger(batch) && batch >= 1))
      throw new RangeError(`EpochSampler: batch ${batch} is not a positive integer`);
    if (rows.length < batch)
      throw new RangeError(`EpochSampler: ${rows.length} rows, fewer than one batch of ${batch}`);
    if (rows.length >= EPOCH_STRIDE)
      throw new RangeError(`EpochSampler: ${rows.length} rows, at most ${EPOCH_STRIDE - 1}`);
    this.batchesPerEpoch = Math.floor(rows.length / batch);
  }

  /** The rows of epoch e in the order they are visited. */
  epochOrder(epoch: number): Int32Array {
    const gen = new Generator(this.seed);
    gen.setState({ seed: this.seed, offset: epoch * EPOCH_STRIDE });
    return Int32Array.from(shuffled(Array.from(this.rows), gen));
  }

  /** The next batch's rows (a copy). */
  next(): Int32Array {
    if (this.state.cursor >= this.batchesPerEpoch) this.state = { epoch: this.state.epoch + 1, cursor: 0 };
    this.order ??= this.epochOrder(this.state.epoch);
    const start = this.state.cursor * this.batch;
    const out = this.order.slice(start, start + this.batch);
    this.state.cursor++;
    if (this.state.cursor >= this.batchesPerEpoch) this.order = null;
    return out;
  }

  /** Fractional epochs done, e.g. 2.5 halfway through the third epoch. */
  get epochsDone(): number {
    return this.state.epoch + this.state.cursor / this.batchesPerEpoch;
  }

  getState(): SamplerState {
    return { ...this.state };
  }

  setState(s: SamplerState): void {
    if (!(
      Number.isInteger(s.epoch) &&
      s.epoch >= 0 &&
      Number.isInteger(s.cursor) &&
      s.cursor >= 0 &&
      s.cursor <= this.batchesPerEpoch
    )) {
      throw new RangeError(
        `EpochSampler: bad state ${JSON.stringify(s)} (${this.batchesPerEpoch} batches per epoch)`,
      );
    }
    this.state = { ...s };
    this.order = null;
  }
}
