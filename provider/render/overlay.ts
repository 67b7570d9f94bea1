/**
 * A node's overlay: the files laid over its root by the initramfs before the hand-off, as one newc cpio
 * archive (render/cpio.ts: sorted, mtime 0, the same files give the same bytes) that busybox `cpio -i`
 * unpacks. Uncompressed: an overlay is a few KiB of text, and gzip would add a tool to the initramfs and a
 * header field (the name, the time) to keep out of the bytes. The archive is named and verified by its
 * sha256, so the node's boot script pins exactly the bytes it was rendered with.
 *
 * Layers, later ones win at the same path: the built-ins (hostname, /etc/hosts, resolv.conf, authorized_keys, host keys),
 * then the image's files (a BootImage's overlay), then the group's files, then the node's own files.
 */
import { createHash } from "crypto";
import * as path from "path";
import { NodeGroupModel, nodeFacts } from "../model/pxe";
import { GroupOverlayModel, HostEntry, NodeFacts, NodeOverlayModel, OverlayFile, parseTemplate, renderTemplate, Resolver } from "../model/overlay";
import { CpioEntry, writeCpio } from "./cpio";
import { header, RenderedFile } from "./types";

/** A node's SSH host key as kept in state: the OpenSSH private key file and the `.pub` line. */
export interface HostKey {
  type: "ed25519";
  privateKey: string;
  publicKey: string;
}

export interface OverlayInput {
  node: NodeFacts;
  group: GroupOverlayModel;
  own?: NodeOverlayModel;
  /** /etc/hosts lines after localhost: the server, the group's nodes, the extra hosts (clusterHosts()). */
  hosts: HostEntry[];
  /** renderEtcHosts(group, hosts), when the caller renders it once for the whole group. */
  etcHosts?: string;
  hostKeys?: HostKey[];
}

/** One file of a rendered overlay. */
export interface OverlayEntry {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  content: string;
  secret: boolean;
}

export interface OverlayArchive {
  bytes: Buffer;
  sha256: string;
  /** True when any file is secret: the archive is then served to its own node only. */
  secret: boolean;
}

/**
 * Folders the archive carries with their usual modes. busybox cpio sets an existing folder's mode from the
 * archive, so a parent written as the default 0755 would open /root to every user; other folders are 0755.
 */
const DIR_MODES: Record<string, number> = { "/root": 0o700, "/root/.ssh": 0o700, "/tmp": 0o1777, "/var/tmp": 0o1777 };

/** The /etc/hosts entries of a group's overlays: the server first, then the nodes in list order, then extras. */
export function clusterHosts(server: { serverIp: string; name: string }, nodes: Array<{ name: string; ip: string }>, domain: string | undefined, extra: HostEntry[]): HostEntry[] {
  const named = (n: string) => (domain ? [`${n}.${domain}`, n] : [n]);
  return [{ ip: server.serverIp, names: named(server.name) }, ...nodes.map((n) => ({ ip: n.ip, names: named(n.name) })), ...extra];
}

/** The same for every node of a group (no node name in it), so a group renders it once, not once per node. */
export function renderEtcHosts(group: string, hosts: HostEntry[]): string {
  const lines = [header("#", `NodeGroup "${group}" (overlay)`).trimEnd(), "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"];
  for (const h of hosts) lines.push(`${h.ip}\t${h.names.join(" ")}`);
  return lines.join("\n") + "\n";
}

/** The resolver built-in: the same for every node of a group. */
export function renderResolvConf(r: Resolver): string {
  return [...(r.search.length ? [`search ${r.search.join(" ")}`] : []), ...r.nameservers.map((n) => `nameserver ${n}`)].join("\n") + "\n";
}

function builtins(i: OverlayInput): OverlayEntry[] {
  const out: OverlayEntry[] = [];
  const file = (path: string, content: string, mode = 0o644, secret = false) => out.push({ path, mode, uid: 0, gid: 0, content, secret });
  if (i.group.hostname) file("/etc/hostname", `${i.node.name}\n`);
  if (i.group.hosts) file("/etc/hosts", i.etcHosts ?? renderEtcHosts(i.node.group, i.hosts));
  if (i.group.resolver) file("/etc/resolv.conf", renderResolvConf(i.group.resolver));
  if (i.group.authorizedKeys.length > 0) file("/root/.ssh/authorized_keys", i.group.authorizedKeys.join("\n") + "\n", 0o600);
  for (const k of i.hostKeys ?? []) {
    file(`/etc/ssh/ssh_host_${k.type}_key`, k.privateKey, 0o600, true);
    file(`/etc/ssh/ssh_host_${k.type}_key.pub`, k.publicKey.endsWith("\n") ? k.publicKey : k.publicKey + "\n");
  }
  return out;
}

function userFile(f: OverlayFile, node: NodeFacts): OverlayEntry {
  const content = f.template ? renderTemplate(parseTemplate(f.content).parts, node, f.path) : f.content;
  return { path: f.path, mode: f.mode, uid: f.uid, gid: f.gid, content, secret: f.secret };
}

