/**
 * OsImage, the pure part: what to run and how to read what came out. No fs, no processes: the build
 * (provider/build/osImageBuild.ts) runs these argv and scripts and feeds their output back here.
 *
 * - the mmdebstrap command line of a Debian model, with the hooks that make the root fit a stateless node;
 * - the input digest (names the cache entry: unchanged inputs never rebuild);
 * - the root listing script and its digest (names the built image: the same inputs give the same digest);
 * - /var/lib/dpkg/status parsing and the package diff between two builds;
 * - the layers of an OCI layout or a `docker save` archive and their whiteouts.
 */
import * as path from "path";
import { sha256 } from "../drift/digest";
import { canonical } from "../drift/diff";
import { DebianModel, OsImageModel } from "../model/osImage";
import { shq } from "../util/shell";

/**
 * Bumped when the build's recipe changes (hooks, listing format): old cache entries then no longer match, and
 * every image is rebuilt once with the new recipe rather than served from a root the old one made.
 */
export const RECIPE_VERSION = 1;

export type Digest = `sha256:${string}`;
const digestOf = (data: string | Buffer): Digest => `sha256:${sha256(data)}`;

// ---------------------------------------------------------------------------------------------------------
// The machine's Debian mirror

/**
 * The first Debian mirror of this machine's apt sources: deb822 `.sources` files first (Debian 12's default
 * `/etc/apt/sources.list.d/debian.sources`), then one-line `sources.list` entries. Security and updates
 * archives are skipped: mmdebstrap takes one mirror for the suite itself. `files` are `{path, text}` in the
 * order apt reads them. undefined: no usable entry (the resource then asks for `debian.mirror`).
 */
