/**
 * The build host's file system as the initramfs plan reads it: kernel, modules, busybox, glusterfs and the
 * shared-library closure. Local by default (this machine); or a remote build host reached through its
 * transport (SSH), seen through a local mirror of exactly the files the plan looked at.
 *
 * The plan is synchronous and pure over a `BuildFs`. For a remote host it runs against the mirror; every path
 * the mirror does not know yet is recorded as a miss; the misses are fetched in one round trip (metadata with
 * `find -printf`, contents with `tar`) and the plan runs again, until it asks for nothing new. Before each plan,
 * every mirrored path is checked again (type, mode, size, mtime, link target), so an upgraded package on the
 * build host is seen: its files are fetched again and the plan's digest changes.
 */
import * as fs from "fs";
import * as path from "path";
import { Transport } from "../transport/transport";
import { sha256 } from "../drift/digest";
import { FsNode, FsView } from "./closure";
import { hostFs } from "./hostFs";
import { cacheDir, pipe } from "./initramfs";

export interface BuildFs extends FsView {
  readonly description: string;
  /** Text of a file (symlinks followed), or undefined. */
  readText(p: string): string | undefined;
  /** Names in a folder (symlinks followed), or [] when it is not one. */
  listDir(p: string): string[];
  /** True when `p` exists (symlinks followed). */
  exists(p: string): boolean;
}

export const localBuildFs: BuildFs = {
  description: "the build host (this machine)",
  lstat: hostFs.lstat,
  read: hostFs.read,
  readText(p) {
    try {
      return fs.readFileSync(p, "utf8");
    } catch {
      return undefined;
    }
  },
  listDir(p) {
    try {
      return fs.readdirSync(p);
    } catch {
      return [];
    }
  },
  exists: (p) => fs.existsSync(p),
};

type Entry = { t: "f"; mode: number; size: number; mtime: string } | { t: "d"; mode: number } | { t: "l"; target: string } | { t: "-" };

/** What the mirror knows of one build host: metadata by path, folder listings, file contents on disk. */
export class Mirror {
  readonly entries = new Map<string, Entry>();
  readonly listings = new Map<string, string[]>();
  readonly dir: string;
  constructor(readonly host: Transport, key: string) {
    this.dir = path.join(cacheDir(), "buildhosts", sha256(key).slice(0, 16));
    const idx = path.join(this.dir, "index.json");
    if (fs.existsSync(idx)) {
      try {
        const j = JSON.parse(fs.readFileSync(idx, "utf8"));
        for (const [p, e] of Object.entries(j.entries ?? {})) this.entries.set(p, e as Entry);
        for (const [p, l] of Object.entries(j.listings ?? {})) this.listings.set(p, l as string[]);
      } catch {
        /* a damaged index is rebuilt */
      }
    }
  }

