/**
 * Hybrid-mode trees: the folders that stay on the network file system (`/usr/share`, `/opt`, ...).
 *
 * One shell script computes a tree's digest (paths, types, modes, link targets, sizes and sha256 of every file,
 * sorted), so the build host (over the image source) and the publish host (over the copy on the volume) compute
 * the same value the same way: what is on the volume is compared with what should be there, file by file.
 */
import { sha256 } from "../drift/digest";
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
  return sha256(listing);
}

/** Digest of the hybrid paths of a local root folder (the image source on the build host). */
export async function localTreeDigest(root: string, paths: string[]): Promise<string> {
  return treeDigestOf(await pipe(["sh", "-c", TREE_LISTING_SCRIPT, "sh", root, ...treeArgs(paths)], undefined));
}

/** A tar stream of the hybrid paths of a local root folder (owners and modes kept, sorted). */
export function packTree(root: string, paths: string[]): Promise<Buffer> {
  return pipe(["tar", "--sort=name", "--numeric-owner", "--format=gnu", "-C", root, "-cf", "-", ...treeArgs(paths)], undefined);
}

/**
 * argv as TREE_LISTING_SCRIPT; prints one line per entry without reading file contents (rsync's quick check):
 * `f <path> <mode> <size> <mtime>`, `l <path> <target>`, `d <path> <mode>`. Used to copy only what changed
 * between generations; the content digest above stays the name and the drift check.
 */
export const TREE_STAT_SCRIPT = [
  'cd "$1" || exit 3; shift',
  'for p in "$@"; do [ -d "$p" ] || { echo "missing: $p" >&2; exit 4; }; done',
  "find \"$@\" \\( -type l -printf 'l\\t%p\\t%l\\n' \\) -o \\( -type d -printf 'd\\t%p\\t%m\\n' \\) -o \\( -type f -printf 'f\\t%p\\t%m\\t%s\\t%T@\\n' \\) | LC_ALL=C sort",
].join("\n");

export interface StatEntry {
  type: string;
  path: string;
  /** the rest of the line, mtime cut to whole seconds (what tar keeps) */
  sig: string;
}

/** Parses TREE_STAT_SCRIPT output (tab-separated; names with tabs or newlines are not supported). */
export function parseStatListing(text: string): Map<string, StatEntry> {
  const out = new Map<string, StatEntry>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [type, p, ...rest] = line.split("\t");
    if (type === "f" && rest.length === 3) rest[2] = rest[2].split(".")[0];
    out.set(p, { type, path: p, sig: rest.join(" ") });
  }
  return out;
}

/** Entries of `want` that `have` lacks or has differently, and entries of `have` that `want` lacks. */
export function diffStat(want: Map<string, StatEntry>, have: Map<string, StatEntry>): { changed: StatEntry[]; removed: StatEntry[] } {
  const changed: StatEntry[] = [];
  const removed: StatEntry[] = [];
  for (const [p, w] of want) {
    const h = have.get(p);
    if (!h || h.type !== w.type || h.sig !== w.sig) changed.push(w);
  }
  for (const [p, h] of have) if (!want.has(p)) removed.push(h);
  return { changed, removed };
}

export async function localStat(root: string, paths: string[]): Promise<string> {
  return (await pipe(["sh", "-c", TREE_STAT_SCRIPT, "sh", root, ...treeArgs(paths)], undefined)).toString();
}

/** A tar stream of the listed entries only (`./usr/share/doc/x`), folders without their content. */
export function packEntries(root: string, entries: string[]): Promise<Buffer> {
  return pipe(["tar", "--no-recursion", "--numeric-owner", "--format=gnu", "-C", root, "--null", "-T", "-", "-cf", "-"], Buffer.from(entries.map((e) => e + "\0").join("")));
}
