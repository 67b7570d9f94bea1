/**
 * Hybrid-mode trees: the folders that stay on the network file system (`/usr/share`, `/opt`, ...).
 *
 * One shell script computes a tree's digest (paths, types, modes, link targets, sizes and sha256 of every file,
 * sorted), so the build host (over the image source) and the publish host (over the copy on the volume) compute
 * the same value the same way: what is on the volume is compared with what should be there, file by file.
 */
import { createHash } from "crypto";
import { pipe } from "./initramfs";

/** argv: the folder, then the tree's paths relative to it (`./usr/share`). Exit status non-zero: a path is missing. */
export const TREE_LISTING_SCRIPT = [
  'cd "$1" || exit 3; shift',
  'for p in "$@"; do [ -d "$p" ] || { echo "missing: $p" >&2; exit 4; }; done',
  "find \"$@\" \\( -type l -printf 'l %p %l\\n' \\) -o \\( -type d -printf 'd %p %m\\n' \\) -o \\( -type f -printf 'f %p %m %s\\n' \\) | LC_ALL=C sort",
  'find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum',
].join("\n");

export const treeArgs = (paths: string[]): string[] => paths.map((p) => `.${p}`);

export function treeDigestOf(listing: string | Buffer): string {
  return createHash("sha256").update(listing).digest("hex");
}

/** Digest of the hybrid paths of a local root folder (the image source on the build host). */
export async function localTreeDigest(root: string, paths: string[]): Promise<string> {
  return treeDigestOf(await pipe(["sh", "-c", TREE_LISTING_SCRIPT, "sh", root, ...treeArgs(paths)], undefined));
}

/** A tar stream of the hybrid paths of a local root folder (owners and modes kept, sorted). */
export function packTree(root: string, paths: string[]): Promise<Buffer> {
  return pipe(["tar", "--sort=name", "--numeric-owner", "--format=gnu", "-C", root, "-cf", "-", ...treeArgs(paths)], undefined);
}
