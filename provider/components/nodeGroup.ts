import * as pulumi from "@pulumi/pulumi";
import { ProviderContext } from "../context";
import * as schema from "../schema-types";
import { buildNodeGroupModel, checkMirrors, claimsOf, findConflicts, NodeGroupModel, rebaseBoot } from "../model/pxe";
import { normalizeMac } from "../model/net";
import { groupScriptName, nodeScriptName } from "../render/ipxe";
import { NodeGroupFiles } from "../resources/clients";
import { packNodes } from "../model/packedNodes";
import { hostKey, hostPath } from "../model/host";
import { Issues } from "../model/errors";

/**
 * The arguments' rules (model/pxe.ts) and claims of other groups (this stack and the server's hostsdir), run by
 * the provider before construct so an invalid group registers nothing. Its NodeGroupFiles child checks the
 * same again in its own check() (the claims are per group, so registering twice is harmless).
 */
export async function checkNodeGroup(ctx: ProviderContext, name: string, a: pulumi.Unwrap<schema.NodeGroupArgs>, issues: Issues): Promise<NodeGroupModel | undefined> {
  const g = buildNodeGroupModel(name, a, issues);
  if (!g) return undefined;
  checkMirrors(g.server, a.mirrors, a.boot as schema.BootTarget, issues);
  const mine = claimsOf(g);
  const sameStack = ctx.claims.register(`${hostKey(g.server.host)}${g.server.hostsDir}`, g.name, mine);
  const onServer = await ctx.hostsDirs.read(g.server.host, g.server.hostsDir, g.name);
  findConflicts(mine, [{ index: sameStack, except: g.name }, onServer], issues);
  return issues.ok ? g : undefined;
}

/** netboot:index:NodeGroup: wiring only. */
export class NodeGroup extends schema.NodeGroup {
  constructor(_ctx: ProviderContext, name: string, args: schema.NodeGroupArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    // One resource per group (the engine's work grows with groups, not nodes) that carries the node list; the
    // provider validates it, checks claims and renders the leases, iPXE scripts and hosts fragment itself
    // (resources/nodeGroupFiles.ts). The alias keeps stacks made when a FileSet held the rendered files.
    const server = pulumi.output(args.server);
    // `servedBy` is the BootImage's record of where it is published (checked with the mirrors), not a boot setting
    const boot = pulumi.output(args.boot).apply(({ servedBy: _s, ...b }) => b);
    // The child carries the nodes packed, one string each (model/packedNodes.ts: the engine's cost follows values).
    const nodes = pulumi.output(args.nodes).apply((ns) => packNodes(ns as schema.Node[]));
    const files = new NodeGroupFiles(`${name}-files`, { group: name, server: args.server, nodes, boot, overlay: args.overlay, network: args.network }, {
      parent: this,
      aliases: [{ type: "netboot:index:FileSet" }],
    });
    // Two head nodes: each mirror gets the same leases, scripts and overlays (the first server's host keys), with
    // the boot URLs moved below its own base URL (model/pxe.ts rebaseBoot). A list of servers, so that its length
    // is known here: one NodeGroupFiles per mirror.
    const mirrors = Array.isArray(args.mirrors) ? args.mirrors : [];
    const mirrorFiles = mirrors.map((m, i) => new NodeGroupFiles(`${name}-files-m${i}`, {
      group: name, server: m, nodes, overlay: args.overlay, network: args.network,
      boot: pulumi.all([args.boot, server, m]).apply(([b, s, mm]) => rebaseBoot(b as schema.BootTarget, s.httpBaseUrl, mm.httpBaseUrl)),
      sharedHostKeys: files.hostKeys.apply((k) => k ?? {}),
    }, { parent: this }));

    this.nodeTable = pulumi.all([server, pulumi.output(args.nodes), files.hostPublicKeys, files.manifest, pulumi.all(mirrorFiles.map((f) => f.manifest))]).apply(([s, nodes, keys]) => nodeTable(name, s, nodes, keys ?? {}));
    this.hostsFile = server.apply((s) => hostPath(s.host, `${s.hostsDir}/${name}`));
    this.scriptUrl = server.apply((s) => `${s.httpBaseUrl}ipxe/${groupScriptName(name)}`);
    this.registerOutputs({ nodeTable: this.nodeTable, hostsFile: this.hostsFile, scriptUrl: this.scriptUrl });
  }
}

/** The node table from the (already checked: it resolves after the files are written) node list. */
function nodeTable(group: string, s: schema.PxeServerInfo, nodes: schema.Node[], hostKeys: Record<string, string>): schema.NodeInfo[] {
  return nodes.map((n) => {
    const macs = n.macs.map((m) => normalizeMac(m) ?? m);
    const key = hostKeys[n.name];
    return { name: n.name, group, mac: macs[0], macs, ip: n.ip, bootUrl: `${s.httpBaseUrl}ipxe/${nodeScriptName(macs[0])}`, ...(key ? { hostKey: key } : {}) };
  });
}
