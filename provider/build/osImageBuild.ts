/**
 * OsImage, the part that runs things: mmdebstrap, tar, the root listing. Always on this machine (the one
 * running pulumi), as root; a remote build host is out of scope (docs/os-images.md).
 *
 * The cache, `<cacheDir>/osimages/<input12>/`:
 *   root/        the image, complete: it only ever appears by one rename of a finished build
 *   image.json   what the build found (digest, size, packages, kernel), written atomically after the rename
 *   .lock/       held while building (a folder: mkdir is atomic; it holds the builder's pid, so a lock left by
 *                a killed build is taken over once that pid is gone)
 *   .root-*.tmp  a build in progress (or cut short: removed by the next build of the same inputs)
 * A hit is an image.json whose root still has its digest: re-hashed, so a root changed by hand is rebuilt,
 * never served. Retry-safe: a failed or killed build leaves the previous root (if any) and nothing else.
 */
import { spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { sha256 } from "../drift/digest";
import { OsImageModel } from "../model/osImage";
import { debianPackage } from "../util/debian";
import { cacheDir } from "./initramfs";
import {
  Digest, dockerSaveLayers, kernelRelease, layerWhiteouts, mirrorFromSources, mmdebstrapCommand, ociLayers, OciError, parseDpkgStatus, parseRootListing, ROOT_LISTING_SCRIPT, RootListing,
} from "./osImage";

export interface BuiltOsImage {
  rootPath: string;
  digest: Digest;
  size: number;
  packages: Record<string, string>;
  kernelVersion: string;
  kernelPath: string;
  modulesDir: string;
  /** served from the cache, nothing built */
  cached: boolean;
}

/** NETBOOT_OSIMAGE_CACHE moves the images alone (a test clears them and keeps the downloaded packages). */
export const osImageCacheDir = (): string => process.env.NETBOOT_OSIMAGE_CACHE || path.join(cacheDir(), "osimages");
export const aptArchiveCache = (): string => path.join(cacheDir(), "apt-archives");

/** The tools an OsImage of this kind runs (tar is essential on Debian, but a missing one is named too). */
export function toolsFor(kind: OsImageModel["kind"]): string[] {
  return kind === "debian" ? ["mmdebstrap"] : ["tar"];
}

/** Each tool `kind` needs that is not on PATH (or in /usr/sbin, /sbin), with the Debian package that provides it. */
export function missingTools(kind: OsImageModel["kind"]): Array<{ tool: string; pkg: string }> {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin"].filter(Boolean);
  return toolsFor(kind).filter((t) => !dirs.some((d) => fs.existsSync(path.join(d, t)))).map((tool) => ({ tool, pkg: debianPackage(tool) }));
}

/** This machine's Debian mirror (see mirrorFromSources), or undefined. */
export function machineMirror(etc = "/etc/apt"): string | undefined {
  const files: Array<{ path: string; text: string }> = [];
  const d = path.join(etc, "sources.list.d");
  for (const n of (fs.existsSync(d) ? fs.readdirSync(d) : []).sort()) if (n.endsWith(".sources") || n.endsWith(".list")) files.push({ path: path.join(d, n), text: fs.readFileSync(path.join(d, n), "utf8") });
  if (fs.existsSync(path.join(etc, "sources.list"))) files.push({ path: path.join(etc, "sources.list"), text: fs.readFileSync(path.join(etc, "sources.list"), "utf8") });
  return mirrorFromSources(files);
}

/** Runs argv; each stderr/stdout line goes to `line` (progress); rejects with the last lines on failure. */
function run(argv: string[], opts: { env?: Record<string, string>; line?: (l: string) => void; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    const out: Buffer[] = [];
    const tail: string[] = [];
    let partial = "";
    const onErr = (d: Buffer) => {
      const lines = (partial + d.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) {
        tail.push(l);
        if (tail.length > 20) tail.shift();
        if (l.trim()) opts.line?.(l);
      }
    };
    child.stdout.on("data", (d: Buffer) => (opts.line ? onErr(d) : out.push(d)));
    child.stderr.on("data", onErr);
    child.on("error", (e) => reject(new Error(`${argv[0]}: ${e.message}`)));
    child.on("close", (code) => {
      if (partial) tail.push(partial);
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new Error(`${argv[0]} failed (exit ${code}):\n${tail.join("\n").trim()}`));
    });
  });
}