  private save(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const tmp = path.join(this.dir, `index.json.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify({ entries: Object.fromEntries(this.entries), listings: Object.fromEntries(this.listings) }));
    fs.renameSync(tmp, path.join(this.dir, "index.json"));
  }

  filePath(p: string): string {
    return path.join(this.dir, "files", p);
  }

  /** Metadata of `paths` on the host (one `find` for all of them). */
  private async stat(paths: string[]): Promise<Map<string, Entry>> {
    const out = new Map<string, Entry>();
    for (const p of paths) out.set(p, { t: "-" });
    if (!paths.length) return out;
    // -maxdepth 0: each path itself; lstat semantics (-P); missing paths only print an error
    const r = await this.host.exec(["sh", "-c", "xargs -0 -r sh -c 'find -P \"$@\" -maxdepth 0 -printf \"%y\\t%p\\t%m\\t%s\\t%T@\\t%l\\n\" 2>/dev/null; true' sh"], { input: Buffer.from(paths.map((p) => p + "\0").join("")), timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`${this.host.description}: reading file metadata failed: ${r.stderr.trim()}`);
    for (const line of r.stdout.split("\n")) {
      if (!line) continue;
      const [y, p, m, s, t, l] = line.split("\t");
      const mode = parseInt(m, 8);
      out.set(p, y === "l" ? { t: "l", target: l } : y === "d" ? { t: "d", mode } : y === "f" ? { t: "f", mode, size: Number(s), mtime: t } : { t: "-" });
    }
    return out;
  }

  /** Drops every mirrored path whose metadata changed on the host (it is fetched again on the next miss). */
  async revalidate(): Promise<number> {
    let dropped = 0;
    // a mirrored file whose local copy went missing or has another size is fetched again
    for (const [p, e] of this.entries)
      if (e.t === "f" && fs.statSync(this.filePath(p), { throwIfNoEntry: false })?.size !== e.size) {
        this.entries.delete(p);
        dropped++;
      }
    const now = await this.stat([...this.entries.keys()]);
    for (const [p, e] of now)
      if (JSON.stringify(e) !== JSON.stringify(this.entries.get(p))) {
        this.entries.delete(p);
        this.listings.delete(p);
        dropped++;
      }
    if (dropped) this.save();
    return dropped;
  }

  /**
   * Fetches metadata (and contents of regular files) for `paths`, every folder on the way to each of `hints`
   * and to its canonical path (`readlink -f`), and the listings of `dirs`.
   */
  async fetch(paths: string[], dirs: string[], hints: string[] = []): Promise<void> {
    const want = new Set(paths);
    const prefixes = (p: string) => {
      const parts = p.split("/").filter(Boolean);
      for (let i = 1; i <= parts.length; i++) want.add("/" + parts.slice(0, i).join("/"));
    };
    if (hints.length) {
      const r = await this.host.exec(["sh", "-c", 'xargs -0 -r sh -c \'for p in "$@"; do readlink -f -- "$p" || echo; done\' sh'], { input: Buffer.from(hints.map((h) => h + "\0").join("")), timeoutMs: 120_000 });
      for (const h of hints) prefixes(h);
      for (const c of r.stdout.split("\n")) if (c.startsWith("/")) prefixes(c);
    }
    for (const p of [...want]) if (this.entries.has(p) && !paths.includes(p)) want.delete(p);
    const meta = await this.stat([...want]);
    const files = [...meta].filter(([, e]) => e.t === "f").map(([p]) => p);
    if (files.length) {
      const tar = await this.host.exec(["tar", "-C", "/", "--null", "-T", "-", "-cf", "-"], { input: Buffer.from(files.map((p) => p.replace(/^\//, "") + "\0").join("")), timeoutMs: 600_000 });
      if (tar.code !== 0) throw new Error(`${this.host.description}: fetching ${files.length} files failed: ${tar.stderr.trim()}`);
      fs.mkdirSync(path.join(this.dir, "files"), { recursive: true });
      if (!tar.stdoutBytes) throw new Error(`${this.host.description}: this transport cannot return binary output`);
      await pipe(["tar", "-x", "-C", path.join(this.dir, "files"), "-f", "-"], tar.stdoutBytes);
    }
    for (const [p, e] of meta) this.entries.set(p, e);
    for (const d of dirs) {
      const r = await this.host.exec(["sh", "-c", 'find -L "$1" -mindepth 1 -maxdepth 1 -printf "%f\\n" 2>/dev/null; true', "sh", d]);
      this.listings.set(d, r.stdout.split("\n").filter(Boolean).sort());
    }
    this.save();
  }
}

/** A BuildFs over the mirror; paths it does not know are recorded in `misses` / `listMisses`. */
export class MirrorFs implements BuildFs {
  readonly misses = new Set<string>();
  /** whole paths about to be walked: their components and their canonical path are fetched together */
  readonly hints = new Set<string>();
  readonly listMisses = new Set<string>();
  readonly description: string;
  constructor(private readonly m: Mirror) {
    this.description = `the build host ${m.host.description}`;
  }
  hint(p: string): void {
    if (!this.m.entries.has(p)) this.hints.add(path.posix.normalize(p));
  }
  lstat(p: string): FsNode | undefined {
    const e = this.m.entries.get(p);
    if (!e) {
      this.misses.add(p);
      return undefined;
    }
    return e.t === "f" ? { type: "file", mode: e.mode, size: e.size } : e.t === "d" ? { type: "dir", mode: e.mode } : e.t === "l" ? { type: "symlink", target: e.target } : undefined;
  }
  read(p: string): Buffer {
    const e = this.m.entries.get(p);
    if (e?.t !== "f") throw new Error(`${p}: not a mirrored file of ${this.m.host.description}`);
    return fs.readFileSync(this.m.filePath(p));
  }
  /** The real path of `p` (every symlink of every component followed), or undefined. */
  private resolve(p: string): string | undefined {
    this.hint(p);
    let pending = path.posix.normalize(p).split("/").filter(Boolean);
    let cur = "";
    for (let hops = 0; pending.length; ) {
      const part = pending.shift()!;
      const next = part === ".." ? path.posix.dirname(cur || "/").replace(/^\/$/, "") : `${cur}/${part}`;
      if (part === "..") {
        cur = next;
        continue;
      }
      const n = this.lstat(next);
      if (!n) return undefined;
      if (n.type === "symlink") {
        if (++hops > 40) return undefined;
        pending = [...n.target.split("/").filter(Boolean), ...pending];
        if (n.target.startsWith("/")) cur = "";
        continue;
      }
      cur = next;
    }
    return cur || "/";
  }
  readText(p: string): string | undefined {
    const r = this.resolve(p);
    return r && this.m.entries.get(r)?.t === "f" ? this.read(r).toString("utf8") : undefined;
  }
  listDir(p: string): string[] {
    const r = this.resolve(p);
    if (!r || this.m.entries.get(r)?.t !== "d") return [];
    const l = this.m.listings.get(r);
    if (!l) {
      this.listMisses.add(r);
      return [];
    }
    return l;
  }
  exists(p: string): boolean {
    return this.resolve(p) !== undefined;
  }
}

/**
 * The build hosts of one provider context: a mirror per host (loaded from its on-disk index the first time)
 * and a queue per host. `run` runs `plan` (pure, synchronous) against the build host behind `host`: directly
 * for this machine, or against its mirror, fetching what the plan asked for until it asks for nothing new.
 */
export class BuildHosts {
  private readonly mirrors = new Map<string, Mirror>();
  private readonly queues = new Map<string, Promise<unknown>>();

  async run<T>(host: Transport | undefined, key: string, plan: (bfs: BuildFs) => T): Promise<T> {
    if (!host) return plan(localBuildFs);
    // one plan at a time per build host: the engine checks several resources at once, and a fetch rewrites
    // mirrored files that another plan may be reading
    const prev = this.queues.get(key) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.planOnMirror(host, key, plan));
    this.queues.set(key, run);
    return run;
  }

  private async planOnMirror<T>(host: Transport, key: string, plan: (bfs: BuildFs) => T): Promise<T> {
    let m = this.mirrors.get(key);
    if (!m) this.mirrors.set(key, (m = new Mirror(host, key)));
    await m.revalidate();
    for (let round = 0; round < 64; round++) {
      const mfs = new MirrorFs(m);
      const result = plan(mfs);
      if (!mfs.misses.size && !mfs.listMisses.size) return result;
      await m.fetch([...mfs.misses], [...mfs.listMisses], [...mfs.hints]);
    }
    throw new Error(`${host.description}: the build plan still asked for new files after 64 rounds`);
  }
}
