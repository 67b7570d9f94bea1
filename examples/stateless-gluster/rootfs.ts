/**
 * The example's OS image, made on the build host when the program runs (preview and up). Deterministic: the
 * same inputs give the same bytes, and a file is rewritten only when its content changes, so a second
 * `pulumi up` sees no change.
 *
 * - `<build>/rootfs/`: static busybox and an `/sbin/init` that names the node (hostname from the kernel's
 *   `netboot.node=`), prints its IP, how its root is mounted, a file below /usr/share/lab, and then the
 *   marker line the lab waits for; then it powers the VM off.
 * - `<build>/volume/`: what the GlusterFS volume must hold for the boot images (BootImage does not publish it
 *   yet; the lab copies this tree onto the volume through a FUSE mount):
 *   `<imagePath>/image.tar.gz` per image (RAM part; hybrid paths left out) and, for hybrid, `<imagePath>/root/`.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const UP_MARKER = "STATELESS-GLUSTER-UP";
export const IMAGE_VERSION = "stateless-gluster-v1";
/** The file the hybrid group reads from GlusterFS (it is left out of the hybrid group's RAM tarball). */
export const LAB_FILE = "/usr/share/lab/hello.txt";
export const LAB_FILE_CONTENT = "hello from the GlusterFS volume of the stateless-gluster example";
/** Laid over the root at boot by the node's overlay (index.ts), not part of the image. */
export const OVERLAY_FILE = "/etc/lab-overlay";

const INIT = `#!/bin/sh
# /sbin/init of the stateless-gluster example image (made by examples/stateless-gluster/rootfs.ts)
export PATH=/bin:/sbin
B=/bin/busybox
$B mount -t proc proc /proc 2>/dev/null
NODE=; GROUP=
for x in $($B cat /proc/cmdline); do
  case "$x" in
    netboot.node=*) NODE=\${x#netboot.node=} ;;
    netboot.group=*) GROUP=\${x#netboot.group=} ;;
  esac
done
[ -n "$NODE" ] && $B hostname "$NODE"
IP=$($B ip -4 -o addr show scope global | $B awk '{ split($4, a, "/"); print a[1]; exit }')
ROOTFS=$($B awk '$2 == "/" { t = $3 } END { print t }' /proc/mounts)
LABFS=$($B awk '$2 == "/usr/share/lab" { t = $3 } END { print t }' /proc/mounts)
echo "${IMAGE_VERSION}: pid $$, root on $ROOTFS, /usr/share/lab on \${LABFS:-the root}"
if [ -f ${LAB_FILE} ]; then echo "LAB-FILE (\${LABFS:-$ROOTFS}): $($B cat ${LAB_FILE})"; else echo "LAB-FILE: missing"; fi
if [ -f ${OVERLAY_FILE} ]; then echo "OVERLAY-FILE: $($B cat ${OVERLAY_FILE})"; else echo "OVERLAY-FILE: missing"; fi
# names resolve from the overlay's /etc/hosts (busybox's libc reads it): the other group's first node
for n in ram1 hyb1; do [ "$n" = "$NODE" ] || echo "RESOLVES: $($B ping -c 1 -W 1 $n 2>&1 | $B head -n 1)"; done
echo "${UP_MARKER} host=$($B hostname) ip=$IP group=$GROUP image=${IMAGE_VERSION}"
$B sync
$B poweroff -f
`;

function writeIfChanged(file: string, content: string | Buffer, mode: number): void {
  const data = Buffer.from(content);
  const old = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
  if (!old || !old.equals(data)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file + ".tmp", data, { mode });
    fs.renameSync(file + ".tmp", file);
  }
  fs.chmodSync(file, mode);
}

function symlinkIfChanged(link: string, target: string): void {
  const cur = fs.lstatSync(link, { throwIfNoEntry: false });
  if (cur?.isSymbolicLink() && fs.readlinkSync(link) === target) return;
  if (cur) fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(target, link);
}

function findBusybox(): string {
  for (const p of ["/bin/busybox", "/usr/bin/busybox"]) if (fs.existsSync(p)) return p;
  throw new Error("busybox is not installed on the build host: run 'apt-get install -y busybox-static'");
}

/** Makes the root folder; returns its path. */
export function makeRootfs(build: string): string {
  const root = path.join(build, "rootfs");
  for (const d of ["bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "usr/share/lab"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  writeIfChanged(path.join(root, "bin/busybox"), fs.readFileSync(findBusybox()), 0o755);
  for (const l of ["sh", "hostname", "ip", "awk", "cat", "mount", "poweroff", "sync"]) symlinkIfChanged(path.join(root, "bin", l), "busybox");
  writeIfChanged(path.join(root, "sbin/init"), INIT, 0o755);
  writeIfChanged(path.join(root, "etc/os-release"), `NAME="netboot stateless-gluster example"\nID=netboot-example\nVERSION_ID=1\n`, 0o644);
  writeIfChanged(path.join(root, LAB_FILE.slice(1)), LAB_FILE_CONTENT + "\n", 0o644);
  return root;
}

/** A reproducible gzip tarball of `root` without `exclude` (paths such as /usr/share/lab). */
function tarball(root: string, exclude: string[]): Buffer {
  const tar = execFileSync("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "--format=gnu",
    ...exclude.map((p) => `--exclude=.${p}`), "-C", root, "-cf", "-", "."], { maxBuffer: 1 << 30 });
  return execFileSync("gzip", ["-n", "-6", "-c"], { input: tar, maxBuffer: 1 << 30 });
}

/**
 * The volume's content for each image: `<imagePath>/image.tar.gz`, and `<imagePath>/root/` for hybrid images.
 * Returns the folder to copy onto the volume's root.
 */
export function makeVolumeContent(build: string, root: string, images: { imagePath: string; hybridPaths?: string[] }[]): string {
  const vol = path.join(build, "volume");
  for (const img of images) {
    const dir = path.join(vol, img.imagePath);
    writeIfChanged(path.join(dir, "image.tar.gz"), tarball(root, img.hybridPaths ?? []), 0o644);
    if (img.hybridPaths?.length) {
      fs.rmSync(path.join(dir, "root"), { recursive: true, force: true });
      execFileSync("cp", ["-a", root, path.join(dir, "root")]);
    }
  }
  return vol;
}
