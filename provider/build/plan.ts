/**
 * The build plan of one initramfs: every file it will hold, where it comes from, why it is there, and a
 * digest of all of it. Computing the plan reads the build host (ELF headers, modules.dep, file contents) but
 * writes nothing, so diff() and check() can run it: the digest changes exactly when an input's content
 * changes (an upgraded glusterfs package, a new kernel, an edited volfile), and unchanged inputs never rebuild.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Issues } from "../model/errors";
import { BootImageModel, DEFAULT_NIC_MODULES } from "../model/bootImage";
import { fetchPlanOf, readSpreadOf } from "../model/readSpread";
import { CpioEntry } from "../render/cpio";
import { InitConfig, renderInitFiles } from "../render/init";
import { ManifestEntry, renderManifest } from "../render/manifest";
import { sha256 } from "../drift/digest";
import { debianPackage } from "../util/debian";
import { Closure, ClosureError, DEFAULT_LIB_DIRS, moduleClosure, moduleName, parseLdSoConf, parseModulesDep } from "./closure";
import { bzImageVersion, moduleVermagic } from "./elf";
import { BuildFs, localBuildFs } from "./buildFs";

/** Bump when the layout or the init changes in a way the inputs do not show. */
export const BUILDER_VERSION = "netboot-initramfs/1";
export const VOLFILE_PATH = "/etc/netboot/client.vol";
export const MANIFEST_PATH = "/etc/netboot/manifest.txt";

export interface PlanFile {
  path: string;
  type: "file" | "dir" | "symlink" | "chardev";
  mode: number;
  /** host path to copy from, or the generated content */
  source?: string;
  content?: Buffer;
  target?: string;
  sha256: string;
  size: number;
  reason: string;
}

export interface ImagePlan {
  source: string;
  kind: "folder" | "tarball";
  /** `z` (gzip) or `J` (xz): how busybox tar reads the published tarball */
  compression: "z" | "J";
  /** sha256 of the content (of the tarball, or of a walk of the folder: paths, modes, link targets, bytes) */
  digest: string;
  /** published file name, e.g. image-0123456789ab.tar.gz */
  fileName: string;
  /** paths to leave out of the RAM tarball (hybrid) */
  exclude: string[];
}

export interface Plan {
  kernelVersion: string;
  kernelPath: string;
  kernelSha256: string;
  modulesDir: string;
  files: PlanFile[];
  manifest: string;
  init: InitConfig;
  compression: BootImageModel["compression"];
  /** digest of everything the initramfs bytes depend on */
  initrdDigest: string;
  image: ImagePlan;
  /** where the build host's files were read (this machine, or a remote build host's mirror) */
  fs: BuildFs;
  /** the kernel's bytes, as published */
  kernel: Buffer;
  /** what the build left out on its own and the user should hear at preview (default NIC drivers the kernel lacks) */
  notes: string[];
}


/** Bytes of a file with every symlink followed (the kernel is often /vmlinuz -> boot/vmlinuz-...). */
function readFollowing(bfs: BuildFs, p: string): Buffer | undefined {
  for (let i = 0; i < 40; i++) {
    const n = bfs.lstat(p);
    if (!n) return undefined;
    if (n.type === "file") return bfs.read(p);
    if (n.type !== "symlink") return undefined;
    p = n.target.startsWith("/") ? n.target : path.posix.join(path.posix.dirname(p), n.target);
  }
  return undefined;
}

function missingTool(issues: Issues, field: string, tool: string, where: string[]): void {
  issues.add(field, tool, `${tool} is missing on the build host (looked for ${where.join(", ")}): run 'apt-get install ${debianPackage(tool)}'`);
}

function firstExisting(bfs: BuildFs, paths: string[]): string | undefined {
  return paths.find((p) => bfs.exists(p));
}

/** The glusterfs library folder compiled into libglusterfs (e.g. /usr/lib/x86_64-linux-gnu/glusterfs/10.3). */
export function glusterLibDir(closure: Closure, bfs: BuildFs = localBuildFs): string | undefined {
  for (const e of closure.sorted()) {
    if (e.type !== "file" || !/libglusterfs\.so/.test(e.path)) continue;
    const text = bfs.read(e.source).toString("latin1");
    const m = /(\/[^\0]*\/glusterfs\/[0-9][^/\0]*)\/xlator\0/.exec(text);
    if (m) return m[1];
  }
  return undefined;
}

