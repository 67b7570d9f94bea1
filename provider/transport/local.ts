import { spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ExecResult, FileStat, PutOptions, PutResult, Transport, TransportError } from "./transport";

/**
 * A local host. With `root`, every host path lives below that folder (a "target root" that mirrors the real
 * file system); without it, paths are used as they are (this machine itself).
 */
export class LocalTransport implements Transport {
  readonly description: string;
  readonly prunesEmptyFolders: boolean;
  private readonly root: string;

  constructor(root?: string) {
    this.root = root ? path.resolve(root) : "";
    this.description = root ? `local:${this.root}` : "local";
    this.prunesEmptyFolders = !!root;
  }

  fullPath(p: string): string {
    if (!p.startsWith("/")) throw new TransportError(this.description, "resolve", p, "host paths must be absolute");
    if (p.split("/").includes("..")) throw new TransportError(this.description, "resolve", p, "path escapes the host root (`..`)");
    const norm = path.posix.normalize(p);
    if (norm.split("/").includes("..")) throw new TransportError(this.description, "resolve", p, "path escapes the host root");
    return this.root ? path.join(this.root, norm) : norm;
  }

  private wrap(op: string, p: string, e: unknown): TransportError {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === "ENOSPC" ? "no space left on device" :
      err.code === "EACCES" || err.code === "EPERM" ? "permission denied" :
      err.code === "EROFS" ? "read-only file system" : err.message;
    return new TransportError(this.description, op, p, why);
  }

  async get(p: string): Promise<Buffer | undefined> {
    try {
      return await fs.promises.readFile(this.fullPath(p));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.wrap("read", p, e);
    }
  }

  async stat(p: string): Promise<FileStat | undefined> {
    try {
      const st = await fs.promises.lstat(this.fullPath(p));
      return { mode: st.mode & 0o7777, size: st.size, isDir: st.isDirectory() };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.wrap("stat", p, e);
    }
  }

  async mkdirp(dir: string, mode = 0o755): Promise<string[]> {
    const created: string[] = [];
    // The target root itself is made on first use (it is not "ours" to remove later).
    if (this.root) await fs.promises.mkdir(this.root, { recursive: true }).catch((e) => { throw this.wrap("mkdir", this.root, e); });
    const parts = path.posix.normalize(dir).split("/").filter(Boolean);
    let cur = "";
    for (const part of parts) {
      cur += "/" + part;
      const full = this.fullPath(cur);
      try {
        await fs.promises.mkdir(full, { mode });
        created.push(cur);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EEXIST") throw this.wrap("mkdir", cur, e);
      }
    }
    return created;
  }

  async put(p: string, data: Buffer | string, opts: PutOptions): Promise<PutResult> {
    const full = this.fullPath(p);
    const dir = path.posix.dirname(p);
    const createdDirs = await this.mkdirp(dir);
    const tmp = path.join(path.dirname(full), `.${path.basename(full)}.netboot-${randomBytes(4).toString("hex")}.tmp`);
    let fh: fs.promises.FileHandle | undefined;
    try {
      fh = await fs.promises.open(tmp, "wx", opts.mode);
      await fh.writeFile(data);
      await fh.chmod(opts.mode); // umask must not change what we were asked for
      await fh.sync();
      await fh.close();
      fh = undefined;
      if (opts.validate) await opts.validate(tmp);
      await fs.promises.rename(tmp, full);
    } catch (e) {
      if (fh) await fh.close().catch(() => undefined);
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      if (e instanceof TransportError) throw e;
      if ((e as NodeJS.ErrnoException).code) throw this.wrap("write", p, e);
      throw e;
    }
    return { createdDirs };
  }

  async remove(p: string): Promise<boolean> {
    try {
      await fs.promises.unlink(this.fullPath(p));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw this.wrap("remove", p, e);
    }
  }

  async removeDirIfEmpty(dir: string): Promise<boolean> {
    try {
      await fs.promises.rmdir(this.fullPath(dir));
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTEMPTY" || code === "EEXIST") return false;
      throw this.wrap("rmdir", dir, e);
    }
  }

  async list(dir: string): Promise<string[] | undefined> {
    try {
      return (await fs.promises.readdir(this.fullPath(dir))).sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw this.wrap("list", dir, e);
    }
  }

  exec(argv: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), {
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, ...(opts.env ?? {}) },
        timeout: opts.timeoutMs ?? 120_000,
      });
      const out: Buffer[] = [];
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", (e) => reject(new TransportError(this.description, "exec", argv[0], (e as Error).message)));
      child.on("close", (code, signal) => {
        const stdoutBytes = Buffer.concat(out);
        resolve({ code: code ?? (signal ? 128 : 1), stdout: stdoutBytes.toString(), stdoutBytes, stderr });
      });
      child.stdin.on("error", () => undefined); // the command may exit before reading its input
      child.stdin.end(opts.input ?? "");
    });
  }

  async close(): Promise<void> {}
}
