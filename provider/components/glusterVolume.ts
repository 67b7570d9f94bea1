import * as pulumi from "@pulumi/pulumi";
import { childOpts } from "../resources/clients";
import { ProviderContext } from "../context";
import * as schema from "../schema-types";
import { sha256 } from "../drift/digest";
import { buildGlusterModel, GlusterModel } from "../model/gluster";
import { hostPath, normalizeHost } from "../model/host";
import { glusterPaths, renderBrickFiles, renderStandalone, renderTlsFiles, unitName } from "../render/volfile";
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
  return issues.ok ? m : undefined;
}

/**
 * The bricks that will run as systemd units (standalone mode, the brick's target or else the volume's host has
 * `systemd: true`), read from the arguments as the program gave them: the component registers one FileSet per
 * such brick, so the list must be known when it is constructed. The model decides the same from the checked
 * arguments, and the two are compared before anything is written.
 */
function unitBrickIndexes(args: schema.GlusterVolumeArgs): number[] {
  if (args.mode !== "standalone" || !Array.isArray(args.bricks)) return [];
  const systemd = (h: unknown) => !!h && typeof h === "object" && (h as { systemd?: unknown }).systemd === true;
  return (args.bricks as unknown[]).flatMap((b, i) => {
    const target = b && typeof b === "object" ? (b as { target?: unknown }).target : undefined;
    return systemd(target ?? args.host) ? [i] : [];
  });
}

/**
 * netboot:index:GlusterVolume: wiring only. Rules are in model/gluster.ts, graphs in render/volfile.ts.
 * - standalone: one FileSet on the volume's host with the client volfile and the other bricks' volfiles and unit
 *   files; the client volfile goes live only after its volfiles parse (model/volfileParse.ts). A brick on a
 *   systemd host is a FileSet of its own on that host (its volfile and its unit in /etc/systemd/system), which
 *   enables and starts the unit, restarts it when the volfile changes, and stops and disables it on destroy; the
 *   client volfile waits for those bricks. TLS material is a further FileSet whose inputs stay secret.
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
        // not in GlusterVolumeArgs' SDK type (YAML and JavaScript programs pass them), so read from the bag
        glusterdSocket: (args as { glusterdSocket?: pulumi.Input<string> }).glusterdSocket, force: (args as { force?: pulumi.Input<boolean> }).force,
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
      const unitBricks = unitBrickIndexes(args);
      // Every volfile is parsed with the volfile grammar before anything is written. (glusterfs 10.3's
      // `--volfile-check` is no usable check: for a client volfile it daemonizes and never exits.) Each is
      // parsed once: the client's graph gives `xlators` too.
      const parsed = model.apply((m) => {
        const modelUnits = m.bricks.filter((b) => b.systemdUnit).map((b) => b.index);
        if (modelUnits.join() !== unitBricks.join())
          throw new Error(`${resource}: bricks that run as systemd units must be known when the program runs (bricks and their hosts given as values, not outputs of other resources)`);
        const files = renderStandalone(m, full(m)).filter((f) => !f.path.startsWith(glusterPaths(m).tlsDir + "/"));
        const brickFiles = m.bricks.filter((b) => b.systemdUnit).map((b) => renderBrickFiles(m, b, (p) => hostPath(b.target ?? m.host, p)));
        const graphs = [...files, ...brickFiles.flat()].filter((f) => f.path.endsWith(".vol")).map((f) => ({ path: f.path, graph: parseVolfile(f.content) }));
        return { files, brickFiles, clientXlators: xlatorTypes(graphs.find((g) => g.path === files[0].path)!.graph) };
      });
      const rendered = parsed.apply((p) => p.files);
      // Bricks on systemd hosts, each its own unit, enabled and started before any client reads the volfile. The
      // brick folder must exist (a disk mounted there): the unit's ConditionPathIsDirectory would otherwise leave
      // it quietly inactive, so its absence is refused before the unit goes live.
      // One after another: bricks on one host share the volume's folder (and its parents, which the first creates
      // and records), so the first brick in is the last out, and destroy leaves no folder of netboot's behind.
      const bricks: FileSet[] = [];
      for (const [k, i] of unitBricks.entries()) bricks.push(new FileSet(`${name}-brick${i}`, {
        host: model.apply((m) => m.bricks[i].target ?? m.host),
        files: parsed.apply((p) => asFiles(p.brickFiles[k])),
        dirs: model.apply((m) => [glusterPaths(m).dir]),
        checks: model.apply((m) => [{
          path: glusterPaths(m).unit(m.bricks[i]),
          command: ["sh", "-c", 'test -d "$0" || { echo "brick folder $0 does not exist on this host: create it (or mount the brick\'s disk there) first" >&2; exit 1; }', m.bricks[i].path],
        }]),
        signal: model.apply((m) => ({ systemdUnit: unitName(m.name, m.bricks[i]), on: "change" as const, restart: true, activation: "own" as const })),
      }, { parent: this, dependsOn: bricks.slice(-1) }));
      const volfiles = new FileSet(`${name}-volfiles`, {
        host: model.host,
        files: rendered.apply(asFiles),
        dirs: model.apply((m) => [glusterPaths(m).dir]),
      }, { parent: this, dependsOn: bricks });
      // TLS material: its own FileSet, created only when `tls` is given, each file a secret input.
      const tls = args.tls === undefined ? undefined : new FileSet(`${name}-tls`, {
        host: model.host,
        files: model.apply((m) => Object.fromEntries(renderTlsFiles(m).map((f) => [f.path, pulumi.secret({ content: f.content, mode: "0600" })]))),
      }, { parent: this, dependsOn: [volfiles] });

      const client = rendered.apply((fs) => fs[0]);
      this.volumeName = model.name;
      // At `up` the output waits for the files, so a consumer in this process (a Cluster's BootImage) never reads
      // a volfile that is not on the host yet. (A program's consumer gets no output of this component before
      // construct returns, and @pulumi/pulumi's provider server returns only once every child's registration
      // is done: at `up`, created.) At preview nothing is written and the content is a pure render of the
      // arguments, so it is given as it is: the consumer's checks (a BootImage's build plan against the build
      // host, with the xlators this volfile names) run at preview, on a fresh stack too.
      const written = pulumi.all([volfiles.manifest, tls ? tls.manifest : {}, pulumi.all(bricks.map((b) => b.manifest))]);
      this.clientVolfile = pulumi.runtime.isDryRun() ? client.content : pulumi.all([client, written]).apply(([c]) => c.content);
      this.clientVolfileSha256 = client.apply((c) => sha256(c.content));
      this.clientVolfilePath = pulumi.all([model, client]).apply(([m, c]) => hostPath(m.host, c.path));
      this.xlators = parsed.apply((p) => p.clientXlators);
      this.bricks = model.apply((m) => m.bricks.map((b) => ({ host: b.host, path: b.path, port: b.port, volfile: hostPath(b.target ?? m.host, glusterPaths(m).brick(b)) })));
      this.mountSource = this.clientVolfilePath.apply((p) => p!);
      this.brickVolfiles = pulumi.all([model, parsed]).apply(([m, p]) => {
        const out: Record<string, string> = {};
        for (const f of p.files) if (f.path.endsWith(".vol") && f.path !== glusterPaths(m).client) out[hostPath(m.host, f.path)] = sha256(f.content);
        // a unit brick's volfile is on its own host, at the path that host sees
        m.bricks.filter((b) => b.systemdUnit).forEach((b, k) => (out[hostPath(b.target ?? m.host, p.brickFiles[k][0].path)] = sha256(p.brickFiles[k][0].content)));
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
