/**
 * `synface train-generator`'s option errors: each names the option and what it needs, before
 * any data is read or any file written.
 * Oracle: the expected messages.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainGeneratorCommand } from '../tools/train-generator.js';

describe('synface train-generator options', () => {
  const out = mkdtempSync(join(tmpdir(), 'synface-train-generator-'));
  const run = (...args: string[]) => trainGeneratorCommand(['--out', out, ...args]);

  it.each([
    [['--preset', 'huge'], /unknown preset 'huge' \(base, tiny64, tiny\)/],
    [['--batch', '6'], /--batch 6 is not a multiple of 4/],
    [['--batch', '2'], /--batch needs an integer >= 4, got '2'/],
    [['--kimg', '-1'], /--kimg needs a number >= 0, got '-1'/],
    [['--kimg', '0'], /--kimg 0 is less than one step/],
    [['--steps', '1.5'], /--steps needs an integer >= 1, got '1.5'/],
    [['--resume', '--overwrite'], /--resume and --overwrite contradict each other/],
    [['--max-minutes'], /--max-minutes needs a value/],
    [['--grid-every', '0'], /--grid-every needs an integer >= 1/],
    [['--learning-rate', '0.1'], /unknown option --learning-rate/],
    [['--lr', '-1'], /--lr needs a number >= 0, got '-1'/],
    [['--diff-augment', 'yes'], /--diff-augment is 'yes'; it takes on or off/],
    [
      ['--factor-groups', 'yaw=2'],
      /--factor-groups: unknown group yaw \(groups: descriptor, expression, pose, lighting\)/,
    ],
    [['--factor-groups', 'pose'], /--factor-groups 'pose' is not group=weight/],
    [['--factor-groups', 'pose=-1'], /--factor-groups: the pose weight is -1; it takes a number >= 0/],
  ])('%j is refused', async (args, message) => {
    await expect(run(...args)).rejects.toThrow(message);
    expect(readdirSync(out)).toEqual([]);
  });

  it('the tiny preset (16 px) is refused for 64x64 data, naming both sizes', async () => {
    await expect(run('--preset', 'tiny', '--split', 'weights/split')).rejects.toThrow(
      /preset 'tiny' makes 16x16 images; the data is 64x64/,
    );
  });

  it('a split folder without val-people.txt is named', async () => {
    await expect(run('--split', out)).rejects.toThrow(/val-people.txt does not exist/);
    expect(readdirSync(out)).toEqual([]);
  });
});
