/**
 * Copies a finished training run's recognizer into weights/ with a manifest that says how it
 * was made and how to check it:
 *   npx tsx tools/ship-recognizer.ts --run runs/small-b [--name recognizer-small]
 * weights/<name>.safetensors, <name>.curves.png, <name>.log.jsonl, and <name>.manifest.json:
 * the exact command, data, split, steps, epochs, wall time, adapter, validation accuracy, the
 * git commit of the code, and the `synface eval` command that reproduces the accuracy.
 */
import { execSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from './args.js';

const o = parseArgs('ship-recognizer', process.argv.slice(2), {
  run: { type: 'string', help: 'finished run folder' },
  name: { type: 'string', help: 'file name stem in weights/', default: 'recognizer-small' },
});
if (!o.run) throw new Error('ship-recognizer: --run is required');
const run = String(o.run),
  name = String(o.name);
const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8'));
const weights = join('weights', `${name}.safetensors`);
copyFileSync(join(run, 'recognizer.safetensors'), weights);
copyFileSync(join(run, 'curves.png'), join('weights', `${name}.curves.png`));
copyFileSync(join(run, 'log.jsonl'), join('weights', `${name}.log.jsonl`));
const commit = execSync('git rev-parse HEAD').toString().trim();
const manifest = {
  file: weights,
  bytes: statSync(weights).size,
  trained_by: report.command,
  code_commit_at_shipping: commit,
  data: {
    folder: report.data ?? '../shared/data/lfw-devtrain',
    people_file: 'peopleDevTrain.txt',
    training_people: 'weights/split/train-people.txt',
    validation_pairs: 'weights/split/val-pairs.txt',
  },
  preset: report.preset,
  steps: report.steps,
  batch: report.batch,
  epochs: report.epochs,
  training_images: report.images,
  training_people: report.people,
  wall_seconds: report.wall_seconds,
  adapter: report.adapter,
  validation: {
    pairs: report.val_pairs,
    accuracy: report.val_accuracy,
    accuracy_std: report.val_std,
    auc: report.auc,
    'tar_at_far_1e-3': report.tar_at_far_1e_3,
    'tar_at_far_1e-2': report.tar_at_far_1e_2,
    protocol: '10 person-disjoint folds, threshold chosen on 9, cosine similarity (no flip)',
  },
  reproduce: `synface eval --weights ${weights} --data ../shared/data/lfw-devtrain --pairs weights/split/val-pairs.txt`,
};
writeFileSync(join('weights', `${name}.manifest.json`), JSON.stringify(manifest, null, 2) + '\n');
console.log(JSON.stringify(manifest, null, 2));
