#!/usr/bin/env bash
# `npm run pulumi -- ARGS`: the Pulumi CLI on the quickstart's stack, with the settings `npm run quickstart` used,
# so the commands the quickstart suggests work in your shell as they are:
#   npm run pulumi -- preview --diff      npm run pulumi -- refresh      npm run pulumi -- destroy
# The engine comes from the toolchain cache (scripts/toolchain.sh, built by the quickstart); the state is ./.state
# and the passphrase the DEMO-ONLY one, unless PULUMI_BACKEND_URL / PULUMI_CONFIG_PASSPHRASE are set; the stack is
# the one the quickstart selected (dev, or NETBOOT_STACK). It runs in the checkout, where the quickstart's Pulumi.yaml is.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(bash scripts/toolchain.sh --only nodejs | tail -1):$PATH"
mkdir -p .state
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.state}"
# DEMO ONLY: this passphrase encrypts the quickstart's secrets in ./.state. Use your own for real stacks.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-netboot-demo-passphrase}"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
exec pulumi "$@"
