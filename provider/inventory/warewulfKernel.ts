/**
 * Where a Warewulf 4 node's kernel is: inside its image, never on the build host. Warewulf 4.6 takes the kernel
 * from the node's image (https://warewulf.org/docs/main/images/kernel.html): every `/boot/vmlinuz-<version>`
 * and `/lib/modules/<version>/vmlinuz` of the image's rootfs is a candidate, `kernel version` picks one by
 * release (a prefix is enough: `5.14.0-427.13.1` matches `5.14.0-427.13.1.el9_4.x86_64`) or by a path inside
 * the image, and without it the newest release wins, a `/boot` file before the copy in the modules folder.
 * `kernel override` (4.5) is read the same way.
 *
 * `scanImageKernels` is the only function here that reads the file system (the image's `/boot` and modules
 * folders); `selectKernel` is pure, so the import stays a function of text plus this listing.
 */
import * as fs from "fs";
import * as path from "path";

/** A kernel found in an image, with paths inside the image (`/boot/vmlinuz-6.1.0-56-amd64`). */
export interface ImageKernel {
  version: string;
  /** The kernel file, a path inside the image. */
  path: string;
  /** The modules tree of that release inside the image when it has a `modules.dep`, else undefined. */
  modulesDir?: string;
}

/** Compares kernel releases by their numeric runs (`5.14.0-427.13.1` < `5.14.0-503.1`), then as text. */
export function compareKernelVersions(a: string, b: string): number {
  const pa = a.split(/[^0-9]+/).filter(Boolean).map(Number);
  const pb = b.split(/[^0-9]+/).filter(Boolean).map(Number);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return pa.length - pb.length || a.localeCompare(b);
}

/**
 * The kernels of the image whose root folder is `rootfs` (on this machine), or undefined when that folder does not
 * exist. Rescue kernels (`vmlinuz-0-rescue-<machine id>`, Red Hat's) and `.hmac` checksum files are not kernels.
 * The modules folder is looked up under `usr/lib/modules` first: on a merged-/usr image `/lib` is a link to
 * `usr/lib`, and the real folder is named so that a reader follows no link.
 */
export function scanImageKernels(rootfs: string): ImageKernel[] | undefined {
  if (!fs.existsSync(rootfs) || !fs.statSync(rootfs).isDirectory()) return undefined;
  const ls = (d: string) => {
    try {
      return fs.readdirSync(path.join(rootfs, d)).sort();
    } catch {
      return [];
    }
  };
  const isFile = (p: string) => {
    try {
      return fs.statSync(path.join(rootfs, p)).isFile();
    } catch {
      return false;
    }
  };
  const modRoot = ["usr/lib/modules", "lib/modules"].find((d) => {
    try {
      return fs.lstatSync(path.join(rootfs, d)).isDirectory();
    } catch {
      return false;
    }
  });
  const modulesOf = (v: string) => (modRoot && isFile(`${modRoot}/${v}/modules.dep`) ? `/${modRoot}/${v}` : undefined);
  const out: ImageKernel[] = [];
  for (const f of ls("boot")) {
    const m = /^vmlinuz-(.+)$/.exec(f);
    if (!m || /^0-rescue-/.test(m[1]) || f.endsWith(".hmac") || !isFile(`boot/${f}`)) continue;
    out.push({ version: m[1], path: `/boot/${f}`, modulesDir: modulesOf(m[1]) });
  }
  if (modRoot) for (const v of ls(modRoot)) if (isFile(`${modRoot}/${v}/vmlinuz`)) out.push({ version: v, path: `/${modRoot}/${v}/vmlinuz`, modulesDir: modulesOf(v) });
  return out;
}

/**
 * The kernel a node boots among its image's kernels: `want` (Warewulf's `kernel version` or `kernel override`) is
 * a release, a release prefix or a path inside the image; without it, the newest release. Among files of one
 * release a `/boot` file comes first. Undefined when nothing matches.
 */
export function selectKernel(kernels: readonly ImageKernel[], want?: string): ImageKernel | undefined {
  const rank = (k: ImageKernel) => (k.path.startsWith("/boot/") ? 0 : 1);
  let pool: ImageKernel[];
  if (want === undefined) pool = [...kernels];
  else if (want.startsWith("/")) pool = kernels.filter((k) => k.path === path.posix.normalize(want) || k.path === `/usr${path.posix.normalize(want)}`);
  else {
    const exact = kernels.filter((k) => k.version === want);
    // A prefix matches at a separator only: `5.14.0-427` is not a prefix of `5.14.0-4270...`.
    pool = exact.length ? exact : kernels.filter((k) => k.version.startsWith(want) && /^[.\-_+]/.test(k.version.slice(want.length)));
  }
  return pool.sort((a, b) => compareKernelVersions(b.version, a.version) || rank(a) - rank(b))[0];
}
