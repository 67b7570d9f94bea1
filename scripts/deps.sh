#!/usr/bin/env bash
# Installs the Debian packages netboot needs, when any is missing. Idempotent.
#
#   bash scripts/deps.sh quickstart    what `npm run quickstart` needs to render and check its files: dnsmasq (its
#                                      config is checked with `dnsmasq --test` before it is written) and ipxe (the
#                                      boot binaries PxeServer puts in the TFTP root). Nothing else.
#   bash scripts/deps.sh [test]        everything the tests and the lab use (the default; `npm test` runs this)
#   bash scripts/deps.sh --list MODE   prints the packages of MODE, one per line, and installs nothing
#
# Services are never started by the install (policy-rc.d), and nothing it installs is left enabled at boot: the
# units a package enabled (dnsmasq, nginx, ssh, rpcbind, nfs-ganesha, glusterd...) are disabled again, so a
# machine that ran the quickstart or the tests boots as it did before. The tests start the daemons they need
# themselves, with their own config, and stop them by pid; netboot's systemd activation (`systemd: true`) enables
# what it configures on the hosts it manages, never here.
set -euo pipefail
QUICKSTART_PKGS=(
  dnsmasq            # `dnsmasq --test` checks the rendered config before it goes live
  ipxe               # undionly.kpxe, ipxe.efi, snponly.efi: copied into the TFTP root
)
TEST_PKGS=(
  dnsmasq            # DHCP/TFTP server that PxeServer renders for
  nginx-light        # HTTP server for kernels, initramfs, images
  ipxe               # undionly.kpxe, ipxe.efi, snponly.efi
  ipxe-qemu          # NIC option ROMs QEMU boots from
  qemu-system-x86    # the lab and boot tests (TCG)
  ovmf               # UEFI firmware for QEMU
  glusterfs-server   # glusterd, glusterfsd
  glusterfs-client   # glusterfs FUSE client
  busybox-static     # initramfs userland, DHCP test client (udhcpc)
  linux-image-amd64  # the Debian kernel and modules booted under QEMU
  kmod               # depmod/modinfo
  cpio zstd xz-utils # reading back initramfs archives in tests
  iproute2           # network namespaces, veth, tap
  kexec-tools        # kexec hand-off
  nfs-ganesha nfs-ganesha-vfs nfs-ganesha-gluster # NFS transport
  libnfs-utils       # nfs-cp: the boot-storm bench's NFS client (this kernel may have no NFS client)
  openssh-server openssh-client # remote hosts
  sudo               # SSH hosts with a non-root login (`sudo: true`): test/integration/sshAccess.test.ts
  file binutils      # readelf for the library closure
  python3-venv       # the Python example (test/integration/languages.test.ts): a venv with pulumi from PyPI
  dracut-core dracut-network # initramfs benchmark baseline (bench/initramfs); install with --no-install-recommends
  mmdebstrap         # OsImage: Debian node images built from packages
  systemd-container  # systemd-nspawn: systemd machines for the lab's servers and image checks
  uidmap             # mmdebstrap's unshare mode (newuidmap) when not run as root
)
list=""
if [ "${1:-}" = "--list" ]; then list=1; shift; fi
mode="${1:-test}"
case "$mode" in
  quickstart) PKGS=("${QUICKSTART_PKGS[@]}") ;;
  test) PKGS=("${TEST_PKGS[@]}") ;;
  *) echo "[deps] unknown mode '$mode': use quickstart or test" >&2; exit 2 ;;
esac
if [ -n "$list" ]; then printf '%s\n' "${PKGS[@]}"; exit 0; fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "[deps] all Debian packages present" >&2; exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "[deps] missing Debian packages: ${missing[*]}" >&2
  echo "[deps] install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "[deps] installing: ${missing[*]}" >&2
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created_policy=1
fi
trap '[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
# What is enabled at boot before the install: the symlinks in systemd's folders (a package's postinst enables its
# units with deb-systemd-helper, which makes exactly these links).
enabled_links() { find /etc/systemd/system -type l 2>/dev/null | LC_ALL=C sort; }
before="$(mktemp)"
enabled_links > "$before"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
# Disable what the install enabled, the way `systemctl disable` does: remove the new links (and, on a machine
# where systemd runs, tell it). deb-systemd-helper remembers the unit as disabled by the admin, so a later
# upgrade does not enable it again.
new_links="$(enabled_links | LC_ALL=C comm -13 "$before" - | grep -E '\.wants/|\.requires/' || true)"
rm -f "$before"
if [ -n "$new_links" ]; then
  units="$(printf '%s\n' "$new_links" | xargs -n1 basename | LC_ALL=C sort -u | tr '\n' ' ')"
  echo "[deps] leaving disabled at boot what the packages enabled: $units" >&2
  if command -v deb-systemd-helper >/dev/null; then
    for u in $units; do deb-systemd-helper disable "$u" >/dev/null 2>&1 || true; done
  fi
  printf '%s\n' "$new_links" | while read -r l; do rm -f "$l"; done
  [ -d /run/systemd/system ] && systemctl daemon-reload >/dev/null 2>&1 || true
fi
echo "[deps] done" >&2
