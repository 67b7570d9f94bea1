import * as pulumi from "@pulumi/pulumi";
import { childOpts } from "../resources/clients";
import { ProviderContext } from "../context";
import * as schema from "../schema-types";
import { BootImageModel, buildBootImageModel } from "../model/bootImage";
import { Issues } from "../model/errors";
import { parseImageOverlay } from "../model/overlay";
import { normalizeHost } from "../model/host";
import { validated } from "./_validate";
import { checkImageSource } from "../build/plan";

/** Client side of netboot:index:Initramfs (build + publish), registered by BootImage. */
class Initramfs extends pulumi.CustomResource {
  declare readonly kernelUrl: pulumi.Output<string>;
  declare readonly initrdUrl: pulumi.Output<string>;
  declare readonly imageUrl: pulumi.Output<string | undefined>;
  declare readonly args: pulumi.Output<string>;
  declare readonly initrdSha256: pulumi.Output<string>;
  declare readonly initrdSize: pulumi.Output<number>;
  declare readonly manifest: pulumi.Output<string>;
  constructor(name: string, args: { host: pulumi.Input<schema.Host>; httpRoot: pulumi.Input<string>; httpBaseUrl: pulumi.Input<string>; name: string; spec: pulumi.Input<schema.BootImageSpec>; buildHost?: pulumi.Input<schema.Host> }, opts: pulumi.CustomResourceOptions) {
    super("netboot:index:Initramfs", name, {
      ...args, buildHost: args.buildHost, kernelUrl: undefined, initrdUrl: undefined, imageUrl: undefined, args: undefined, initrdSha256: undefined, initrdSize: undefined,
      manifest: undefined, kernelVersion: undefined, kernelSha256: undefined, initrdDigest: undefined, imageDigest: undefined, files: undefined, published: undefined, lastBuild: undefined,
    }, childOpts(opts));
  }
}

/** Client side of netboot:index:NetworkImage (the OS image on the GlusterFS volume / NFS export). */
class NetworkImage extends pulumi.CustomResource {
  declare readonly imageFile: pulumi.Output<string>;
  declare readonly rootDir: pulumi.Output<string | undefined>;
  declare readonly args: pulumi.Output<string>;
  constructor(name: string, args: { host: pulumi.Input<schema.Host>; name: string; spec: pulumi.Input<schema.BootImageSpec> }, opts: pulumi.CustomResourceOptions) {
    super("netboot:index:NetworkImage", name, {
      ...args, imageFile: undefined, rootDir: undefined, args: undefined, imageDigest: undefined, rootDigest: undefined, published: undefined, previous: undefined, lastPublish: undefined,
    }, childOpts(opts));
  }
}

/** The arguments' rules (model/bootImage.ts), the server it publishes to and the hosts. Run before construct too. */
export function checkBootImage(name: string, a: pulumi.Unwrap<schema.BootImageArgs>, issues: Issues, partial = false): BootImageModel | undefined {
  const server = a.server as Partial<schema.PxeServerInfo> | undefined;
  if (!server || typeof server !== "object" || typeof server.httpRoot !== "string" || typeof server.httpBaseUrl !== "string")
    issues.add("server", server, "must be a PxeServer's `info` output (with host, httpRoot, httpBaseUrl)");
  if (a.mirrors !== undefined && a.mirrors !== null) {
    if (!Array.isArray(a.mirrors)) issues.add("mirrors", a.mirrors, "must be a list of PxeServer `info` outputs");
    else (a.mirrors as Partial<schema.PxeServerInfo>[]).forEach((m, i) => {
      if (!m || typeof m !== "object" || typeof m.httpRoot !== "string" || typeof m.httpBaseUrl !== "string") issues.add(`mirrors[${i}]`, m, "must be a PxeServer's `info` output (with host, httpRoot, httpBaseUrl)");
      else if (m.httpBaseUrl === server?.httpBaseUrl) issues.add(`mirrors[${i}]`, m.name, "serves the same URL as `server`");
    });
  }
  if (a.publishHost !== undefined) {
    if (a.transport === "http") issues.add("publishHost", "(set)", "is only used with glusterfs or nfs (http images are published to the PxeServer's host)");
    else normalizeHost(issues, "publishHost", a.publishHost);
  }
  if (a.publishImage !== undefined && typeof a.publishImage !== "boolean") issues.add("publishImage", a.publishImage, "must be true or false");
  if (a.publishImage === false && a.publishHost !== undefined) issues.add("publishHost", "(set)", "is not used when publishImage is false");
  if (a.buildHost !== undefined) {
    const b = normalizeHost(issues, "buildHost", a.buildHost);
    if (!b.ssh) issues.add("buildHost", "(local)", "give an SSH host (`{ ssh: {...} }`); leave buildHost out to build on this machine");
  }
  // only carried in `boot`: no part of the initramfs or the image depends on it
  parseImageOverlay(issues, "overlay", a.overlay);
  const { server: _s, mirrors: _m, publishHost: _p, publishImage: _i, buildHost: _b, overlay: _o, ...rest } = a;
  // The image source is on this machine unless a build host is given. Its Initramfs child checks it with the
  // build host's other facts, all at once; but while some inputs are unknown (a fresh stack's preview, with a
  // volfile not rendered yet) that check cannot run, so the image source is checked here instead.
  if (partial && a.buildHost === undefined && typeof a.imageSource === "string" && a.imageSource.startsWith("/"))
    checkImageSource({ imageSource: a.imageSource, handoff: a.handoff === "kexec" ? "kexec" : "switch_root", hybridPaths: a.mode === "hybrid" && Array.isArray(a.hybridPaths) ? a.hybridPaths.filter((p): p is string => typeof p === "string") : [] }, issues);
  return buildBootImageModel(name, rest, issues, { partial });
}