/** The node's files in path order (pure; templates must have passed checkTemplates). */
export function renderOverlayFiles(i: OverlayInput): OverlayEntry[] {
  const byPath = new Map<string, OverlayEntry>();
  for (const e of builtins(i)) byPath.set(e.path, e);
  for (const f of i.group.imageFiles) byPath.set(f.path, userFile(f, i.node));
  for (const f of i.group.files) byPath.set(f.path, userFile(f, i.node));
  for (const f of i.own?.files ?? []) byPath.set(f.path, userFile(f, i.node));
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/** The archive of a node's files: every parent folder listed (DIR_MODES or 0755, root-owned). */
export function renderOverlayArchive(files: OverlayEntry[]): OverlayArchive {
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split("/").filter(Boolean);
    for (let k = 1; k < parts.length; k++) dirs.add("/" + parts.slice(0, k).join("/"));
    entries.push({ path: f.path, type: "file", mode: f.mode, uid: f.uid, gid: f.gid, data: Buffer.from(f.content, "utf8") });
  }
  for (const d of dirs) entries.push({ path: d, type: "dir", mode: DIR_MODES[d] ?? 0o755 });
  const bytes = writeCpio(entries, 0);
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex"), secret: files.some((f) => f.secret) };
}

/** Where a node's archive is published below the server's HTTP root: content-addressed, so a cache never serves an old one. */
export function overlayPath(group: string, node: string, sha256: string): string {
  return `overlays/${group}/${node}-${sha256.slice(0, 12)}.cpio`;
}

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === "string" ? Buffer.from(b, "utf8") : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

/**
 * An ed25519 key pair in OpenSSH's own formats (PROTOCOL.key: `openssh-key-v1`, unencrypted; and the
 * `ssh-ed25519 <base64>` public line), which sshd reads for HostKey; node:crypto writes only PKCS#8.
 * The check words come from the seed, so the same key always gives the same file (no churn in state).
 */
export function openSshEd25519(seed: Buffer, pub: Buffer, comment: string): { privateKey: string; publicKey: string } {
  if (seed.length !== 32 || pub.length !== 32) throw new Error("ed25519: seed and public key are 32 bytes each");
  const pubBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
  const check = createHash("sha256").update(seed).digest().subarray(0, 4);
  let priv = Buffer.concat([check, check, sshString("ssh-ed25519"), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let n = 1; (priv.length + pad.length) % 8 !== 0; n++) pad.push(n);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const one = Buffer.alloc(4);
  one.writeUInt32BE(1);
  const blob = Buffer.concat([Buffer.from("openssh-key-v1\0", "binary"), sshString("none"), sshString("none"), sshString(""), one, sshString(pubBlob), sshString(priv)]);
  const b64 = blob.toString("base64").replace(/(.{70})/g, "$1\n").replace(/\n$/, "");
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${pubBlob.toString("base64")} ${comment}\n`,
  };
}

/** One node's rendered overlay and where it is published. */
export interface NodeOverlay {
  node: string;
  files: OverlayEntry[];
  archive: OverlayArchive;
  /** Host path below the server's HTTP root. */
  path: string;
  url: string;
}

/**
 * Every node's overlay of a group that has one, in node order. `hostKeys` are the keys kept in state (the
 * resource generates them; rendering stays pure). /etc/hosts covers the server, this group's nodes and the
 * group's `extraHosts` (other groups' nodes, given from their nodeTable).
 */
export function renderGroupOverlays(g: NodeGroupModel, hostKeys: Record<string, HostKey[]> = {}): NodeOverlay[] {
  const o = g.overlay;
  if (!o) return [];
  const hosts = clusterHosts(g.server, g.nodes, g.domain, o.extraHosts);
  const etcHosts = o.hosts ? renderEtcHosts(g.name, hosts) : undefined;
  return g.nodes.map((n) => {
    const files = renderOverlayFiles({ node: nodeFacts(g, n), group: o, own: n.overlay, hosts, etcHosts, hostKeys: o.hostKeys ? hostKeys[n.name] : undefined });
    const archive = renderOverlayArchive(files);
    const rel = overlayPath(g.name, n.name, archive.sha256);
    return { node: n.name, files, archive, path: `${g.server.httpRoot}/${rel}`, url: `${g.server.httpBaseUrl}${rel}` };
  });
}

/**
 * The folder of the server's overlay access rules: one file per NodeGroup, included by the PxeServer's nginx
 * server block (render/nginx.ts). Beside the hostsdir, in the server's own folder, like the hosts fragments.
 */
export function overlayAccessDir(server: { hostsDir: string }): string {
  return `${path.posix.dirname(server.hostsDir)}/nginx-overlays.d`;
}

export function overlayAccessFile(server: { hostsDir: string }, group: string): string {
  return `${overlayAccessDir(server)}/${group}.conf`;
}

/**
 * nginx access rules for a group's archives: each one exactly (`location =`, which nginx matches before any
 * prefix) for its node's static address only; the server block's `location ^~ /overlays/` refuses the rest.
 * nginx matches the normalized URI (slashes merged, `.` and `..` and %-escapes resolved), so no other
 * spelling of the path reaches the file.
 */
export function renderOverlayAccess(g: NodeGroupModel, overlays: NodeOverlay[]): RenderedFile {
  const ipOf = new Map(g.nodes.map((n) => [n.name, n.ip]));
  const lines = [header("#", `NodeGroup "${g.name}" (overlay access: each node's archive to its own address only)`).trimEnd()];
  for (const o of overlays) lines.push(`location = /${overlayPath(g.name, o.node, o.archive.sha256)} { allow ${ipOf.get(o.node)}; deny all; }`);
  return { path: overlayAccessFile(g.server, g.name), mode: 0o644, content: lines.join("\n") + "\n" };
}

/** Where a standalone nginx of the server keeps its pid (render/nginx.ts renderNginxMain), for a reload. */
export function nginxPidFile(server: { hostsDir: string; name: string }): string {
  return `${path.posix.dirname(server.hostsDir)}/run/nginx-${server.name}.pid`;
}
