import * as pulumi from "@pulumi/pulumi";
import { childOpts } from "../resources/clients";
import { ProviderContext } from "../context";
import * as schema from "../schema-types";
import { sha256 } from "../drift/digest";
import { buildGlusterModel, GlusterModel } from "../model/gluster";
import { hostPath, normalizeHost } from "../model/host";
import { glusterPaths, renderStandalone, renderTlsFiles } from "../render/volfile";
import { parseVolfile, xlatorTypes } from "../model/volfileParse";
import { asFiles, FileSet } from "../resources/clients";
import { validated } from "./_validate";
import { Issues } from "../model/errors";

/** Client class of netboot:index:GlusterManagedVolume (the handler is resources/glusterManaged.ts). */
class GlusterManagedVolume extends pulumi.CustomResource {
  // `declare`: with ES2022 class fields a `!` field would be reset to undefined after super() filled it.
  declare readonly clientVolfile: pulumi.Output<string>;
  declare readonly clientVolfileSha256: pulumi.Output<string>;
  declare readonly xlators: pulumi.Output<string[]>;
  constructor(name: string, args: pulumi.Inputs, opts: pulumi.CustomResourceOptions = {}) {
    super("netboot:index:GlusterManagedVolume", name, { ...args, started: undefined, clientVolfile: undefined, clientVolfileSha256: undefined, xlators: undefined }, childOpts(opts));
  }
}

/** The arguments' rules (model/gluster.ts) and what each mode supports. Run before construct too. */
export function checkGlusterVolume(name: string, a: pulumi.Unwrap<schema.GlusterVolumeArgs>, issues: Issues): GlusterModel | undefined {
  const m = buildGlusterModel(name, a, normalizeHost(issues, "host", a.host), issues);
  if (m && m.mode === "managed" && m.tls) issues.add("tls", "(secret)", "managed mode: glusterd reads TLS material from /etc/ssl/glusterfs.*; netboot only writes it in standalone mode");
  if (m && m.mode === "standalone" && m.host.ssh) issues.add("host", "ssh", "standalone mode writes to a local target folder for now");
  return issues.ok ? m : undefined;
}

/**
 * netboot:index:GlusterVolume: wiring only. Rules are in model/gluster.ts, graphs in render/volfile.ts.
 * - standalone: one FileSet with every volfile and brick unit; the client volfile goes live only after
 *   its volfiles parse (model/volfileParse.ts). TLS material is a second FileSet whose inputs stay secret.
 * - managed: a GlusterManagedVolume custom resource drives glusterd.
 */
export class GlusterVolume extends schema.GlusterVolume {
  constructor(ctx: ProviderContext, name: string, args: schema.GlusterVolumeArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    const resource = `netboot:index:GlusterVolume "${name}"`;
    const secretModel = validated(ctx, resource, args, (a, issues) => checkGlusterVolume(name, a, issues));
    // Only the TLS files hold secrets; volfiles name their paths, so they need not be secret outputs.
    const model = pulumi.unsecret(secretModel);

    if (args.mode === "managed") {
      const vol = new GlusterManagedVolume(`${name}-volume`, {
        host: args.host, volumeName: model.name, bricks: args.bricks, layout: args.layout, replica: args.replica, disperse: args.disperse,
        redundancy: args.redundancy, options: model.options, clusterSubnet: args.clusterSubnet, allowSameHostSets: args.allowSameHostSets,
        glusterdSocket: (args as any).glusterdSocket, force: (args as any).force,
      }, { parent: this });
      this.volumeName = model.name;
      this.clientVolfile = vol.clientVolfile;
      this.clientVolfileSha256 = vol.clientVolfileSha256;
      this.clientVolfilePath = pulumi.output(undefined as string | undefined);
      this.xlators = vol.xlators;
      this.bricks = model.apply((m) => m.bricks.map((b) => ({ host: b.host, path: b.path, port: 0 })));
      this.mountSource = model.apply((m) => `${m.bricks[0].host}:/${m.name}`);
      this.brickVolfiles = pulumi.output(undefined as Record<string, string> | undefined);
    } else {
      const full = (m: GlusterModel) => (p: string) => hostPath(m.host, p);
      // Every volfile is parsed with the volfile grammar before anything is written. (glusterfs 10.3's
      // `--volfile-check` is no usable check: for a client volfile it daemonizes and never exits.) Each is
      // parsed once: the client's graph gives `xlators` too.
      const parsed = model.apply((m) => {
        const files = renderStandalone(m, full(m)).filter((f) => !f.path.startsWith(glusterPaths(m).tlsDir + "/"));
        const graphs = files.filter((f) => f.path.endsWith(".vol")).map((f) => ({ path: f.path, graph: parseVolfile(f.content) }));
        return { files, clientXlators: xlatorTypes(graphs.find((g) => g.path === files[0].path)!.graph) };
      });
      const rendered = parsed.apply((p) => p.files);
      const volfiles = new FileSet(`${name}-volfiles`, {
        host: model.host,
        files: rendered.apply(asFiles),
        dirs: model.apply((m) => [glusterPaths(m).dir]),
      }, { parent: this });
      // TLS material: its own FileSet, created only when `tls` is given, each file a secret input.
      const tls = args.tls === undefined ? undefined : new FileSet(`${name}-tls`, {
        host: model.host,
        files: model.apply((m) => Object.fromEntries(renderTlsFiles(m).map((f) => [f.path, pulumi.secret({ content: f.content, mode: "0600" })]))),
      }, { parent: this, dependsOn: [volfiles] });

      const client = rendered.apply((fs) => fs[0]);
      this.volumeName = model.name;
      // Outputs wait for the files, so a BootImage never reads a volfile that is not on the host yet.
      this.clientVolfile = pulumi.all([client, volfiles.manifest, tls ? tls.manifest : {}]).apply(([c]) => c.content);
      this.clientVolfileSha256 = client.apply((c) => sha256(c.content));
      this.clientVolfilePath = pulumi.all([model, client]).apply(([m, c]) => hostPath(m.host, c.path));
      this.xlators = parsed.apply((p) => p.clientXlators);
      this.bricks = model.apply((m) => m.bricks.map((b) => ({ host: b.host, path: b.path, port: b.port, volfile: hostPath(m.host, glusterPaths(m).brick(b)) })));
      this.mountSource = this.clientVolfilePath.apply((p) => p!);
      this.brickVolfiles = pulumi.all([model, rendered]).apply(([m, fs]) => {
        const out: Record<string, string> = {};
        for (const f of fs) if (f.path.endsWith(".vol") && f.path !== glusterPaths(m).client) out[hostPath(m.host, f.path)] = sha256(f.content);
        return out;
      });
    }
    this.registerOutputs({
      volumeName: this.volumeName,
      clientVolfile: this.clientVolfile,
      clientVolfileSha256: this.clientVolfileSha256,
      clientVolfilePath: this.clientVolfilePath,
      bricks: this.bricks,
      mountSource: this.mountSource,
      xlators: this.xlators,
      brickVolfiles: this.brickVolfiles,
    });
  }
}
