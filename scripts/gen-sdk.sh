#!/usr/bin/env bash
# Generates sdk/nodejs from schema/schema.json with `pulumi package gen-sdk` (the real Pulumi code generator).
# `scripts/gen-sdk.sh --check` regenerates into a temp folder and fails when the committed SDK differs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(bash scripts/toolchain.sh | tail -1):$PATH" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
out="sdk"
if [ "${1:-}" = "--check" ]; then out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT; fi
pulumi package gen-sdk schema/schema.json --language nodejs --out "$out" >/dev/null
if [ "${1:-}" = "--check" ]; then
  if ! diff -r -x node_modules -x bin sdk/nodejs "$out/nodejs" >/dev/null; then
    diff -r -x node_modules -x bin sdk/nodejs "$out/nodejs" | head -40 >&2
    echo "sdk/nodejs is stale: run 'npm run gen' and commit the result." >&2
    exit 1
  fi
  echo "sdk/nodejs is up to date" >&2
fi