/** Digest and size of a root folder; undefined when it is not there. */
export async function observeRoot(root: string): Promise<RootListing | undefined> {
  if (!fs.existsSync(root) || !fs.lstatSync(root).isDirectory()) return undefined;
  return parseRootListing(await run(["sh", "-c", ROOT_LISTING_SCRIPT, "sh", root]));
}

/** sha256 of a file, streamed (OCI archives and tarballs are large). */
function fileSha256(p: string): Promise<string> {
  return run(["sha256sum", "--", p]).then((o) => o.split(/\s/)[0]);
}

/**
 * The content digest of a non-Debian source, for the input digest: a tarball's or archive's sha256; an OCI
 * layout's index.json (its blobs are named by their own sha256, so the index pins them all); a folder's root
 * digest (the folder is the image). Throws when the source is missing.
 */
export async function sourceContent(m: Exclude<OsImageModel, { kind: "debian" }>): Promise<string> {
  if (m.kind === "folder") {
    const l = await observeRoot(m.path);
    if (!l) throw new Error(`folder ${m.path} is not a folder on this machine`);
    return l.digest;
  }
  if (m.kind === "oci" && fs.existsSync(m.path) && fs.statSync(m.path).isDirectory()) return sha256(fs.readFileSync(path.join(m.path, "index.json")));
  return fileSha256(m.path);
}

/**
 * What the build found in a finished root: packages (dpkg status), and the kernel with its modules tree when the
 * image holds one (`linux-image-amd64`), as paths on this machine for BootImage's kernelPath and modulesDir.
 */
function inspectRoot(root: string): Pick<BuiltOsImage, "packages" | "kernelVersion" | "kernelPath" | "modulesDir"> {
  const status = path.join(root, "var/lib/dpkg/status");
  const packages = fs.existsSync(status) ? parseDpkgStatus(fs.readFileSync(status, "utf8")) : {};
  // /lib is a link to usr/lib on merged-/usr Debian: the real folder is named, so a reader needs no link
  const modRoot = [path.join(root, "usr/lib/modules"), path.join(root, "lib/modules")].find((d) => fs.existsSync(d) && fs.lstatSync(d).isDirectory());
  const ls = (d: string | undefined) => (d && fs.existsSync(d) ? fs.readdirSync(d) : []);
  const v = kernelRelease(ls(path.join(root, "boot")), ls(modRoot));
  return { packages, kernelVersion: v ?? "", kernelPath: v ? path.join(root, "boot", `vmlinuz-${v}`) : "", modulesDir: v && modRoot ? path.join(modRoot, v) : "" };
}

/** Holds `<dir>/.lock` while `fn` runs; waits for a live holder, takes over a dead one's. */
async function withLock<T>(dir: string, say: (m: string) => void, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, ".lock");
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(fs.readFileSync(path.join(lock, "pid"), { encoding: "utf8", flag: "a+" }) || 0);
      let alive = pid > 0;
      try {
        if (alive) process.kill(pid, 0);
      } catch {
        alive = false;
      }
      // no pid yet: the holder is between mkdir and writing it; wait for it like a live one
      if (pid > 0 && !alive) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!told) say(`waiting for another build of the same image (pid ${pid || "?"})`);
      told = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

interface CacheMeta extends Omit<BuiltOsImage, "cached" | "rootPath"> {
  inputDigest: string;
}

/** The cached image of these inputs when its root still has the digest it was built with. */
async function cacheHit(dir: string, inputDigest: string): Promise<BuiltOsImage | undefined> {
  const metaPath = path.join(dir, "image.json");
  if (!fs.existsSync(metaPath)) return undefined;
  let meta: CacheMeta;
  try {
    meta = JSON.parse(fs.readFileSync(metaPath, "utf8"));
  } catch {
    return undefined;
  }
  if (meta.inputDigest !== inputDigest) return undefined;
  const l = await observeRoot(path.join(dir, "root"));
  if (!l || l.digest !== meta.digest) return undefined;
  const { inputDigest: _i, ...rest } = meta;
  return { ...rest, rootPath: path.join(dir, "root"), cached: true };
}

