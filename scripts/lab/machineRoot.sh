#!/bin/sh
# Builds (once) a Debian 12 root with systemd, sshd and the stock Debian packages of one server role, for
# machines booted with `systemd-nspawn --boot` (scripts/lab/machines.ts: the lab's servers and the tests'):
#   pxe      dnsmasq, nginx-light                     (a PXE server alone: test/integration/systemdPxe.test.ts)
#   head     dnsmasq, nginx-light, glusterfs-client   (the head node: PXE, and the publish host of the OS image)
#   storage  glusterfs-server                         (a storage server: glusterd and its bricks)
# Debian's glusterfs-server installs glusterd.service disabled; a storage server of a site runs it (netboot's
# managed volumes need a running glusterd, as the admin's `systemctl enable --now glusterd` leaves it), so the
# storage root has it enabled. Everything else is the packages' own defaults.
# Usage: machineRoot.sh PROFILE. The root is cached under ~/.cache/netboot/systemd-roots/, keyed by this
# script's bytes and the profile (the package lists and options are the inputs), and .deb files are shared through
# ~/.cache/netboot/apt-archives (mmdebstrap's sync-in/sync-out hooks), so a rebuild downloads nothing new.
# Prints the root's path on the last line. Needs root, mmdebstrap (apt-get install mmdebstrap).
set -eu
profile="${1:-}"
BASE=systemd-sysv,openssh-server,iproute2,procps
ENABLE=
case "$profile" in
  pxe) PACKAGES=$BASE,dnsmasq,nginx-light ;;
  head) PACKAGES=$BASE,dnsmasq,nginx-light,glusterfs-client ;;
  storage) PACKAGES=$BASE,glusterfs-server; ENABLE=glusterd.service ;;
  *) echo "usage: $0 pxe|head|storage (got '${profile}')" >&2; exit 2 ;;
esac
MIRROR=http://deb.debian.org/debian
CACHE="${HOME}/.cache/netboot"
key=$( (cat "$0"; echo "$profile") | sha256sum | cut -c1-16)
out="$CACHE/systemd-roots/debian12-$profile-$key"
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
  --customize-hook="echo netboot-$profile > \"\$1\"/etc/hostname" \
  --customize-hook="[ -z '$ENABLE' ] || chroot \"\$1\" systemctl enable $ENABLE" \
  bookworm "$tmp" "$MIRROR" </dev/null >&2
touch "$tmp/.complete"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
