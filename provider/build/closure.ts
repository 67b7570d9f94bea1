/**
 * The closure resolver: which files an initramfs needs, and why. Pure logic over a narrow read-only view of
 * the build host's file system (`FsView`), so it is unit-tested against fake trees as well as the real host.
 *
 * - Paths keep the host's layout, symlinks included: a path whose component is a symlink (`/lib` ->
 *   `usr/lib` on merged-/usr systems, `replicate.so` -> `afr.so`) is recorded as that symlink plus its target.
 * - Shared libraries: DT_NEEDED of every ELF file, recursively, searched like ld.so does (DT_RPATH when there
 *   is no DT_RUNPATH, DT_RUNPATH, ld.so.conf folders, the default folders), plus the program interpreter.
 * - Kernel modules: `modules.dep` closure, in load order (dependencies first).
 */
import * as path from "path";
import { elfDeps, ElfError, isElf } from "./elf";

export type FsNode = { type: "file"; mode: number; size: number } | { type: "dir"; mode: number } | { type: "symlink"; target: string };

/** Read-only view of the build host (lstat semantics: symlinks are not followed). */
export interface FsView {
  lstat(p: string): FsNode | undefined;
  read(p: string): Buffer;
  /** Says which whole path is about to be walked (a remote build host's mirror fetches all of it at once). */
  hint?(p: string): void;
}

export type PlanEntry =
  | { path: string; type: "file"; mode: number; source: string; reason: string }
  | { path: string; type: "symlink"; target: string; reason: string }
  | { path: string; type: "dir"; mode: number; reason: string };

export class ClosureError extends Error {}

const MAX_LINKS = 40;

/** Collects the files to copy, keyed by path, each with the first reason it was added for. */
export class Closure {
  readonly entries = new Map<string, PlanEntry>();
  private readonly elfDone = new Set<string>();

  constructor(private readonly fs: FsView, private readonly libDirs: string[]) {}

  /**
   * Adds `p` (absolute) with its symlinks, as the host has them. Returns the real path of the final file,
   * or undefined when it does not exist.
   */
  add(p: string, reason: string): string | undefined {
    this.fs.hint?.(p);
    let pending = path.posix.normalize(p).split("/").filter(Boolean);
    let cur = "";
    let hops = 0;
    while (pending.length) {
      const part = pending.shift()!;
      if (part === ".") continue;
      if (part === "..") {
        cur = path.posix.dirname(cur || "/");
        if (cur === "/") cur = "";
        continue;
      }
      const next = `${cur}/${part}`;
      const node = this.fs.lstat(next);
      if (!node) return undefined;
      if (node.type === "symlink") {
        if (++hops > MAX_LINKS) throw new ClosureError(`${p}: too many levels of symbolic links`);
        if (!this.entries.has(next)) this.entries.set(next, { path: next, type: "symlink", target: node.target, reason: pending.length ? `folder link on the way to ${p}` : reason });
        const base = node.target.startsWith("/") ? [] : cur.split("/").filter(Boolean);
        pending = [...base, ...node.target.split("/").filter(Boolean), ...pending];
        cur = "";
        // restart from the root with the joined path (relative targets resolved against `cur`)
        continue;
      }
      if (node.type === "file" && pending.length) return undefined; // a file used as a folder
      if (node.type === "file") {
        if (!this.entries.has(next)) this.entries.set(next, { path: next, type: "file", mode: node.mode, source: next, reason });
        return next;
      }
      cur = next;
    }
    return cur || "/";
  }

  /** Adds an ELF file and its shared-library closure (recursively). */
  addElf(p: string, reason: string): string {
    const real = this.add(p, reason);
    if (!real) throw new ClosureError(`${p} does not exist on the build host`);
    this.addDepsOf(real, p);
    return real;
  }

  private addDepsOf(real: string, shown: string): void {
    if (this.elfDone.has(real)) return;
    this.elfDone.add(real);
    const buf = this.fs.read(real);
    if (!isElf(buf)) return; // a script
    let deps;
    try {
      deps = elfDeps(buf);
    } catch (e) {
      if (e instanceof ElfError) throw new ClosureError(`${shown}: ${e.message}`);
      throw e;
    }
    const who = path.posix.basename(shown);
    if (deps.interp) {
      const r = this.add(deps.interp, `interpreter of ${who}`);
      if (!r) throw new ClosureError(`${shown}: its interpreter ${deps.interp} is missing on the build host`);
      this.elfDone.add(r);
    }
    const origin = path.posix.dirname(real);
    const expand = (d: string) => d.replace(/\$(\{ORIGIN\}|ORIGIN)/g, origin);
    const dirs = [...(deps.runpath.length ? [] : deps.rpath.map(expand)), ...deps.runpath.map(expand), ...this.libDirs];
    // every library is looked for before a missing one is reported (all of them at once, and a remote build
    // host's mirror fetches a whole level of the tree per round)
    const missing: string[] = [];
    const found: [string, string][] = [];
    for (const name of deps.needed) {
      const f = name.includes("/") ? this.add(name, `needed by ${who}`) : this.find(name, dirs, `needed by ${who}`);
      if (f) found.push([f, name]);
      else missing.push(name);
    }
    const errors: string[] = missing.map((name) => `${shown} needs ${name}, which is not in ${dirs.join(", ")} on the build host`);
    for (const [f, name] of found) {
      try {
        this.addDepsOf(f, name);
      } catch (e) {
        if (e instanceof ClosureError) errors.push(e.message);
        else throw e;
      }
    }
    if (errors.length) throw new ClosureError(errors.join("\n"));
  }

