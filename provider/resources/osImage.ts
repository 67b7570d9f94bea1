/**
 * netboot:index:OsImage: the node OS image as a root folder on this machine (the one running pulumi), built
 * from Debian packages with mmdebstrap, imported from an OCI image, unpacked from a tarball, or a folder as it is.
 *
 * - check(): validates every input at once (model/osImage.ts), then what needs this machine: the tools the
 *   kind runs (with the Debian package to install), root, a mirror for debian, the source of oci/tarball.
 *   Nothing is built. The input digest joins the inputs, so preview shows `inputDigest` old => new.
 * - diff(): names the changed inputs (`debian.packages`, `debian.customize[0]`; build/osImage.ts
 *   inputChanges), a changed input digest with no named input (the folder's or archive's content, the
 *   machine's mirror), and drift: a root that read() found changed or gone (`digest`).
 * - create/update: build into the cache, named by the input digest (build/osImageBuild.ts): unchanged inputs
 *   are served from it, never rebuilt. Progress lines while mmdebstrap runs; after a rebuild, the packages
 *   that changed (name, old and new version) are logged and kept in `packageChanges`. Retry-safe: a failed
 *   build leaves the previous root and state as they were.
 * - read(): re-hashes the root (`observedDigest`). delete(): removes nothing: the cache is shared by every
 *   resource and stack with the same inputs on this machine, and a folder image is the user's own
 *   (docs/os-images.md says how to clear the cache).
 */
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as provider from "@pulumi/pulumi/provider";
import { ProviderContext } from "../context";
import { formatIssue, Issues, ValidationError } from "../model/errors";
import { buildOsImageModel, OsImageModel } from "../model/osImage";
import { Digest, formatPackageChanges, inputChanges, inputDigest, packageChanges } from "../build/osImage";
import { OsImageInputs, OsImageOutputs } from "../schema-types";
import { describeUrn, DetailedDiffKind, DiffResultWithDetail, ResourceHandler } from "./handler";
import { hasUnknown } from "../values";

const SOURCE_KEYS = ["debian", "oci", "folder", "tarball"] as const;
/** The source inputs that are set (the engine's struct has no `undefined`). */
const sourceOf = (p: Record<string, unknown>) => Object.fromEntries(SOURCE_KEYS.filter((k) => p[k] !== undefined && p[k] !== null).map((k) => [k, p[k]]));

interface Planned {
  model: OsImageModel;
  mirror?: string;
  inputDigest: Digest;
}

/**
 * The model, the machine's facts it needs and its input digest; every problem in `issues`. Reads only what is
 * cheap: the apt sources, PATH, and the source's content digest (oci, tarball, folder).
 */
export async function planOsImage(ctx: ProviderContext, resource: string, inputs: Partial<OsImageInputs>): Promise<{ plan?: Planned; issues: Issues }> {
  const issues = new Issues(resource);
  const model = buildOsImageModel(inputs, issues);
  if (!model) return { issues };
  const t = ctx.tools.osImage;
  for (const { tool, pkg } of t.missingTools(model.kind))
    issues.add(model.kind, tool, `needs ${tool}, which is not installed on this machine: run 'apt-get install -y ${pkg}'`);
  if (model.kind !== "folder" && typeof process.getuid === "function" && process.getuid() !== 0)
    issues.add(model.kind, `uid ${process.getuid()}`, "builds as root (owners in the image are kept): run pulumi as root");
  let mirror: string | undefined;
  let content: string | undefined;
  if (model.kind === "debian") {
    mirror = model.mirror ?? t.machineMirror();
    if (!mirror) issues.add("debian.mirror", undefined, "this machine's apt sources name no Debian mirror (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list): give debian.mirror");
  } else {
    const field = model.kind === "oci" ? "oci.path" : model.kind;
    const st = fs.existsSync(model.path) ? fs.statSync(model.path) : undefined;
    if (!st) issues.add(field, model.path, "does not exist on this machine");
    else if (model.kind === "folder" && !st.isDirectory()) issues.add(field, model.path, "is not a folder");
    else if (model.kind === "tarball" && !st.isFile()) issues.add(field, model.path, "is not a file");
    else if (model.kind === "oci" && st.isDirectory() && !fs.existsSync(`${model.path}/index.json`)) issues.add(field, model.path, "is a folder without index.json: not an OCI image layout");
    if (issues.ok) content = await t.sourceContent(model);
  }
  if (!issues.ok) return { issues };
  return { plan: { model, mirror, inputDigest: inputDigest(model, { mirror, content }) }, issues };
}

