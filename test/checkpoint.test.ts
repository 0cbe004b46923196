/**
 * Checkpoints of model, optimizer and random state: exact resume, snapshots, atomic writes, clear errors.
 * Oracle: an uninterrupted run (bit-identical losses after restore) and file round trips.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as E from '../src/index.js';
import { Linear, Sequential } from '../src/nn/index.js';
import { Adam, SGD, type Optimizer } from '../src/optim/index.js';
import { buildCheckpoint, parseCheckpoint, restoreCheckpoint } from '../src/io/checkpoint.js';
import { fromF16, toF16 } from '../src/io/half.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { copyInto, readTensors } from '../src/tensor/tensor-data.js';
import { loadCheckpoint, readCheckpoint, saveCheckpoint, writeFileAtomic } from '../src/io/node-files.js';

const dir = mkdtempSync(join(tmpdir(), 'synface-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small run whose every step draws fresh data (and a dropout mask) from `data`. */
function setup(initSeed: number, dataSeed: number, kind: 'sgd' | 'adam', hidden = 16) {
  const init = new E.Generator(initSeed);
  const model = new Sequential(
    new Linear(3, hidden, { gen: init }),
    E.tanh,
    new Linear(hidden, 2, { gen: init }),
  );
  const optimizer: Optimizer<{ lr: number }> =
    kind === 'sgd'
      ? new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })
      : new Adam(model.parameters(), { lr: 0.01 });
  const data = new E.Generator(dataSeed);
  const step = () =>
    E.scope(() => {
      const x = E.randn([8, 3], 0, 1, data);
      const target = E.rand([8, 2], -1, 1, data);
      const h = E.mul(model.forward(x), E.dropoutMask([8, 2], 0.25, data));
      const loss = E.mean(E.square(E.sub(h, target)));
      E.backward(loss);
      optimizer.step();
      optimizer.zeroGrad();
      return loss;
    });
  const train = async (k: number) => {
    const losses: number[] = [];
    for (let s = 0; s < k; s++) {
      const l = step();
      losses.push(await l.item());
      l.dispose();
    }
    return losses;
  };
  const dispose = () => {
    model.dispose();
    optimizer.dispose();
  };
  return { model, optimizer, data, train, dispose };
}