  /** Finds a library by soname in `dirs` (first match wins, like ld.so) and adds it. */
  find(name: string, dirs: string[], reason: string): string | undefined {
    for (const d of dirs) {
      const p = path.posix.join(d, name);
      if (!this.exists(p)) continue;
      return this.add(p, reason);
    }
    return undefined;
  }

  /** True when `p` resolves to a regular file (following symlinks), without adding anything. */
  exists(p: string): boolean {
    this.fs.hint?.(p);
    let cur = p;
    for (let i = 0; i < MAX_LINKS; i++) {
      const parts = cur.split("/").filter(Boolean);
      let acc = "";
      let redirected = false;
      for (let k = 0; k < parts.length; k++) {
        const n = this.fs.lstat(`${acc}/${parts[k]}`);
        if (!n) return false;
        if (n.type === "symlink") {
          const base = n.target.startsWith("/") ? "" : acc;
          cur = path.posix.normalize(`${base}/${n.target}/${parts.slice(k + 1).join("/")}`);
          redirected = true;
          break;
        }
        acc += `/${parts[k]}`;
        if (k === parts.length - 1) return n.type === "file";
      }
      if (!redirected) return false;
    }
    return false;
  }

  /** Adds an entry that is not copied from the host (generated file, folder, link). */
  put(e: PlanEntry): void {
    this.entries.set(e.path, e);
  }

  sorted(): PlanEntry[] {
    return [...this.entries.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  }
}

/** The folders ld.so searches by default and through ld.so.conf (Debian multiarch first). */
export function parseLdSoConf(read: (p: string) => string | undefined, list: (dir: string) => string[], file = "/etc/ld.so.conf", depth = 0): string[] {
  const text = read(file);
  if (!text || depth > 8) return [];
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const inc = /^include\s+(.+)$/.exec(line);
    if (inc) {
      const pattern = inc[1].trim();
      const dir = path.posix.dirname(pattern);
      const re = new RegExp("^" + path.posix.basename(pattern).replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$");
      for (const f of list(dir).filter((n) => re.test(n)).sort()) out.push(...parseLdSoConf(read, list, path.posix.join(dir, f), depth + 1));
    } else if (line.startsWith("/")) out.push(line);
  }
  return out;
}

export const DEFAULT_LIB_DIRS = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];

// ---------------------------------------------------------------------------------------------------------
// Kernel modules

/** module name -> its path (relative to the modules dir) and the paths it depends on, from modules.dep. */
export interface ModulesDep {
  byName: Map<string, { path: string; deps: string[] }>;
  byPath: Map<string, string[]>;
}

/** `fuse`, `virtio-net` and `virtio_net.ko.xz` all name module `virtio_net`. */
export function moduleName(p: string): string {
  return path.posix.basename(p).replace(/\.ko(\.(xz|gz|zst))?$/, "").replace(/-/g, "_");
}

export function parseModulesDep(text: string): ModulesDep {
  const byName = new Map<string, { path: string; deps: string[] }>();
  const byPath = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const p = line.slice(0, i).trim();
    const deps = line.slice(i + 1).trim().split(/\s+/).filter(Boolean);
    byName.set(moduleName(p), { path: p, deps });
    byPath.set(p, deps);
  }
  return { byName, byPath };
}

export interface ModuleClosure {
  /** module paths (relative to the modules dir), dependencies first: the order to insmod them */
  order: string[];
  reasons: Map<string, string>;
  builtin: string[];
  missing: string[];
}

/**
 * The modules to copy and their load order. `wanted` maps each requested name to why it is wanted.
 * A module built into the kernel (modules.builtin) needs nothing; an unknown one is reported in `missing`.
 */
export function moduleClosure(dep: ModulesDep, builtinText: string, wanted: [string, string][]): ModuleClosure {
  const builtin = new Set(builtinText.split("\n").filter(Boolean).map(moduleName));
  const out: ModuleClosure = { order: [], reasons: new Map(), builtin: [], missing: [] };
  const visit = (p: string, reason: string, stack: string[]) => {
    if (out.reasons.has(p) || stack.includes(p)) return;
    const deps = dep.byPath.get(p) ?? [];
    for (const d of deps) visit(d, `module dependency of ${moduleName(p)}`, [...stack, p]);
    out.reasons.set(p, reason);
    out.order.push(p);
  };
  for (const [raw, why] of wanted) {
    const name = moduleName(raw);
    const m = dep.byName.get(name);
    if (m) visit(m.path, why, []);
    else if (builtin.has(name)) out.builtin.push(name);
    else out.missing.push(raw);
  }
  return out;
}
