/**
 * SynFace's comparison at this machine's scale (Node), as `synface experiment` runs it:
 *
 *   arm            trains on                                            the paper's row
 *   real-all       every training person of the split (LFW devtrain)    Real
 *   real-quarter   M of them (subsetPeople's fixed choice)              Real(M)
 *   syn            N synthetic identities x K images                    Syn
 *   syn-im         the same, every image identity-mixed                 Syn + IM
 *   syn-im-dm      syn-im's data with domain mixup against the M people Syn + IM + DM(M)
 *   syn-dm         syn's data with domain mixup against the M people    (not in the paper: tells
 *                                                                       the two mixups apart;
 *                                                                       run when asked for)
 *
 * Every arm is a recognizer run of the same preset (train-recognizer, its own folder under
 * `out`, resumable) with the same budget: the same steps at the same batch, i.e. the same
 * number of images seen, whatever the size of its data. The two synthetic datasets are made
 * first (synthesize: resumable, under out/data/), with the same seed, so syn and syn-im show
 * the same identity codes, expressions, poses and lightings, syn-im with its phi mixes.
 * Validation is on the split's held-out people, whom no model (generator included) has seen.
 *
 * Files: out/<arm>/ (a train-recognizer folder), out/results.json, results.md (the table and
 * the differences the paper is about, with the folds' std beside them), results.png.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthesizeDataset } from '../eval/synthesize.js';
import { writeFileAtomic } from '../io/node-files.js';
import { barChart } from '../plot/bar-chart.js';
import { writePng } from '../plot/png-node.js';
import { trainRecognizer, type RecognizerReport } from './recognizer-run.js';
import type { Progress } from './runner.js';

/** The paper's five arms (the default), then the diagnostic ones. */
export const PAPER_ARMS = ['real-all', 'real-quarter', 'syn', 'syn-im', 'syn-im-dm'] as const;
export const ARMS = [...PAPER_ARMS, 'syn-dm'] as const;
export type Arm = (typeof ARMS)[number];

export interface ExperimentOptions {
  /** Generator weights and the factors file its priors come from. */
  generator: string;
  factors: string;
  /** The real faces (LFW layout), its people file, and the split (train-people.txt, val-pairs.txt). */
  data: string;
  people: string;
  split: string;
  out: string;
  /** Synthetic identities N and images per identity K. */
  ids: number;
  perId: number;
  /** Scale of the identity prior's spread for the synthetic people (1: as fitted; identity-prior.ts widenPrior). */
  identitySpread: number;
  /** M: the real people of real-quarter and of syn-im-dm's domain mixup. */
  realPeople: number;
  /** Every arm's budget: optimizer steps at `batch`. */
  steps: number;
  batch?: number;
  preset: 'small' | 'paper';
  arms: readonly Arm[];
  seed: number;
  /** Images per generator batch (part of a synthetic dataset's definition). */
  synthBatch: number;
  /** Stop (every run resumable) after this many seconds. */
  maxSeconds?: number;
  signal?: AbortSignal;
  log: (line: string) => void;
  onProgress?: (p: Progress) => void;
  onSynthProgress?: (done: number, total: number, perSecond: number) => void;
}

export interface ArmResult {
  arm: Arm;
  report: RecognizerReport;
}

export interface ExperimentResult {
  status: 'finished' | 'stopped';
  results: ArmResult[];
  files: string[];
}

const ROWS: Record<Arm, string> = {
  'real-all': 'Real (all training people)',
  'real-quarter': 'Real (M people)',
  syn: 'Syn',
  'syn-im': 'Syn + IM',
  'syn-im-dm': 'Syn + IM + DM (M people)',
  'syn-dm': 'Syn + DM (M people)',
};

/** The pairs the paper's claims compare: [better, than]. */
const CLAIMS: [Arm, Arm][] = [
  ['syn-im', 'syn'],
  ['syn-im-dm', 'real-quarter'],
  ['syn-im-dm', 'syn-im'],
  ['real-all', 'real-quarter'],
  ['syn-dm', 'syn'],
  ['syn-dm', 'real-quarter'],
];

const datasetDir = (o: ExperimentOptions, mixup: boolean) => join(o.out, 'data', mixup ? 'syn-im' : 'syn');

