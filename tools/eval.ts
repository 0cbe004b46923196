/**
 * `synface eval --weights W --data DIR --pairs FILE [--flip] [--json] [--roc out.png]`
 * `synface eval --model dlib --data DIR --pairs FILE ...`: the same with dlib's descriptor
 *
 * Verification of a trained recognizer on LFW-layout pairs: embeds every image a pair names
 * (the crop and size stored in the weights file), scores pairs by cosine similarity, and runs
 * the 10-fold protocol (threshold chosen on 9 folds, accuracy mean +- std over the 10; a View 1
 * pairs file is split into 10 balanced folds), plus the pooled ROC: AUC and TAR at FAR 1e-3
 * and 1e-2. `--flip` sums each image's embedding with its mirror's first (insightface's
 * variant). `--json` prints one JSON object; fractions, not percents.
 */
import { evaluateDlib } from '../src/eval/evaluate-dlib.js';
import { evaluateRecognizer } from '../src/eval/evaluate-recognizer.js';
import { parseArgs, usage, type OptionSpec } from './args.js';

const SPEC: Record<string, OptionSpec> = {
  weights: { type: 'string', help: 'recognizer file (safetensors, from train-recognizer)' },
  model: {
    type: 'string',
    help: "instead of --weights: 'dlib', dlib's face descriptor (face-api's weights; Euclidean distance)",
  },
  data: {
    type: 'string',
    help: 'LFW-layout folder: images/<Name>/<Name>_NNNN.jpg (or the folder of those person folders)',
  },
  pairs: { type: 'string', help: 'pairs file, View 1 (`N`) or View 2 (`folds N`)' },
  flip: { type: 'flag', help: "embed each image and its mirror and sum them (insightface's variant)" },
  json: { type: 'flag', help: 'print one JSON object' },
  roc: { type: 'string', help: 'write the ROC curve to this PNG' },
  batch: {
    type: 'number',
    help: 'images per forward pass (default 64; 16 with --model dlib)',
    int: true,
    min: 1,
  },
  help: { type: 'flag', help: 'this text' },
};

export async function evalCommand(args: string[]): Promise<number> {
  const o = parseArgs('eval', args, SPEC);
  if (o.help) {
    console.log(usage('eval', 'LFW-protocol verification of a trained recognizer.', SPEC));
    return 0;
  }
  if (o.model !== undefined && o.model !== 'dlib')
    throw new Error(`synface eval: --model must be 'dlib', got '${o.model}'`);
  if (o.model && o.weights) throw new Error('synface eval: give --weights or --model, not both');
  for (const k of [o.model ? 'model' : 'weights', 'data', 'pairs'])
    if (!o[k]) throw new Error(`synface eval: --${k} is required (see synface eval --help)`);
  const evaluate = o.model
    ? evaluateDlib
    : (opts: Parameters<typeof evaluateDlib>[0]) =>
        evaluateRecognizer({ ...opts, weights: String(o.weights) });
  const { summary, view } = await evaluate({
    data: String(o.data),
    pairs: String(o.pairs),
    flip: !!o.flip,
    batch: o.batch === undefined ? undefined : Number(o.batch),
    roc: o.roc === undefined ? undefined : String(o.roc),
    say: o.json ? (s) => console.error(s) : (s) => console.log(s), // --json: stdout holds only the JSON
  });
  if (o.json) console.log(JSON.stringify(summary));
  else {
    const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
    console.log(
      `${summary.pairs_file}: ${summary.pairs} pairs in ${summary.folds} folds${view === 1 ? ' (balanced, made from a View 1 file)' : ''}, ${o.model ? 'Euclidean distance of dlib descriptors' : 'cosine similarity'}${summary.flip ? ' of mirrored sums' : ''}`,
    );
    console.log(
      `  accuracy      ${pct(summary.accuracy)} +- ${pct(summary.accuracy_std)} (threshold ${summary.threshold.toFixed(3)})`,
    );
    console.log(`  AUC           ${summary.auc.toFixed(4)}`);
    console.log(`  TAR@FAR=1e-3  ${pct(summary['tar_at_far_1e-3'])}`);
    console.log(`  TAR@FAR=1e-2  ${pct(summary['tar_at_far_1e-2'])}`);
  }
  return 0;
}
