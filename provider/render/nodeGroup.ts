/**
 * Every file of one node group, in path order: its static leases (dhcp-hostsdir), its own DHCP options
 * (dhcp-optsdir, when it has network options), its iPXE script, one iPXE
 * script per node MAC, its /etc/hosts fragment and, for a group with an overlay, one archive per node and the
 * nginx rules that serve each archive to its own node only. Pure: the NodeGroupFiles resource renders these in the
 * provider from the node list, so the engine never carries file contents.
 */
import { NodeGroupModel } from "../model/pxe";
import { renderDhcpHosts, renderDhcpOpts, renderEtcHosts } from "./hosts";
import { renderGroupScript, renderNodeScripts } from "./ipxe";
import { HostKey, NodeOverlay, renderGroupOverlays, renderOverlayAccess } from "./overlay";
import { RenderedFile } from "./types";

/**
 * An archive is carried as a string: it is valid UTF-8 (ASCII headers, NUL padding, UTF-8 file contents),
 * so its string hashes and writes as exactly the archive's bytes.
 */
export function renderNodeGroup(g: NodeGroupModel, hostKeys: Record<string, HostKey[]> = {}, overlays: NodeOverlay[] = renderGroupOverlays(g, hostKeys)): RenderedFile[] {
  const archives: RenderedFile[] = overlays.map((o) => ({ path: o.path, mode: 0o644, content: o.archive.bytes.toString("utf8"), secret: o.archive.secret }));
  const pins = new Map(overlays.map((o) => [o.node, { url: o.url, sha256: o.archive.sha256 }]));
  const access = g.overlay ? [renderOverlayAccess(g, overlays)] : [];
  const opts = renderDhcpOpts(g);
  return [renderDhcpHosts(g), ...(opts ? [opts] : []), renderGroupScript(g), ...renderNodeScripts(g, pins), renderEtcHosts(g), ...archives, ...access].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
