#!/usr/bin/env bash
# The README's test command (npm test): provision the adapter and browser, typecheck, check
# that every import points down (tools/check-layers.ts), check the formatting (prettier), run
# the unit tests (vitest, Node on WebGPU) and the browser tests (headless Chromium: the engine's
# suite, then the demo page end to end), and end
# with one line counting both: "tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR"
bash tools/setup.sh || exit 1
npx tsc -p . || { echo "typecheck failed"; exit 1; }
npx tsx tools/check-layers.ts || { echo "an import points up: see tools/check-layers.ts"; exit 1; }
npx prettier --check --log-level warn . || { echo "formatting: run npm run format"; exit 1; }

report=$(mktemp -d)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report/vitest.json" "$@"
unit=$?
npx tsx test/browser/run.ts | tee "$report/browser.txt"
browser=${PIPESTATUS[0]}
# the demo page end to end (npm run web's server, every control, parity with Node): about 2.5 min
npx tsx test/browser/web-e2e.ts | tee "$report/web.txt"
web=${PIPESTATUS[0]}

node -e '
const fs = require("fs");
const dir = process.argv[1];
let passed = 0, failed = 0;
try { const v = JSON.parse(fs.readFileSync(dir + "/vitest.json", "utf8")); passed += v.numPassedTests; failed += v.numFailedTests + (v.numFailedTestSuites || 0); } catch { failed += 1; }
const m = /browser: (\d+) passed, (\d+) failed/.exec(fs.readFileSync(dir + "/browser.txt", "utf8"));
if (m) { passed += +m[1]; failed += +m[2]; } else failed += 1;
const w = /web: (\d+) passed, (\d+) failed/.exec(fs.readFileSync(dir + "/web.txt", "utf8"));
if (w) { passed += +w[1]; failed += +w[2]; } else failed += 1;
console.log(`tests: ${passed} passed, ${failed} failed`);
' "$report"
rm -rf "$report"
[ "$unit" = 0 ] && [ "$browser" = 0 ] && [ "$web" = 0 ]
