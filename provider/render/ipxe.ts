/**
 * iPXE scripts (https://ipxe.org/scripting). The server's `boot.ipxe` chains to a per-node script chosen by
 * `${mac:hexhyp}`; the node script sets its own arguments and chains to its group's script, which boots.
 * An unknown MAC or a failed boot prints a distinct line and retries: the chain never loops back to DHCP.
 */
import { full, NodeGroupModel, PxeServerModel, STAGE_PATH } from "../model/pxe";
import { header, RenderedFile } from "./types";

export const nodeScriptName = (mac: string) => `node-${mac.replace(/:/g, "-")}.ipxe`;
export const groupScriptName = (group: string) => `group-${group}.ipxe`;

export function renderBootScript(m: PxeServerModel): RenderedFile {
  const base = m.httpBaseUrl;
  const content =
    "#!ipxe\n" +
    header("#", `PxeServer "${m.name}"`) +
    `echo netboot: \${mac} asks ${m.name} for its node script\n` +
    `chain --autofree ${base}ipxe/node-\${mac:hexhyp}.ipxe || goto unknown\n` +
    `:unknown\n` +
    `echo netboot: ERROR no node with MAC \${mac} is known to ${m.name}; retrying in 30 s\n` +
    `sleep 30\n` +
    `reboot\n`;
  return { path: `${m.paths.httpRoot}/ipxe/boot.ipxe`, mode: 0o644, content };
}

export function renderGroupScript(g: NodeGroupModel): RenderedFile {
  const L = ["#!ipxe", header("#", `NodeGroup "${g.name}"`).trimEnd()];
  if (g.boot.kind === "localDisk") {
    L.push(`echo netboot: \${netboot-node} (group ${g.name}) boots from its local disk`);
    L.push("sanboot --no-describe --drive 0x80 || exit");
  } else {
    // netboot.stage=: where the initramfs marks its hand-off, seen in the server's access log (docs/status.md)
    const args = [`initrd=initrd.img`, `BOOTIF=01-\${mac:hexhyp}`, `netboot.node=\${netboot-node}`, `netboot.group=${g.name}`, `netboot.stage=${g.server.httpBaseUrl}${STAGE_PATH}`, g.boot.args, "${netboot-args}"]
      .filter(Boolean)
      .join(" ");
    L.push(`echo netboot: \${netboot-node} (group ${g.name}) loads its kernel`);
    L.push(`kernel ${g.boot.kernelUrl} ${args} || goto failed`);
    L.push(`initrd --name initrd.img ${g.boot.initrdUrl} || goto failed`);
    L.push("boot || goto failed");
    L.push(":failed");
    L.push(`echo netboot: ERROR boot of \${netboot-node} (group ${g.name}) failed; retrying in 10 s`);
    L.push("sleep 10");
    L.push("reboot");
  }
  return { path: `${g.server.httpRoot}/ipxe/${groupScriptName(g.name)}`, mode: 0o644, content: L.join("\n") + "\n" };
}

/**
 * `overlays` maps a node to its published overlay: the node's kernel arguments then name the archive and its
 * sha256, which the initramfs checks before it lays the files over the root (render/init.ts).
 */
export function renderNodeScripts(g: NodeGroupModel, overlays: ReadonlyMap<string, { url: string; sha256: string }> = new Map()): RenderedFile[] {
  const out: RenderedFile[] = [];
  for (const n of g.nodes) {
    const o = overlays.get(n.name);
    const args = [n.kernelArgs, o && `netboot.overlay=${o.url} netboot.overlay.sha256=${o.sha256}`].filter(Boolean).join(" ");
    for (const mac of n.macs) {
      const content =
        "#!ipxe\n" +
        `# node ${n.name} (${mac}) of NodeGroup "${g.name}"; rendered by netboot\n` +
        `set netboot-node ${n.name}\n` +
        `set netboot-args ${args}\n` +
        `chain --autofree ${g.server.httpBaseUrl}ipxe/${groupScriptName(g.name)}\n`;
      out.push({ path: `${g.server.httpRoot}/ipxe/${nodeScriptName(mac)}`, mode: 0o644, content });
    }
  }
  return out;
}

export function groupScriptUrl(g: NodeGroupModel): string {
  return `${g.server.httpBaseUrl}ipxe/${groupScriptName(g.name)}`;
}

export { full };
export type { PxeServerModel };
