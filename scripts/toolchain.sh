#!/usr/bin/env bash
# Makes the Pulumi engine available offline: pulumi v3.248.0, compiled from the Go module proxy when it is missing,
# netboot's own language hosts for Node.js, Python and Go (toolchain/langhost, with pulumi-language-python-exec
# from sdk/v3) and Pulumi YAML's pulumi-language-yaml v1.25.0. Needs Go >= 1.25.11 (what pulumi pkg/v3 v3.248.0
# declares in its go.mod; GOTOOLCHAIN=local, so an older Go is not upgraded behind your back).
# No pulumi-resource-command: the proxy refuses that module and netboot's transport runs host commands itself
# (docs/toolchain.md).
#
# Binaries are cached outside the work tree, keyed by version:
#   ${NETBOOT_TOOLCHAIN_DIR:-$HOME/.cache/netboot/toolchain/pulumi-v3.248.0-command-v1.2.1}/bin
# A second run finds them and returns in well under a second.
# If a compatible `pulumi` (same version) is already on PATH, it is used and nothing is built.
#
# Prints the bin folder on stdout as its last line (so callers can do: PATH="$(scripts/toolchain.sh | tail -1):$PATH").
# Progress goes to stderr.
#
#   bash scripts/toolchain.sh                  the engine and every language host (what the tests use)
#   bash scripts/toolchain.sh --only nodejs    the engine and the Node.js host only (the quickstart: a TypeScript
#                                              program needs no Python, Go or YAML host)
set -euo pipefail
ONLY=""
if [ "${1:-}" = "--only" ]; then
  ONLY="${2:-}"
  [ "$ONLY" = nodejs ] || { echo "[toolchain] ERROR: --only takes nodejs (got '${ONLY}')" >&2; exit 2; }
fi