/**
 * Builds (or finds in the cache) the root of `m`, whose input digest is `inputDigest`. `mirror`: the resolved
 * mirror of a Debian model. `say`: progress lines (mmdebstrap's own, then the steps after it).
 * A folder is not copied: it is the image, digested where it is.
 */
export async function buildOsImage(m: OsImageModel, inputDigest: Digest, opts: { mirror?: string; say: (line: string) => void }): Promise<BuiltOsImage> {
  const say = opts.say;
  if (m.kind === "folder") {
    const l = await observeRoot(m.path);
    if (!l) throw new Error(`folder ${m.path} is not a folder on this machine`);
    return { rootPath: m.path, digest: l.digest, size: l.size, ...inspectRoot(m.path), cached: true };
  }
  const dir = path.join(osImageCacheDir(), inputDigest.replace(/^sha256:/, "").slice(0, 12));
  fs.mkdirSync(dir, { recursive: true });
  const hit = await cacheHit(dir, inputDigest);
  if (hit) return hit;
  return withLock(dir, say, async () => {
    const again = await cacheHit(dir, inputDigest); // built by the holder we waited for
    if (again) return again;
    for (const n of fs.readdirSync(dir)) if (/^\.root-.*\.tmp$/.test(n)) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    const tmp = path.join(dir, `.root-${randomBytes(4).toString("hex")}.tmp`);
    try {
      const t0 = Date.now();
      switch (m.kind) {
        case "debian":
          await buildDebian({ ...m, mirror: opts.mirror ?? m.mirror ?? "" }, tmp, say);
          break;
        case "oci":
          await importOci(m.path, tmp, say);
          break;
        case "tarball":
          fs.mkdirSync(tmp, { mode: 0o755 });
          say(`unpacking ${m.path}`);
          await run(["tar", "-x", "--numeric-owner", "-p", "-f", m.path, "-C", tmp]);
          break;
        default: {
          const exhaustive: never = m;
          throw new Error(`unknown OsImage kind ${JSON.stringify(exhaustive)}`);
        }
      }
      say(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s; hashing the root`);
      const l = await observeRoot(tmp);
      if (!l) throw new Error(`the build left no root at ${tmp}`);
      const root = path.join(dir, "root");
      // a drifted or half-removed old root makes way; the new one appears complete, in one rename
      fs.rmSync(root, { recursive: true, force: true });
      fs.renameSync(tmp, root);
      const meta: CacheMeta = { inputDigest, digest: l.digest, size: l.size, ...inspectRoot(root) };
      const metaTmp = path.join(dir, `.image.json.${process.pid}.tmp`);
      fs.writeFileSync(metaTmp, JSON.stringify(meta, null, 2) + "\n");
      fs.renameSync(metaTmp, path.join(dir, "image.json"));
      const { inputDigest: _i, ...rest } = meta;
      return { ...rest, rootPath: root, cached: false };
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  });
}

async function buildDebian(m: Parameters<typeof mmdebstrapCommand>[0], target: string, say: (l: string) => void): Promise<void> {
  if (!m.mirror) throw new Error("no Debian mirror: give debian.mirror (this machine's apt sources name none)");
  const aptCache = aptArchiveCache();
  fs.mkdirSync(aptCache, { recursive: true });
  const filesDir = `${target}.files`;
  fs.mkdirSync(filesDir, { recursive: true, mode: 0o700 });
  try {
    for (const [i, f] of m.files.entries()) fs.writeFileSync(path.join(filesDir, String(i)), f.content);
    const { argv, env } = mmdebstrapCommand(m, { target, aptCache, filesDir });
    say(`mmdebstrap ${m.suite} (${m.variant}${m.packages.length ? ` + ${m.packages.length} packages` : ""}) from ${m.mirror}`);
    await run(argv, { env, line: (l) => say(l.length > 200 ? l.slice(0, 200) + "..." : l) });
  } finally {
    fs.rmSync(filesDir, { recursive: true, force: true });
  }
}

/**
 * Imports an OCI image layout or a `docker save` archive into `target`: the layers are applied bottom first
 * with tar (owners and modes kept); before each layer, its whiteouts delete what they name in the layers below
 * (layerWhiteouts). The archive is unpacked into a scratch folder first (its layers are files inside it).
 */
async function importOci(source: string, target: string, say: (l: string) => void): Promise<void> {
  const scratch = `${target}.oci`;
  fs.mkdirSync(target, { mode: 0o755 });
  try {
    let layout = source;
    if (!fs.statSync(source).isDirectory()) {
      fs.mkdirSync(scratch, { recursive: true });
      await run(["tar", "-x", "-f", source, "-C", scratch]);
      layout = scratch;
    }
    const readJson = (rel: string) => JSON.parse(fs.readFileSync(path.join(layout, rel), "utf8"));
    let layers: string[];
    try {
      layers = fs.existsSync(path.join(layout, "index.json")) ? ociLayers(readJson) : dockerSaveLayers(readJson("manifest.json"));
    } catch (e) {
      if (e instanceof OciError || (e as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`oci.path ${source}: not an OCI image layout or docker save archive: ${(e as Error).message}`, { cause: e });
      throw e;
    }
    for (const [i, rel] of layers.entries()) {
      const file = path.join(layout, rel);
      say(`layer ${i + 1}/${layers.length}: ${rel}`);
      const entries = (await run(["tar", "-t", "-f", file])).split("\n");
      const w = layerWhiteouts(entries);
      throughLinks(target, [...entries, ...w.remove, ...w.opaque.map((d) => d + "/.")], `layer ${i + 1} (${rel})`);
      for (const r of w.remove) fs.rmSync(path.join(target, r), { recursive: true, force: true });
      for (const d of w.opaque) {
        const full = path.join(target, d);
        if (fs.existsSync(full) && fs.lstatSync(full).isDirectory()) for (const n of fs.readdirSync(full)) fs.rmSync(path.join(full, n), { recursive: true, force: true });
      }
      // --exclude matches a name in any folder: the markers themselves never land in the root
      await run(["tar", "-x", "--numeric-owner", "-p", "--exclude=.wh.*", "-f", file, "-C", target]);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Refuses a layer whose entries (or whiteouts) go through a symlink of the root that points out of it: tar
 * follows a folder symlink an earlier layer left (`etc -> /etc`), and would write or delete on this machine.
 * A relative link that stays inside the root is followed, as the image itself would (`lib -> usr/lib`).
 */
function throughLinks(root: string, entries: string[], what: string): void {
  // prefix as named in the layer -> where it resolves inside the root (each prefix is walked once)
  const resolved = new Map<string, string[]>();
  for (const raw of entries) {
    const parts = raw.replace(/^(\.\/)+/, "").replace(/^\/+/, "").split("/").filter((c) => c && c !== ".");
    let at: string[] = [];
    for (let k = 0; k < parts.length - 1; k++) {
      const prefix = parts.slice(0, k + 1).join("/");
      const known = resolved.get(prefix);
      if (known) {
        at = known;
        continue;
      }
      at = [...at, parts[k]];
      for (let hops = 0; ; hops++) {
        let st: fs.Stats;
        try {
          st = fs.lstatSync(path.join(root, ...at));
        } catch {
          break; // not there yet: tar makes a folder
        }
        if (!st.isSymbolicLink()) break;
        const target = fs.readlinkSync(path.join(root, ...at));
        const next = path.posix.normalize(path.posix.join(at.slice(0, -1).join("/") || ".", target));
        if (target.startsWith("/") || next === ".." || next.startsWith("../") || hops > 16)
          throw new Error(`oci: ${what}: entry ${JSON.stringify(raw)} goes through /${at.join("/")} -> ${target}, which points out of the image; netboot never writes through it`);
        at = next === "." ? [] : next.split("/");
      }
      resolved.set(prefix, at);
    }
  }
}

/** The steps of an OsImage that need this machine, as one seam (ctx.tools.osImage): unit tests fake them. */
export const osImageTools = { build: buildOsImage, observe: observeRoot, missingTools, machineMirror, sourceContent };
export type OsImageTools = typeof osImageTools;
