#!/usr/bin/env bash
# The main job: sets up everything on a fresh machine and runs `pulumi up --yes` on the quickstart
# (the root Pulumi.yaml) with embedded defaults: a file:// backend in ./.state, the target folder ./target,
# and a DEMO-ONLY passphrase. Ends with a summary of what was made and where.
set -euo pipefail
cd "$(dirname "$0")/.."
# Only what rendering needs (dnsmasq to check its config, ipxe for the boot binaries): the tests' packages (QEMU,
# glusterd, NFS-Ganesha, a kernel...) are installed by `npm test`.
bash scripts/deps.sh quickstart
[ -d node_modules/@pulumi/pulumi ] || npm ci --no-audit --no-fund
# The engine and the Node.js language host only; scripts/pulumi.sh sets the backend, passphrase and stack.
bash scripts/toolchain.sh --only nodejs >/dev/null
npm run --silent build
stack="${NETBOOT_STACK:-dev}"
pulumi() { bash scripts/pulumi.sh "$@"; }
pulumi stack select "$stack" --create >/dev/null
if [ -n "${NETBOOT_TARGET_ROOT:-}" ]; then pulumi config set targetRoot "$NETBOOT_TARGET_ROOT" >/dev/null; fi
pulumi up --yes --skip-preview "$@"
echo
echo "== netboot quickstart: done"
echo "state:    ${PULUMI_BACKEND_URL:-file://$PWD/.state} (stack $stack)"
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
echo "next: edit index.ts, then in this folder:"
echo "  npm run pulumi -- preview --diff    each file that would change, as a line diff"
echo "  npm run quickstart                  apply it (or: npm run pulumi -- up)"
echo "  npm run pulumi -- refresh           find hand edits in the target"
echo "  npm run pulumi -- destroy           remove what the quickstart wrote"
