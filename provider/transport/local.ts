import { spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Confine, confinedWalk, ExecResult, FileStat, ownerString, PutOptions, PutResult, ReadOptions, readWalk, Transport, TransportError } from "./transport";

/**
 * A local host. With `root`, every host path lives below that folder (a "target root" that mirrors the real
 * file system); without it, paths are used as they are (this machine itself).
 *
 * Writes, renames and deletes walk their folder openat-style through /proc/self/fd (Node has no openat):
 * see `openDir` and the symlink rule in transport.ts. So do reads below a root, and confined reads elsewhere
 * (`openForRead`): the entry is then looked at through the folder already open (`lstat`, `open` with O_NOFOLLOW).
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

  /** Whether a read of this transport goes through the walk (transport.ts: always below a root). */
  private confines(opts: ReadOptions | undefined): boolean {
    return !!this.root || !!opts?.confined;
  }

  /**
   * The folder holding `p`, open, for a confined read; undefined when it is missing or can only be reached
   * through a symlink or a non-folder (the read then finds nothing: transport.ts).
   */
  private async openForRead(op: string, p: string, opts: ReadOptions | undefined): Promise<fs.promises.FileHandle | undefined> {
    return this.openWalk(op, p, readWalk(path.posix.normalize(p), !!this.root, opts?.within), undefined, true);
  }

  async get(p: string, opts?: ReadOptions): Promise<Buffer | undefined> {
    const full = this.fullPath(p);
    if (!this.confines(opts) || path.posix.normalize(p) === "/") {
      try {
        return await fs.promises.readFile(full);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw this.wrap("read", p, e);
      }
    }
    const dir = await this.openForRead("read", p, opts);
    if (!dir) return undefined;
    let fh: fs.promises.FileHandle | undefined;
    try {
      // O_NOFOLLOW: a symlink at the last component is not read (ELOOP); O_NONBLOCK: a FIFO does not hang the read.
      fh = await fs.promises.open(`/proc/self/fd/${dir.fd}/${path.posix.basename(p)}`, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      const st = await fh.stat();
      if (st.isDirectory()) throw Object.assign(new Error("is a folder"), { code: "EISDIR" });
      if (!st.isFile()) return undefined;
      return await fh.readFile();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR") return undefined;
      throw this.wrap("read", p, e);
    } finally {
      await fh?.close().catch(() => undefined);
      await dir.close().catch(() => undefined);
    }
  }

  async stat(p: string, opts?: ReadOptions): Promise<FileStat | undefined> {
    let full = this.fullPath(p);
    let dir: fs.promises.FileHandle | undefined;
    if (this.confines(opts) && path.posix.normalize(p) !== "/") {
      dir = await this.openForRead("stat", p, opts);
      if (!dir) return undefined;
      // lstat through the open folder: the folder is the one that was walked, whatever its name points to now
      full = `/proc/self/fd/${dir.fd}/${path.posix.basename(p)}`;
    }
    try {
      const st = await fs.promises.lstat(full);
      const type = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
      const target = type === "symlink" ? await fs.promises.readlink(full) : undefined;
      return { type, mode: st.mode & 0o7777, size: st.size, isDir: type === "dir", uid: st.uid, gid: st.gid, ...(target !== undefined ? { target } : {}) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw this.wrap("stat", p, e);
    } finally {
      await dir?.close().catch(() => undefined);
    }
  }

  /**
   * Opens `folder` the openat way: `base` by path, then each further component through the folder already
   * open (`/proc/self/fd/N/name`, O_DIRECTORY|O_NOFOLLOW), so a component that is (or becomes) a symlink is
   * refused, never followed. With `create`, missing components are made (and recorded as host paths).
   * Returns undefined when a component is missing and nothing is to be created.
   */
  private async openDir(op: string, p: string, folder: string, within: string | undefined, create?: { mode: number; created: string[] }): Promise<fs.promises.FileHandle | undefined> {
    return this.openWalk(op, p, confinedWalk(path.posix.normalize(folder), !!this.root, within), create);
  }

  /** `openDir` on a walk; `soft` (reads): a symlink or a non-folder on the way is undefined, not an error. */
  private async openWalk(op: string, p: string, walk: { base: string; rest: string[] }, create?: { mode: number; created: string[] }, soft = false): Promise<fs.promises.FileHandle | undefined> {
    const { base, rest } = walk;
    let cur = base === "/" ? "" : base;
    if (create) {
      // Above what netboot owns symlinks are followed (see transport.ts), so plain mkdir by path is right.
      if (this.root) await fs.promises.mkdir(this.root, { recursive: true }).catch((e) => { throw this.wrap("mkdir", this.root, e); });
      let up = "";
      for (const part of cur.split("/").filter(Boolean)) {
        up += "/" + part;
        try {
          await fs.promises.mkdir(this.fullPath(up), { mode: create.mode });
          create.created.push(up);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw this.wrap("mkdir", up, e);
        }
      }
    }
    let dir: fs.promises.FileHandle;
    try {
      // A rooted walk starts at the root (`base` is "/" then): the root's own path is the user's to choose.
      dir = await fs.promises.open(this.root || cur || "/", fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!create && (code === "ENOENT" || code === "ENOTDIR")) return undefined;
      throw this.wrap(op, p, e);
    }
    const flags = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;
    for (const part of rest) {
      const at = `/proc/self/fd/${dir.fd}/${part}`;
      cur += "/" + part;
      let next: fs.promises.FileHandle | undefined;
      for (let attempt = 0; !next; attempt++) {
        try {
          next = await fs.promises.open(at, flags);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === "ENOENT" && create && attempt < 2) {
            try {
              await fs.promises.mkdir(at, { mode: create.mode });
              create.created.push(cur);
            } catch (e2) {
              if ((e2 as NodeJS.ErrnoException).code !== "EEXIST") { await dir.close(); throw this.wrap("mkdir", cur, e2); }
            }
            continue;
          }
          // Linux says ENOTDIR (O_DIRECTORY) or ELOOP (O_NOFOLLOW) for a symlink: readlink tells them apart.
          const target = code === "ELOOP" || code === "ENOTDIR" ? await fs.promises.readlink(at).catch(() => undefined) : undefined;
          await dir.close();
          if (code === "ENOENT" && !create) return undefined;
          if (soft && (code === "ELOOP" || code === "ENOTDIR")) return undefined;
          if (code === "ELOOP" || code === "ENOTDIR") {
            if (target !== undefined) throw new TransportError(this.description, op, p, `${cur} is a symlink (to ${target}); netboot does not follow symlinks in folders it owns`);
            throw new TransportError(this.description, op, p, `${cur} is not a folder`);
          }
          throw this.wrap(op, p, e);
        }
      }
      await dir.close();
      dir = next;
    }
    return dir;
  }

  async mkdirp(dir: string, mode = 0o755, opts: Confine = {}): Promise<string[]> {
    this.fullPath(dir);
    const created: string[] = [];
    const h = await this.openDir("mkdir", dir, dir, opts.within, { mode, created });
    await h!.close();
    return created;
  }

  async syncDirs(dirs: string[], opts: Confine = {}): Promise<void> {
    for (const d of [...new Set(dirs)].sort()) {
      const h = await this.openDir("sync", d, d, opts.within);
      if (!h) continue;
      await h.sync().catch(() => undefined);
      await h.close();
    }
  }

  async put(p: string, data: Buffer | string, opts: PutOptions): Promise<PutResult> {
    const full = this.fullPath(p);
    const name = path.posix.basename(p);
    const createdDirs: string[] = [];
    const dir = (await this.openDir("write", p, path.posix.dirname(p), opts.within, { mode: 0o755, created: createdDirs }))!;
    const at = (n: string) => `/proc/self/fd/${dir.fd}/${n}`;
    const tmpName = `.${name}.netboot-${randomBytes(4).toString("hex")}.tmp`;
    let fh: fs.promises.FileHandle | undefined;
    let owner: string;
    try {
      fh = await fs.promises.open(at(tmpName), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, opts.mode);
      await fh.writeFile(data);
      await fh.chmod(opts.mode); // umask must not change what we were asked for
      await fh.sync();
      owner = ownerString(await fh.stat());
      await fh.close();
      fh = undefined;
      // The check runs in another process: it gets the path by name (it only reads the staged file).
      if (opts.validate) await opts.validate(path.join(path.dirname(full), tmpName));
      await fs.promises.rename(at(tmpName), at(name));
      if (opts.syncDir !== false) await dir.sync().catch(() => undefined);
    } catch (e) {
      if (fh) await fh.close().catch(() => undefined);
      await fs.promises.rm(at(tmpName), { force: true }).catch(() => undefined);
      if (e instanceof TransportError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EISDIR") throw new TransportError(this.description, "write", p, "a folder is in the way");
      if (code) throw this.wrap("write", p, e);
      throw e;
    } finally {
      await dir.close().catch(() => undefined);
    }
    return { createdDirs, owner };
  }

  async remove(p: string, opts: Confine = {}): Promise<boolean> {
    this.fullPath(p);
    const dir = await this.openDir("remove", p, path.posix.dirname(p), opts.within);
    if (!dir) return false;
    try {
      await fs.promises.unlink(`/proc/self/fd/${dir.fd}/${path.posix.basename(p)}`);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw this.wrap("remove", p, e);
    } finally {
      await dir.close();
    }
  }

  async removeDirIfEmpty(d: string, opts: Confine = {}): Promise<boolean> {
    this.fullPath(d);
    const dir = await this.openDir("rmdir", d, path.posix.dirname(d), opts.within);
    if (!dir) return false;
    try {
      await fs.promises.rmdir(`/proc/self/fd/${dir.fd}/${path.posix.basename(d)}`);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") return false;
      throw this.wrap("rmdir", d, e);
    } finally {
      await dir.close();
    }
  }

  async list(dir: string, opts?: ReadOptions): Promise<string[] | undefined> {
    let full = this.fullPath(dir);
    let h: fs.promises.FileHandle | undefined;
    if (this.confines(opts) && path.posix.normalize(dir) !== "/") {
      // The folder itself is walked too (its own name is a component that must not be a symlink).
      h = await this.openWalk("list", dir, readWalk(path.posix.normalize(dir) + "/.", !!this.root, opts?.within), undefined, true);
      if (!h) return undefined;
      full = `/proc/self/fd/${h.fd}`;
    }
    try {
      return (await fs.promises.readdir(full)).sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw this.wrap("list", dir, e);
    } finally {
      await h?.close().catch(() => undefined);
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
