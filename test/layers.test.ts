/**
 * The layer check (tools/check-layers.ts): each upward import reported at its line; the real tree clean.
 * Oracle: small fixture trees whose upward imports are known.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayers } from '../tools/check-layers.js';

const repo = resolve(import.meta.dirname, '..');
const made: string[] = [];

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'layers-'));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

afterAll(() => {
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

const CLEAN = {
  'shaders/common.ts': 'export const WORKGROUP = 64;\n',
  'src/gpu/device.ts': "import { WORKGROUP } from '../../shaders/common.js';\nexport const x = WORKGROUP;\n",
  'src/tensor/tensor.ts': "import { x } from '../gpu/device.js';\nexport const y = x;\n",
  'src/ops/z.ts': "import type { y } from '../tensor/tensor.js';\nexport const z = 1;\n",
  'src/plot/p.ts': "export const p = 1;\nimport { readFileSync } from 'node:fs';\n",
  'src/index.ts': "export * from './ops/z.js';\nexport * from './plot/p.js';\n",
  'tools/t.ts': "import { z } from '../src/index.js';\n",
  'bench/b.ts': "import '../tools/t.js';\n",
  'test/x.test.ts': "import '../bench/b.js';\nimport '../src/gpu/device.js';\n",
};

describe('layer check', () => {
  it('finds nothing in a tree whose imports all point down', () => {
    expect(checkLayers(tree(CLEAN))).toEqual([]);
  });

  it('reports each upward import at its line: type-only, multi-line and dynamic ones too, not comments or strings', () => {
    const root = tree({
      ...CLEAN,
      'src/gpu/bad.ts': [
        "// a comment: import { y } from '../tensor/tensor.js'",
        'const s = "from \'../ops/z.js\'";',
        'import type {',
        '  y,',
        "} from '../tensor/tensor.js';",
        "export const load = () => import('../ops/z.js');",
        '',
      ].join('\n'),
      'src/data/a.ts': "import { p } from '../plot/p.js';\n",
      'src/ops/entry.ts': "export * from '../index.js';\n",
      'src/misc/m.ts': 'export {};\n',
      'tools/uses-bench.ts': "\nimport '../bench/b.js';\n",
    });
    expect(checkLayers(root).map((v) => v.message)).toEqual([
      'src/data/a.ts:1 imports ../plot/p.js (layer data may not import layer plot)',
      'src/gpu/bad.ts:5 imports ../tensor/tensor.js (layer gpu may not import layer tensor)',
      'src/gpu/bad.ts:6 imports ../ops/z.js (layer gpu may not import layer ops)',
      'src/misc/m.ts:1 is in no layer (add its folder to LAYERS in tools/check-layers.ts)',
      'src/ops/entry.ts:1 imports ../index.js (layer ops may not import layer index)',
      'tools/uses-bench.ts:2 imports ../bench/b.js (layer tools may not import layer bench)',
    ]);
  });

  it('the command exits 1 on an upward import, 0 without', () => {
    const run = (root: string) =>
      spawnSync('npx', ['tsx', join(repo, 'tools/check-layers.ts'), root], { encoding: 'utf8' });
    const bad = run(tree({ ...CLEAN, 'src/tensor/up.ts': "import { z } from '../ops/z.js';\n" }));
    expect(bad.stderr).toContain(
      'src/tensor/up.ts:1 imports ../ops/z.js (layer tensor may not import layer ops)',
    );
    expect(bad.status).toBe(1);
    expect(run(tree(CLEAN)).status).toBe(0);
  });

  it("the project's own tree has no upward import", () => {
    expect(checkLayers(repo).map((v) => v.message)).toEqual([]);
  });
});
