/**
 * netboot:index:NetworkImage: publishes a boot image's OS image onto the network file system the initramfs
 * mounts (a GlusterFS volume through its client volfile, or an NFS export), at the BootImage's `imagePath`:
 *
 *   <imagePath>/image-<sha12>.tar.gz   the RAM part (hybrid paths left out), named by the sha256 of its bytes
 *   <imagePath>/root-<sha12>/...       hybrid mode: the hybrid paths as a tree, named by the tree digest
 *
 * The names go to the kernel command line (`netboot.image=`, `netboot.root=`), so a NodeGroup pins exactly the
 * image it boots, and a new image never changes files under a running node. The previous generation is kept
 * (nodes still running it keep their hybrid mounts); the one before it is removed.
 *
 * - check(): the BootImage validation plus the image plan (source exists, hybrid paths are folders in it).
 * - diff(): the image content digest and the hybrid tree digest, computed from the source; drift is a file or
 *   tree on the volume whose digest no longer matches its name (found by read()).
 * - create/update: mount (on the publish host), write the tarball atomically (temp + rename on the volume),
 *   unpack a tree into a temp folder and rename it into place; unchanged content is not written again.
 * - read(): mounts and re-hashes what was published (the tarball through the lifecycle's observe step, like
 *   every file netboot owns; a tree by its listing digest). delete(): removes exactly what it published.
 * - the intent journal (journal.ts, wired in registry.ts) keeps its entry on the publish host `host`.
 */
import { randomUUID } from "crypto";
import * as path from "path";
import * as provider from "@pulumi/pulumi/provider";
import { ProviderContext, Tools } from "../context";
import { sha256 } from "../drift/digest";
import { canonical, Change, diffStates, diffValues } from "../drift/diff";
import { formatIssue, Issues } from "../model/errors";
import { buildBootImageModel, BootImageModel, SpecLike } from "../model/bootImage";
import { normalizeHost, protectHost } from "../model/host";
import { ImagePlan } from "../build/plan";
import { diffStat, localStat, packEntries, packTree, parseStatListing, TREE_LISTING_SCRIPT, TREE_STAT_SCRIPT, treeArgs, treeDigestOf } from "../build/tree";
import { NetworkImageInputs, NetworkImageOutputs } from "../schema-types";
import { Mounted, NetworkFs } from "../transport/netfs";
import { describeUrn, DetailedDiffKind, DiffResultWithDetail, ResourceHandler } from "./handler";
import { publishedDrift } from "./initramfs";
import { observeAll as observeFiles } from "./lifecycle";
import { hasUnknown, reveal } from "../values";

interface NetPlan {
  model: BootImageModel;
  image: ImagePlan;
}

/** Validates inputs (every problem at once) and plans the image; nothing is read but the image source. */
export function planNetworkImage(tools: Pick<Tools, "planImage">, resource: string, inputs: NetworkImageInputs): { plan?: NetPlan; issues: Issues } {
  const issues = new Issues(resource);
  normalizeHost(issues, "host", inputs.host);
  // The volfile is only mounted here, never built into anything: its grammar and xlators are the Initramfs
  // check's (which runs first and fails the same preview), so it is not parsed a second time.
  const model = buildBootImageModel(inputs.name, reveal<SpecLike>(inputs.spec ?? {}), issues, { parse: false });
  if (model && model.transport === "http") issues.add("spec.transport", "http", "a NetworkImage publishes to glusterfs or nfs; http images are published by the Initramfs resource");
  const image = model && issues.ok ? tools.planImage(model, issues) : undefined;
  return { plan: model && image && issues.ok ? { model, image } : undefined, issues };
}

/**
 * Where stored state says the image is (transport, volume or export, imagePath, hybrid paths), without reading
 * the image source: refresh, delete and moves must work after the source folder is gone.
 */
function modelOf(resource: string, props: { name: string; spec: unknown }): BootImageModel | undefined {
  return buildBootImageModel(props.name, reveal<SpecLike>(props.spec ?? {}), new Issues(resource), { parse: false });
}

const fail = (issues: Issues): never => {
  throw new Error(issues.list.map(formatIssue).join("\n"));
};

