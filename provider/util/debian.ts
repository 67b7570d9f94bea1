/**
 * Which Debian 12 package installs a tool (or a file) netboot, its tests, the lab or the benchmarks need: one
 * table, so every "run 'apt-get install ...'" hint names the same package for the same tool. Pure, imports
 * nothing. scripts/deps.sh installs all of them.
 */
const DEBIAN_PACKAGE: Readonly<Record<string, string>> = {
  busybox: "busybox-static",
  cpio: "cpio",
  depmod: "kmod",
  dnsmasq: "dnsmasq",
  "ganesha.nfsd": "nfs-ganesha",
  gluster: "glusterfs-server",
  glusterd: "glusterfs-server",
  glusterfs: "glusterfs-client",
  glusterfsd: "glusterfs-server",
  ip: "iproute2",
  kexec: "kexec-tools",
  "libgcc_s.so.1": "libgcc-s1",
  "mount.nfs": "nfs-common",
  nginx: "nginx-light",
  nsenter: "util-linux",
  "qemu-system-x86_64": "qemu-system-x86",
  readelf: "binutils",
  rsync: "rsync",
  ss: "iproute2",
  sshd: "openssh-server",
  xz: "xz-utils",
  zstd: "zstd",
  "/usr/share/OVMF/OVMF_CODE_4M.fd": "ovmf",
  "/usr/share/OVMF/OVMF_VARS_4M.fd": "ovmf",
  "/usr/lib/ipxe/qemu/efi-virtio.rom": "ipxe-qemu",
};

/** The package that installs `tool` (a command name or a file path); the tool's own name when the table has none. */
export function debianPackage(tool: string): string {
  return DEBIAN_PACKAGE[tool] ?? tool;
}
