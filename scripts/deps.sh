#!/usr/bin/env bash
# Installs the Debian packages netboot's tests and lab use, when any is missing. Idempotent.
# Services are never started by the install (policy-rc.d): the tests start the daemons they need
# themselves, with their own config, and stop them by pid.
set -euo pipefail
PKGS=(
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
  file binutils      # readelf for the library closure
  python3-venv       # the Python example (test/integration/languages.test.ts): a venv with pulumi from PyPI
  dracut-core dracut-network # initramfs benchmark baseline (bench/initramfs); install with --no-install-recommends
  mmdebstrap         # OsImage: Debian node images built from packages
  systemd-container  # systemd-nspawn: systemd machines for the lab's servers and image checks
  uidmap             # mmdebstrap's unshare mode (newuidmap) when not run as root
)
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
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
echo "[deps] done" >&2
