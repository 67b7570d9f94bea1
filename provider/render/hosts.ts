/** Static leases (a dnsmasq dhcp-hostsdir file) and an /etc/hosts fragment for one node group. */
import * as path from "path";
import { NodeGroupModel } from "../model/pxe";
import { header, RenderedFile } from "./types";

export function hostsDirFile(g: NodeGroupModel): string {
  return `${g.server.hostsDir}/${g.name}`;
}

export function renderDhcpHosts(g: NodeGroupModel): RenderedFile {
  const lines = [header("#", `NodeGroup "${g.name}"`).trimEnd()];
  for (const n of g.nodes) lines.push(`${n.macs.join(",")},${n.ip},${n.name},infinite`);
  return { path: hostsDirFile(g), mode: 0o644, content: lines.join("\n") + "\n" };
}

export function renderEtcHosts(g: NodeGroupModel, domain?: string): RenderedFile {
  const lines = [header("#", `NodeGroup "${g.name}"`).trimEnd()];
  for (const n of g.nodes) lines.push(`${n.ip}\t${domain ? `${n.name}.${domain} ` : ""}${n.name}`);
  const dir = path.posix.join(path.posix.dirname(g.server.hostsDir), "hosts.d");
  return { path: `${dir}/${g.name}.hosts`, mode: 0o644, content: lines.join("\n") + "\n" };
}