function networkFs(m: BootImageModel): NetworkFs {
  return m.transport === "glusterfs" ? { kind: "glusterfs", volfile: m.glusterVolfile! } : { kind: "nfs", export: m.nfsExport! };
}

/** Where the image lives: a change of any of these is a move (publish there, remove here). */
const destination = (m: BootImageModel) => canonical([m.transport, m.glusterVolfile ?? m.nfsExport, m.imagePath]);

const isTree = (p: string) => p.endsWith("/");

/**
 * What is on the mounted volume at each path: a file through the lifecycle's shared observe step (stat, then
 * the bytes hashed: the one way netboot observes a file; a symlink or folder where the tarball goes is not
 * it), a tree (trailing `/`) by its listing digest, run on the host. Path -> sha256, "" when missing.
 * The cost of one way: through an SSH publish host the tarball's bytes come back over the connection to be
 * hashed (as an Initramfs's published files do), where `sha256sum` used to hash them on the host.
 */
async function observePublished(m: Mounted, paths: string[], hybridPaths: string[]): Promise<Record<string, string>> {
  const files = await observeFiles(m.fs, paths.filter((p) => !isTree(p)));
  const out: Record<string, string> = {};
  for (const p of paths) {
    if (!isTree(p)) out[p] = files.get(p)?.sha256 ?? "";
    else {
      const r = await m.fs.exec(["sh", "-c", TREE_LISTING_SCRIPT, "sh", m.hostPath(p), ...treeArgs(hybridPaths)], { timeoutMs: 600_000 });
      out[p] = r.code === 0 ? treeDigestOf(r.stdout) : "";
    }
  }
  return out;
}

/** The published paths whose content is not what `want` says (drift/diff.ts changes; "" counts as missing). */
function differing(want: Record<string, string>, found: Record<string, string>): Change<string>[] {
  const observed = Object.fromEntries(Object.entries(found).map(([p, h]) => [p, h || undefined]));
  return diffStates(want, observed, (a, b) => (a === b ? "same" : "update")).filter((c) => c.after !== undefined);
}

async function removeAll(m: Mounted, paths: string[]): Promise<void> {
  for (const p of paths) {
    if (isTree(p)) {
      const r = await m.fs.exec(["rm", "-rf", "--one-file-system", m.hostPath(p.replace(/\/$/, ""))], { timeoutMs: 600_000 });
      if (r.code !== 0) throw new Error(`${m.fs.description}: rm -rf ${p}: ${r.stderr.trim()}`);
    } else await m.fs.remove(p);
  }
}

/**
 * Writes the hybrid tree at `dir` (a volume path): unpacked into a hidden temp folder, checked against the
 * source's listing, then renamed into place in one step. With `seed` (the previous generation's tree), the temp
 * folder starts as hard links to it (`cp -al`) and only entries whose type, mode, size, mtime or link target
 * differ are sent (rsync's quick check); the previous generation's files are never written in place.
 * Returns how many entries were sent.
 */
