/**
 * Every file of one node group, in path order: its static leases (dhcp-hostsdir), its iPXE script, one iPXE
 * script per node MAC and its /etc/hosts fragment. Pure: the NodeGroupFiles resource renders these in the
 * provider from the node list, so the engine never carries file contents.
 */
import { NodeGroupModel } from "../model/pxe";
import { renderDhcpHosts, renderEtcHosts } from "./hosts";
import { renderGroupScript, renderNodeScripts } from "./ipxe";
import { RenderedFile } from "./types";

export function renderNodeGroup(g: NodeGroupModel): RenderedFile[] {
  return [renderDhcpHosts(g), renderGroupScript(g), ...renderNodeScripts(g), renderEtcHosts(g)].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