describe('checkpoint', () => {
  for (const kind of ['sgd', 'adam'] as const) {
    it(`${kind}: train k, save, train k == restore into a fresh run, train k (bit-identical losses)`, async () => {
      const path = join(dir, `${kind}.safetensors`);
      const a = setup(1, 2, kind);
      await a.train(5);
      await saveCheckpoint(path, {
        model: a.model,
        optimizer: a.optimizer,
        step: 5,
        rng: { data: a.data },
        config: { kind, hidden: 16 },
      });
      const continued = await a.train(5);

      const b = setup(77, 78, kind); // different init and data streams: all of it must come from the file
      const { step, config } = loadCheckpoint(path, {
        model: b.model,
        optimizer: b.optimizer,
        rng: { data: b.data },
      });
      expect(step).toBe(5);
      expect(config).toEqual({ kind, hidden: 16 });
      const resumed = await b.train(5);
      expect(resumed).toEqual(continued);
      for (const [name, t] of b.model.namedParameters())
        expect([...(await t.toArray())], name).toEqual([...(await a.model.stateDict()[name].toArray())]);
      a.dispose();
      b.dispose();
    });
  }

  it('the bytes are a snapshot of the moment buildCheckpoint is called', async () => {
    const a = setup(3, 4, 'sgd');
    await a.train(2);
    const pending = buildCheckpoint({ model: a.model, step: 2 });
    const before = await a.model.parameters()[0].toArray();
    const l = await a.train(1); // runs while the readback is in flight
    expect(l.length).toBe(1);
    const ckpt = parseCheckpoint(await pending);
    expect([...ckpt.model['0.weight'].data]).toEqual([...before]);
    expect(ckpt.optimizer).toBeNull();
    a.dispose();
  });

  it('half: the model in F16 (read back as the nearest f16 values), the optimizer exact', async () => {
    const a = setup(11, 12, 'adam');
    await a.train(2);
    const parts = { model: a.model, optimizer: a.optimizer, step: 2, rng: { data: a.data } };
    const full = await buildCheckpoint(parts);
    const half = await buildCheckpoint(parts, { half: true });
    const exact = parseCheckpoint(full, 'full');
    const { stored } = parseSafetensors(half, 'half');
    for (const [name, dtype] of Object.entries(stored))
      expect(dtype, name).toBe(name.startsWith('model/') ? 'F16' : 'F32');
    // the data (after the 8-byte length and the header) is 2 bytes shorter per model value
    const dataBytes = (b: Uint8Array) =>
      b.length - 8 - Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
    const modelValues = Object.values(exact.model).reduce((n, t) => n + t.data.length, 0);
    expect(dataBytes(full) - dataBytes(half)).toBe(2 * modelValues);
    // restored into a fresh run: the weights are the f16-rounded ones, Adam's moments exact
    const b = setup(77, 78, 'adam');
    expect(
      restoreCheckpoint(parseCheckpoint(half, 'half'), {
        model: b.model,
        optimizer: b.optimizer,
        rng: { data: b.data },
      }),
    ).toBe(2);
    for (const [name, t] of Object.entries(exact.model)) {
      const rounded = fromF16(toF16(t.data as Float32Array));
      expect([...(await b.model.stateDict()[name].toArray())], name).toEqual([...rounded]);
    }
    const bOpt = await readTensors(b.optimizer.stateDict().tensors);
    for (const [name, t] of Object.entries(exact.optimizer!.tensors))
      expect(bOpt[name].data, name).toEqual(t.data);
    expect((await b.train(2)).every(Number.isFinite)).toBe(true);
    // a weight f16 cannot hold is an error naming it, not an Inf in the file
    copyInto(a.model.stateDict()['2.bias'], { dtype: 'f32', shape: [2], data: Float32Array.of(1e5, 0) });
    await expect(buildCheckpoint(parts, { half: true })).rejects.toThrow(
      /tensor 'model\/2\.bias' \[2\] holds 100000 at index 0, which half precision cannot hold/,
    );
    a.dispose();
    b.dispose();
  });

  it('a truncated file gives a clear error naming the file', async () => {
    const path = join(dir, 'truncated.safetensors');
    const a = setup(5, 6, 'adam');
    await saveCheckpoint(path, { model: a.model, optimizer: a.optimizer, step: 0 });
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 10));
    expect(() => loadCheckpoint(path, { model: a.model })).toThrow(
      new RegExp(
        `^${path.replace(/[.]/g, '\\.')}: tensor '[^']+': data_offsets .* go past the end of the data .*truncated file`,
      ),
    );
    writeFileSync(path, bytes.subarray(0, 100));
    expect(() => readCheckpoint(path)).toThrow(/truncated\.safetensors: truncated: the header needs/);
    const corrupt = Uint8Array.from(bytes);
    corrupt[9] = 0x7b; // the opening quote of the first key
    writeFileSync(path, corrupt);
    expect(() => readCheckpoint(path)).toThrow(/truncated\.safetensors: the header is not valid JSON/);
    a.dispose();
  });

  it('a checkpoint of another architecture names the tensor and both shapes', async () => {
    const path = join(dir, 'arch.safetensors');
    const a = setup(5, 6, 'sgd', 16);
    await saveCheckpoint(path, { model: a.model, optimizer: a.optimizer, step: 3 });
    const b = setup(5, 6, 'sgd', 8);
    expect(() => loadCheckpoint(path, { model: b.model })).toThrow(
      /arch\.safetensors: Sequential\.loadStateDict: '0\.weight' has shape \[16, 3\] in the state dict but \[8, 3\] in the model/,
    );
    const c = setup(5, 6, 'adam', 16);
    expect(() => loadCheckpoint(path, { model: c.model, optimizer: c.optimizer })).toThrow(
      /arch\.safetensors: Adam\.loadStateDict: the state is of a SGD optimizer/,
    );
    expect(() => loadCheckpoint(path, { model: c.model, rng: { data: c.data } })).toThrow(
      /no state for generator 'data'/,
    );
    expect(() => parseCheckpoint(readFileSync(path).subarray(0), 'x')).not.toThrow();
    for (const r of [a, b, c]) r.dispose();
  });

  it('a crash between writing the temp file and the rename leaves the old checkpoint intact', async () => {
    const path = join(dir, 'crash.safetensors');
    const a = setup(9, 10, 'adam');
    await saveCheckpoint(path, { model: a.model, optimizer: a.optimizer, step: 1 });
    const old = readFileSync(path);
    await a.train(2);
    const crash = new Error('simulated crash');
    await expect(
      saveCheckpoint(
        path,
        { model: a.model, optimizer: a.optimizer, step: 3 },
        {
          keepPrevious: true,
          beforeRename: () => {
            throw crash;
          },
        },
      ),
    ).rejects.toBe(crash);
    expect(readFileSync(path).equals(old)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('crash.safetensors.tmp-')).length).toBe(1); // what a crash leaves
    expect(readCheckpoint(path).step).toBe(1);
    // the next save succeeds, keeps the previous file as .prev and sweeps the stale temp file
    await saveCheckpoint(path, { model: a.model, optimizer: a.optimizer, step: 3 });
    expect(readCheckpoint(path).step).toBe(3);
    expect(readFileSync(`${path}.prev`).equals(old)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('crash.safetensors.tmp-'))).toEqual([]);
    a.dispose();
  });

  it('writeFileAtomic creates and replaces files', () => {
    const path = join(dir, 'plain.bin');
    writeFileAtomic(path, Uint8Array.of(1, 2, 3));
    writeFileAtomic(path, Uint8Array.of(4, 5));
    expect([...readFileSync(path)]).toEqual([4, 5]);
    expect(existsSync(`${path}.prev`)).toBe(false);
  });
});
