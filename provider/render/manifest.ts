/**
 * The initramfs manifest: every entry with its size, sha256 and why it is there. Pure.
 *
 * Text form, one entry a line, sorted by path (tab-separated so reasons may hold spaces):
 *   <path>\t<type>\t<mode>\t<size>\t<sha256 or link target>\t<reason>
 * The same manifest always renders to the same text, so its hash is part of the initramfs's input digest.
 */
import { diffManifests, FileState } from "../drift/diff";
import { compareBytes } from "./cpio";
import { FileMode, modeOf, modeString } from "../model/errors";

export interface ManifestEntry {
  path: string;
  type: "file" | "dir" | "symlink";
  mode: FileMode;
  size: number;
  /** sha256 of the content (files), "" for folders */
  sha256: string;
  /** symlinks only */
  target?: string;
  reason: string;
}

export function renderManifest(entries: ManifestEntry[]): string {
  return [...entries]
    .sort((a, b) => compareBytes(a.path, b.path))
    .map((e) => [e.path, e.type, modeString(e.mode), String(e.size), e.type === "symlink" ? `-> ${e.target}` : e.sha256 || "-", e.reason].join("\t"))
    .join("\n") + "\n";
}

export function parseManifest(text: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const [p, type, mode, size, hash, ...reason] = line.split("\t");
    if (type !== "file" && type !== "dir" && type !== "symlink") throw new Error(`manifest: bad line ${JSON.stringify(line)}`);
    const isLink = type === "symlink";
    out.push({ path: p, type, mode: modeOf(mode), size: Number(size), sha256: isLink || hash === "-" ? "" : hash, target: isLink ? hash.replace(/^-> /, "") : undefined, reason: reason.join("\t") });
  }
  return out;
}

/** path -> state, for diffing (a symlink's state is its target, a folder's its mode). */
export function manifestStates(entries: ManifestEntry[]): Record<string, FileState> {
  const out: Record<string, FileState> = {};
  for (const e of entries) out[e.path] = { sha256: e.type === "symlink" ? `-> ${e.target}` : e.sha256, mode: e.mode };
  return out;
}

export interface ManifestChange {
  path: string;
  kind: "add" | "delete" | "update";
}

/** Files added, removed or changed from `before` to `after`, sorted by path. */
export function diffManifestText(before: string, after: string): ManifestChange[] {
  return diffManifests(manifestStates(parseManifest(after)), manifestStates(parseManifest(before))).map((c) => ({
    path: c.path,
    kind: c.kind === "add" || c.kind === "delete" ? c.kind : "update",
  }));
}

/** Human summary: `+ path`, `- path`, `~ path`, then a count line. */
export function formatManifestDiff(changes: ManifestChange[]): string {
  const sign = { add: "+", delete: "-", update: "~" } as const;
  const lines = changes.map((c) => `${sign[c.kind]} ${c.path}`);
  const n = (k: ManifestChange["kind"]) => changes.filter((c) => c.kind === k).length;
  lines.push(`${n("add")} added, ${n("delete")} removed, ${n("update")} changed`);
  return lines.join("\n");
}
