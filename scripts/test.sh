#!/usr/bin/env bash
# The test command: builds, checks generated files, runs every jest test (unit and integration, real engine
# and daemons), and ends with one summary line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
# Set-up, so the command works on a fresh machine: Debian packages, npm packages, the engine.
bash scripts/deps.sh
[ -d node_modules/@pulumi/pulumi ] || npm ci --no-audit --no-fund
export PATH="$(bash scripts/toolchain.sh | tail -1):$PWD/bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
echo "== build" >&2
npm run --silent build
out="$(mktemp -d)/jest.json"
set +e
npx jest --runInBand --json --outputFile="$out" "$@"
rc=$?
set -e
node -e '
const r = require(process.argv[1]);
const skipped = r.numPendingTests + r.numTodoTests;
if (skipped) console.error(`${skipped} tests were skipped: a skipped test does not count as passing`);
const line = `${r.numPassedTests} passed, ${r.numFailedTests + skipped} failed`;
console.log(line);
if (process.env.NETBOOT_SUMMARY_FILE) require("fs").writeFileSync(process.env.NETBOOT_SUMMARY_FILE, line + "\n");
process.exit(r.numFailedTests + skipped > 0 || r.numTotalTests === 0 ? 1 : 0);
' "$out" || rc=1
exit $rc