/** The train-recognizer options of an arm (see the table in the header). */
function armData(o: ExperimentOptions, arm: Arm) {
  const real = { layout: 'lfw' as const, data: o.data, people: o.people };
  const val = { valData: o.data, valPairs: join(o.split, 'val-pairs.txt') };
  switch (arm) {
    case 'real-all':
      return real;
    case 'real-quarter':
      return { ...real, maxPeople: o.realPeople };
    case 'syn':
    case 'syn-im':
      return { layout: 'synthetic' as const, data: datasetDir(o, arm === 'syn-im'), people: '', ...val };
    case 'syn-im-dm':
    case 'syn-dm':
      return {
        layout: 'synthetic' as const,
        data: datasetDir(o, arm === 'syn-im-dm'),
        people: '',
        ...val,
        real: { data: o.data, people: o.people, split: o.split, count: o.realPeople },
      };
  }
}

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const t0 = performance.now();
  const left = () =>
    o.maxSeconds === undefined ? undefined : o.maxSeconds - (performance.now() - t0) / 1000;
  const unknown = o.arms.filter((a) => !ARMS.includes(a));
  if (unknown.length) throw new Error(`experiment: unknown arm ${unknown.join(', ')} (${ARMS.join(', ')})`);
  mkdirSync(o.out, { recursive: true });

  // ---- the synthetic datasets the arms need (resumable: complete identities are skipped)
  for (const mixup of [false, true]) {
    const needed = o.arms.some((a) =>
      mixup ? a === 'syn-im' || a === 'syn-im-dm' : a === 'syn' || a === 'syn-dm',
    );
    if (!needed) continue;
    const out = datasetDir(o, mixup);
    if (existsSync(join(out, 'labels.jsonl'))) continue;
    o.log(
      `experiment: synthesizing ${o.ids} x ${o.perId} images${mixup ? ' with identity mixup' : ''} into ${out}`,
    );
    await synthesizeDataset({
      weights: o.generator,
      factors: o.factors,
      split: o.split,
      out,
      ids: o.ids,
      perId: o.perId,
      mixup,
      seed: o.seed,
      identitySpread: o.identitySpread,
      batch: o.synthBatch,
      log: o.log,
      onProgress: o.onSynthProgress,
    });
    if (!existsSync(join(out, 'labels.jsonl'))) return { status: 'stopped', results: [], files: [] };
  }

  // ---- the arms, one resumable run each
  const results: ArmResult[] = [];
  for (const arm of o.arms) {
    const dir = join(o.out, arm);
    const reportPath = join(dir, 'report.json');
    if (!existsSync(reportPath)) {
      const seconds = left();
      if (seconds !== undefined && seconds <= 0) return { status: 'stopped', results, files: [] };
      o.log(`experiment: arm ${arm} (${ROWS[arm]}) in ${dir}`);
      const r = await trainRecognizer({
        ...armData(o, arm),
        preset: o.preset,
        split: o.split,
        valFraction: 0.15,
        out: dir,
        steps: o.steps,
        batch: o.batch,
        seed: o.seed,
        resume: existsSync(join(dir, 'checkpoint.safetensors')),
        maxSeconds: seconds,
        command: `synface experiment (arm ${arm})`,
        signal: o.signal,
        log: o.log,
        onProgress: o.onProgress,
      });
      if (r.status !== 'finished') return { status: 'stopped', results, files: [] };
    }
    results.push({ arm, report: JSON.parse(readFileSync(reportPath, 'utf8')) as RecognizerReport });
  }
  return { status: 'finished', results, files: writeResults(o, results) };
}

const pct = (v: number | null) => (v === null ? '-' : (100 * v).toFixed(2));

/** The difference of two arms' accuracies in points, and whether it exceeds the larger of their folds' std. */
export function compareArms(
  a: RecognizerReport,
  b: RecognizerReport,
): { points: number; exceedsStd: boolean } {
  const points = 100 * ((a.val_accuracy ?? NaN) - (b.val_accuracy ?? NaN));
  return { points, exceedsStd: Math.abs(points) > 100 * Math.max(a.val_std ?? NaN, b.val_std ?? NaN) };
}

