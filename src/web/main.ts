/**
 * The demo page: DOM and event wiring around the core (face-demo.ts), which does every
 * computation. Files are fetched relative to the page (files/<repository path>, model/<face-api
 * file>), served by tools/web.ts in development and copied beside the page by its --build.
 *
 * One queue runs the GPU work in order; a control moved while a face renders asks for one more
 * render with the latest values (older requests are dropped), so dragging a slider never piles
 * up work. window.__demo is the end-to-end test's handle (test/browser/web-e2e.ts).
 */
import { initGpu } from '../gpu/browser.js';
import { getDevice } from '../gpu/runtime.js';
import { FaceDemo, missingLimits, type Face, type FaceParams, type Verification } from './face-demo.js';

declare global {
  interface Window {
    __demo?: DemoHandle;
  }
}

/** What the end-to-end test reads and drives. */
export interface DemoHandle {
  ready: boolean;
  error?: string;
  /** Resolves when no work is queued. */
  idle(): Promise<void>;
  /** ms of the last generated face (the shown frame time). */
  lastFrameMs: number;
  /** The raw image and the shipped recognizer's embedding of a face with the given factors (the parity check). */
  faceFor(p: FaceParams): Promise<{ raw: number[]; embedding: number[]; pixels: number[] }>;
  verification?: Verification;
  losses: number[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusLine = $('status');
const app = $('app');

function fail(message: string): void {
  statusLine.textContent = message;
  statusLine.classList.add('error');
  app.hidden = true;
  if (window.__demo) window.__demo.error = message;
}

/** The message for a browser without WebGPU or with too small an adapter; null when usable. */
async function webgpuProblem(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const enable =
    'Use a browser with WebGPU: Chrome or Edge 113+ on Windows, macOS or ChromeOS; on Linux, Chromium with ' +
    '--enable-unsafe-webgpu (and, without a GPU, its bundled SwiftShader) or chrome://flags/#enable-unsafe-webgpu; ' +
    'Firefox 141+ on Windows, or Nightly with dom.webgpu.enabled; Safari 26+. ' +
    'The page must come from https:// or http://127.0.0.1 (a secure context).';
  if (!window.isSecureContext)
    return `This page is not a secure context (${location.origin}), so the browser hides WebGPU. ${enable}`;
  if (!gpu) return `This browser has no WebGPU (navigator.gpu is undefined). ${enable}`;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter)
    return `WebGPU is there but gave no adapter (the GPU may be blocklisted or WebGPU disabled). ${enable}`;
  const missing = missingLimits(adapter.limits as unknown as Record<string, unknown>);
  if (missing.length)
    return (
      `The WebGPU adapter lacks limits the engine's kernels need:\n  ${missing.join('\n  ')}\n` +
      'Try another adapter (a discrete GPU, or Chromium with --enable-unsafe-webgpu) or update the browser and drivers.'
    );
  return null;
}

const read = async (path: string): Promise<Uint8Array> => {
  const res = await fetch(`files/${path}`);
  if (!res.ok) throw new Error(`files/${path}: HTTP ${res.status} (is it served? see npm run web)`);
  return new Uint8Array(await res.arrayBuffer());
};
const readModel = async (file: string): Promise<Uint8Array> => {
  const res = await fetch(`model/${encodeURIComponent(file)}`);
  if (!res.ok) throw new Error(`model/${file}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
};

// ---------------------------------------------------------------- small DOM helpers

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}

function faceCanvas(id: string, caption: string, big = false): HTMLElement {
  const c = el('canvas', { id, width: 64, height: 64, className: big ? 'face big' : 'face' });
  return el('figure', {}, c, el('figcaption', { id: `${id}-caption` }, caption));
}

function drawFace(id: string, pixels: Uint8Array, R: number): void {
  const canvas = $<HTMLCanvasElement>(id);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const img = ctx.createImageData(R, R);
  for (let p = 0; p < R * R; p++) {
    for (let c = 0; c < 3; c++) img.data[p * 4 + c] = pixels[c * R * R + p];
    img.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** A labelled range input; `format` shows its value. */
function slider(
  id: string,
  label: string,
  [min, max]: [number, number],
  value: number,
  onInput: () => void,
  format = (v: number) => v.toFixed(2),
): HTMLElement {
  const out = el('output', { id: `${id}-value` }, format(value));
  const input = el('input', {
    id,
    type: 'range',
    min: String(min),
    max: String(max),
    step: String((max - min) / 400),
    value: String(value),
  });
  input.addEventListener('input', () => {
    out.textContent = format(Number(input.value));
    onInput();
  });
  return el(
    'label',
    { className: 'row', title: `training range ${format(min)} .. ${format(max)}` },
    label,
    input,
    out,
  );
}

const num = (id: string) => Number($<HTMLInputElement>(id).value);
const randomSeed = () => Math.floor(Math.random() * 1_000_000);

// ---------------------------------------------------------------- the work queue

let chain: Promise<void> = Promise.resolve();
let pending = 0;
function enqueue(task: () => Promise<void>): Promise<void> {
  pending++;
  const run = chain.then(task).catch((e: Error) => {
    console.error(e);
    statusLine.textContent = `error: ${e.message}`;
  });
  chain = run.finally(() => pending--);
  return chain;
}

/** A render that coalesces: while one runs, later requests collapse into one more. */
function coalesced(task: () => Promise<void>): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    void enqueue(async () => {
      queued = false;
      await task();
    });
  };
}

// ---------------------------------------------------------------- the page

async function main(): Promise<void> {
  const handle: DemoHandle = {
    ready: false,
    idle: async () => {
      while (pending > 0) await chain;
    },
    lastFrameMs: NaN,
    faceFor: async () => {
      throw new Error('not ready');
    },
    losses: [],
  };
  window.__demo = handle;
  const problem = await webgpuProblem();
  if (problem) return fail(problem);
  const device = await initGpu({ autotune: false });
  statusLine.textContent = `WebGPU adapter: ${device.adapter.name}. Loading the weights…`;
  const demo = await FaceDemo.open(read, (s) => (statusLine.textContent = `${device.adapter.name}: ${s}…`));
  const R = demo.resolution;
  const { ranges } = demo;
  const k = demo.setup.config.expDim;

  // ------------------------------------------------ state
  const faces: Record<string, { face: Face | null; label: string }> = {
    a: { face: null, label: 'face A' },
    b: { face: null, label: 'face B' },
    mix: { face: null, label: 'A x B (identity mixup)' },
    real: { face: null, label: 'real face' },
    dm: { face: null, label: 'A + real (domain mixup)' },
  };
  const params = (identity: number): FaceParams => ({
    identity,
    seed: num('seed'),
    yaw: num('yaw'),
    pitch: num('pitch'),
    expression: Array.from({ length: k }, (_, j) => num(`exp-${j}`)),
    light: Array.from({ length: 6 }, (_, j) => num(`light-${j}`)),
  });

  // ------------------------------------------------ the render steps
  const renderA = async () => {
    const t0 = performance.now();
    faces.a.face = await demo.generate(params(num('identity')));
    const ms = performance.now() - t0;
    handle.lastFrameMs = ms;
    for (const id of ['face-a', 'face-a-copy', 'face-a-copy2']) drawFace(id, faces.a.face.pixels, R);
    $('ms').textContent = `${ms.toFixed(0)} ms per face`;
  };
  const renderB = async () => {
    faces.b.face = await demo.generate(params(num('identity-b')));
    drawFace('face-b', faces.b.face.pixels, R);
  };
  const renderMix = async () => {
    const phi = num('phi');
    faces.mix.face = await demo.generate({
      ...params(num('identity')),
      mix: { identity: num('identity-b'), phi },
    });
    drawFace('face-mix', faces.mix.face.pixels, R);
  };
  const renderReal = async () => {
    faces.real.face = await demo.realFace(num('real'));
    drawFace('face-real', faces.real.face.pixels, R);
  };
  const renderDm = async () => {
    if (!faces.a.face || !faces.real.face) return;
    faces.dm.face = await demo.domainMix(faces.a.face, faces.real.face, num('psi'));
    drawFace('face-dm', faces.dm.face.pixels, R);
  };
  const renderVerify = async () => {
    const a = faces[$<HTMLSelectElement>('verify-a').value].face;
    const b = faces[$<HTMLSelectElement>('verify-b').value].face;
    if (!a || !b) return;
    const v = await demo.verify(a, b);
    handle.verification = v;
    const dlib = v.dlib
      ? ` · dlib distance ${v.dlib.distance.toFixed(3)}: <span class="${v.dlib.same ? 'same' : 'different'}">${v.dlib.same ? 'same' : 'different'}</span> (threshold 0.6)`
      : '';
    $('verify-result').innerHTML =
      `cosine <b>${v.cosine.toFixed(3)}</b> · threshold ${v.threshold.toFixed(3)} · ` +
      `<span class="${v.same ? 'same' : 'different'}">${v.same ? 'same person' : 'different people'}</span>${dlib}`;
  };
  // what depends on what
  const updateAll = coalesced(async () => {
    await renderA();
    await renderB();
    await renderMix();
    await renderDm();
    await renderVerify();
  });
  const updateB = coalesced(async () => {
    await renderB();
    await renderMix();
    await renderVerify();
  });
  const updateMix = coalesced(async () => {
    await renderMix();
    await renderVerify();
  });
  const updateReal = coalesced(async () => {
    await renderReal();
    await renderDm();
    await renderVerify();
  });
  const updateDm = coalesced(async () => {
    await renderDm();
    await renderVerify();
  });
  const updateVerify = coalesced(renderVerify);

  // ------------------------------------------------ panel: face A
  const m = ranges.median;
  const seedInput = (id: string, value: number, onChange: () => void) => {
    const i = el('input', { id, type: 'number', value: String(value), min: '0', step: '1' });
    i.addEventListener('change', onChange);
    return i;
  };
  const another = (id: string, target: string, onChange: () => void) => {
    const b = el('button', { id, type: 'button' }, 'another one');
    b.addEventListener('click', () => {
      $<HTMLInputElement>(target).value = String(randomSeed());
      onChange();
    });
    return b;
  };
  const LIGHT = ['brightness', 'light left-right', 'light top-bottom', 'u² term', 'uv term', 'v² term'];
  const deg = (v: number) => `${v.toFixed(1)}°`;
  const panelA = el(
    'section',
    {},
    el('h2', {}, 'A synthetic face'),
    el(
      'div',
      { className: 'faces' },
      faceCanvas('face-a', 'face A', true),
      el(
        'div',
        { className: 'controls' },
        el(
          'div',
          { className: 'inline' },
          'identity seed',
          seedInput('identity', 7, updateAll),
          another('another', 'identity', updateAll),
        ),
        el('div', { className: 'inline' }, 'z, roll and noise seed', seedInput('seed', 1, updateAll)),
        el('div', { className: 'inline' }, el('b', { id: 'ms' }, '')),
      ),
    ),
    slider('yaw', 'yaw', ranges.yaw, m.yaw, updateAll, deg),
    slider('pitch', 'pitch', ranges.pitch, m.pitch, updateAll, deg),
    ...Array.from({ length: k }, (_, j) =>
      slider(
        `exp-${j}`,
        `expression ${j + 1}`,
        [ranges.expression.min[j], ranges.expression.max[j]],
        m.expression[j],
        updateAll,
      ),
    ),
    ...LIGHT.map((name, j) =>
      slider(`light-${j}`, name, [ranges.light.min[j], ranges.light.max[j]], m.light[j], updateAll),
    ),
    el(
      'p',
      { className: 'note' },
      'Each slider spans the smallest to the largest value measured on the generator’s training faces ' +
        '(LFW devtrain minus the validation people); it starts at the median. Expression: the components of ' +
        'the factors file’s PCA of landmark residuals (1 is the largest). Lighting: the quadratic fit of the ' +
        'face’s luminance (a + b u + c v + …, src/face/lighting.ts).',
    ),
  );

  // ------------------------------------------------ panel: identity mixup
  const panelMix = el(
    'section',
    {},
    el('h2', {}, 'Identity mixup'),
    el(
      'div',
      { className: 'inline' },
      'second identity seed',
      seedInput('identity-b', 8, updateB),
      another('another-b', 'identity-b', updateB),
    ),
    el(
      'div',
      { className: 'faces' },
      faceCanvas('face-a-copy', 'A (phi = 1)'),
      faceCanvas('face-mix', 'phi A + (1 - phi) B'),
      faceCanvas('face-b', 'B (phi = 0)'),
    ),
    slider('phi', 'phi', [0, 1], 0.5, updateMix),
    el(
      'p',
      { className: 'note' },
      'The identity codes of A and B are mixed before the mapping network, the other factors shared; ' +
        'SynFace labels such an image (A, phi), (B, 1 - phi).',
    ),
  );

  // ------------------------------------------------ panel: domain mixup
  const select = el('select', { id: 'real' });
  demo.sample.forEach((s, i) =>
    select.append(
      el(
        'option',
        { value: String(i) },
        `${s.person.replace(/_/g, ' ')} ${s.index}${s.heldOut ? ' (held out)' : ''}`,
      ),
    ),
  );
  select.addEventListener('change', updateReal);
  const panelDm = el(
    'section',
    {},
    el('h2', {}, 'Domain mixup'),
    el('div', { className: 'inline' }, 'real face (embedded LFW sample)', select),
    el(
      'div',
      { className: 'faces' },
      faceCanvas('face-a-copy2', 'A (psi = 1)'),
      faceCanvas('face-dm', 'psi A + (1 - psi) real'),
      faceCanvas('face-real', 'real (psi = 0)'),
    ),
    slider('psi', 'psi', [0, 1], 0.5, updateDm),
    el(
      'p',
      { className: 'note' },
      'Blended in the recognizer’s normalized pixel space, as the training blends a batch. “Held out”: ' +
        'people of the shipped recognizer’s validation split, never trained on.',
    ),
  );

  // ------------------------------------------------ panel: verification
  const faceSelect = (id: string, value: string) => {
    const s = el('select', { id });
    for (const [key, f] of Object.entries(faces)) s.append(el('option', { value: key }, f.label));
    s.value = value;
    s.addEventListener('change', updateVerify);
    return s;
  };
  const recognizerSelect = el(
    'select',
    { id: 'recognizer' },
    el('option', { value: 'shipped' }, 'shipped (weights/recognizer-small)'),
    el('option', { value: 'trained', disabled: true }, 'trained in this page'),
  );
  const dlibButton = el('button', { id: 'load-dlib', type: 'button' }, 'load dlib’s reference (6.4 MB)');
  dlibButton.addEventListener('click', () => {
    dlibButton.disabled = true;
    dlibButton.textContent = 'loading dlib…';
    void enqueue(async () => {
      await demo.loadDlib(readModel);
      dlibButton.textContent = 'dlib loaded';
    }).then(updateVerify);
  });
  const panelVerify = el(
    'section',
    {},
    el('h2', {}, 'Verification'),
    el('div', { className: 'inline' }, faceSelect('verify-a', 'a'), 'vs', faceSelect('verify-b', 'real')),
    el('div', { className: 'inline' }, 'recognizer', recognizerSelect),
    el('div', { id: 'verify-result', className: 'result' }, '…'),
    dlibButton,
    el(
      'p',
      { className: 'note' },
      `The cosine of the two embeddings; “same” above the threshold ${demo.threshold.toFixed(3)} chosen on ` +
        'the validation pairs (weights/recognizer-small.manifest.json, 84.6% on 1,000 held-out pairs). ' +
        'dlib’s descriptor (face-api’s weights, trained on ~3M faces) is an independent judge.',
    ),
  );

  // ------------------------------------------------ panel: training
  let trained: Awaited<ReturnType<FaceDemo['train']>>['trainer'] | null = null;
  recognizerSelect.addEventListener('change', () => {
    demo.useRecognizer(recognizerSelect.value === 'trained' && trained ? trained.model.backbone : null);
    updateVerify();
  });
  const steps = el('input', { id: 'train-steps', type: 'number', value: '40', min: '1', max: '500' });
  const trainButton = el('button', { id: 'train', type: 'button' }, 'train');
  const curve = el('canvas', { id: 'loss-curve', className: 'curve', width: 520, height: 180 });
  const trainStatus = el('div', { id: 'train-status', className: 'result' }, '');
  const trainPeople = new Set(demo.sample.filter((s) => !s.heldOut).map((s) => s.person)).size;
  const trainImages = demo.sample.filter((s) => !s.heldOut).length;
  trainButton.addEventListener('click', () => {
    trainButton.disabled = true;
    const n = Math.max(1, Math.min(500, Math.round(Number(steps.value))));
    handle.losses = [];
    void enqueue(async () => {
      trained?.dispose();
      trained = null;
      demo.useRecognizer(null);
      recognizerSelect.value = 'shipped';
      const t0 = performance.now();
      const { trainer } = await demo.train({
        steps: n,
        batch: 32,
        onStep: async (s, loss, ms) => {
          handle.losses.push(loss);
          drawCurve(curve, handle.losses, n);
          trainStatus.textContent = `step ${s} / ${n} · loss ${loss.toFixed(3)} · ${ms.toFixed(0)} ms per step`;
          await new Promise((r) => requestAnimationFrame(() => r(null))); // let the page paint
        },
      });
      trained = trainer;
      const sec = (performance.now() - t0) / 1000;
      trainStatus.textContent = `${n} steps in ${sec.toFixed(1)} s · loss ${handle.losses[0].toFixed(2)} → ${handle.losses[n - 1].toFixed(2)}`;
      (recognizerSelect.options[1] as HTMLOptionElement).disabled = false;
      trainButton.disabled = false;
    });
  });
  const panelTrain = el(
    'section',
    {},
    el('h2', {}, 'Train in the page'),
    el('div', { className: 'inline' }, 'steps', steps, trainButton),
    curve,
    trainStatus,
    el(
      'p',
      { className: 'note' },
      `The small recognizer (IResNet 16..128 channels, ArcFace s 30, m 0.5 warmed up) from scratch on the ` +
        `sample’s ${trainImages} images of ${trainPeople} training people, batch 32, SGD with momentum, ` +
        'GPU augmentation: the same trainer as synface train-recognizer, forward and backward on WebGPU. ' +
        'Pick it as the recognizer above to verify with it.',
    ),
  );

  app.append(panelA, panelMix, panelDm, panelVerify, panelTrain);
  app.hidden = false;
  handle.faceFor = async (p) =>
    new Promise((resolve, reject) =>
      enqueue(async () => {
        try {
          const f = await demo.generate(p);
          const [e] = await demo.embed([f], demo.shipped);
          resolve({ raw: Array.from(f.raw!), embedding: Array.from(e), pixels: Array.from(f.pixels) });
        } catch (e) {
          reject(e);
        }
      }),
    );
  await enqueue(renderReal);
  updateAll();
  await handle.idle();
  statusLine.textContent =
    `WebGPU adapter: ${getDevice().adapter.name} · generator ${demo.info.generator} · recognizer ${demo.info.recognizer}` +
    ` · ${demo.sample.length} real faces. ` +
    'The generator is an intermediate export of a training run: blurry, speckled faces are expected.';
  handle.ready = true;
}

/** The loss per step, on a fixed x axis of `steps`. */
function drawCurve(canvas: HTMLCanvasElement, losses: number[], steps: number): void {
  const ctx = canvas.getContext('2d')!;
  const W = canvas.width,
    H = canvas.height,
    pad = 32;
  ctx.clearRect(0, 0, W, H);
  const hi = Math.max(...losses) * 1.05,
    lo = Math.min(0, Math.min(...losses));
  const x = (i: number) => pad + ((W - pad - 8) * i) / Math.max(1, steps - 1);
  const y = (v: number) => H - 20 - ((H - 30) * (v - lo)) / (hi - lo || 1);
  ctx.strokeStyle = '#c9ced6';
  ctx.beginPath();
  ctx.moveTo(pad, 8);
  ctx.lineTo(pad, H - 20);
  ctx.lineTo(W - 8, H - 20);
  ctx.stroke();
  ctx.fillStyle = '#6b7385';
  ctx.font = '11px system-ui';
  ctx.fillText(hi.toFixed(1), 2, 14);
  ctx.fillText(lo.toFixed(1), 2, H - 20);
  ctx.fillText(`step ${steps}`, W - 60, H - 6);
  ctx.fillText('loss', pad + 4, 14);
  ctx.strokeStyle = '#2a5d9f';
  ctx.lineWidth = 2;
  ctx.beginPath();
  losses.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
  ctx.stroke();
}

main().catch((e: Error) => {
  console.error(e);
  fail(`The demo could not start: ${e.message}`);
});