/**
 * netboot:index:BootImage: wiring only. Validates the arguments (all errors at once, nothing written), then
 * one Initramfs child builds on the build host and publishes kernel, initramfs (and, for http, the image) to the
 * PxeServer; for glusterfs/nfs one NetworkImage child publishes the OS image onto the volume or export.
 */
export class BootImage extends schema.BootImage {
  constructor(ctx: ProviderContext, name: string, args: schema.BootImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    const model = validated(ctx, `netboot:index:BootImage "${name}"`, args, (a, issues) => checkBootImage(name, a, issues));
    const server = pulumi.output(args.server);
    const { server: _s, mirrors: _m, publishHost, publishImage, buildHost, overlay, ...spec } = args;
    // the model is awaited first so invalid arguments stop here, before any child exists
    const checkedSpec = pulumi.all([model, pulumi.output(spec)]).apply(([, s]) => JSON.parse(JSON.stringify(s)) as schema.BootImageSpec);
    // At preview an input may be unknown (a managed volume's volfile, which glusterd writes), and with it the
    // model. Its known inputs were checked at construct (provider.ts checkComponent), so the Initramfs gets them
    // as they are, each unknown one unknown on its own: its check runs what does not need them (initramfs.ts).
    // (isKnown is @internal in @pulumi/pulumi's typings, as in provider.ts knownInputs.)
    const modelKnown = (model as unknown as { isKnown: Promise<boolean> }).isKnown;
    const initramfsSpec = (pulumi.runtime.isDryRun() ? modelKnown.then((k) => (k ? checkedSpec : spec)) : checkedSpec) as pulumi.Input<schema.BootImageSpec>;
    // The build, published on one PxeServer. An SSH server's `info` is secret as a whole (its host holds the
    // private key); its folder and URL are not, and the Initramfs checks them as plain strings (the host stays secret).
    const publishOn = (info: pulumi.Output<schema.PxeServerInfo>, child: string, after: pulumi.Resource[]) => new Initramfs(child, {
      host: info.host as pulumi.Output<schema.Host>,
      httpRoot: pulumi.unsecret(info.httpRoot),
      httpBaseUrl: pulumi.unsecret(info.httpBaseUrl),
      name,
      spec: initramfsSpec,
      ...(buildHost !== undefined ? { buildHost: pulumi.output(buildHost) as pulumi.Output<schema.Host> } : {}),
    }, { parent: this, dependsOn: after });
    const built = publishOn(server, `${name}-initramfs`, []);
    // Two head nodes: the same build published on each mirror too (after the first, so it comes from the build
    // cache). A list, so that its length is known here.
    const mirrors = (Array.isArray(args.mirrors) ? args.mirrors : []).map((m) => pulumi.output(m));
    const mirrorBuilds = mirrors.map((m, i) => publishOn(m, `${name}-initramfs-m${i}`, [built]));
    // where the kernel and initramfs are, once each publish is done: a NodeGroup checks its mirrors against it
    const servedBy = pulumi.all([pulumi.unsecret(server.httpBaseUrl), built.initrdUrl, ...mirrors.map((m, i) => pulumi.all([pulumi.unsecret(m.httpBaseUrl), mirrorBuilds[i].initrdUrl]).apply(([u]) => u))])
      .apply(([first, , ...rest]) => [first, ...rest]);
    // glusterfs/nfs: the OS image goes onto the network file system, named by its hash on the command line.
    // After the Initramfs, whose check() reports every build-host problem (image source included) at once.
    const net = args.transport === "http" || publishImage === false ? undefined : new NetworkImage(`${name}-image`, { host: pulumi.output(publishHost ?? {}) as pulumi.Output<schema.Host>, name, spec: checkedSpec }, { parent: this, dependsOn: [built] });
    const bootArgs = net ? pulumi.all([built.args, net.args]).apply(([a, n]) => `${a} ${n}`) : built.args;

    this.kernelUrl = built.kernelUrl;
    this.initrdUrl = built.initrdUrl;
    this.imageUrl = built.imageUrl;
    this.args = bootArgs;
    this.imageFile = net ? net.imageFile : pulumi.output(undefined as string | undefined);
    this.rootDir = net ? net.rootDir : pulumi.output(undefined as string | undefined);
    this.initrdSha256 = built.initrdSha256;
    this.initrdSize = built.initrdSize;
    this.manifest = built.manifest;
    this.boot = pulumi.all([built.kernelUrl, built.initrdUrl, bootArgs, pulumi.output(overlay), servedBy]).apply(([kernelUrl, initrdUrl, a, o, by]) => ({ kernelUrl, initrdUrl, args: a, ...(o ? { overlay: o } : {}), servedBy: by }));
    this.registerOutputs({
      kernelUrl: this.kernelUrl, initrdUrl: this.initrdUrl, imageUrl: this.imageUrl, args: this.args,
      initrdSha256: this.initrdSha256, initrdSize: this.initrdSize, manifest: this.manifest, boot: this.boot,
      imageFile: this.imageFile, rootDir: this.rootDir,
    });
  }
}