function resultsTable(o: ExperimentOptions, results: ArmResult[]): string {
  const head = [
    `# SynFace at this machine's scale`,
    '',
    `Every arm: the \`${o.preset}\` preset, ${o.steps} steps at batch ${results[0]?.report.batch} ` +
      `(${(o.steps * (results[0]?.report.batch ?? 0)).toLocaleString('en')} images seen); synthetic data ${o.ids} identities x ${o.perId} images ` +
      `from ${o.generator} (identity spread ${o.identitySpread}); M = ${o.realPeople} real people; validation on the held-out people of ${o.split}.`,
    '',
    '| arm | data | images | classes | accuracy (%) +- std | AUC | TAR @ FAR 1e-3 (%) |',
    '|---|---|---|---|---|---|---|',
  ];
  const rows = results.map(
    ({ arm, report: r }) =>
      `| ${arm} | ${ROWS[arm]} | ${r.images} | ${r.people} | ${pct(r.val_accuracy)} +- ${pct(r.val_std)} | ${r.auc?.toFixed(4) ?? '-'} | ${pct(r.tar_at_far_1e_3)} |`,
  );
  const byArm = new Map(results.map((r) => [r.arm, r.report]));
  const claims = CLAIMS.filter(([a, b]) => byArm.has(a) && byArm.has(b)).map(([a, b]) => {
    const c = compareArms(byArm.get(a)!, byArm.get(b)!);
    return `- ${a} - ${b}: ${c.points >= 0 ? '+' : ''}${c.points.toFixed(2)} points (${c.exceedsStd ? 'exceeds' : 'within'} the folds' std)`;
  });
  return [...head, ...rows, '', ...claims, ''].join('\n');
}

function writeResults(o: ExperimentOptions, results: ArmResult[]): string[] {
  const files = ['results.json', 'results.md', 'results.png'].map((f) => join(o.out, f));
  const json = {
    settings: {
      preset: o.preset,
      steps: o.steps,
      batch: results[0]?.report.batch,
      ids: o.ids,
      perId: o.perId,
      identitySpread: o.identitySpread,
      realPeople: o.realPeople,
      seed: o.seed,
      generator: o.generator,
      split: o.split,
    },
    arms: Object.fromEntries(results.map((r) => [r.arm, r.report])),
  };
  writeFileAtomic(files[0], Buffer.from(JSON.stringify(json, null, 2) + '\n'));
  writeFileAtomic(files[1], Buffer.from(resultsTable(o, results)));
  writePng(
    files[2],
    barChart({
      title: 'Verification accuracy on held-out people',
      yLabel: 'accuracy (%), +- folds std',
      bars: results.map(({ arm, report: r }) => ({
        label: arm,
        value: 100 * (r.val_accuracy ?? NaN),
        error: 100 * (r.val_std ?? 0),
      })),
      format: (v) => v.toFixed(1),
    }),
  );
  return files;
}

/** The generator a finished experiment's synthetic data came from, as its dataset manifest names it. */
function datasetGenerator(o: ExperimentOptions): { file: string; sha256: string } | null {
  for (const mixup of [true, false]) {
    const path = join(datasetDir(o, mixup), 'manifest.json');
    if (existsSync(path))
      return (JSON.parse(readFileSync(path, 'utf8')) as { generator: { file: string; sha256: string } })
        .generator;
  }
  return null;
}

/**
 * Ships an experiment: each arm's recognizer as `dir`/<arm>.safetensors with a manifest (the
 * arm's report, the experiment's settings, the generator's sha256 and the command that
 * reproduces it), and the table, its JSON and the chart as `dir`/results.{md,json,png} when
 * they were written (a finished experiment).
 */
export function shipArms(o: ExperimentOptions, results: ArmResult[], dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const settings = {
    preset: o.preset,
    ids: o.ids,
    perId: o.perId,
    identitySpread: o.identitySpread,
    realPeople: o.realPeople,
    steps: o.steps,
    batch: results[0]?.report.batch,
    seed: o.seed,
    generator: o.generator,
    generator_sha256: datasetGenerator(o)?.sha256 ?? null,
  };
  const reproduce =
    `synface experiment --generator ${o.generator} --ids ${o.ids} --per-id ${o.perId} ` +
    `--identity-spread ${o.identitySpread} --real-people ${o.realPeople} --steps ${o.steps} --seed ${o.seed} --preset ${o.preset}` +
    (o.batch === undefined ? '' : ` --batch ${o.batch}`);
  const arms = results.flatMap(({ arm, report }) => {
    const weights = join(dir, `${arm}.safetensors`);
    writeFileAtomic(weights, readFileSync(join(o.out, arm, 'recognizer.safetensors')));
    const manifest = join(dir, `${arm}.manifest.json`);
    writeFileAtomic(
      manifest,
      Buffer.from(
        JSON.stringify(
          { arm, row: ROWS[arm], settings, reproduce: `${reproduce} --arms ${arm}`, report },
          null,
          2,
        ) + '\n',
      ),
    );
    return [weights, manifest];
  });
  const tables = ['results.md', 'results.json', 'results.png']
    .filter((f) => existsSync(join(o.out, f)))
    .map((f) => {
      writeFileAtomic(join(dir, f), readFileSync(join(o.out, f)));
      return join(dir, f);
    });
  return [...arms, ...tables];
}