async function publishTree(m: Mounted, source: string, hybridPaths: string[], dir: string, seed?: string): Promise<number> {
  // one fixed temp name per generation: a rerun after an interrupted apply clears what the last try left
  const tmp = `${path.posix.dirname(dir)}/.${path.posix.basename(dir)}.tmp`;
  const run = async (argv: string[], input?: Buffer) => {
    const r = await m.fs.exec(argv, { input, timeoutMs: 1_800_000 });
    if (r.code !== 0) throw new Error(`${m.fs.description}: ${argv[0]} ${argv.slice(1, 4).join(" ")}: ${r.stderr.trim() || `exit ${r.code}`}`);
    return r.stdout;
  };
  const statOf = (volumeDir: string) => m.fs.exec(["sh", "-c", TREE_STAT_SCRIPT, "sh", m.hostPath(volumeDir), ...treeArgs(hybridPaths)], { timeoutMs: 600_000 });
  const want = parseStatListing(await localStat(source, hybridPaths));
  await run(["rm", "-rf", "--one-file-system", m.hostPath(tmp)]);
  await m.fs.mkdirp(tmp, 0o755);
  try {
    let entries: string[] | undefined;
    const prev = seed ? await statOf(seed) : undefined;
    if (seed && prev && prev.code === 0) {
      const have = parseStatListing(prev.stdout);
      const { changed, removed } = diffStat(want, have);
      await run(["cp", "-al", `${m.hostPath(seed)}/.`, m.hostPath(tmp)]);
      // what changed or went away is unlinked first, so the new content never lands in a shared inode
      const unlink = [...removed.map((e) => e.path), ...changed.filter((e) => have.has(e.path) && (e.type !== "d" || have.get(e.path)!.type !== "d")).map((e) => e.path)];
      if (unlink.length) await run(["sh", "-c", 'cd "$1" && xargs -0 -r rm -rf --', "sh", m.hostPath(tmp)], Buffer.from(unlink.map((p) => p + "\0").join("")));
      entries = changed.map((e) => e.path);
    }
    if (!entries || entries.length) await run(["tar", "-x", "--numeric-owner", "-f", "-", "-C", m.hostPath(tmp)], entries ? await packEntries(source, entries) : await packTree(source, hybridPaths));
    // read back the structure (no contents: the name is the content digest, refresh re-hashes it)
    const got = await statOf(tmp);
    const d = got.code === 0 ? diffStat(want, parseStatListing(got.stdout)) : undefined;
    if (!d || d.changed.length || d.removed.length)
      throw new Error(`the tree written to ${tmp} does not match the source: ${d ? [...d.changed.map((e) => `${e.path} differs`), ...d.removed.map((e) => `${e.path} extra`)].slice(0, 5).join(", ") : got.stderr.trim()}`);
    // a tree left by an interrupted or drifted publish makes way; the new one appears complete, in one rename
    await run(["rm", "-rf", "--one-file-system", m.hostPath(dir)]);
    await run(["mv", "-T", m.hostPath(tmp), m.hostPath(dir)]);
    return entries ? entries.length : want.size;
  } catch (e) {
    await m.fs.exec(["rm", "-rf", "--one-file-system", m.hostPath(tmp)]);
    throw e;
  }
}

