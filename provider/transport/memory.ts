import * as path from "path";
import { ExecResult, FileStat, PutOptions, PutResult, Transport, TransportError } from "./transport";

/** In-memory host for unit tests. `failOn` makes chosen operations fail, like a full disk or a lost host. */
export class MemoryTransport implements Transport {
  readonly description = "memory";
  readonly files = new Map<string, { data: Buffer; mode: number }>();
  readonly dirs = new Set<string>(["/"]);
  readonly execLog: string[][] = [];
  failOn: { op: string; path?: string; error: string } | undefined;
  execHandler: (argv: string[]) => ExecResult = () => ({ code: 0, stdout: "", stderr: "" });

  private check(op: string, p: string) {
    if (this.failOn && this.failOn.op === op && (!this.failOn.path || this.failOn.path === p))
      throw new TransportError(this.description, op, p, this.failOn.error);
  }
  fullPath(p: string): string {
    return path.posix.normalize(p);
  }
  async get(p: string) {
    this.check("read", p);
    return this.files.get(p)?.data;
  }
  async stat(p: string): Promise<FileStat | undefined> {
    const f = this.files.get(p);
    if (f) return { mode: f.mode, size: f.data.length, isDir: false };
    return this.dirs.has(p) ? { mode: 0o755, size: 0, isDir: true } : undefined;
  }
  async mkdirp(dir: string): Promise<string[]> {
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
  async put(p: string, data: Buffer | string, opts: PutOptions): Promise<PutResult> {
    this.check("write", p);
    const createdDirs = await this.mkdirp(path.posix.dirname(p));
    if (opts.validate) await opts.validate(p + ".staged");
    this.files.set(p, { data: Buffer.from(data), mode: opts.mode });
    return { createdDirs };
  }
  async remove(p: string) {
    this.check("remove", p);
    return this.files.delete(p);
  }
  async removeDirIfEmpty(dir: string) {
    const prefix = dir.endsWith("/") ? dir : dir + "/";
    for (const k of [...this.files.keys(), ...this.dirs]) if (k.startsWith(prefix)) return false;
    return this.dirs.delete(dir);
  }
  async list(dir: string) {
    if (!this.dirs.has(dir)) return undefined;
    const prefix = dir === "/" ? "/" : dir + "/";
    const names = new Set<string>();
    for (const k of [...this.files.keys(), ...this.dirs])
      if (k.startsWith(prefix) && k.length > prefix.length) names.add(k.slice(prefix.length).split("/")[0]);
    return [...names].sort();
  }
  async exec(argv: string[]): Promise<ExecResult> {
    this.execLog.push(argv);
    return this.execHandler(argv);
  }
  async close() {}
}
