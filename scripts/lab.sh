#!/usr/bin/env bash
# The lab: boots an example's node groups in VMs against what `pulumi up` rendered (docs/lab.md).
#   npm run lab -- <example folder> [--groups a,b] [--nodes n1,n2] [--up] [--destroy] [--stack NAME] [--timeout S] [--out DIR]
# Puts the engine on PATH, builds the TypeScript (dist/scripts/lab) and runs it. When PULUMI_BACKEND_URL is not
# set, the example's state lives in .lab/state (a file:// backend) with the DEMO-ONLY passphrase of the quickstart.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
export PATH="$(bash scripts/toolchain.sh | tail -1):$repo/bin:$PATH"
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p .lab/state
  export PULUMI_BACKEND_URL="file://$repo/.lab/state"
fi
# DEMO ONLY: encrypts the example's secrets in the lab's state. Use your own for anything real.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-netboot-demo-passphrase}"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
npm run --silent build >&2
cd "$OLDPWD" 2>/dev/null || true
exec node "$repo/dist/scripts/lab/main.js" "$@"
