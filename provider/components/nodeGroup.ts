import * as pulumi from "@pulumi/pulumi";
import { ProviderContext } from "../context";
import * as schema from "../schema-types";
import { buildNodeGroupModel, claimsOf, findConflicts, NodeGroupModel } from "../model/pxe";
import { normalizeMac } from "../model/net";
import { groupScriptName, nodeScriptName } from "../render/ipxe";
import { NodeGroupFiles } from "../resources/clients";
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
    const files = new NodeGroupFiles(`${name}-files`, { group: name, server: args.server, nodes: args.nodes, boot: args.boot, overlay: args.overlay, network: args.network }, {
      parent: this,
      aliases: [{ type: "netboot:index:FileSet" }],
    });

    const server = pulumi.output(args.server);
    this.nodeTable = pulumi.all([server, pulumi.output(args.nodes), files.hostPublicKeys, files.manifest]).apply(([s, nodes, keys]) => nodeTable(name, s, nodes, keys ?? {}));
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
