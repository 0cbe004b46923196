/**
 * `synface generate [--weights W] [--seed S] [--identity sample|N] [--yaw D|sample]
 *  [--pitch D|sample] [--expression c1,c2,...|sample] [--light l1,...,l6|sample] [--grid RxC]
 *  --out file.png`
 *
 * One face, or a grid (rows: identities; columns: draws of the sampled factors), from the
 * generator (src/eval/generate.ts, generator-requests.ts). A factor outside the range measured
 * on the training data, a wrong number of code values or weights of another architecture are
 * errors that name them; nothing is written then.
 */
import { generateFaces } from '../src/eval/generate.js';
import { shippedGeneratorPath } from '../src/io/package-files.js';
import { parseArgs, usage, type OptionSpec } from './args.js';
import { LFW_FACTORS } from './train-generator.js';

/** Where the priors of new faces come from: the options of generate and synthesize. */
export const PRIOR_OPTIONS: Record<string, OptionSpec> = {
  factors: {
    type: 'string',
    help: "the data's analyze file (priors and ranges)",
    default: LFW_FACTORS,
  },
  split: {
    type: 'string',
    help: 'folder of val-people.txt (left out of the priors)',
    default: 'weights/split',
  },
  'min-distance': {
    type: 'number',
    help: "new identities' least distance to a training person (default: 25th percentile of the people's nearest-other distances)",
    min: 0,
  },
  'identity-spread': {
    type: 'number',
    help: "scale of the identity prior's spread (1: as fitted to the training people; above 1: people further apart)",
    default: 1,
    min: 0.01,
  },
};

/** PRIOR_OPTIONS' values for openGenerator. */
export function priorChoice(o: Record<string, unknown>): { minDistance?: number; identitySpread: number } {
  return {
    minDistance: o['min-distance'] === undefined ? undefined : Number(o['min-distance']),
    identitySpread: Number(o['identity-spread']),
  };
}

const SPEC: Record<string, OptionSpec> = {
  weights: { type: 'string', help: 'generator weights (default: the shipped weights/generator.safetensors)' },
  seed: {
    type: 'number',
    help: 'seed of sampled identities, factors, z and noise',
    default: 0,
    int: true,
    min: 0,
  },
  identity: {
    type: 'string',
    help: "'sample', or a number: the same identity whenever named",
    default: 'sample',
  },
  yaw: {
    type: 'string',
    help: "degrees (> 0: turned to the subject's left), or 'sample'",
    default: 'sample',
  },
  pitch: { type: 'string', help: "degrees (> 0: up), or 'sample'", default: 'sample' },
  expression: {
    type: 'string',
    help: "the expression code c1,c2,... (the factors file's PCA), or 'sample'",
    default: 'sample',
  },
  light: { type: 'string', help: "the lighting code a,b,c,d,e,f, or 'sample'", default: 'sample' },
  grid: { type: 'string', help: 'rows x columns, e.g. 4x6', default: '1x1' },
  out: { type: 'string', help: 'the PNG to write' },
  ...PRIOR_OPTIONS,
  help: { type: 'flag', help: 'this text' },
};

function numberOrSample(name: string, v: string): number | 'sample' {
  if (v === 'sample') return v;
  const x = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(x))
    throw new Error(`synface generate: --${name} needs a number or 'sample', got '${v}'`);
  return x;
}

function listOrSample(name: string, v: string): number[] | 'sample' {
  if (v === 'sample') return v;
  const xs = v.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (!xs.every(Number.isFinite))
    throw new Error(`synface generate: --${name} needs comma-separated numbers or 'sample', got '${v}'`);
  return xs;
}

export async function generateCommand(args: string[]): Promise<number> {
  const o = parseArgs('generate', args, SPEC);
  if (o.help) {
    console.log(usage('generate', 'Faces from the generator: a seed and explicit or sampled factors.', SPEC));
    return 0;
  }
  if (!o.out) throw new Error('synface generate: --out is required (see synface generate --help)');
  const grid = /^(\d+)x(\d+)$/.exec(String(o.grid));
  if (!grid || Number(grid[1]) < 1 || Number(grid[2]) < 1)
    throw new Error(`synface generate: --grid needs ROWSxCOLUMNS, e.g. 4x6, got '${o.grid}'`);
  const identity = String(o.identity);
  if (identity !== 'sample' && !/^\d+$/.test(identity))
    throw new Error(`synface generate: --identity needs 'sample' or a whole number >= 0, got '${identity}'`);
  const r = await generateFaces({
    weights: o.weights ? String(o.weights) : shippedGeneratorPath(),
    factors: String(o.factors),
    split: String(o.split),
    out: String(o.out),
    seed: Number(o.seed),
    identity: identity === 'sample' ? 'sample' : Number(identity),
    yaw: numberOrSample('yaw', String(o.yaw)),
    pitch: numberOrSample('pitch', String(o.pitch)),
    expression: listOrSample('expression', String(o.expression)),
    light: listOrSample('light', String(o.light)),
    rows: Number(grid[1]),
    columns: Number(grid[2]),
    ...priorChoice(o),
  });
  console.log(`generate: wrote ${r.out} (${r.image.width}x${r.image.height})`);
  return 0;
}
