/**
 * The only interface through which netboot touches a host. Everything else is pure or goes through it.
 * (matchbox `storage.Store`: one narrow interface, a real implementation, fakes for tests.)
 *
 * Paths are host paths (`/srv/netboot/tftp/undionly.kpxe`). A local host with a `root` folder maps them
 * below that folder; `fullPath()` says where a path really is, and is what rendered configs must name.
 *
 * Symlinks: writes, renames and deletes never go through a symlink where netboot owns the path. Whoever can
 * replace a folder netboot writes into by a symlink could otherwise make netboot (often root) write anywhere.
 * - A host with a `root` (a target folder that belongs to netboot) follows no symlink below the root.
 * - A host without one (this machine, SSH) follows symlinks above the folders netboot owns (an admin's
 *   `/srv -> /data/srv` is theirs to make) but none at or below `within`: the outermost folder netboot owns that
 *   holds the path. Without `within`, the folder the entry is in must itself be a real folder.
 * The last component is never followed either: a rename replaces a symlink, a remove unlinks it.
 * A refused symlink is a TransportError naming the path and the symlink; the callers that own the folder
 * (fileCommon.ts) report it as drift and replace it by a real folder (`remove` unlinks the symlink, `mkdirp`
 * makes the folder).
 * Each component is checked where it is used (openat-style: a folder is opened, then entered, never looked up
 * again by name), so swapping a folder for a symlink between the check and the write does not redirect it.
 *
 * Reads (`get`, `stat`, `list`) follow the same rule when they are confined: always below a `root`, and on other
 * hosts when the caller says so (`confined`, with `within` as for writes). What netboot reads back is
 * what it compares with what it wrote and puts in outputs: a read through a symlinked folder would report content
 * from outside the root (an admin's secret, say) as a hand edit, or bytes that happen to match as "no drift". A
 * path that can only be reached through a symlink (or through something that is not a folder) is not there
 * (undefined); the symlink itself is what `stat` of that folder finds, which the caller reports as drift. A
 * confined `get` does not follow a symlink at the last component either. Reads that are not confined follow
 * symlinks as the file system does: a `source` file on the build host, a pid file, a log.
 *
 * A batch of confined reads (`readMany`, what an observe of many files does) finds what `stat` then `get` of each
 * would, by the same rule; the local transport opens each folder of the batch once (see `LocalTransport.readMany`
 * for why holding a folder open for the batch is as safe as opening it again for each file).
 */
import type { FileMode } from "../util/mode";

export interface ExecResult {
  code: number;
  stdout: string;
  /** stdout as bytes (local and SSH hosts), for binary output such as a tar stream */
  stdoutBytes?: Buffer;
  stderr: string;
}

export type EntryType = "file" | "dir" | "symlink" | "other";

/** What is at a path, never following a symlink at the last component (lstat). */
export interface FileStat {
  type: EntryType;
  mode: FileMode; // permission bits only
  size: number;
  /** same as `type === "dir"` (kept for callers that only ask that) */
  isDir: boolean;
  uid: number;
  gid: number;
  /** a symlink's target, as stored in the link */
  target?: string;
}

/** `uid:gid`, the one form owners take in outputs and drift. */
export function ownerString(st: { uid: number; gid: number }): string {
  return `${st.uid}:${st.gid}`;
}

export interface Confine {
  /** The outermost folder netboot owns that holds the path: no symlink is followed at or below it. */
  within?: string;
}

/** How a read resolves its path (see the header): `confined` reads never go through a symlink at or below `within`. */
export interface ReadOptions extends Confine {
  confined?: boolean;
}

/** One read of a batch (`readMany`): a confined read of `path`, no symlink followed at or below `within`. */
export interface BatchRead {
  path: string;
  within?: string;
}

/** What a batch read found: the entry as a confined `stat` sees it and, for a regular file, its bytes. */
export interface ReadFound {
  stat: FileStat;
  /** set only when `stat.type` is "file" */
  data?: Buffer;
}

export interface PutOptions extends Confine {
  mode: FileMode;
  /**
   * Called with the full path of the staged temp file (same folder as the target) before it is renamed into
   * place. Throwing aborts the write and removes the temp file: the live file is left as it was.
   */
  validate?: (stagedFullPath: string) => Promise<void>;
  /**
   * false: the caller makes the rename durable with `syncDirs` once a batch is written (one folder fsync per
   * folder, not per file). The file's own data is synced before the rename either way.
   */
  syncDir?: boolean;
}

export interface PutResult {
  /** Folders this write had to create, outermost first (so delete can remove only what we made). */
  createdDirs: string[];
  /** Owner of the file as written (`uid:gid`), so a later change of owner is seen as drift. */
  owner: string;
}

