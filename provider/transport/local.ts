import { spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { BatchRead, Confine, confinedWalk, ExecResult, FileStat, ownerString, PutOptions, PutResult, ReadFound, ReadOptions, readWalk, Transport, TransportError } from "./transport";

/** How a folder below where symlinks stop being followed is opened from its parent: a symlink is refused. */
const DIR_NOFOLLOW = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;

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
    try {
      return await this.readIn(dir, p);
    } finally {
      await dir.close().catch(() => undefined);
    }
  }

  /** A confined `get` of `p` (its name) in its folder, already open. */
  private async readIn(dir: fs.promises.FileHandle, p: string): Promise<Buffer | undefined> {
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
    }
  }

  async stat(p: string, opts?: ReadOptions): Promise<FileStat | undefined> {
    const full = this.fullPath(p);
    if (!this.confines(opts) || path.posix.normalize(p) === "/") return this.lstat(full, p);
    const dir = await this.openForRead("stat", p, opts);
    if (!dir) return undefined;
    try {
      return await this.statIn(dir, p);
    } finally {
      await dir.close().catch(() => undefined);
    }
  }

  /** A confined `stat` of `p` in its folder, already open: lstat through it, whatever its name points to now. */
  private statIn(dir: fs.promises.FileHandle, p: string): Promise<FileStat | undefined> {
    return this.lstat(`/proc/self/fd/${dir.fd}/${path.posix.basename(p)}`, p);
  }

  private async lstat(full: string, p: string): Promise<FileStat | undefined> {
    try {
      const st = await fs.promises.lstat(full);
      const type = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
      const target = type === "symlink" ? await fs.promises.readlink(full) : undefined;
      return { type, mode: st.mode & 0o7777, size: st.size, isDir: type === "dir", uid: st.uid, gid: st.gid, ...(target !== undefined ? { target } : {}) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw this.wrap("stat", p, e);
    }
  }

  /**
   * Confined reads of many paths (transport.ts), each folder of the batch opened once: the walks of all reads
   * form a tree (a read's walk: its `base` opened by path, then each of `rest` from the folder before it), and
   * each folder of that tree is opened from its parent's open handle with O_NOFOLLOW, exactly as `openWalk`
   * does, the first time a read needs it. Each entry is then `stat`ed and read through its folder's handle as a
   * single `stat` and `get` would (`statIn`, `readIn`). What a read finds is what single reads of the same
   * paths would find, except for one thing: a folder replaced after the batch opened it.
   *
   * Why holding a folder open for the length of the batch is as safe as walking again for each file: a handle
   * stays bound to the folder it opened (the inode), not to its name. If the folder is renamed away and a
   * symlink (or another folder) is put in its place, reads through the handle still go to the folder that was
   * walked, without following anything: they never reach the symlink's target, so they cannot be redirected
   * outside the root. They read what that folder holds, the same as a single read that opened it just before
   * the swap. The one name looked up again is each entry's own (O_NOFOLLOW, lstat), as single reads do.
   * A later batch (the next observe) walks from the root again and finds the swap.
   *
   * File handles: each folder stays open until the last read below it (counted before the batch starts) is
   * done, and the reads run in walk order, 16 at a time, so what is open at once is bounded by the 16 reads'
   * folders and their parents, not by the batch's size. Whatever is still open when the batch ends (a read
   * failed and the rest were not started) is closed before `readMany` settles.
   */
  async readMany(reads: BatchRead[]): Promise<(ReadFound | undefined)[]> {
    type Folder = { name: string; parent?: Folder; children: Map<string, Folder>; users: number; order: number; handle?: Promise<fs.promises.FileHandle | undefined> };
    const bases = new Map<string, Folder>();
    const jobs: { k: number; p: string; folder?: Folder }[] = [];
    for (const [k, r] of reads.entries()) {
      this.fullPath(r.path); // refuses a relative path or `..` before anything is opened
      const p = path.posix.normalize(r.path);
      if (p === "/") { jobs.push({ k, p }); continue; }
      const { base, rest } = readWalk(p, !!this.root, r.within);
      let f: Folder | undefined = bases.get(base);
      if (!f) bases.set(base, (f = { name: base, children: new Map(), users: 0, order: 0 }));
      for (const c of rest) {
        let child: Folder | undefined = f.children.get(c);
        if (!child) f.children.set(c, (child = { name: c, parent: f, children: new Map(), users: 0, order: 0 }));
        f = child;
      }
      for (let u: Folder | undefined = f; u; u = u.parent) u.users++;
      jobs.push({ k, p, folder: f });
    }
    // Walk order (depth first): the reads of a folder, and of everything below it, are next to each other.
    let n = 0;
    const number = (f: Folder): void => { f.order = n++; for (const c of f.children.values()) number(c); };
    for (const b of bases.values()) number(b);
    jobs.sort((a, b) => (a.folder?.order ?? -1) - (b.folder?.order ?? -1) || a.k - b.k);

    const opened: Folder[] = [];
    const open = (f: Folder, p: string): Promise<fs.promises.FileHandle | undefined> => {
      if (!f.handle) {
        opened.push(f);
        f.handle = f.parent
          ? open(f.parent, p).then((d) => (d ? this.openChild(d, f.name, "read", p) : undefined))
          : this.openBase(f.name, "read", p);
      }
      return f.handle;
    };
    const closing: Promise<unknown>[] = [];
    const close = (f: Folder) => {
      const h = f.handle;
      if (h) closing.push(h.then((d) => d?.close(), () => undefined).catch(() => undefined));
      f.handle = undefined;
    };
    const out = new Array<ReadFound | undefined>(reads.length);
    let next = 0;
    let failed: { e: unknown } | undefined;
    const one = async (job: (typeof jobs)[number]): Promise<ReadFound | undefined> => {
      if (!job.folder) {
        const stat = await this.stat(job.p, { confined: true });
        if (!stat || stat.type !== "file") return stat && { stat };
        const data = await this.get(job.p, { confined: true });
        return data && { stat, data };
      }
      try {
        const dir = await open(job.folder, job.p);
        if (!dir) return undefined;
        const stat = await this.statIn(dir, job.p);
        if (!stat || stat.type !== "file") return stat && { stat };
        const data = await this.readIn(dir, job.p);
        return data && { stat, data };
      } finally {
        for (let u: Folder | undefined = job.folder; u; u = u.parent) if (--u.users === 0) close(u);
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, jobs.length) }, async () => {
      while (!failed && next < jobs.length) {
        const job = jobs[next++];
        try {
          out[job.k] = await one(job);
        } catch (e) {
          failed ??= { e };
        }
      }
    }));
    for (const f of opened) close(f);
    await Promise.all(closing);
    if (failed) throw failed.e;
    return out;
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
    const flags = DIR_NOFOLLOW;
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

  /** The base of a read's walk (see `openWalk`), opened by path; undefined when it is missing or not a folder. */
  private async openBase(base: string, op: string, p: string): Promise<fs.promises.FileHandle | undefined> {
    try {
      return await fs.promises.open(this.root || base || "/", fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw this.wrap(op, p, e);
    }
  }

  /**
   * One further component of a read's walk, opened from its parent's handle as `openWalk` does (`soft`): a
   * symlink, a non-folder or nothing there is undefined. The parent stays open (it is the caller's).
   */
  private async openChild(dir: fs.promises.FileHandle, name: string, op: string, p: string): Promise<fs.promises.FileHandle | undefined> {
    try {
      return await fs.promises.open(`/proc/self/fd/${dir.fd}/${name}`, DIR_NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ELOOP" || code === "ENOTDIR") return undefined;
      throw this.wrap(op, p, e);
    }
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
