/**
 * What the GlusterFS volume must hold for the example's boot images, made from the OsImage's root folder when
 * the program runs: `<imagePath>/image.tar.gz` per image (the RAM part, hybrid paths left out) and, for hybrid,
 * `<imagePath>/root/<hybrid path>`. The lab copies this tree onto the volume (docs/lab.md): its bricks run in a
 * network namespace that starts after `pulumi up`, so the images set `publishImage: false`.
 *
 * Owners are kept (numeric), as BootImage's own packing does: a Debian root has files of other users and groups.
 * Deterministic (sorted, fixed mtime, gzip -n), and rewritten only when the root's digest changes.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface ImageLayout { imagePath: string; hybridPaths?: string[] }

function tarball(root: string, exclude: string[]): Buffer {
  const tar = execFileSync("tar", ["--sort=name", "--mtime=@0", "--numeric-owner", "--format=gnu",
    ...exclude.map((p) => `--exclude=.${p}`), "-C", root, "-cf", "-", "."], { maxBuffer: 1 << 30 });
  return execFileSync("gzip", ["-n", "-6", "-c"], { input: tar, maxBuffer: 1 << 30 });
}

/**
 * Makes `<build>/volume/` for `root` (named by `digest`, so an unchanged image is not packed again), plus `extra`
 * in the hybrid trees that hold its path; returns the folder.
 */
export function makeVolumeContent(build: string, root: string, digest: string, images: ImageLayout[], extra: { path: string; content: string }): string {
  const vol = path.join(build, "volume");
  const stamp = path.join(build, "volume.digest");
  const want = `${digest} ${JSON.stringify(images)}`;
  if (fs.existsSync(vol) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want) return vol;
  fs.rmSync(vol, { recursive: true, force: true });
  fs.rmSync(stamp, { force: true });
  for (const img of images) {
    const dir = path.join(vol, img.imagePath);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "image.tar.gz"), tarball(root, img.hybridPaths ?? []));
    for (const p of img.hybridPaths ?? []) {
      fs.mkdirSync(path.dirname(path.join(dir, "root", p)), { recursive: true });
      execFileSync("cp", ["-a", path.join(root, p), path.join(dir, "root", p)]);
    }
    // a file the image does not have: what the server wrote on the volume, read by hybrid nodes through FUSE
    if (img.hybridPaths?.some((p) => extra.path.startsWith(p + "/"))) {
      fs.mkdirSync(path.dirname(path.join(dir, "root", extra.path)), { recursive: true });
      fs.writeFileSync(path.join(dir, "root", extra.path), extra.content + "\n", { mode: 0o644 });
    }
  }
  fs.writeFileSync(stamp, want);
  return vol;
}
