/** Static leases (a dnsmasq dhcp-hostsdir file) and an /etc/hosts fragment for one node group. */
import * as path from "path";
import { NodeGroupModel } from "../model/pxe";
import { dhcpOptionSpecs, groupTag } from "../model/netOptions";
import { header, RenderedFile } from "./types";

export function hostsDirFile(g: Pick<NodeGroupModel, "name" | "server">): string {
  return `${g.server.hostsDir}/${g.name}`;
}

export function renderDhcpHosts(g: NodeGroupModel): RenderedFile {
  const lines = [header("#", `NodeGroup "${g.name}"`).trimEnd()];
  // With network options of its own the group's leases set its tag, which those options match.
  const tag = g.network ? `set:${groupTag(g.name)},` : "";
  for (const n of g.nodes) lines.push(`${n.macs.join(",")},${tag}${n.ip},${n.name},infinite`);
  return { path: hostsDirFile(g), mode: 0o644, content: lines.join("\n") + "\n" };
}

/** The group's file in the server's dhcp-optsdir (beside the hostsdir, as PxeServer makes it). */
/** The group's /etc/hosts fragment, beside the hostsdir. */
export function hostsFragmentFile(g: Pick<NodeGroupModel, "name" | "server">): string {
  return `${path.posix.join(path.posix.dirname(g.server.hostsDir), "hosts.d")}/${g.name}.hosts`;
}

export function optsDirFile(g: Pick<NodeGroupModel, "name" | "server">): string {
  return `${path.posix.dirname(g.server.hostsDir)}/dhcp-opts.d/${g.name}`;
}

/**
 * The group's own DHCP options, tagged so only its nodes get them. Tagged options override the server's
 * untagged ones of the same number for those nodes (dnsmasq picks the option whose tags match).
 */
export function renderDhcpOpts(g: NodeGroupModel): RenderedFile | undefined {
  if (!g.network) return undefined;
  const lines = [header("#", `NodeGroup "${g.name}" (options for tag ${groupTag(g.name)})`).trimEnd(), ...dhcpOptionSpecs(g.network, groupTag(g.name))];
  return { path: optsDirFile(g), mode: 0o644, content: lines.join("\n") + "\n" };
}

export function renderEtcHosts(g: NodeGroupModel, domain?: string): RenderedFile {
  const lines = [header("#", `NodeGroup "${g.name}"`).trimEnd()];
  for (const n of g.nodes) lines.push(`${n.ip}\t${domain ? `${n.name}.${domain} ` : ""}${n.name}`);
  return { path: hostsFragmentFile(g), mode: 0o644, content: lines.join("\n") + "\n" };
}
