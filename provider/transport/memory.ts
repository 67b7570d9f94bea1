import * as path from "path";
import { BatchRead, ExecResult, FileStat, PutOptions, PutResult, ReadFound, ReadOptions, readEach, Transport, TransportError } from "./transport";

/**
 * In-memory host for unit tests. `failOn` makes chosen operations fail, like a full disk or a lost host.
 * It behaves as a host with a root: a symlink (`symlinks`, path -> target) in a folder position is refused by
 * every write, rename and delete, as the real transports do (transport.ts), and every read finds nothing below
 * it (a host with a root confines every read); `owners` overrides `0:0`.
 */
export class MemoryTransport implements Transport {
  readonly description = "memory";
  readonly files = new Map<string, { data: Buffer; mode: number }>();
  readonly dirs = new Set<string>(["/"]);
  readonly symlinks = new Map<string, string>();
  readonly owners = new Map<string, string>();
  readonly execLog: string[][] = [];
  failOn: { op: string; path?: string; error: string } | undefined;
  execHandler: (argv: string[]) => ExecResult = () => ({ code: 0, stdout: "", stderr: "" });

  private check(op: string, p: string) {
    if (this.failOn && this.failOn.op === op && (!this.failOn.path || this.failOn.path === p))
      throw new TransportError(this.description, op, p, this.failOn.error);
  }
  private confined(op: string, p: string, folder: string) {
    for (let d = folder; d !== "/" && d !== "."; d = path.posix.dirname(d))
      if (this.symlinks.has(d)) throw new TransportError(this.description, op, p, `${d} is a symlink (to ${this.symlinks.get(d)}); netboot does not follow symlinks in folders it owns`);
  }
  private owner(p: string): { uid: number; gid: number } {
    const [uid, gid] = (this.owners.get(p) ?? "0:0").split(":").map(Number);
    return { uid, gid };
  }
  /** Whether a folder on the way to `p` is a symlink: a confined read does not go there. */
  private behindLink(p: string): boolean {
    for (let d = path.posix.dirname(p); d !== "/" && d !== "."; d = path.posix.dirname(d)) if (this.symlinks.has(d)) return true;
    return false;
  }
  fullPath(p: string): string {
    return path.posix.normalize(p);
  }
  async get(p: string, _opts?: ReadOptions) {
    this.check("read", p);
    if (this.behindLink(p)) return undefined;
    return this.files.get(p)?.data;
  }
  async stat(p: string, _opts?: ReadOptions): Promise<FileStat | undefined> {
    if (this.behindLink(p)) return undefined;
    const f = this.files.get(p);
    if (f) return { type: "file", mode: f.mode, size: f.data.length, isDir: false, ...this.owner(p) };
    const link = this.symlinks.get(p);
    if (link !== undefined) return { type: "symlink", mode: 0o777, size: link.length, isDir: false, target: link, ...this.owner(p) };
    return this.dirs.has(p) ? { type: "dir", mode: 0o755, size: 0, isDir: true, ...this.owner(p) } : undefined;
  }
  /** Memory has no folders to hold open: each read on its own, as `stat` then `get`. */
  readMany(reads: BatchRead[]): Promise<(ReadFound | undefined)[]> {
    return readEach(this, reads);
  }
  async mkdirp(dir: string): Promise<string[]> {
    this.confined("mkdir", dir, dir);
    const created: string[] = [];
    let cur = "";
    for (const part of dir.split("/").filter(Boolean)) {
      cur += "/" + part;
      if (!this.dirs.has(cur)) {
        this.dirs.add(cur);
        created.push(cur);
      }
    }
    return created;
  }
  /** Memory has nothing to make durable. */
  async syncDirs(): Promise<void> {}

  async put(p: string, data: Buffer | string, opts: PutOptions): Promise<PutResult> {
    this.check("write", p);
    this.confined("write", p, path.posix.dirname(p));
    if (this.dirs.has(p)) throw new TransportError(this.description, "write", p, "a folder is in the way");
    const createdDirs = await this.mkdirp(path.posix.dirname(p));
    if (opts.validate) await opts.validate(p + ".staged");
    this.files.set(p, { data: Buffer.from(data), mode: opts.mode });
    this.symlinks.delete(p);
    this.owners.delete(p);
    return { createdDirs, owner: "0:0" };
  }
  async remove(p: string) {
    this.check("remove", p);
    this.confined("remove", p, path.posix.dirname(p));
    return this.files.delete(p) || this.symlinks.delete(p);
  }
  async removeDirIfEmpty(dir: string) {
    this.confined("rmdir", dir, path.posix.dirname(dir));
    const prefix = dir.endsWith("/") ? dir : dir + "/";
    for (const k of [...this.files.keys(), ...this.dirs, ...this.symlinks.keys()]) if (k.startsWith(prefix)) return false;
    return this.dirs.delete(dir);
  }
  async list(dir: string, _opts?: ReadOptions) {
    if (!this.dirs.has(dir) || this.behindLink(dir + "/.")) return undefined;
    const prefix = dir === "/" ? "/" : dir + "/";
    const names = new Set<string>();
    for (const k of [...this.files.keys(), ...this.dirs, ...this.symlinks.keys()])
      if (k.startsWith(prefix) && k.length > prefix.length) names.add(k.slice(prefix.length).split("/")[0]);
    return [...names].sort();
  }
  async exec(argv: string[]): Promise<ExecResult> {
    this.execLog.push(argv);
    return this.execHandler(argv);
  }
  async close() {}
}
