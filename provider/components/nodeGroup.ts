import * as pulumi from "@pulumi/pulumi";
import * as schema from "../schema-types";
import { buildNodeGroupModel, claimsOf, findConflicts, full, NodeGroupModel } from "../model/pxe";
import { registerClaims } from "../model/claimsRegistry";
import { groupScriptUrl, nodeScriptName, renderGroupScript, renderNodeScripts } from "../render/ipxe";
import { hostsDirFile, renderDhcpHosts, renderEtcHosts } from "../render/hosts";
import { asFiles, FileSet } from "../resources/clients";
import { readHostsDirClaims } from "../resources/hostsDir";
import { hostKey } from "../transport";
import { validated } from "./_validate";

/** netboot:index:NodeGroup: wiring only. */
export class NodeGroup extends schema.NodeGroup {
  constructor(name: string, args: schema.NodeGroupArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    const model = validated(`netboot:index:NodeGroup "${name}"`, args, async (a, issues) => {
      const g = buildNodeGroupModel(name, a, issues);
      if (!g) return undefined;
      const mine = claimsOf(g);
      const sameStack = registerClaims(`${hostKey(g.server.host)}${g.server.hostsDir}`, g.name, mine);
      const otherStacks = await readHostsDirClaims(g.server.host, g.server.hostsDir, g.name);
      findConflicts(mine, [...sameStack, ...otherStacks], issues);
      return g;
    });

    // Static leases: a new file is picked up by dnsmasq without a restart; removed or changed entries
    // need SIGHUP, which the FileSet sends through the server's pid file (or systemd).
    const leases = new FileSet(`${name}-leases`, {
      host: model.server.host,
      files: model.apply((g) => asFiles([renderDhcpHosts(g)])),
      signal: model.apply((g) => ({ pidFile: g.server.pidFile, systemdUnit: g.server.dnsmasqUnit, on: "removal" })),
    }, { parent: this });

    const boot = new FileSet(`${name}-boot`, {
      host: model.server.host,
      files: model.apply((g) => asFiles([renderGroupScript(g), ...renderNodeScripts(g), renderEtcHosts(g)])),
    }, { parent: this });

    this.nodeTable = pulumi.all([model, leases.manifest, boot.manifest]).apply(([g]) => nodeTable(g));
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
