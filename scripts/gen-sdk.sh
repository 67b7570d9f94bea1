#!/usr/bin/env bash
# Generates sdk/nodejs, sdk/python and sdk/go from schema/schema.json with `pulumi package gen-sdk` (the real Pulumi
# code generators, served by netboot's language hosts: toolchain/langhost).
# `scripts/gen-sdk.sh --check` regenerates into a temp folder and fails when a committed SDK differs.
# sdk/go/go.mod and go.sum are not generated (the generator writes none): they are kept as committed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(bash scripts/toolchain.sh | tail -1):$PATH" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
LANGS="python go nodejs" # nodejs last: its line ends --check's output
out="sdk"
if [ "${1:-}" = "--check" ]; then out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT; fi
for lang in $LANGS; do
  if [ "$out" = "sdk" ] && [ "$lang" != "nodejs" ]; then
    # Regenerate from scratch so a removed resource leaves no stale file (nodejs keeps its node_modules/bin).
    find "sdk/$lang" -mindepth 1 -maxdepth 1 ! -name go.mod ! -name go.sum ! -name "*.egg-info" ! -name build -exec rm -rf {} + 2>/dev/null || true
  fi
  # `pulumi package gen-sdk` empties the language folder first: keep the hand-kept go.mod/go.sum.
  keep="$(mktemp -d)"
  for f in go.mod go.sum; do [ -f "sdk/$lang/$f" ] && cp "sdk/$lang/$f" "$keep/"; done
  pulumi package gen-sdk schema/schema.json --language "$lang" --out "$out" >/dev/null 2>&1 \
    || { pulumi package gen-sdk schema/schema.json --language "$lang" --out "$out" >&2; exit 1; }
  if [ "$out" = "sdk" ]; then for f in go.mod go.sum; do [ -f "$keep/$f" ] && cp "$keep/$f" "sdk/$lang/$f"; done; fi
  rm -rf "$keep"
done
if [ "${1:-}" = "--check" ]; then
  stale=0
  for lang in $LANGS; do
    if ! diff -r -x node_modules -x bin -x go.mod -x go.sum -x "*.egg-info" -x build -x __pycache__ "sdk/$lang" "$out/$lang" >/dev/null; then
      diff -r -x node_modules -x bin -x go.mod -x go.sum -x "*.egg-info" -x build -x __pycache__ "sdk/$lang" "$out/$lang" | head -40 >&2
      echo "sdk/$lang is stale: run 'npm run gen' and commit the result." >&2
      stale=1
    else
      echo "sdk/$lang is up to date" >&2
    fi
  done
  exit $stale
fi
