#!/usr/bin/env bash
# `npm run package`: the release artifacts, into ${NETBOOT_PACKAGE_OUT:-./out} (or the folder given as $1):
#
#   pulumi-resource-netboot-v<version>-linux-amd64.tar.gz   the provider plugin, self-contained: the launcher, the
#                                                           compiled provider, its schemas and its production
#                                                           node_modules. Needs only Node.js >= 20 on the host.
#                                                           pulumi plugin install resource netboot <version> --file <it>
#   netboot-netboot-<version>.tgz                           the Node.js SDK (@netboot/netboot), compiled: npm install <it>
#   pulumi_netboot-<version>-py3-none-any.whl               the Python SDK (pulumi_netboot): pip install <it>
#   SHA256SUMS                                              sha256sum -c SHA256SUMS
#
# The Go SDK is a Go module (sdk/go, module github.com/netboot/pulumi-netboot/sdk/go): Go fetches modules from
# their repository's tags, so it has no archive.
#
# The archives are reproducible: file order, owners and times are fixed (SOURCE_DATE_EPOCH, default: the last
# commit's time), gzip writes no name or time, so the same commit gives the same bytes.
#
# NETBOOT_PLUGIN_DOWNLOAD_URL=<url> makes artifacts whose schema and SDKs name another plugin server (a fork or
# a mirror): the engine downloads a missing plugin from there. The default is the schema's pluginDownloadURL.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
OUT="$(mkdir -p "${1:-${NETBOOT_PACKAGE_OUT:-out}}" && cd "${1:-${NETBOOT_PACKAGE_OUT:-out}}" && pwd)"
log() { printf '[package %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[package] ERROR: %s\n' "$*" >&2; exit 1; }

VERSION="$(node -p 'require("./schema/schema.json").version')"
[ "$VERSION" = "$(node -p 'require("./package.json").version')" ] \
  || die "schema/schema.json says version $VERSION, package.json says $(node -p 'require("./package.json").version'): make them agree"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
[ -d node_modules ] || die "node_modules is missing: run 'npm ci' first"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The schema the artifacts carry: the committed one, or one that names another plugin server.
SCHEMA="$REPO/schema/schema.json"
if [ -n "${NETBOOT_PLUGIN_DOWNLOAD_URL:-}" ]; then
  case "$NETBOOT_PLUGIN_DOWNLOAD_URL" in
    https://*|http://*|github://*|gitlab://*) ;;
    *) die "NETBOOT_PLUGIN_DOWNLOAD_URL='$NETBOOT_PLUGIN_DOWNLOAD_URL': the engine takes https://, http://, github:// or gitlab:// URLs" ;;
  esac
  SCHEMA="$WORK/schema.json"
  node -e 'const s=require(process.argv[1]); s.pluginDownloadURL=process.argv[2]; require("fs").writeFileSync(process.argv[3], JSON.stringify(s,null,2)+"\n")' \
    "$REPO/schema/schema.json" "$NETBOOT_PLUGIN_DOWNLOAD_URL" "$SCHEMA"
  log "plugin download URL: $NETBOOT_PLUGIN_DOWNLOAD_URL"
fi

# Pack a folder as a reproducible .tar.gz whose members are the folder's contents (no leading folder).
tarball() { # $1 = folder, $2 = archive
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu \
      -C "$1" -cf - . | gzip -n -9 > "$2.tmp"
  mv "$2.tmp" "$2"
}

# 1. The plugin.
log "compiling the provider"
npx tsc -p tsconfig.json
P="$WORK/plugin"
mkdir -p "$P/dist" "$P/schema"
cp -r dist/provider "$P/dist/provider"
find "$P/dist" -name "*.map" -delete # source maps name files of this checkout; the plugin runs without them
cp "$SCHEMA" "$P/schema/schema.json"
cp schema/cluster.schema.json "$P/schema/"
cp bin/pulumi-resource-netboot LICENSE "$P/"
cp package.json package-lock.json "$P/"
log "installing the production dependencies (npm ci --omit=dev, from npm's cache when it has them)"
( cd "$P" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2 )
# The archive's package.json: what the plugin is and what it runs on, without the checkout's scripts.
node -e '
  const p = require(process.argv[1]);
  const out = { name: "pulumi-resource-netboot", version: p.version, description: p.description, license: p.license,
                private: true, engines: p.engines, dependencies: p.dependencies };
  require("fs").writeFileSync(process.argv[1], JSON.stringify(out, null, 2) + "\n");' "$P/package.json"
