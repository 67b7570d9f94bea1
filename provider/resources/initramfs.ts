/**
 * netboot:index:Initramfs: builds the initramfs (and packs the OS image) on the build host and publishes
 * kernel, initramfs and image below `<httpRoot>/images/<name>/` on the PxeServer's host.
 *
 * - check(): validates the arguments and computes the build plan, so a volfile naming an xlator the build
 *   host lacks, a missing busybox/glusterfs (with the Debian package to install) or kernel and modules of
 *   different releases fail `pulumi preview`, before anything is written. Each input is validated once: a
 *   BootImage's child gets a spec and build host its parent's check already accepted (components/bootImage.ts
 *   `checkBootImage`, every error under the BootImage's name and at once with the other components'), so here
 *   only its own inputs and the build host's facts are checked; a program's own Initramfs has its spec checked here.
 * - diff(): recomputes the input digests from the content of every input (volfile, binaries, xlators,
 *   libraries, modules, kernel, OS image). Unchanged inputs: no change, so nothing is ever rebuilt. Changed:
 *   the detailed diff names each initramfs file added, removed or changed (`files["/usr/lib/.../afr.so"]`).
 *   A published file that `read()` found changed or missing is a change too (drift).
 * - create/update: build (cached by digest), publish atomically; file names carry the content hash
 *   (`initrd-<sha12>.img`), and files of the previous build are removed after the new ones are in place.
 *   Retry-safe: a failed apply leaves the old files, and the next apply compares against the host.
 * - read(): re-hashes what was published. delete(): removes exactly the files it published.
 * - ownership: the folder `<httpRoot>/images/<name>/` and everything in it is this resource's on its host
 *   (`ownedPaths`, a folder claim: the published names carry content hashes known only once built). A File or
 *   FileSet writing there, or a second BootImage of the same name on the same server (in this stack or, through
 *   the host's intent journal, another), is refused at check naming both: each would remove the other's build.
 */
import { randomUUID } from "crypto";
import * as path from "path";
import * as provider from "@pulumi/pulumi/provider";
import { ProviderContext } from "../context";
import { sha256 } from "../drift/digest";
import { diffStates, diffValues } from "../drift/diff";
import { checkAbsPath, formatIssue, Issues, modeString } from "../model/errors";
import { buildBootImageModel, BootImageModel, SpecLike } from "../model/bootImage";
import { hostKey, normalizeHost, protectHost } from "../model/host";
import { diffManifestText, parseManifest } from "../render/manifest";
import { InitramfsInputs, InitramfsOutputs } from "../schema-types";
import { Plan } from "../build/plan";
import { applyFiles, changeKind, observeAll, removeFiles } from "./lifecycle";
import { describeUrn, DetailedDiffKind, DiffResultWithDetail, parentType, ResourceHandler } from "./handler";
import { hasUnknown, reveal, UNKNOWN } from "../values";

const key = (p: string) => `files["${p}"]`;

/** A client volfile of one protocol/client xlator, which every client volfile has: check's stand-in for an unknown one. */
const STAND_IN_VOLFILE = "volume stand-in-client-0\n  type protocol/client\n  option remote-host 127.0.0.1\n  option remote-subvolume /stand-in\nend-volume\n";

/** A path that names nothing on a build host: check's stand-in for an unknown path (what it refuses is dropped). */
const STAND_IN_PATH = "/nonexistent/netboot-unknown-at-preview";