export function osImageHandler(ctx: ProviderContext): ResourceHandler {
  async function apply(urn: string, inputs: OsImageInputs, olds?: OsImageOutputs): Promise<OsImageOutputs> {
    const resource = describeUrn(urn);
    const say = (m: string) => ctx.progress.report(urn, m);
    const { plan, issues } = await planOsImage(ctx, resource, inputs);
    if (!plan) throw new ValidationError(issues.list);
    const t0 = Date.now();
    const built = await ctx.tools.osImage.build(plan.model, plan.inputDigest, { mirror: plan.mirror, say });
    const changes = olds && olds.digest !== built.digest ? packageChanges(olds.packages ?? {}, built.packages) : olds ? olds.packageChanges ?? [] : [];
    if (olds && olds.digest !== built.digest) {
      const text = changes.length ? `packages changed:\n${formatPackageChanges(changes)}` : "rebuilt; no package changed";
      ctx.progress.report(urn, text, { keep: true });
    }
    say(built.cached ? `unchanged: ${built.rootPath} (${built.digest.slice(0, 19)})` : `built ${built.rootPath} (${(built.size / 1e6).toFixed(0)} MB, ${built.digest.slice(0, 19)})`);
    return {
      ...sourceOf(inputs as unknown as Record<string, unknown>),
      inputDigest: plan.inputDigest,
      digest: built.digest,
      observedDigest: built.digest,
      rootPath: built.rootPath,
      packages: built.packages,
      packageChanges: changes,
      size: built.size,
      kernelVersion: built.kernelVersion,
      kernelPath: built.kernelPath,
      modulesDir: built.modulesDir,
      lastBuild: { cached: String(built.cached), ms: String(Date.now() - t0) },
    };
  }

  return {
    async check(urn, _olds, news) {
      if (hasUnknown(news)) return { inputs: news, failures: [] };
      const { plan, issues } = await planOsImage(ctx, describeUrn(urn), news);
      return { inputs: plan ? { ...news, inputDigest: plan.inputDigest } : news, failures: issues.list.map((i) => ({ property: i.field, reason: formatIssue(i) })) };
    },

    async diff(_id, _urn, olds: OsImageOutputs, news: OsImageInputs & { inputDigest?: string }): Promise<DiffResultWithDetail> {
      const detailedDiff: Record<string, { kind: DetailedDiffKind; inputDiff?: boolean }> = {};
      if (hasUnknown(news)) return { changes: true, detailedDiff: { inputDigest: { kind: "update" } } };
      const named = inputChanges(sourceOf(olds as unknown as Record<string, unknown>), sourceOf(news as unknown as Record<string, unknown>));
      for (const p of named) detailedDiff[p] = { kind: "update", inputDiff: true };
      // the same inputs with other content (a folder or archive changed, the machine's mirror moved)
      if (!named.length && news.inputDigest && news.inputDigest !== olds.inputDigest) detailedDiff.inputDigest = { kind: "update", inputDiff: true };
      // drift: read() found the root changed or gone; up rebuilds it (a cache miss, the digest no longer matching)
      if (olds.observedDigest !== olds.digest) detailedDiff.digest = { kind: "update" };
      return { changes: Object.keys(detailedDiff).length > 0, detailedDiff };
    },

    async create(urn, inputs: OsImageInputs) {
      return { id: randomUUID(), outs: await apply(urn, inputs) };
    },

    async update(_id, urn, olds: OsImageOutputs, news: OsImageInputs) {
      return { outs: await apply(urn, news, olds) };
    },

    async read(id, _urn, props: OsImageOutputs): Promise<provider.ReadResult> {
      const l = props.rootPath ? await ctx.tools.osImage.observe(props.rootPath) : undefined;
      const { lastBuild: _drop, ...rest } = props as OsImageOutputs & { lastBuild?: unknown };
      return { id, props: { ...rest, observedDigest: l?.digest ?? "" } };
    },

    async delete() {
      // nothing: see the header (the cache is shared, a folder is the user's)
    },
  };
}