export function networkImageHandler(ctx: ProviderContext): ResourceHandler {
  async function apply(urn: string, inputs: NetworkImageInputs, olds?: NetworkImageOutputs): Promise<NetworkImageOutputs> {
  const resource = describeUrn(urn);
    const say = (m: string) => ctx.progress.report(urn, m);
    const { plan, issues } = planNetworkImage(ctx.tools, resource, inputs);
  if (!plan) return fail(issues);
  const { model, image } = plan;
  const host = normalizeHost(new Issues(resource), "host", inputs.host);
  const t0 = Date.now();
  say(`packing the OS image from ${image.source}`);
    const img = await ctx.tools.buildImage(image);
  const imageSha = sha256(img.data);
  const imageFile = `image-${imageSha.slice(0, 12)}.tar.${image.compression === "z" ? "gz" : "xz"}`;
    const rootDigest = model.mode === "hybrid" ? await ctx.tools.treeDigest(image.source, model.hybridPaths) : undefined;
  const rootDir = rootDigest ? `root-${rootDigest.slice(0, 12)}` : undefined;
  const filePath = `${model.imagePath}/${imageFile}`;
  const treePath = rootDir ? `${model.imagePath}/${rootDir}/` : undefined;
  const want: Record<string, string> = { [filePath]: imageSha, ...(treePath ? { [treePath]: rootDigest! } : {}) };

  const oldModel = olds ? modelOf(resource, olds) : undefined;
    const moved = !!olds && (!oldModel || destination(oldModel) !== destination(model) || canonical(olds.host) !== canonical(inputs.host));
    const t = ctx.transport(host);
  let written = 0;
  let treeEntries = 0;
  say(`mounting the ${model.transport === "glusterfs" ? "GlusterFS volume" : `NFS export ${model.nfsExport}`} on ${t.description}`);
    const published = await ctx.tools.withNetworkFs(t, networkFs(model), async (m) => {
    const stale = new Set(differing(want, await observePublished(m, Object.keys(want), model.hybridPaths)).map((c) => c.path));
    if (stale.has(filePath)) {
      say(`writing ${filePath} (${(img.data.length / 1e6).toFixed(1)} MB)`);
      // the staged tarball must read back with the nodes' own reader (busybox tar) before it takes the name
      await m.fs.put(filePath, img.data, {
        mode: 0o644,
        validate: async (staged) => {
          const r = await m.fs.exec(["sh", "-c", 'if command -v busybox >/dev/null; then busybox tar -t"$1"f "$2"; else tar -t"$1"f "$2"; fi >/dev/null', "sh", image.compression, staged], { timeoutMs: 600_000 });
          if (r.code !== 0) throw new Error(`${filePath}: the staged tarball does not read back (tar -t${image.compression}f): ${r.stderr.trim() || `exit ${r.code}`}`);
        },
      });
      written++;
    }
    if (treePath && stale.has(treePath)) {
      // a new generation starts from the previous one; a drifted tree is written again in full
      const seed = olds && !moved && !(treePath in (olds.published ?? {})) ? Object.keys(olds.published ?? {}).find(isTree) : undefined;
      say(`writing ${treePath} (${model.hybridPaths.join(" ")})${seed ? `, unchanged entries linked from ${seed}` : ""}`);
      treeEntries = await publishTree(m, image.source, model.hybridPaths, treePath.replace(/\/$/, ""), seed?.replace(/\/$/, ""));
      written++;
    }
    // temp files and trees an interrupted apply left (ours by name: `.image-<sha12>...tmp`, `.root-<sha12>.tmp`)
    for (const n of (await m.fs.list(model.imagePath!)) ?? [])
      if (/^\.(image|root)-[0-9a-f]{12}[^/]*\.tmp$/.test(n)) await removeAll(m, [`${model.imagePath}/${n}/`]);
    if (olds && !moved) {
      // keep one previous generation (running nodes may still use it), remove the one before
      const keep = new Set([...Object.keys(want), ...Object.keys(olds.published ?? {})]);
      await removeAll(m, Object.keys(olds.previous ?? {}).filter((p) => !keep.has(p)));
    }
    // the tarball is read back and hashed; the tree was checked entry by entry when it was written
    return { ...(treePath ? { [treePath]: rootDigest! } : {}), ...(await observePublished(m, [filePath], model.hybridPaths)) };
  });
  for (const c of differing(want, published))
    throw new Error(`${resource}: ${c.path} on the ${model.transport} volume reads back as ${c.before || "missing"} after publishing (expected ${c.after})`);
  if (moved && olds && oldModel) {
    // the image moved (other volume, export, path or host): clear the old place once the new one is complete
    const oldHost = normalizeHost(new Issues(resource), "host", olds.host);
      await ctx.tools.withNetworkFs(ctx.transport(oldHost), networkFs(oldModel), (m) => removeAll(m, [...Object.keys(olds.published ?? {}), ...Object.keys(olds.previous ?? {})]));
  }
  const sameGeneration = olds && !moved && Object.keys(want).every((p) => p in (olds.published ?? {}));
  const previous = !olds || moved ? {} : sameGeneration ? olds.previous ?? {} : Object.fromEntries(Object.entries(olds.published ?? {}).filter(([p]) => !(p in want)));
  return {
    ...inputs,
    host: host.ssh ? protectHost(host) : inputs.host,
    imageFile,
    ...(rootDir ? { rootDir } : {}),
    args: [`netboot.image=${imageFile}`, rootDir ? `netboot.root=${rootDir}` : ""].filter(Boolean).join(" "),
    imageDigest: image.digest,
    ...(rootDigest ? { rootDigest } : {}),
    published,
    previous,
    lastPublish: { written: String(written), treeEntriesSent: String(treeEntries), ms: String(Date.now() - t0) },
  };
  }

  return {
  async check(urn, _olds, news) {
    if (hasUnknown(news)) return { inputs: news, failures: [] };
    const { plan, issues } = planNetworkImage(ctx.tools, describeUrn(urn), news);
    const host = normalizeHost(new Issues(""), "host", news.host);
    // the content digests as inputs, so preview shows `imageDigest`/`rootDigest` old => new
    const digests = plan ? { imageDigest: plan.image.digest, ...(plan.model.mode === "hybrid" ? { rootDigest: await ctx.tools.treeDigest(plan.image.source, plan.model.hybridPaths) } : {}) } : {};
    return { inputs: { ...news, ...(host.ssh ? { host: protectHost(host) } : {}), ...digests }, failures: issues.list.map((i) => ({ property: i.field, reason: formatIssue(i) })) };
  },

  async diff(_id, urn, olds: NetworkImageOutputs, news: NetworkImageInputs): Promise<DiffResultWithDetail> {
    const detailedDiff: Record<string, { kind: DetailedDiffKind; inputDiff?: boolean }> = {};
    if (hasUnknown(news)) return { changes: true, detailedDiff: { spec: { kind: "update" } } };
    for (const c of diffValues({ host: reveal(news.host), name: news.name }, { host: reveal(olds.host), name: olds.name })) detailedDiff[c.path] = { kind: "update", inputDiff: true };
    const { plan, issues } = planNetworkImage(ctx.tools, describeUrn(urn), news);
    if (!plan) return fail(issues);
    const oldModel = modelOf(describeUrn(urn), olds);
    if (!oldModel || destination(oldModel) !== destination(plan.model)) detailedDiff.spec = { kind: "update", inputDiff: true };
    if (plan.image.digest !== olds.imageDigest) detailedDiff.imageDigest = { kind: "update", inputDiff: true };
    const rootDigest = plan.model.mode === "hybrid" ? (news as any).rootDigest ?? await ctx.tools.treeDigest(plan.image.source, plan.model.hybridPaths) : undefined;
    if (rootDigest !== olds.rootDigest) detailedDiff.rootDigest = { kind: rootDigest ? (olds.rootDigest ? "update" : "add") : "delete", inputDiff: true };
    // drift: what read() found on the volume is not what the name says (every name carries its hash)
    Object.assign(detailedDiff, publishedDrift(olds.published ?? {}));
    return { changes: Object.keys(detailedDiff).length > 0, detailedDiff };
  },

  async create(urn, inputs: NetworkImageInputs) {
    return { id: randomUUID(), outs: await apply(urn, inputs) };
  },

  async update(_id, urn, olds: NetworkImageOutputs, news: NetworkImageInputs) {
    return { outs: await apply(urn, news, olds) };
  },

  async read(id, urn, props: NetworkImageOutputs): Promise<provider.ReadResult> {
    const model = modelOf(describeUrn(urn), props);
    if (!model) throw new Error(`${describeUrn(urn)}: the stored arguments no longer validate`);
    const host = normalizeHost(new Issues(""), "host", props.host);
    const published = await ctx.tools.withNetworkFs(ctx.transport(host), networkFs(model), (m) => observePublished(m, Object.keys(props.published ?? {}), model.hybridPaths));
    const { lastPublish: _drop, ...rest } = props as any;
    return { id, props: { ...rest, published } };
  },

  async delete(_id, urn, props: NetworkImageOutputs) {
    const model = modelOf(describeUrn(urn), props);
    if (!model) throw new Error(`${describeUrn(urn)}: the stored arguments no longer validate; remove ${Object.keys(props.published ?? {}).join(", ")} by hand`);
    const host = normalizeHost(new Issues(""), "host", props.host);
    const paths = [...Object.keys(props.published ?? {}), ...Object.keys(props.previous ?? {})];
    try {
      await ctx.tools.withNetworkFs(ctx.transport(host), networkFs(model), async (m) => {
        await removeAll(m, paths);
        await m.fs.removeDirIfEmpty(model.imagePath!);
      });
    } catch (e) {
      // a volume that is gone for good would otherwise pin the stack: say how to let go of it
      throw new Error(`${describeUrn(urn)}: could not remove ${paths.join(", ")}: ${(e as Error).message}\n` +
        `If the volume is gone for good, drop this resource from the state instead: pulumi state delete '${urn}'`, { cause: e });
    }
  },
  };
}
