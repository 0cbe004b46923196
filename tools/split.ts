/**
 * `synface split`: a validation split by people (disjoint people) of an LFW people file, and
 * verification pairs among the validation people in LFW's View 2 pairs format (10 person-
 * disjoint folds), so `synface eval` reads them like LFW's own pairs.txt.
 *
 *   <out>/train-people.txt   people file (View 1 form) of the training people
 *   <out>/val-people.txt     people file of the validation people
 *   <out>/val-pairs.txt      `10 N`, then per fold N same-person and N different-person pairs
 */
import { writeSplit } from '../src/data/split-files.js';
import { parseArgs, usage, type OptionSpec } from './args.js';

const SPEC: Record<string, OptionSpec> = {
  data: { type: 'string', help: 'LFW-layout folder', default: '../shared/data/lfw-devtrain' },
  people: { type: 'string', help: 'people file inside --data', default: 'peopleDevTrain.txt' },
  out: { type: 'string', help: 'output folder', default: 'runs/split' },
  'val-fraction': { type: 'number', help: 'fraction of the people held out', default: 0.15 },
  'per-fold': {
    type: 'number',
    help: 'same-person pairs per fold (= different-person pairs)',
    int: true,
    min: 1,
  },
  seed: { type: 'number', help: 'seed of the split and the pairs', default: 0, int: true },
  help: { type: 'flag', help: 'this text' },
};

export function splitCommand(args: string[]): number {
  const o = parseArgs('split', args, SPEC);
  if (o.help) {
    console.log(
      usage('split', 'A validation split by people, with verification pairs in the LFW format.', SPEC),
    );
    return 0;
  }
  const r = writeSplit({
    data: String(o.data),
    people: String(o.people),
    out: String(o.out),
    valFraction: Number(o['val-fraction']),
    seed: Number(o.seed),
    perFold: o['per-fold'] as number | undefined,
  });
  console.log(
    `split: ${r.train} training people, ${r.val} validation people, ${r.pairs} pairs in 10 folds -> ${o.out}`,
  );
  return 0;
}