# NETBOOT_PULUMI_VERSION builds another engine into a cache folder of its own (the tests run a newer CLI with it:
# netboot supports any Pulumi CLI from this version up). The language hosts stay on sdk/pkg v3.248.0.
PULUMI_VERSION="${NETBOOT_PULUMI_VERSION:-v3.248.0}"
[[ "$PULUMI_VERSION" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || { echo "[toolchain] ERROR: NETBOOT_PULUMI_VERSION='$PULUMI_VERSION' is not a Pulumi v3 version such as v3.276.0" >&2; exit 2; }
YAML_VERSION="v1.25.0" # github.com/pulumi/pulumi-yaml (pulumi-language-yaml)
GO_MIN="1.25.11"       # the `go` line of pulumi pkg/v3 and sdk/v3 v3.248.0 (and of toolchain/langhost/go.mod)

# The folder name still says "command-v1.2.1" although pulumi-resource-command is no longer built: it is the key
# of the engine already cached on every machine, and a new name would force the 4-minute pulumi compile again.
# Change it only together with PULUMI_VERSION.
CACHE="${NETBOOT_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/netboot/toolchain/pulumi-${PULUMI_VERSION}-command-v1.2.1}"
BIN="$CACHE/bin"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '[toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[toolchain] ERROR: %s\n' "$*" >&2; exit 1; }

have_version() { # $1 = binary path, $2 = wanted version
  [ -x "$1" ] || return 1
  local v
  v="$("$1" version 2>/dev/null | head -1 || true)"
  [ "$v" = "$2" ]
}

# 1. A compatible pulumi already on PATH (and a Node.js language host beside it or on PATH).
if [ -z "${NETBOOT_TOOLCHAIN_FORCE_BUILD:-}" ]; then
  onpath="$(command -v pulumi || true)"
  if [ -n "$onpath" ] && [ "$(readlink -f "$onpath")" != "$(readlink -f "$BIN/pulumi" 2>/dev/null || true)" ] \
     && have_version "$onpath" "$PULUMI_VERSION" \
     && command -v pulumi-language-nodejs >/dev/null; then
    log "using pulumi $PULUMI_VERSION already on PATH at $onpath"
    dirname "$onpath"
    exit 0
  fi
fi

command -v go >/dev/null || die "Go is needed to build the Pulumi engine offline. Install Go >= $GO_MIN (https://go.dev/dl) and rerun."
go_version="$(go env GOVERSION)"; go_version="${go_version#go}"
# sort -V compares the dotted parts as numbers (1.25.9 < 1.25.11).
[ "$(printf '%s\n%s\n' "$GO_MIN" "$go_version" | sort -V | head -1)" = "$GO_MIN" ] \
  || die "Go $go_version is too old: pulumi $PULUMI_VERSION needs Go >= $GO_MIN (https://go.dev/dl; Debian 12's golang package is 1.19)."

mkdir -p "$BIN"
# One build at a time per cache: two concurrent runs (parallel test jobs, two checkouts) would share $BUILD and
# remove each other's sources mid-compile. The second run waits, then finds the binaries built.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then log "another toolchain build holds $CACHE/.lock; waiting for it"; flock 9; fi
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
BUILD="$CACHE/build"

build_pulumi() {
  have_version "$BIN/pulumi" "$PULUMI_VERSION" && return 0
  log "building pulumi $PULUMI_VERSION from the Go module proxy (first run: several minutes)"
  local dir
  log "  downloading github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION"
  dir="$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] || die "go mod download of pulumi/pkg/v3@$PULUMI_VERSION gave no Dir"
  rm -rf "$BUILD/pkg"; mkdir -p "$BUILD"; cp -r "$dir" "$BUILD/pkg"; chmod -R u+w "$BUILD/pkg"
  ( cd "$BUILD/pkg"
    go mod edit -dropreplace=github.com/pulumi/pulumi/sdk/v3 -require=github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION
    log "  resolving dependencies"
    go mod download >&2
    log "  compiling ./cmd/pulumi"
    go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" -o "$BIN/pulumi.tmp" ./cmd/pulumi >&2 )
  mv "$BIN/pulumi.tmp" "$BIN/pulumi"
  have_version "$BIN/pulumi" "$PULUMI_VERSION" || die "built pulumi does not report $PULUMI_VERSION"
  log "  pulumi ready"
}

build_langhosts() {
  # Pulumi's own Node.js, Python and Go hosts are untagged Go modules the proxy refuses ("403 This module version
  # is not available"), so netboot builds its own minimal hosts from pkg/v3 + sdk/v3: one module,
  # toolchain/langhost, with the shared package host/ and one small main per language under cmd/.
  # The stamp is a hash of the whole module, so an edit rebuilds the hosts (seconds), never the engine.
  local src="$REPO/toolchain/langhost" stamp lang
  stamp="$(cd "$src" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)"
  [ -f "$BIN/.langhost.$stamp" ] && [ -x "$BIN/pulumi-language-nodejs" ] && [ -x "$BIN/pulumi-language-python" ] \
    && [ -x "$BIN/pulumi-language-go" ] && return 0
  if [ "$ONLY" = nodejs ]; then
    # The Node.js host alone, with a stamp of its own: a later full run still builds all three.
    [ -f "$BIN/.langhost-nodejs.$stamp" ] && [ -x "$BIN/pulumi-language-nodejs" ] && return 0
    log "building pulumi-language-nodejs (netboot's minimal Node.js language host) from $src"
    ( cd "$src"
      go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
        -o "$BIN/pulumi-language-nodejs.tmp" ./cmd/pulumi-language-nodejs >&2 )
    mv "$BIN/pulumi-language-nodejs.tmp" "$BIN/pulumi-language-nodejs"
    rm -f "$BIN"/.langhost-nodejs.*; touch "$BIN/.langhost-nodejs.$stamp"
    log "  Node.js language host ready"
    return 0
  fi
  log "building pulumi-language-{nodejs,python,go} (netboot's minimal language hosts) from $src"
  rm -rf "$BIN/.langhost-build"
  ( cd "$src"
    go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      -o "$BIN/.langhost-build/" ./cmd/... >&2 )
  for lang in nodejs python go; do mv "$BIN/.langhost-build/pulumi-language-$lang" "$BIN/pulumi-language-$lang"; done
  rmdir "$BIN/.langhost-build"
  # Stamps of the per-language modules this replaced (toolchain/langhost-{nodejs,python,go}).
  rm -f "$BIN"/.langhost.* "$BIN"/.pulumi-language-nodejs.* "$BIN"/.pulumi-language-python.[0-9a-f]* "$BIN"/.pulumi-language-go.*
  touch "$BIN/.langhost.$stamp"
  log "  language hosts ready"
}

install_python_exec() {
  # The upstream Python host runs programs through pulumi-language-python-exec, a script that ships in sdk/v3
  # (python/cmd/). It goes beside the host, where toolchain/langhost/cmd/pulumi-language-python looks for it.
  [ -f "$BIN/pulumi-language-python-exec" ] && [ -f "$BIN/.pulumi-language-python-exec.$PULUMI_VERSION" ] && return 0
  local dir
  dir="$(go mod download -json "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -f "$dir/python/cmd/pulumi-language-python-exec" ] || die "pulumi-language-python-exec missing from sdk/v3@$PULUMI_VERSION"
  install -m 0755 "$dir/python/cmd/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
  rm -f "$BIN"/.pulumi-language-python-exec.*; touch "$BIN/.pulumi-language-python-exec.$PULUMI_VERSION"
}

build_yaml_host() {
  # Pulumi YAML's language host is a tagged module the proxy serves. v1.25.0 requires pulumi pkg/sdk v3.206.0 and
  # does not compile against v3.248.0 (plugin.NewContextWithRoot and schema.NewPluginLoader changed), so it is
  # built at the versions its go.mod pins; the engine speaks to it over the stable gRPC protocol.
  [ -x "$BIN/pulumi-language-yaml" ] && [ -f "$BIN/.pulumi-language-yaml.$YAML_VERSION" ] && return 0
  log "building pulumi-language-yaml $YAML_VERSION from the Go module proxy (first run: about 1.5 min)"
  GOBIN="$BIN/.yaml-build" go install -trimpath -ldflags "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=$YAML_VERSION" \
    "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$YAML_VERSION" >&2
  mv "$BIN/.yaml-build/pulumi-language-yaml" "$BIN/pulumi-language-yaml"; rmdir "$BIN/.yaml-build"
  rm -f "$BIN"/.pulumi-language-yaml.*; touch "$BIN/.pulumi-language-yaml.$YAML_VERSION"
  log "  pulumi-language-yaml ready"
}

start=$(date +%s)
build_pulumi
build_langhosts
if [ -z "$ONLY" ]; then
  install_python_exec
  build_yaml_host
fi
rm -rf "$BUILD"
# Markers of the pulumi-resource-command attempts older versions of this script made.
rm -f "$BIN"/.pulumi-resource-command.* "$CACHE/command-build.log"
end=$(date +%s)
if [ $((end - start)) -gt 2 ]; then log "toolchain built in $((end - start)) s into $BIN"; fi
echo "$BIN"
