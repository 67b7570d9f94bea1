#!/bin/sh
# Builds (once) a Debian 12 root with systemd and the stock dnsmasq, nginx and sshd, for tests that boot it with
# `systemd-nspawn --boot`. The root is cached under ~/.cache/netboot/systemd-roots/, keyed by this script's
# bytes (its package list and options are the inputs), and .deb files are shared through
# ~/.cache/netboot/apt-archives (mmdebstrap's sync-in/sync-out hooks), so a rebuild downloads nothing new.
# Prints the root's path on the last line. Needs root, mmdebstrap (apt-get install mmdebstrap).
set -eu
PACKAGES=systemd-sysv,dnsmasq,nginx-light,openssh-server,iproute2,procps
MIRROR=http://deb.debian.org/debian
CACHE="${HOME}/.cache/netboot"
key=$(sha256sum "$0" | cut -c1-16)
out="$CACHE/systemd-roots/debian12-$key"
if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi
command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing: apt-get install mmdebstrap" >&2; exit 1; }
mkdir -p "$CACHE/apt-archives" "$CACHE/systemd-roots"
tmp="$out.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mmdebstrap --variant=apt --include="$PACKAGES" \
  --skip=download/empty --skip=essential/unlink \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in $CACHE/apt-archives /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives $CACHE/apt-archives" \
  --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
  --customize-hook='echo netboot-machine > "$1"/etc/hostname' \
  bookworm "$tmp" "$MIRROR" </dev/null >&2
touch "$tmp/.complete"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
