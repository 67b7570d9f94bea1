#!/usr/bin/env bash
# The test command: builds, lints (eslint.config.mjs), runs every jest test (unit and integration, real engine
# and daemons), and ends with one summary line "N passed, N failed". A lint failure counts as one failed test in
# that line (and fails the command), but jest still runs: one run shows everything that is wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
# Set-up, so the command works on a fresh machine: Debian packages, npm packages, the engine.
bash scripts/deps.sh
[ -d node_modules/@pulumi/pulumi ] || npm ci --no-audit --no-fund
export PATH="$(bash scripts/toolchain.sh | tail -1):$PWD/bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
echo "== build" >&2
npm run --silent build
echo "== lint" >&2
set +e
npm run --silent lint
lint_rc=$?
out="$(mktemp -d)/jest.json"
npx jest --runInBand --json --outputFile="$out" "$@"
rc=$?
set -e
node -e '
const r = require(process.argv[1]);
const skipped = r.numPendingTests + r.numTodoTests;
if (skipped) console.error(`${skipped} tests were skipped: a skipped test does not count as passing`);
const lint = process.argv[2] === "0" ? 0 : 1;
if (lint) console.error("lint failed (npm run lint): it counts as one failed test");
const failed = r.numFailedTests + skipped + lint;
const line = `${r.numPassedTests} passed, ${failed} failed${lint ? " (lint failed)" : ""}`;
console.log(line);
if (process.env.NETBOOT_SUMMARY_FILE) require("fs").writeFileSync(process.env.NETBOOT_SUMMARY_FILE, line + "\n");
process.exit(failed > 0 || r.numTotalTests === 0 ? 1 : 0);
' "$out" "$lint_rc" || rc=1
exit $rc
