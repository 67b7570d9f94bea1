import * as pulumi from "@pulumi/pulumi";
import { ProviderContext } from "../context";
import * as schema from "../schema-types";
import { buildNodeGroupModel, claimsOf, findConflicts, full, NodeGroupModel } from "../model/pxe";
import { groupScriptUrl, nodeScriptName, renderGroupScript, renderNodeScripts } from "../render/ipxe";
import { hostsDirFile, renderDhcpHosts, renderEtcHosts } from "../render/hosts";
import { asFiles, FileSet } from "../resources/clients";
import { hostKey } from "../model/host";
import { validated } from "./_validate";
import { Issues } from "../model/errors";

/** The arguments' rules (model/pxe.ts) and claims of other groups (this stack and the server's hostsdir). */
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
  constructor(ctx: ProviderContext, name: string, args: schema.NodeGroupArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    const model = validated(ctx, `netboot:index:NodeGroup "${name}"`, args, (a, issues) => checkNodeGroup(ctx, name, a, issues));

    // One file set per group (the engine's work grows with groups, not nodes): static leases, the group and
    // node iPXE scripts, the hosts fragment. A new leases file is picked up by dnsmasq without a restart;
    // removed or changed entries need SIGHUP, which the FileSet sends (pid file or systemd) only when the
    // leases file itself lost or changed lines.
    const files = new FileSet(`${name}-files`, {
      host: model.server.host,
      files: model.apply((g) => asFiles([renderDhcpHosts(g), renderGroupScript(g), ...renderNodeScripts(g), renderEtcHosts(g)])),
      signal: model.apply((g) => ({ pidFile: g.server.pidFile, systemdUnit: g.server.dnsmasqUnit, on: "removal" as const, paths: [hostsDirFile(g)] })),
    }, { parent: this });

    this.nodeTable = pulumi.all([model, files.manifest]).apply(([g]) => nodeTable(g));
    this.hostsFile = model.apply((g) => full(g, hostsDirFile(g)));
    this.scriptUrl = model.apply(groupScriptUrl);
    this.registerOutputs({ nodeTable: this.nodeTable, hostsFile: this.hostsFile, scriptUrl: this.scriptUrl });
  }
}

function nodeTable(g: NodeGroupModel): schema.NodeInfo[] {
  return g.nodes.map((n) => ({
    name: n.name,
    group: g.name,
    mac: n.macs[0],
    macs: n.macs,
    ip: n.ip,
    bootUrl: `${g.server.httpBaseUrl}ipxe/${nodeScriptName(n.macs[0])}`,
  }));
}
