/**
 * Drift is a pure diff of hashes (warewulf `node/diff.go`): what we expect on the host against what we found.
 */

import { FileMode, modeString } from "../util/mode";

export interface FileState {
  sha256: string;
  mode: FileMode;
  /** what is at the path when it is not a regular file (`dir`, `symlink`, `other`); absent: a file */
  type?: string;
  /** `uid:gid`; compared only when both sides know it (what the last apply wrote, what refresh found) */
  owner?: string;
}

export type ChangeKind = "add" | "delete" | "update" | "mode" | "type" | "owner";

export interface Change<T = FileState> {
  path: string;
  kind: ChangeKind;
  before?: T;
  after?: T;
}

/**
 * Changes that turn `observed` into `expected`, sorted by path. A path missing on either side (or observed as
 * `undefined`) is add/delete; `compare` says whether two states are the same ("same") or how they differ: in
 * what is at the path ("type"), content ("update"), mode only ("mode") or owner only ("owner").
 */
export function diffStates<T>(expected: Record<string, T>, observed: Record<string, T | undefined>, compare: (want: T, have: T) => "same" | Exclude<ChangeKind, "add" | "delete">): Change<T>[] {
  const paths = new Set([...Object.keys(expected), ...Object.keys(observed)]);
  const out: Change<T>[] = [];
  for (const path of [...paths].sort()) {
    const want = expected[path];
    const have = observed[path];
    if (want !== undefined && have === undefined) out.push({ path, kind: "add", after: want });
    else if (want === undefined && have !== undefined) out.push({ path, kind: "delete", before: have });
    else if (want !== undefined && have !== undefined) {
      const k = compare(want, have);
      if (k !== "same") out.push({ path, kind: k, before: have, after: want });
    }
  }
  return out;
}

/** Changes that turn `observed` into `expected`, sorted by path. A path missing on either side is add/delete. */
export function diffManifests(expected: Record<string, FileState>, observed: Record<string, FileState | undefined>): Change[] {
  // The owner counts only when both sides know it (what the last apply wrote, what refresh found).
  return diffStates(expected, observed, (want, have) =>
    (want.type ?? "file") !== (have.type ?? "file") ? "type"
    : want.sha256 !== have.sha256 ? "update"
    : want.mode !== have.mode ? "mode"
    : want.owner && have.owner && want.owner !== have.owner ? "owner"
    : "same");
}

/**
 * Changes of plain values (arguments such as `checks`, `signal`, option maps), compared by canonical form:
 * key order does not count, array order does. `undefined` and `null` are both "not set".
 */
export function diffValues(expected: Record<string, unknown>, observed: Record<string, unknown>): Change<unknown>[] {
  const set = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== null));
  return diffStates(set(expected), set(observed), (want, have) => (canonical(want) === canonical(have) ? "same" : "update"));
}

/** JSON with object keys sorted, so equal values have one text. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

export function formatChanges(changes: Change[]): string {
  return changes
    .map((c) => {
      switch (c.kind) {
        case "add": return `+ ${c.path}`;
        case "delete": return `- ${c.path}`;
        case "update": return `~ ${c.path} (${c.before!.sha256.slice(0, 12)} -> ${c.after!.sha256.slice(0, 12)})`;
        case "mode": return `~ ${c.path} (mode ${modeString(c.before!.mode)} -> ${modeString(c.after!.mode)})`;
        case "type": return `~ ${c.path} (${c.before!.type ?? "file"} -> ${c.after!.type ?? "file"})`;
        case "owner": return `~ ${c.path} (owner ${c.before!.owner} -> ${c.after!.owner})`;
        default: {
          const exhaustive: never = c.kind;
          return exhaustive;
        }
      }
    })
    .join("\n");
}

/**
 * A folder netboot owns or writes into, as found: `dir` is in order; anything else is drift that `up`
 * repairs (a symlink is replaced by a folder, a missing folder is made) or refuses (a file in the way).
 */
export type FolderState = "dir" | "missing" | "file" | "other" | `symlink -> ${string}`;

/** Folders not in order, path -> what was found, sorted by path. Missing folders count only when owned. */
export function folderDrift(found: Record<string, FolderState>, owned: Set<string>): Record<string, FolderState> {
  const out: Record<string, FolderState> = {};
  for (const p of Object.keys(found).sort()) {
    const s = found[p];
    if (s === "dir" || (s === "missing" && !owned.has(p))) continue;
    out[p] = s;
  }
  return out;
}

/** A temp file of a netboot write in progress (or cut short); the next write of its path removes it. */
export function isNetbootTemp(name: string): boolean {
  return /^\..+\.netboot-[0-9a-f]{8}\.tmp$/.test(name);
}

/**
 * Entries of a folder netboot owns exclusively that no netboot resource accounts for (a stray file in dnsmasq's
 * hostsdir is served as leases). `known` are this set's own names; `netbootMade` tells a file another
 * netboot resource wrote (another node group's leases, perhaps from another stack) by its first line.
 * Temp files of writes in progress are never strays. Sorted.
 */
export function strays(names: string[], known: Set<string>, netbootMade: (name: string) => boolean): string[] {
  return names.filter((n) => !known.has(n) && !isNetbootTemp(n) && !netbootMade(n)).sort();
}