export function mirrorFromSources(files: Array<{ path: string; text: string }>): string | undefined {
  const isMain = (suites: string[]) => suites.some((s) => !/-(security|updates|backports|proposed-updates)$/.test(s) && !s.includes("/"));
  const usable = (u: string) => /^(https?|file):\/\//.test(u) && !u.includes("-security");
  for (const f of files.filter((x) => x.path.endsWith(".sources"))) {
    for (const stanza of f.text.split(/\n\s*\n/)) {
      const fields = parseDeb822Stanza(stanza);
      if (fields.enabled === "no" || !(fields.types ?? "").split(/\s+/).includes("deb")) continue;
      const uri = (fields.uris ?? "").split(/\s+/).find(usable);
      if (uri && isMain((fields.suites ?? "").split(/\s+/))) return uri.replace(/\/+$/, "");
    }
  }
  for (const f of files.filter((x) => !x.path.endsWith(".sources"))) {
    for (const raw of f.text.split("\n")) {
      // `deb [options] uri suite components...`
      const line = raw.replace(/#.*/, "").replace(/\[[^\]]*\]/, " ").trim().split(/\s+/);
      if (line[0] !== "deb" || line.length < 3) continue;
      if (usable(line[1]) && isMain([line[2]])) return line[1].replace(/\/+$/, "");
    }
  }
  return undefined;
}

/** One deb822 stanza: lower-cased field names; continuation lines joined with a space; comments dropped. */
function parseDeb822Stanza(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    if (/^\s/.test(line) && last) out[last] += " " + line.trim();
    else {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m) out[(last = m[1].toLowerCase())] = m[2].trim();
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The mmdebstrap command line

/**
 * A unit that makes the SSH host keys a node lacks (`ssh-keygen -A` makes only the missing ones) before sshd
 * starts: the image carries none (see STATELESS_HOOKS), and Debian's ssh.service refuses to start without them.
 */
export const SSH_KEYGEN_UNIT = `[Unit]
Description=SSH host keys for this node (netboot images carry none)
Before=ssh.service
ConditionPathExists=/usr/bin/ssh-keygen

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service
`;

/**
 * Customize hooks that run last, after the user's files and commands, so they always hold (`$1` is the root):
 * - every node boots the same image, so host keys in it would be shared by every node (one stolen image
 *   impersonates the whole cluster): openssh-server's postinst keys are removed, SSH_KEYGEN_UNIT makes each
 *   node its own at boot (per-node persistent keys come later from overlays);
 * - mmdebstrap copies the build machine's /etc/hostname and /etc/resolv.conf into the root: the node's are
 *   written by the initramfs, so the image has `localhost` and an empty resolv.conf, never the build host's;
 * - (the unit goes in as printf's format, its newlines as `\n`: one line, so mmdebstrap's log of the hook is too)
 * - /etc/machine-id stays empty (mmdebstrap's default): systemd then makes a transient one per boot, as a
 *   stateless node wants.
 */
export const STATELESS_HOOKS: readonly string[] = [
  'rm -f "$1"/etc/ssh/ssh_host_*',
  'rm -f "$1/etc/hostname" && printf "localhost\\n" > "$1/etc/hostname" && chmod 0644 "$1/etc/hostname"',
  'rm -f "$1/etc/resolv.conf" && : > "$1/etc/resolv.conf" && chmod 0644 "$1/etc/resolv.conf"',
  `if [ -e "$1/lib/systemd/system/ssh.service" ]; then printf ${shq(SSH_KEYGEN_UNIT.replace(/\n/g, "\\n"))} > "$1/etc/systemd/system/netboot-ssh-keygen.service" && mkdir -p "$1/etc/systemd/system/ssh.service.wants" && ln -sf ../netboot-ssh-keygen.service "$1/etc/systemd/system/ssh.service.wants/netboot-ssh-keygen.service"; fi`,
];

/** Documentation, manual pages and translations: a node never reads them, and they are a third of minbase. */
export const DPKG_EXCLUDES: readonly string[] = ["/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*"];

export interface MmdebstrapLayout {
  /** the root folder to create (must not exist) */
  target: string;
  /** the apt archive cache kept across builds (~/.cache/netboot/apt-archives) */
  aptCache: string;
  /** a folder holding `debian.files[i]` as files named `i` (written by the build before it runs mmdebstrap) */
  filesDir: string;
}

/**
 * mmdebstrap's argv and environment for a Debian model whose mirror is resolved. The downloaded packages are
 * synced in from and back out to `aptCache` (and `essential/unlink` keeps the essential ones there for the
 * sync-out), so a second build downloads nothing; the root itself never keeps them (mmdebstrap's cleanup).
 * SOURCE_DATE_EPOCH fixes every timestamp mmdebstrap and dpkg write, so two builds are identical file for file.
 */
export function mmdebstrapCommand(m: DebianModel & { mirror: string }, l: MmdebstrapLayout): { argv: string[]; env: Record<string, string> } {
  const argv = ["mmdebstrap", "--mode=root", `--variant=${m.variant}`, `--components=${m.components.join(",")}`, "--skip=essential/unlink"];
  if (m.packages.length) argv.push(`--include=${m.packages.join(",")}`);
  for (const x of DPKG_EXCLUDES) argv.push(`--dpkgopt=path-exclude=${x}`);
  argv.push('--setup-hook=mkdir -p "$1"/var/cache/apt/archives/', `--setup-hook=sync-in ${l.aptCache} /var/cache/apt/archives/`);
  argv.push(`--customize-hook=sync-out /var/cache/apt/archives ${l.aptCache}`);
  for (const [i, f] of m.files.entries()) {
    // `upload` writes as root:root; the folder is made first (0755, as dpkg makes folders), then the mode set
    argv.push(`--customize-hook=mkdir -p "$1"${shq(path.posix.dirname(f.path))}`);
    argv.push(`--customize-hook=upload ${path.join(l.filesDir, String(i))} ${f.path}`);
    argv.push(`--customize-hook=chmod ${(f.mode & 0o7777).toString(8).padStart(4, "0")} "$1"${shq(f.path)}`);
  }
  for (const c of m.customize) argv.push(`--customize-hook=chroot "$1" /bin/sh -ec ${shq(c)}`);
  for (const h of STATELESS_HOOKS) argv.push(`--customize-hook=${h}`);
  argv.push(m.suite, l.target, m.mirror);
  return { argv, env: { SOURCE_DATE_EPOCH: String(m.sourceDateEpoch), LC_ALL: "C.UTF-8" } };
}

// ---------------------------------------------------------------------------------------------------------
// Digests

/**
 * The input digest: what a build is made from. For debian, the model itself (mirror resolved, files by
 * content) and the recipe; for oci, folder and tarball, the source's own content digest (`source`), which the
 * build host computes. Names the cache entry, so equal inputs share one root.
 */
export function inputDigest(m: OsImageModel, source?: { mirror?: string; content?: string }): Digest {
  const body = m.kind === "debian" ? { ...m, mirror: source?.mirror ?? m.mirror } : { kind: m.kind, path: m.path, content: source?.content };
  return digestOf(canonical({ recipe: RECIPE_VERSION, ...body }));
}

/**
 * argv `sh -c SCRIPT sh <root>`: one line per entry (`<type> <path> <mode> <uid>:<gid> [size | link target |
 * major,minor]`), sorted, then `sha256sum` of every regular file, sorted. Owners count (a root whose
 * /etc/shadow became world-owned is a different image); times do not (SOURCE_DATE_EPOCH makes them equal,
 * but a copy may not keep them, and a node never reads them). `-xdev`: a file system mounted inside the root
 * (a build that left /proc mounted) is not part of it. Names with a newline would make two lines: Debian
 * ships none, and such a root is refused by the check below (`parseRootListing`).
 */
export const ROOT_LISTING_SCRIPT = [
  'cd "$1" || exit 3',
  "find . -xdev \\( -type l -printf 'l %p %m %U:%G %l\\n' \\) -o \\( -type f -printf 'f %p %m %U:%G %s\\n' \\) -o \\( \\( -type c -o -type b \\) -printf '%y %p %m %U:%G\\n' \\) -o -printf '%y %p %m %U:%G\\n' | LC_ALL=C sort",
  "echo '--'",
  "find . -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum",
].join("\n");

export interface RootListing {
  digest: Digest;
  /** bytes of the regular files */
  size: number;
  entries: number;
}

/** Digest and size of a root from ROOT_LISTING_SCRIPT's output. */
export function parseRootListing(listing: string): RootListing {
  const [meta = ""] = listing.split("\n--\n");
  let size = 0;
  let entries = 0;
  for (const line of meta.split("\n")) {
    if (!line) continue;
    entries++;
    if (line.startsWith("f ")) size += Number(line.split(" ").pop()) || 0;
  }
  return { digest: digestOf(listing), size, entries };
}

// ---------------------------------------------------------------------------------------------------------
// Packages

/**
 * Installed packages from an image's `/var/lib/dpkg/status` (deb822 stanzas): name -> version, only those whose
 * Status is `install ok installed` (not removed-but-configured ones). A package of a foreign architecture is
 * `name:arch` (multi-arch allows one name per architecture). Read from the file, not through `dpkg-query
 * --admindir`, so an OCI image is read the same way and nothing of the build machine's dpkg is involved.
 */
export function parseDpkgStatus(text: string, nativeArch = "amd64"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const stanza of text.split(/\n\s*\n/)) {
    const f = parseDeb822Stanza(stanza);
    if (!f.package || !f.version || f.status !== "install ok installed") continue;
    const arch = f.architecture;
    out[arch && arch !== "all" && arch !== nativeArch ? `${f.package}:${arch}` : f.package] = f.version;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface PackageChange {
  name: string;
  /** "" when added */
  before: string;
  /** "" when removed */
  after: string;
}

/** Packages added, removed or at another version between two builds, sorted by name. */
export function packageChanges(before: Record<string, string>, after: Record<string, string>): PackageChange[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.filter((n) => before[n] !== after[n]).map((n) => ({ name: n, before: before[n] ?? "", after: after[n] ?? "" }));
}

/** `+ curl 7.88.1-10+deb12u12`, `- vim-tiny 2:9.0.1378-2`, `~ libc6 2.36-9 -> 2.36-9+deb12u10`, one per line. */
export function formatPackageChanges(changes: PackageChange[]): string {
  return changes.map((c) => (!c.before ? `+ ${c.name} ${c.after}` : !c.after ? `- ${c.name} ${c.before}` : `~ ${c.name} ${c.before} -> ${c.after}`)).join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// Kernel

/** Compares Debian kernel releases well enough to pick the newest (`6.1.0-9` < `6.1.0-10`). */
const byRelease = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

/**
 * The kernel release an image holds: a `vmlinuz-V` in /boot with a `V` in /lib/modules (so the kernel always
 * matches the modules the image loads), the newest when several are installed. undefined: none.
 */
export function kernelRelease(bootNames: string[], moduleDirs: string[]): string | undefined {
  const mods = new Set(moduleDirs);
  return bootNames.map((n) => /^vmlinuz-(.+)$/.exec(n)?.[1]).filter((v): v is string => !!v && mods.has(v)).sort(byRelease).pop();
}

// ---------------------------------------------------------------------------------------------------------
// OCI images

export class OciError extends Error {}

const BLOB = /^sha256:([0-9a-f]{64})$/;
const MANIFEST_TYPES = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];
const INDEX_TYPES = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];

interface Descriptor {
  mediaType?: string;
  digest?: string;
  platform?: { os?: string; architecture?: string };
}

/** `blobs/sha256/<hex>` of a descriptor's digest; refuses anything else (a digest is a path here). */
export function blobPath(digest: unknown): string {
  const m = typeof digest === "string" ? BLOB.exec(digest) : null;
  if (!m) throw new OciError(`not a sha256 blob digest: ${JSON.stringify(digest)}`);
  return `blobs/sha256/${m[1]}`;
}

/**
 * The layer files of an OCI image layout, bottom first: index.json -> (nested indexes ->) the manifest for
 * `arch` (or the only one) -> its layers. `readJson` reads a file of the layout by relative path. Several
 * manifests and none for `arch`: an error naming the platforms found.
 */
export function ociLayers(readJson: (rel: string) => unknown, arch = "amd64"): string[] {
  let doc = readJson("index.json") as { manifests?: Descriptor[]; layers?: Descriptor[]; mediaType?: string };
  for (let depth = 0; depth < 4; depth++) {
    if (Array.isArray(doc.layers)) return doc.layers.map((l) => blobPath(l.digest));
    const ms = Array.isArray(doc.manifests) ? doc.manifests : [];
    if (!ms.length) throw new OciError("index.json lists no manifests");
    const fits = ms.filter((m) => !m.platform || ((m.platform.os ?? "linux") === "linux" && m.platform.architecture === arch));
    const pick = ms.length === 1 ? ms[0] : fits[0];
    if (!pick) throw new OciError(`no manifest for linux/${arch}; the index has ${ms.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(", ")}`);
    if (pick.mediaType && ![...MANIFEST_TYPES, ...INDEX_TYPES].includes(pick.mediaType)) throw new OciError(`unsupported manifest media type ${pick.mediaType}`);
    doc = readJson(blobPath(pick.digest)) as typeof doc;
  }
  throw new OciError("index.json nests indexes more than 4 deep");
}

/** The layer files of a `docker save` archive (its manifest.json), bottom first. */
export function dockerSaveLayers(manifest: unknown): string[] {
  const m = Array.isArray(manifest) ? manifest : [];
  if (m.length !== 1) throw new OciError(`manifest.json holds ${m.length} images; save exactly one (docker save IMAGE)`);
  const layers = (m[0] as { Layers?: unknown }).Layers;
  if (!Array.isArray(layers) || !layers.every((l) => typeof l === "string" && !l.startsWith("/") && !l.split("/").includes(".."))) throw new OciError("manifest.json: Layers must be relative paths");
  return layers as string[];
}

export interface Whiteouts {
  /** paths (relative, `etc/foo`) a lower layer's entry at which is removed */
  remove: string[];
  /** folders whose lower content is removed (`.wh..wh..opq`), the folder itself kept */
  opaque: string[];
  /** entries to extract (whiteout markers left out) */
  extract: number;
}

/**
 * The whiteouts of one layer from its entry names (`tar -t`), per the OCI image spec (layer.md): `.wh.NAME`
 * deletes NAME of the lower layers, `.wh..wh..opq` empties its folder of lower content. They apply to the
 * layers below only, so the build removes them before extracting the layer itself (markers excluded).
 * An entry that climbs out of the root (`..`) is refused: the spec forbids it and tar would write it.
 */
export function layerWhiteouts(entries: string[]): Whiteouts {
  const remove: string[] = [];
  const opaque: string[] = [];
  let extract = 0;
  for (const raw of entries) {
    const e = raw.replace(/^(\.\/)+/, "").replace(/^\/+/, "").replace(/\/+$/, "");
    if (!e) continue;
    if (e.split("/").includes("..")) throw new OciError(`layer entry ${JSON.stringify(raw)} climbs out of the root`);
    const base = path.posix.basename(e);
    const dir = path.posix.dirname(e);
    if (base === ".wh..wh..opq") opaque.push(dir === "." ? "" : dir);
    else if (base.startsWith(".wh.")) remove.push(dir === "." ? base.slice(4) : `${dir}/${base.slice(4)}`);
    else extract++;
  }
  return { remove: [...new Set(remove)].sort(), opaque: [...new Set(opaque)].sort(), extract };
}

// ---------------------------------------------------------------------------------------------------------
// What preview names

/**
 * The input fields that differ between two sets of OsImage inputs, as preview names them, sorted:
 * `debian.packages` (the list as a whole: its order is mmdebstrap's), `debian.customize[0]` and
 * `debian.files[1]` (each entry: a hook's position is its meaning), `debian.suite`, ...; a source switched from
 * one kind to another names both (`debian`, `folder`). Values compared by canonical form.
 */
export function inputChanges(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const set = (v: unknown) => v !== undefined && v !== null;
  for (const k of ["debian", "oci", "folder", "tarball"]) {
    const b = before[k];
    const a = after[k];
    if (!set(a) && !set(b)) continue;
    if (k !== "debian" || !set(a) || !set(b) || typeof a !== "object" || typeof b !== "object") {
      if (canonical(a ?? null) !== canonical(b ?? null)) out.add(k);
      continue;
    }
    const bo = b as Record<string, unknown>;
    const ao = a as Record<string, unknown>;
    for (const f of new Set([...Object.keys(bo), ...Object.keys(ao)])) {
      const bv = bo[f];
      const av = ao[f];
      if (canonical(bv ?? null) === canonical(av ?? null)) continue;
      if ((f === "customize" || f === "files") && (Array.isArray(av) || Array.isArray(bv))) {
        const bl = Array.isArray(bv) ? bv : [];
        const al = Array.isArray(av) ? av : [];
        for (let i = 0; i < Math.max(bl.length, al.length); i++) if (canonical(bl[i] ?? null) !== canonical(al[i] ?? null)) out.add(`debian.${f}[${i}]`);
      } else out.add(`debian.${f}`);
    }
  }
  return [...out].sort();
}