/** Folder walk digest: every path with its type, mode, link target and content hash, sorted. */
export function folderDigest(root: string, exclude: string[] = []): string {
  const h = crypto.createHash("sha256");
  const walk = (rel: string) => {
    const full = path.join(root, rel);
    const names = fs.readdirSync(full).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      if (exclude.includes("/" + r)) continue;
      const st = fs.lstatSync(path.join(root, r));
      // owners are part of the image: the tarball keeps them (a changed owner is a changed image)
      const own = `${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) h.update(`l ${r} ${own} ${fs.readlinkSync(path.join(root, r))}\n`);
      else if (st.isDirectory()) {
        h.update(`d ${r} ${(st.mode & 0o7777).toString(8)} ${own}\n`);
        walk(r);
      } else if (st.isFile()) h.update(`f ${r} ${(st.mode & 0o7777).toString(8)} ${own} ${sha256(fs.readFileSync(path.join(root, r)))}\n`);
      else h.update(`o ${r} ${st.mode.toString(8)} ${own} ${st.rdev}\n`);
    }
  };
  walk("");
  return h.digest("hex");
}

/**
 * The image source's cheap facts (it exists; a folder has what the handoff starts and every hybrid path): what
 * BootImage checks before it is constructed, so a preview on a fresh stack finds them too. Returns its stat.
 */
export function checkImageSource(m: Pick<BootImageModel, "imageSource" | "handoff" | "hybridPaths">, issues: Issues): fs.Stats | undefined {
  const st = fs.statSync(m.imageSource, { throwIfNoEntry: false });
  if (!st) {
    issues.add("imageSource", m.imageSource, "does not exist on the build host (a root folder, e.g. made with mmdebstrap, or a .tar.gz/.tar.xz)");
    return undefined;
  }
  if (st.isDirectory()) {
    // switch_root starts the image's /sbin/init; kexec boots the image's own kernel
    const needs = m.handoff === "kexec" ? { "/vmlinuz": "kexec would have no kernel to load" } : { "/sbin/init": "switch_root would have nothing to start" };
    for (const [p, why] of Object.entries(needs)) {
      const target = path.join(m.imageSource, p);
      if (!fs.lstatSync(target, { throwIfNoEntry: false })) issues.add("imageSource", m.imageSource, `has no ${p}: ${why}`);
    }
    // named by value: the model's list is sorted, so its index need not be the one the program gave
    for (const p of m.hybridPaths)
      if (!fs.statSync(path.join(m.imageSource, p), { throwIfNoEntry: false })?.isDirectory())
        issues.add("hybridPaths", p, `is not a folder in the image source ${m.imageSource} (it is published to the network file system and bind-mounted at boot)`);
  }
  return st;
}

export function planImage(m: BootImageModel, issues: Issues): ImagePlan | undefined {
  const st = checkImageSource(m, issues);
  if (!st) return undefined;
  if (st.isDirectory()) {
    const digest = sha256(`${folderDigest(m.imageSource, m.hybridPaths)}\nexclude ${m.hybridPaths.join(" ")}`);
    return { source: m.imageSource, kind: "folder", compression: "z", digest, fileName: `image-${digest.slice(0, 12)}.tar.gz`, exclude: m.hybridPaths };
  }
  const t = /\.(tar\.gz|tgz)$/.test(m.imageSource) ? "z" : /\.(tar\.xz|txz)$/.test(m.imageSource) ? "J" : undefined;
  if (!t) {
    issues.add("imageSource", m.imageSource, "must be a folder or a .tar.gz/.tgz/.tar.xz tarball (what busybox tar can read)");
    return undefined;
  }
  if (m.mode === "hybrid") issues.add("imageSource", m.imageSource, "hybrid mode needs a root folder (its hybrid paths are published as a tree), not a tarball");
  const digest = sha256(fs.readFileSync(m.imageSource));
  return { source: m.imageSource, kind: "tarball", compression: t, digest, fileName: `image-${digest.slice(0, 12)}.tar.${t === "z" ? "gz" : "xz"}`, exclude: [] };
}

/**
 * Computes the plan, or reports every build-host problem in `issues` (missing tools with the Debian package
 * to install, an xlator the volfile names but the host lacks, kernel and modules of different releases).
 */
export function planInitramfs(m: BootImageModel, issues: Issues, opts: { imageUrl?: string; fs?: BuildFs } = {}): Plan | undefined {
  const bfs = opts.fs ?? localBuildFs;
  const readText = (p: string) => bfs.readText(p);
  const listDir = (p: string) => bfs.listDir(p);
  // Kernel and modules
  let kernelVersion = m.kernelVersion;
  const kernelPath = m.kernelPath ?? `/boot/vmlinuz-${kernelVersion}`;
  let kernelSha256 = "";
  const kernelBytes = readFollowing(bfs, kernelPath);
  if (!kernelBytes) issues.add(m.kernelPath ? "kernelPath" : "kernelVersion", m.kernelPath ?? m.kernelVersion, `${kernelPath} does not exist on ${bfs.description} (install the linux-image package of that release)`);
  else {
    kernelSha256 = sha256(kernelBytes);
    const v = bzImageVersion(kernelBytes);
    if (!kernelVersion) kernelVersion = v;
    if (!kernelVersion) issues.add("kernelPath", kernelPath, "is not a bzImage with a version string; give kernelVersion too");
    else if (v && v !== kernelVersion) issues.add("kernelVersion", kernelVersion, `${kernelPath} is release ${v}`);
  }
  const modulesDir = m.modulesDir ?? `/lib/modules/${kernelVersion}`;
  const depText = readText(path.join(modulesDir, "modules.dep"));
  if (kernelVersion && depText === undefined)
    // each field with its own value: `kernelVersion = "6.1.0-56-amd64"`, not the folder derived from it
    issues.add(m.modulesDir ? "modulesDir" : "kernelVersion", m.modulesDir ?? kernelVersion, `${modulesDir}/modules.dep does not exist on the build host (the modules of kernel ${kernelVersion})`);
  const dep = parseModulesDep(depText ?? "");
  if (depText !== undefined && kernelVersion) {
    const first = [...dep.byPath.keys()].find((p) => p.endsWith(".ko"));
    const modBytes = first ? readFollowing(bfs, path.join(modulesDir, first)) : undefined;
    const vm = modBytes ? moduleVermagic(modBytes) : undefined;
    if (vm && vm !== kernelVersion) issues.add("modulesDir", modulesDir, `holds modules of kernel ${vm} but the kernel is ${kernelVersion}: kernel and modules must be the same release`);
  }

  const libDirs = [...new Set([...parseLdSoConf(readText, listDir), ...DEFAULT_LIB_DIRS])];
  const closure = new Closure(bfs, libDirs);
  const want = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof ClosureError) issues.add("(build host)", undefined, e.message);
      else throw e;
    }
  };

  // busybox: /bin/sh, and every tool the init uses
  const busyboxAt = ["/bin/busybox", "/usr/bin/busybox"];
  const busybox = firstExisting(bfs, busyboxAt);
  if (!busybox) missingTool(issues, "(build host)", "busybox", busyboxAt);
  else want(() => closure.addElf(busybox, "busybox: the shell and tools of /init"));

  // transport
  let glusterDir: string | undefined;
  if (m.transport === "glusterfs") {
    const at = ["/usr/sbin/glusterfs", "/sbin/glusterfs"];
    const g = firstExisting(bfs, at);
    if (!g) missingTool(issues, "transport", "glusterfs", at);
    else {
      want(() => closure.addElf(g, "the glusterfs client (transport glusterfs)"));
      glusterDir = glusterLibDir(closure, bfs);
      if (!glusterDir) issues.add("transport", "glusterfs", "cannot find the xlator folder compiled into libglusterfs on the build host");
      else {
        const xl = [
          ...m.xlators.map((t) => [t, "named by the volfile"] as const),
          ["mount/fuse", "FUSE mount (added by glusterfs at mount time)"] as const,
          ["meta", "meta xlator (added by glusterfs to every FUSE mount)"] as const,
        ];
        const seen = new Set<string>();
        for (const [t, why] of xl) {
          if (seen.has(t)) continue;
          seen.add(t);
          const p = `${glusterDir}/xlator/${t}.so`;
          if (!closure.exists(p))
            issues.add("glusterVolfile", t, `names xlator ${t}, which the build host lacks (${p}); glusterfs would fail at boot with "failed to construct the graph". Install the glusterfs package that ships it, or remove it from the volfile`);
          else want(() => closure.addElf(p, `${why}${why.startsWith("named") ? ` (type ${t})` : ""}`));
        }
        const sock = `${glusterDir}/rpc-transport/socket.so`;
        if (!closure.exists(sock)) issues.add("transport", "glusterfs", `${sock} is missing on the build host (the tcp transport of glusterfs)`);
        else want(() => closure.addElf(sock, "socket transport (transport-type tcp)"));
      }
    }
  }
  if (m.handoff === "kexec") {
    const at = ["/sbin/kexec", "/usr/sbin/kexec"];
    const k = firstExisting(bfs, at);
    if (!k) missingTool(issues, "handoff", "kexec", at);
    else want(() => closure.addElf(k, "kexec (handoff kexec)"));
  }
  // glibc loads libgcc_s at run time (pthread_cancel, unwinding); no ELF names it
  if (closure.sorted().some((e) => e.type === "file" && /\/libc\.so\.6$/.test(e.path)))
    if (!closure.find("libgcc_s.so.1", libDirs, "loaded by glibc at run time (thread cancellation); no ELF names it"))
      issues.add("(build host)", "libgcc_s.so.1", `is missing on the build host: run 'apt-get install ${debianPackage("libgcc_s.so.1")}'`);

  // kernel modules
  const nics = m.nicModules ?? DEFAULT_NIC_MODULES;
  const wanted: [string, string][] = [
    ...nics.map((n) => [n, m.nicModules ? "NIC driver (nicModules)" : "NIC driver (default)"] as [string, string]),
    ...m.modules.map((n) => [n, "requested in modules"] as [string, string]),
  ];
  if (m.transport === "glusterfs") wanted.push(["fuse", "FUSE for the glusterfs client"]);
  if (m.transport === "nfs") wanted.push(["nfs", "NFS client (transport nfs)"], ["nfsv4", "NFSv4.1 client (transport nfs: one TCP port, no rpcbind or mountd)"]);
  const notes: string[] = [];
  const mods = moduleClosure(dep, readText(path.join(modulesDir, "modules.builtin")) ?? "", wanted);
  if (depText !== undefined)
    for (const miss of mods.missing) {
      const i = m.modules.indexOf(miss);
      const n = m.nicModules?.indexOf(miss) ?? -1;
      // A default driver this kernel lacks (a cloud kernel has no mlx5_core) is not the user's error: it is left
      // out and said at preview. One the user named is.
      if (i < 0 && n < 0 && !m.nicModules && DEFAULT_NIC_MODULES.includes(miss)) notes.push(`default NIC driver ${miss} is not a module of kernel ${kernelVersion}: left out (set nicModules to choose the drivers)`);
      else issues.add(i >= 0 ? `modules[${i}]` : n >= 0 ? `nicModules[${n}]` : "modules", miss, `is not a module of kernel ${kernelVersion} (not in ${modulesDir}/modules.dep or modules.builtin)`);
    }
  const defaultDir = modulesDir === `/lib/modules/${kernelVersion}`;
  const moduleLoadPaths: string[] = [];
  for (const rel of mods.order) {
    const src = path.join(modulesDir, rel);
    const inImage = defaultDir ? src : `/netboot/modules/${kernelVersion}/${rel}`;
    const why = mods.reasons.get(rel)!;
    if (defaultDir) want(() => closure.add(src, why) ?? issues.add("modulesDir", src, "is listed in modules.dep but missing"));
    else closure.put({ path: inImage, type: "file", mode: 0o644, source: src, reason: why });
    moduleLoadPaths.push(inImage);
  }
  const image = planImage(m, issues);
  if (!issues.ok || !image || !kernelVersion) return undefined;

  // generated files
  const init: InitConfig = {
    name: m.name,
    transport: m.transport,
    mode: m.mode,
    hybridPaths: m.hybridPaths,
    handoff: m.handoff,
    onFailure: m.onFailure,
    modules: moduleLoadPaths,
    volfile: m.transport === "glusterfs" ? VOLFILE_PATH : undefined,
    readSpread: m.volfileGraph ? readSpreadOf(m.volfileGraph) : undefined,
    fetch: m.volfileGraph ? fetchPlanOf(m.volfileGraph) : undefined,
    nfsExport: m.nfsExport,
    imagePath: m.imagePath,
    imageUrl: opts.imageUrl,
    imageCompression: image.compression,
  };
  const files: PlanFile[] = [];
  const gen = (p: string, content: string | Buffer, mode: number, reason: string) => {
    const b = Buffer.from(content);
    files.push({ path: p, type: "file", mode, content: b, sha256: sha256(b), size: b.length, reason });
  };
  for (const f of renderInitFiles(init)) gen(f.path, f.content, f.mode, f.path === "/init" ? "netboot init (generated)" : "netboot DHCP script (generated)");
  if (m.glusterVolfile) gen(VOLFILE_PATH, m.glusterVolfile, 0o644, "the client volfile");
  for (const d of ["/dev", "/proc", "/sys", "/run", "/tmp", "/newroot", "/etc", "/root", "/var/log", "/var/run"]) files.push({ path: d, type: "dir", mode: d === "/tmp" ? 0o1777 : 0o755, sha256: "", size: 0, reason: "mount point or state folder of /init" });
  files.push({ path: "/dev/console", type: "chardev", mode: 0o600, sha256: "c 5 1", size: 0, reason: "the kernel opens it for init's console" });

  const real = closure.sorted();
  const bbReal = real.find((e) => e.type === "file" && e.path.endsWith("/busybox"))?.path;
  const resolves = (p: string) => closure.entries.has(p) || real.some((e) => e.type === "symlink" && (e.path === path.posix.dirname(p)));
  if (bbReal) {
    files.push({ path: `${path.posix.dirname(bbReal)}/sh`, type: "symlink", mode: 0o777, target: "busybox", sha256: "", size: 7, reason: "/bin/sh for #!/bin/sh" });
    if (!resolves("/bin/busybox") && bbReal !== "/bin/busybox") files.push({ path: "/bin/busybox", type: "symlink", mode: 0o777, target: bbReal, sha256: "", size: bbReal.length, reason: "/bin/busybox for /init" });
    if (!resolves("/bin/sh") && path.posix.dirname(bbReal) !== "/bin") files.push({ path: "/bin/sh", type: "symlink", mode: 0o777, target: bbReal, sha256: "", size: bbReal.length, reason: "/bin/sh for #!/bin/sh" });
  }
  for (const e of real) {
    if (e.type === "symlink") files.push({ path: e.path, type: "symlink", mode: 0o777, target: e.target, sha256: "", size: Buffer.byteLength(e.target), reason: e.reason });
    else if (e.type === "dir") files.push({ path: e.path, type: "dir", mode: e.mode, sha256: "", size: 0, reason: e.reason });
    else {
      const b = bfs.read(e.source);
      files.push({ path: e.path, type: "file", mode: e.mode & 0o755, source: e.source, sha256: sha256(b), size: b.length, reason: e.reason });
    }
  }
  const entries: ManifestEntry[] = files.map((f) => ({
    path: f.path, type: f.type === "chardev" ? "file" : f.type, mode: f.mode, size: f.size,
    sha256: f.type === "chardev" ? "char-5-1" : f.sha256, target: f.target, reason: f.reason,
  }));
  const manifest = renderManifest(entries);
  gen(MANIFEST_PATH, manifest, 0o644, "this manifest");
  const initrdDigest = sha256(JSON.stringify({ v: BUILDER_VERSION, compression: m.compression, manifest }));
  return { kernelVersion, kernelPath, kernelSha256, modulesDir, files, manifest, init, compression: m.compression, initrdDigest, image, fs: bfs, kernel: kernelBytes!, notes };
}

/** The cpio entries of a plan (file contents read from the build host now). */
export function cpioEntries(plan: Plan): CpioEntry[] {
  return plan.files.map((f): CpioEntry => {
    switch (f.type) {
      case "file": {
        const data = f.content ?? plan.fs.read(f.source!);
        if (f.source && sha256(data) !== f.sha256) throw new Error(`${f.source} changed on the build host while building; run again`);
        return { path: f.path, type: "file", mode: f.mode, data };
      }
      case "dir":
        return { path: f.path, type: "dir", mode: f.mode };
      case "symlink":
        return { path: f.path, type: "symlink", target: f.target! };
      case "chardev":
        return { path: f.path, type: "chardev", mode: f.mode, major: 5, minor: 1 };
      default: {
        const never: never = f.type;
        throw new Error(`unknown plan entry ${never}`);
      }
    }
  });
}

export { moduleName };
