#!/usr/bin/env bash
# The main job: sets up everything on a fresh machine and runs `pulumi up --yes` on the quickstart
# (the root Pulumi.yaml) with embedded defaults: a file:// backend in ./.state, the target folder ./target,
# and a DEMO-ONLY passphrase. Ends with a summary of what was made and where.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -d node_modules/@pulumi/pulumi ] || npm ci --no-audit --no-fund
export PATH="$(bash scripts/toolchain.sh | tail -1):$PATH"
npm run --silent build
mkdir -p .state
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.state}"
# DEMO ONLY: this passphrase encrypts the quickstart's secrets in ./.state. Use your own for real stacks.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-netboot-demo-passphrase}"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
stack="${NETBOOT_STACK:-dev}"
pulumi stack select "$stack" --create >/dev/null
if [ -n "${NETBOOT_TARGET_ROOT:-}" ]; then pulumi config set targetRoot "$NETBOOT_TARGET_ROOT" >/dev/null; fi
pulumi up --yes --skip-preview "$@"
echo
echo "== netboot quickstart: done"
echo "state:    $PULUMI_BACKEND_URL (stack $stack)"
pulumi stack output --json | node -e '
const o = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(`target:   ${o.targetRoot}   (stands in for the PXE server file system)`);
console.log(`dnsmasq:  ${o.dnsmasqConfig}`);
console.log(`nginx:    ${o.nginxConfig}`);
console.log(`tftp:     ${o.tftpRoot}`);
console.log(`http:     ${o.httpBaseUrl}`);
console.log("nodes:");
for (const n of o.nodes) console.log(`  ${n.group.padEnd(8)} ${n.name.padEnd(6)} ${n.mac}  ${n.ip.padEnd(12)} ${n.bootUrl}`);
'
echo "next: edit index.ts and rerun; 'pulumi preview --diff' shows each file that would change; 'pulumi refresh' finds hand edits."