rm -f "$P/package-lock.json"
ARCHIVE="pulumi-resource-netboot-v$VERSION-linux-amd64.tar.gz"
tarball "$P" "$OUT/$ARCHIVE"
log "wrote $OUT/$ARCHIVE ($(du -h "$OUT/$ARCHIVE" | cut -f1))"

# 2. The Node.js SDK, compiled. As Pulumi's own SDKs are published: the package is bin/ (tsc's output) with the
# package.json in it, because the generated utilities.ts reads its version from ./package.json beside it.
N="$WORK/nodejs"
if [ "$SCHEMA" = "$REPO/schema/schema.json" ]; then
  cp -r sdk/nodejs "$N"
  rm -rf "$N/node_modules" "$N/bin"
else
  export PATH="$(bash scripts/toolchain.sh | tail -1):$PATH" PULUMI_SKIP_UPDATE_CHECK=true
  pulumi package gen-sdk "$SCHEMA" --language nodejs --out "$WORK/gen" >/dev/null
  pulumi package gen-sdk "$SCHEMA" --language python --out "$WORK/gen" >/dev/null
  mv "$WORK/gen/nodejs" "$N"
fi
log "compiling the Node.js SDK"
ln -s "$REPO/node_modules" "$N/node_modules" # typescript, @types/node and @pulumi/pulumi's types, for tsc only
"$REPO/node_modules/.bin/tsc" -p "$N/tsconfig.json"
rm "$N/node_modules"
node -e '
  const p = require(process.argv[1]);
  p.main = "index.js"; p.types = "index.d.ts"; p.engines = { node: ">=20" };
  delete p.scripts; delete p.devDependencies;
  require("fs").writeFileSync(process.argv[2], JSON.stringify(p, null, 4) + "\n");' "$N/package.json" "$N/bin/package.json"
cp LICENSE "$N/README.md" "$N/bin/"
( cd "$N/bin" && npm pack --pack-destination "$OUT" --loglevel=error >/dev/null )
SDK_JS="netboot-netboot-$VERSION.tgz"
[ -f "$OUT/$SDK_JS" ] || die "npm pack did not write $OUT/$SDK_JS"
log "wrote $OUT/$SDK_JS ($(du -h "$OUT/$SDK_JS" | cut -f1))"

# 3. The Python SDK: a wheel.
PY="$WORK/python"
if [ "$SCHEMA" = "$REPO/schema/schema.json" ]; then cp -r sdk/python "$PY"; else mv "$WORK/gen/python" "$PY"; fi
rm -rf "$PY/build" "$PY"/*.egg-info
cp LICENSE "$PY/"
log "building the Python SDK wheel (pip fetches setuptools and wheel from PyPI into an isolated build environment)"
( cd "$PY" && python3 -m pip wheel --no-deps --quiet --disable-pip-version-check -w "$WORK/wheel" . >&2 ) \
  || die "pip could not build the wheel: it needs python3 with pip (python3 -m ensurepip) and access to PyPI"
WHEEL="$(cd "$WORK/wheel" && ls pulumi_netboot-*.whl)"
cp "$WORK/wheel/$WHEEL" "$OUT/"
log "wrote $OUT/$WHEEL ($(du -h "$OUT/$WHEEL" | cut -f1))"

( cd "$OUT" && sha256sum "$ARCHIVE" "$SDK_JS" "$WHEEL" > SHA256SUMS )
cat <<EOF >&2

netboot $VERSION packaged in $OUT:
  $ARCHIVE
  $SDK_JS
  $WHEEL
Install the plugin:  pulumi plugin install resource netboot $VERSION --file $OUT/$ARCHIVE
Use the SDK:         npm install $OUT/$SDK_JS      (or: pip install $OUT/$WHEEL)
EOF
