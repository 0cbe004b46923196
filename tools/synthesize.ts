/**
 * `synface synthesize --ids N --per-id K --out DIR [--generator W] [--mixup] [--seed S]
 *  [--shard i/n] [--batch B]`  and  `synface synthesize --merge --out DIR`
 *
 * A synthetic face dataset from the generator (src/eval/synthesize.ts, synthetic-plan.ts):
 *
 *   DIR/manifest.json            generator and factors file (name, sha256), seed, counts, settings
 *   DIR/id_00012/00003.png       identity 12's image 3 (64x64 RGB PNG), folder per identity
 *   DIR/id_00012/labels.jsonl    identity 12's label lines, written after its images
 *   DIR/labels.jsonl             every label line, identity after identity:
 *     {"file":"id_00012/00003.png","identity":12}
 *     {"file":"id_00012/00004.png","identity":12,"mix":{"partner":57,"phi":0.35}}
 *   a mixed image (--mixup, every image) shows phi * code(12) + (1 - phi) * code(57) in the
 *   identity-code space, phi from {0, 0.05, ..., 1}, one partner per image; its soft label is phi
 *   on identity 12 and 1 - phi on identity 57. Expression, pose, lighting, z and noise are drawn
 *   per image and shared by both parents.
 *
 * Deterministic: each image is a function of (seed, identity, image) and the batches are fixed
 * by --batch and --per-id, so the same seed gives the same bytes however the work is sharded
 * (on the same kind of adapter: GPUs differ in float rounding). --shard i/n renders the blocks
 * of identities b with b % n == i (a block: max(1, floor(batch / per-id)) consecutive
 * identities); shards may share DIR or be copied into one DIR afterwards, then --merge checks
 * that every identity is complete and writes labels.jsonl (a run writes it itself when it finds
 * the dataset complete). Resumable: run the same command again; complete identities are skipped.
 */
import { finishDataset, synthesizeDataset } from '../src/eval/synthesize.js';
import { parseShard } from '../src/eval/synthetic-plan.js';
import { shippedGeneratorPath } from '../src/io/package-files.js';
import { parseArgs, usage, type OptionSpec } from './args.js';
import { formatDuration, ProgressBar } from './progress.js';
import { PRIOR_OPTIONS, priorChoice } from './generate.js';

const SPEC: Record<string, OptionSpec> = {
  generator: {
    type: 'string',
    help: 'generator weights (default: the shipped weights/generator.safetensors)',
  },
  ids: { type: 'number', help: 'synthetic identities', int: true, min: 1 },
  'per-id': { type: 'number', help: 'images per identity', int: true, min: 1 },
  out: { type: 'string', help: 'the dataset folder' },
  mixup: { type: 'flag', help: 'identity mixup: every image mixes its identity with a partner' },
  seed: { type: 'number', help: 'the dataset seed', default: 0, int: true, min: 0 },
  shard: { type: 'string', help: "render one shard, 'i/n' with 0 <= i < n", default: '0/1' },
  batch: {
    type: 'number',
    help: 'images per GPU batch (part of the dataset: keep it the same for every shard)',
    default: 32,
    int: true,
    min: 1,
  },
  merge: { type: 'flag', help: 'check every identity of --out is complete and write labels.jsonl' },
  ...PRIOR_OPTIONS,
  help: { type: 'flag', help: 'this text' },
};

export async function synthesizeCommand(args: string[]): Promise<number> {
  const o = parseArgs('synthesize', args, SPEC);
  if (o.help) {
    console.log(
      usage(
        'synthesize',
        'A synthetic face dataset (folder per identity, labels.jsonl, manifest) from the generator.',
        SPEC,
      ),
    );
    return 0;
  }
  if (!o.out) throw new Error('synface synthesize: --out is required (see synface synthesize --help)');
  const out = String(o.out);
  if (o.merge) {
    const r = finishDataset(out);
    if (!r.complete) {
      console.error(
        `synthesize: ${out} is not complete: ${r.missing} identities missing (run their shards, then --merge again)`,
      );
      return 1;
    }
    console.log(`synthesize: ${out} is complete, ${r.images} images; wrote labels.jsonl`);
    return 0;
  }
  for (const k of ['ids', 'per-id'])
    if (o[k] === undefined)
      throw new Error(`synface synthesize: --${k} is required (see synface synthesize --help)`);
  const shard = parseShard(String(o.shard));
  let bar: ProgressBar | undefined;
  const r = await synthesizeDataset({
    weights: o.generator ? String(o.generator) : shippedGeneratorPath(),
    factors: String(o.factors),
    split: String(o.split),
    out,
    ids: Number(o.ids),
    perId: Number(o['per-id']),
    mixup: Boolean(o.mixup),
    seed: Number(o.seed),
    batch: Number(o.batch),
    shard,
    ...priorChoice(o),
    onProgress: (done, total, perSecond) => {
      bar ??= new ProgressBar(total);
      bar.update(done, { 'img/s': perSecond.toFixed(2) }, (total - done) / perSecond);
    },
  });
  bar?.break();
  const rate = r.rendered / Math.max(r.seconds, 1e-9);
  console.log(
    `synthesize: shard ${shard.index}/${shard.count}: ${r.rendered} images rendered in ${formatDuration(r.seconds)} (${rate.toFixed(2)} images/s), ${r.skipped} of ${r.identities} identities already complete`,
  );
  console.log(
    r.complete
      ? `synthesize: ${out} is complete; wrote labels.jsonl`
      : `synthesize: ${out} still misses ${r.missing} identities (other shards); labels.jsonl is written when all are there (or run --merge)`,
  );
  return 0;
}
