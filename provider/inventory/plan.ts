/**
 * Inventory -> the components' args (pure). The Cluster component only wires what this returns: servers first,
 * then volumes, images (which need a server's `info` and maybe a volume's client volfile) and groups (which need
 * a server's `info` and an image's `boot`, or a boot target of their own).
 */
import * as path from "path";
import { Inventory, InventoryGroup, InventoryGroupOverlay, InventoryHost, InventoryImage, InventoryNode, InventoryServer, InventoryVolume } from "./types";
import { serverOf } from "./parse";

/** A host before the SSH key is read: `privateKeyFile` names a file on the machine running the deployment. */
export interface PlannedHost {
  root?: string;
  systemd?: boolean;
  ssh?: { host: string; port?: number; user?: string; hostKey: string; privateKeyFile: string };
}

export interface ServerPlan {
  name: string;
  host: PlannedHost;
  /** PxeServerArgs without host. */
  args: Omit<InventoryServer, "host">;
}

export interface VolumePlan {
  name: string;
  host: PlannedHost;
  /** GlusterVolumeArgs without host. */
  args: Omit<InventoryVolume, "host">;
}

export interface ImagePlan {
  name: string;
  server: string;
  volume?: string;
  /** BootImageArgs without server and glusterVolfile. */
  args: Omit<InventoryImage, "server" | "volume">;
}

export interface GroupPlan {
  name: string;
  server: string;
  image?: string;
  /** A boot target of the group's own. URLs without a scheme are relative to the server's HTTP root. */
  boot?: { kernelUrl?: string; initrdUrl?: string; args?: string; localDisk?: boolean };
  nodes: { name: string; macs: string[]; ip: string; firmware?: InventoryNode["firmware"]; kernelArgs?: string; tags?: InventoryNode["tags"]; overlay?: InventoryNode["overlay"] }[];
  overlay?: InventoryGroup["overlay"];
}

export interface ClusterPlan {
  servers: ServerPlan[];
  volumes: VolumePlan[];
  images: ImagePlan[];
  groups: GroupPlan[];
}

/**
 * `baseDir` is where relative `root` folders start (the inventory file's folder). Assumes a validated inventory
 * (parseInventory): references resolve.
 */
export function planCluster(inv: Inventory, baseDir: string): ClusterPlan {
  const host = (h: InventoryHost | undefined): PlannedHost => {
    const src = h ?? inv.defaults?.host ?? {};
    const out: PlannedHost = { ...src };
    if (src.root !== undefined) out.root = path.resolve(baseDir, src.root);
    if (src.ssh) out.ssh = { ...src.ssh, privateKeyFile: path.resolve(baseDir, src.ssh.privateKeyFile) };
    return out;
  };
  const sorted = <T>(m: Record<string, T> | undefined) => Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return {
    servers: sorted(inv.servers).map(([name, { host: h, ...args }]) => ({ name, host: host(h), args })),
    volumes: sorted(inv.volumes).map(([name, { host: h, ...args }]) => ({ name, host: host(h), args })),
    images: sorted(inv.images).map(([name, img]) => {
      const { server: _s, volume, ...args } = img;
      return { name, server: serverOf(inv, img)!, ...(volume ? { volume } : {}), args };
    }),
    groups: sorted(inv.groups).map(([name, g]) => ({
      name,
      server: serverOf(inv, g)!,
      ...(g.image ? { image: g.image } : {}),
      ...(g.boot ? { boot: g.boot } : {}),
      ...(g.overlay ? { overlay: withClusterHosts(inv, name, g.overlay) } : {}),
      nodes: g.nodes.map(({ mac, macs, ...rest }) => ({ ...rest, name: rest.name, ip: rest.ip, macs: mac !== undefined ? [mac] : macs! })),
    })),
  };
}

/**
 * A group's /etc/hosts covers the whole cluster: NodeGroup itself lists its server and its own nodes, and the
 * inventory, which alone sees every group, adds the other groups' nodes and the other servers (each named as its
 * server's domain names it) before the group's own `extraHosts`. The overlay's `hosts: false` turns it all off.
 * The names of other groups come from the inventory's text, not from outputs, so no group waits for another.
 */
export function withClusterHosts(inv: Inventory, group: string, overlay: InventoryGroupOverlay): InventoryGroupOverlay {
  if (overlay.hosts === false) return overlay;
  const named = (n: string, domain: string | undefined) => (domain ? [`${n}.${domain}`, n] : [n]);
  const own = serverOf(inv, inv.groups![group])!;
  const extra: { ip: string; names: string[] }[] = [];
  for (const [name, s] of Object.entries(inv.servers ?? {}).sort(([a], [b]) => a.localeCompare(b)))
    if (name !== own) extra.push({ ip: s.serverIp, names: named(name, s.domain) });
  for (const [name, g] of Object.entries(inv.groups ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (name === group) continue;
    const domain = inv.servers?.[serverOf(inv, g)!]?.domain;
    for (const n of g.nodes) extra.push({ ip: n.ip, names: named(n.name, domain) });
  }
  return { ...overlay, extraHosts: [...extra, ...(overlay.extraHosts ?? [])] };
}

/** A group's boot URL: absolute URLs stay, others are relative to the server's HTTP base URL. */
export function resolveUrl(base: string, url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  return base.replace(/\/?$/, "/") + url.replace(/^\/+/, "");
}