export interface Transport {
  readonly description: string;
  /**
   * True for a local target folder (a `root` that stands in for a host and belongs to netboot): deleting may
   * prune folders left empty up to that root, whoever made them. Real hosts keep folders netboot did not make.
   */
  readonly prunesEmptyFolders?: boolean;
  fullPath(path: string): string;
  get(path: string, opts?: ReadOptions): Promise<Buffer | undefined>;
  stat(path: string, opts?: ReadOptions): Promise<FileStat | undefined>;
  /**
   * Confined reads of many paths, one result per read in order: undefined where nothing is there (as `stat`
   * finds nothing, or a file that `get` then finds gone, swapped or behind a symlink), else the `stat` and, for a
   * regular file, the `get`. Nothing stays open once it settles, whether it resolves or rejects.
   */
  readMany(reads: BatchRead[]): Promise<(ReadFound | undefined)[]>;
  /** Atomic: temp file in the same folder, fsync, chmod, rename. Never leaves a partial file at `path`. */
  put(path: string, data: Buffer | string, opts: PutOptions): Promise<PutResult>;
  /**
   * Makes the renames into these folders durable (fsync of each folder), after puts with `syncDir: false`.
   * A transport whose puts always sync their folder does nothing.
   */
  syncDirs(dirs: string[], opts?: Confine): Promise<void>;
  /** Removes a file or a symlink (never what it points to); a missing file is not an error (returns false). */
  remove(path: string, opts?: Confine): Promise<boolean>;
  /** Removes a folder only if it is empty (a symlink is not a folder: false). */
  removeDirIfEmpty(path: string, opts?: Confine): Promise<boolean>;
  /** Names in a folder, or undefined when it does not exist (or, confined, is reached through a symlink). */
  list(dir: string, opts?: ReadOptions): Promise<string[] | undefined>;
  /**
   * Makes the folder and its missing parents; returns the folders it made, outermost first. An existing
   * component where a symlink is not followed (see above) is refused.
   */
  mkdirp(dir: string, mode?: FileMode, opts?: Confine): Promise<string[]>;
  /** Runs argv on the host (no shell). */
  exec(argv: string[], opts?: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> }): Promise<ExecResult>;
  close(): Promise<void>;
}

/**
 * Where the symlink rule applies for a folder: `base` is entered following symlinks (it is above what netboot
 * owns, or it is the target root itself), then each of `rest` is entered without following one.
 * Pure; shared by the local and SSH transports so both draw the line at the same place.
 */
export function confinedWalk(folder: string, rooted: boolean, within?: string): { base: string; rest: string[] } {
  const parts = folder.split("/").filter(Boolean);
  if (rooted) return { base: "/", rest: parts };
  const w = within ? within.split("/").filter(Boolean) : undefined;
  const inside = w && w.length > 0 && w.length <= parts.length && w.every((c, i) => parts[i] === c);
  // Without a usable `within`, the folder itself is the outermost one netboot owns.
  const keep = inside ? w!.length - 1 : Math.max(parts.length - 1, 0);
  return { base: "/" + parts.slice(0, keep).join("/"), rest: parts.slice(keep) };
}

/**
 * The walk of a confined read of `p` (a file, or a folder that is `stat`ed): the walk of its folder, except that
 * a path at or above `within` is netboot's outermost folder itself, whose parents are all followed (its own
 * type is what the read reports). Pure; shared by the local and SSH transports.
 */
export function readWalk(p: string, rooted: boolean, within?: string): { base: string; rest: string[] } {
  const folder = p.split("/").slice(0, -1).join("/") || "/";
  if (!rooted && within && (within === p || within.startsWith(p + "/"))) return { base: folder, rest: [] };
  return confinedWalk(folder, rooted, within);
}

const BATCH_CONCURRENCY = 16;

/**
 * `readMany` as a confined `stat` then `get` of each path (16 at a time): for transports with nothing to share
 * between reads (memory), or whose reads each cost a round trip anyway (SSH: each walks its folders in its own
 * command; sharing a walk would need one command for the batch).
 */
export async function readEach(t: Pick<Transport, "stat" | "get">, reads: BatchRead[]): Promise<(ReadFound | undefined)[]> {
  const out = new Array<ReadFound | undefined>(reads.length);
  let next = 0;
  const one = async (r: BatchRead): Promise<ReadFound | undefined> => {
    const opts = { confined: true, within: r.within };
    const stat = await t.stat(r.path, opts);
    if (!stat || stat.type !== "file") return stat && { stat };
    const data = await t.get(r.path, opts);
    return data && { stat, data };
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, reads.length) }, async () => {
    while (next < reads.length) {
      const k = next++;
      out[k] = await one(reads[k]);
    }
  }));
  return out;
}

export class TransportError extends Error {
  constructor(public readonly host: string, public readonly op: string, public readonly path: string, cause: string) {
    super(`${host}: ${op} ${path}: ${cause}`);
    this.name = "TransportError";
  }
}