/** The kernel's facts: with any of them unknown, none of their checks can be told from the stand-in's. */
const KERNEL_FIELDS = (f: string) => /^(kernelPath|kernelVersion|modulesDir|modules|nicModules)(\[|$)/.test(f);

/**
 * The spec fields that may be unknown at preview (upstream outputs on a fresh stack: a GlusterVolume's volfile, an
 * OsImage's root folder or kernel), each with a stand-in and the issue fields that depend on it. Check runs the
 * build plan on the stand-ins and drops the issues they own: every other build-host fact (busybox, the glusterfs
 * client, libgcc, what the known fields name) is still checked at preview. What a stand-in hides is checked at `up`.
 */
const STAND_INS: Record<string, { value: string; owns: (field: string) => boolean }> = {
  glusterVolfile: { value: STAND_IN_VOLFILE, owns: (f) => f === "glusterVolfile" },
  // the image's own facts (what the handoff starts, the hybrid paths in it) are the image source's
  imageSource: { value: STAND_IN_PATH, owns: (f) => f === "imageSource" || /^hybridPaths(\[|$)/.test(f) },
  kernelPath: { value: STAND_IN_PATH, owns: KERNEL_FIELDS },
  modulesDir: { value: STAND_IN_PATH, owns: KERNEL_FIELDS },
};

/** The spec with a stand-in for each unknown field, and what they own; undefined when some unknown has none. */
function standIns(spec: Record<string, unknown>): { spec: Record<string, unknown>; owns: (field: string) => boolean } | undefined {
  const unknown = Object.keys(spec).filter((k) => spec[k] === UNKNOWN);
  if (unknown.some((k) => !STAND_INS[k])) return undefined;
  const out = { ...spec, ...Object.fromEntries(unknown.map((k) => [k, STAND_INS[k].value])) };
  if (hasUnknown(out)) return undefined; // an unknown inside a list or object: nothing to stand in for
  return { spec: out, owns: (f) => unknown.some((k) => STAND_INS[k].owns(f)) };
}

/**
 * Validates inputs and computes the plan; all problems land in `issues`. With `checked` (a BootImage's child:
 * see the header), the spec and build host were validated by the parent's check and are only built here.
 */
export async function planFor(ctx: ProviderContext, resource: string, inputs: InitramfsInputs, checked = false): Promise<{ model?: BootImageModel; plan?: Plan; issues: Issues }> {
  const issues = new Issues(resource);
  // what the parent checked is built with issues of its own; one it would have refused is a bug, said below
  const parentChecked = checked ? new Issues(resource) : issues;
  normalizeHost(issues, "host", inputs.host);
  const buildHost = inputs.buildHost === undefined ? undefined : normalizeHost(parentChecked, "buildHost", inputs.buildHost);
  if (buildHost && !buildHost.ssh && buildHost.root) parentChecked.add("buildHost.root", buildHost.root, "a build host is this machine (leave buildHost out) or an SSH host");
  checkAbsPath(issues, "httpRoot", inputs.httpRoot);
  if (typeof inputs.httpBaseUrl !== "string" || !/^https?:\/\/[^\s"'`\\]+\/$/.test(inputs.httpBaseUrl)) issues.add("httpBaseUrl", inputs.httpBaseUrl, "must be an http(s) URL ending in /");
  const model = buildBootImageModel(inputs.name, reveal<SpecLike>(inputs.spec ?? {}), parentChecked);
  if (checked && !parentChecked.ok)
    throw new Error(`internal: the BootImage's check accepted what its Initramfs cannot build: ${parentChecked.list.map(formatIssue).join("; ")}`);
  if (!model || !issues.ok) return { model, issues };
  // the plan runs against the build host: this machine, or an SSH host through a mirror of what it reads
  const remote = buildHost?.ssh ? ctx.transport(buildHost) : undefined;
  let planIssues = issues;
  const plan = await ctx.buildHosts.run(remote, remote ? hostKey(buildHost!) : "local", (bfs) => {
    planIssues = new Issues(resource); // each round starts clean: only the last, complete one counts
    return ctx.tools.planInitramfs(model, planIssues, { fs: bfs });
  });
  return { model, plan, issues: planIssues };
}

interface Layout {
  dir: string;
  kernel: string;
  initrd: string;
  image?: string;
}

function layout(inputs: InitramfsInputs, plan: Plan, initrdName: string, imageSha?: string): Layout {
  const dir = imagesDir(inputs);
  return {
    dir,
    kernel: path.posix.join(dir, `vmlinuz-${plan.kernelVersion}-${plan.kernelSha256.slice(0, 12)}`),
    initrd: path.posix.join(dir, initrdName),
    image: plan.init.transport === "http" && imageSha ? path.posix.join(dir, `image-${imageSha.slice(0, 12)}.tar.${plan.image.compression === "z" ? "gz" : "xz"}`) : undefined,
  };
}

/** The folder the published files go in (see `layout`). */
const imagesDir = (x: { httpRoot: string; name: string }) => path.posix.join(x.httpRoot, "images", x.name);

const url = (inputs: InitramfsInputs, hostPath: string) => inputs.httpBaseUrl + path.posix.relative(inputs.httpRoot, hostPath);

/** Kernel arguments the image needs (the NodeGroup adds BOOTIF, initrd= and the node's name). */
export function bootArgs(model: BootImageModel, imageUrl: string | undefined): string {
  return ["console=tty0", "console=ttyS0,115200", imageUrl ? `netboot.image=${imageUrl}` : "", model.kernelArgs].filter(Boolean).join(" ");
}

function filesMap(manifest: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of parseManifest(manifest)) out[e.path] = e.type === "symlink" ? `-> ${e.target}` : e.type === "dir" ? `dir ${modeString(e.mode)}` : e.sha256;
  return out;
}

/**
 * Drift of what was published: every published name carries the first 12 hex digits of its content hash, so
 * the expected state of a path is its name's hash and the observed one the prefix of what read() found.
 */
export function publishedDrift(published: Record<string, string>): Record<string, { kind: DetailedDiffKind }> {
  const expected = Object.fromEntries(Object.keys(published).map((p) => [p, nameHash(p) ?? ""]));
  const observed = Object.fromEntries(Object.entries(published).map(([p, h]) => [p, h ? h.slice(0, 12) : undefined]));
  const out: Record<string, { kind: DetailedDiffKind }> = {};
  for (const c of diffStates(expected, observed, (want, have) => (want === have ? "same" : "update"))) out[`published["${c.path}"]`] = { kind: changeKind(c) };
  return out;
}

export function initramfsHandler(ctx: ProviderContext): ResourceHandler {
  async function observePublished(host: unknown, paths: string[]): Promise<Record<string, string>> {
    const found = await observeAll(ctx.transport(host as InitramfsInputs["host"]), paths);
    return Object.fromEntries(paths.map((p) => [p, found.get(p)?.sha256 ?? ""]));
  }

  async function apply(urn: string, inputs: InitramfsInputs, olds?: InitramfsOutputs): Promise<InitramfsOutputs> {
  const resource = describeUrn(urn);
    const { model, plan, issues } = await planFor(ctx, resource, inputs);
  if (!plan || !model) throw new Error(issues.list.map(formatIssue).join("\n"));
    ctx.progress.report(urn, `building the initramfs: ${plan.files.length} entries, ${plan.compression}`);
  const t0 = Date.now();
    const initrd = await ctx.tools.buildInitrd(plan);
    const img = plan.init.transport === "http" ? await ctx.tools.buildImage(plan.image) : undefined;
  const buildMs = Date.now() - t0;
  const host = normalizeHost(new Issues(resource), "host", inputs.host);
    const t = ctx.transport(host);
  const l = layout(inputs, plan, initrd.fileName, img && sha256(img.data));
  const want: [string, Buffer][] = [[l.kernel, plan.kernel], [l.initrd, initrd.data]];
  if (l.image && img) want.push([l.image, img.data]);
    ctx.progress.report(urn, `publishing ${want.map(([p]) => path.posix.basename(p)).join(", ")} on ${t.description}`);
    // the shared lifecycle: what differs from the host is written atomically; the previous build's files go
    await applyFiles(t, want.map(([p, data]) => ({ path: p, content: data, mode: 0o644, secret: false })), Object.keys(olds?.published ?? {}));
  const imageUrl = l.image ? url(inputs, l.image) : undefined;
  return {
    ...inputs,
    host,
    kernelUrl: url(inputs, l.kernel),
    initrdUrl: url(inputs, l.initrd),
    ...(imageUrl ? { imageUrl } : {}),
    args: bootArgs(model, imageUrl),
    kernelVersion: plan.kernelVersion,
    kernelSha256: plan.kernelSha256,
    initrdSha256: initrd.sha256,
    initrdSize: initrd.data.length,
    initrdDigest: plan.initrdDigest,
    imageDigest: plan.image.digest,
    manifest: plan.manifest,
    files: filesMap(plan.manifest),
    published: Object.fromEntries(want.map(([p, d]) => [p, sha256(d)])),
    lastBuild: { cached: String(initrd.cached && (img?.cached ?? true)), buildMs: String(buildMs) },
  };
  }

  return {
  async check(urn, _olds, news) {
    // A BootImage's child names its BootImage (`name` is the BootImage's), which the program wrote and whose
    // fields the issues name; the engine prints the child's name beside it.
    const child = parentType(urn) === "netboot:index:BootImage";
    const resource = child && typeof news.name === "string" ? `netboot:index:BootImage "${news.name}"` : describeUrn(urn);
    if (hasUnknown(news)) {
      // Only spec fields unknown that have a stand-in (STAND_INS: a managed volume's volfile, an OsImage's root or
      // kernel, at preview): every build-host fact that does not need them is checked now; the rest at `up`.
      const spec = news.spec as Record<string, unknown> | undefined;
      const stand = child && spec && typeof spec === "object" ? standIns(spec) : undefined;
      if (!stand || hasUnknown({ ...news, spec: stand.spec })) return { inputs: news, failures: [] };
      const { issues } = await planFor(ctx, resource, { ...news, spec: stand.spec }, true);
      return { inputs: news, failures: issues.list.filter((i) => !stand.owns(i.field)).map((i) => ({ property: i.field, reason: formatIssue(i) })) };
    }
    const { plan, issues } = await planFor(ctx, resource, news, child);
    for (const n of plan?.notes ?? []) ctx.progress.report(urn, `netboot: ${n}`, { keep: true, warning: true });
    // The planned manifest as an input map, so preview shows each initramfs file added, removed or changed.
    const bh = news.buildHost === undefined ? undefined : normalizeHost(new Issues(""), "buildHost", news.buildHost);
    const inputs = { ...news, ...(plan ? { files: filesMap(plan.manifest) } : {}), ...(bh?.ssh ? { buildHost: protectHost(bh) } : {}) };
    return { inputs, failures: issues.list.map((i) => ({ property: i.field, reason: formatIssue(i) })) };
  },

  ownedPaths(inputs: InitramfsInputs) {
    if (hasUnknown(inputs.host) || typeof inputs.httpRoot !== "string" || typeof inputs.name !== "string" || !inputs.host || typeof inputs.host !== "object") return undefined;
    return [{ host: hostKey(inputs.host), path: imagesDir(inputs) + "/", field: "name" }];
  },

  async diff(_id, urn, olds: InitramfsOutputs, news: InitramfsInputs): Promise<DiffResultWithDetail> {
    const detailedDiff: Record<string, { kind: DetailedDiffKind; inputDiff?: boolean }> = {};
    if (hasUnknown(news)) return { changes: true, detailedDiff: { spec: { kind: "update" } } };
    const where = (x: InitramfsInputs | InitramfsOutputs) => ({ host: x.host, httpRoot: x.httpRoot, httpBaseUrl: x.httpBaseUrl, name: x.name });
    for (const c of diffValues(where(news), where(olds))) detailedDiff[c.path] = { kind: "update", inputDiff: true };
    const { plan, issues } = await planFor(ctx, describeUrn(urn), news);
    if (!plan) throw new Error(issues.list.map(formatIssue).join("\n"));
    if (plan.initrdDigest !== olds.initrdDigest) {
      for (const c of diffManifestText(olds.manifest ?? "", plan.manifest)) detailedDiff[key(c.path)] = { kind: c.kind };
      if (!Object.keys(detailedDiff).some((k) => k.startsWith("files["))) detailedDiff.initrdDigest = { kind: "update" };
    }
    const digests = { kernelSha256: plan.kernelSha256, imageDigest: plan.init.transport === "http" ? plan.image.digest : olds.imageDigest };
    for (const c of diffValues(digests, { kernelSha256: olds.kernelSha256, imageDigest: olds.imageDigest })) detailedDiff[c.path] = { kind: "update" };
    // drift: what read() found published is not what the last apply wrote
    Object.assign(detailedDiff, publishedDrift(olds.published ?? {}));
    return { changes: Object.keys(detailedDiff).length > 0, detailedDiff };
  },

  async create(urn, inputs: InitramfsInputs) {
    return { id: randomUUID(), outs: await apply(urn, inputs) };
  },

  async update(_id, urn, olds: InitramfsOutputs, news: InitramfsInputs) {
    return { outs: await apply(urn, news, olds) };
  },

  async read(id, _urn, props: InitramfsOutputs): Promise<provider.ReadResult> {
    const published = await observePublished(props.host, Object.keys(props.published ?? {}));
    const initrdPath = pathOf(props.initrdUrl, props);
    const found = initrdPath ? published[initrdPath] : undefined;
    // The initramfs name carries its expected hash; what is there now is what read() reports.
    const { lastBuild: _drop, ...rest } = props as InitramfsOutputs & { lastBuild?: unknown };
    return { id, props: { ...rest, published, initrdSha256: found ?? "" } };
  },

  async delete(_id, _urn, props: InitramfsOutputs) {
      const t = ctx.transport(props.host);
    const dir = imagesDir(props);
    await removeFiles(t, Object.keys(props.published ?? {}), [path.posix.join(props.httpRoot, "images"), dir]);
  },
  };
}

/** The content hash prefix a published file's name carries (`initrd-<sha12>.img`, `vmlinuz-V-<sha12>`). */
export function nameHash(p: string): string | undefined {
  return /-([0-9a-f]{12})(\.[a-z.]+)?$/.exec(path.posix.basename(p))?.[1];
}

/** Host path of a published URL (inverse of `url`). */
function pathOf(u: string | undefined, p: { httpRoot: string; httpBaseUrl: string }): string | undefined {
  return u && u.startsWith(p.httpBaseUrl) ? path.posix.join(p.httpRoot, u.slice(p.httpBaseUrl.length)) : undefined;
}
