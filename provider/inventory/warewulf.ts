/**
 * Warewulf 4 `nodes.conf` (+ optional `warewulf.conf`) -> a netboot inventory, with a report of everything that
 * could not be mapped. Pure: text in, inventory and report out.
 *
 * Mapping (Warewulf names, https://warewulf.org/docs/main/nodes/profiles.html):
 *   - each distinct (profile list, image) of the nodes becomes a group named after its non-`default` profiles;
 *   - a node's primary network device (`primary network`, a device with `default: true`, the one called
 *     `default`, or the only one) gives its MAC and address; the node's effective kernel args (profiles merged
 *     in order, the node last) become its `kernelArgs`;
 *   - an image (`image name`, `container name` before 4.6) becomes an HTTP boot image built from Warewulf's chroot
 *     (`<wwchrootdir>/<name>/rootfs`, `/var/lib/warewulf/chroots` unless warewulf.conf's `paths` say otherwise),
 *     and its kernel and modules are the image's own, as Warewulf boots them (warewulfKernel.ts): `kernelPath`
 *     and `modulesDir` inside that rootfs, never the build host's `/boot` and `/lib/modules`;
 *   - `warewulf.conf` gives the server: `ipaddr`, `netmask`, the DHCP range (authoritative) or none (static).
 * Everything else (IPMI, overlays, tags, resources, file systems, secondary interfaces...) is listed in the report.
 * The only input besides text is `imageKernels`, the listing of an image's kernels (the CLI passes
 * `scanImageKernels`, which reads the chroot); without it the kernel paths are assumed and reported for review.
 */
import { stringify } from "yaml";
import { parse as parseYaml } from "yaml";
import { Inventory, InventoryGroup, InventoryImage, InventoryNode, InventoryServer } from "./types";
import { formatIPv4, inSubnet, parseCidr, parseIPv4 } from "../model/net";
import { ImageKernel, selectKernel } from "./warewulfKernel";

/** Warewulf's default `paths.wwchrootdir`: `<name>/rootfs` below it is an image's root. */
export const WW_CHROOT_DIR = "/var/lib/warewulf/chroots";

export interface ReportItem {
  /** Where in nodes.conf / warewulf.conf, e.g. `nodes.n0003.ipmi`. */
  where: string;
  /** `not mapped` (dropped), `skipped` (a whole node left out) or `review` (mapped with an assumption). */
  kind: "not mapped" | "skipped" | "review";
  message: string;
}

export interface ImportOptions {
  /** Interface dnsmasq serves (Warewulf's config does not name it). Default `eth0`. */
  interface?: string;
  /** Server entry name. Default `warewulf`. */
  serverName?: string;
  /** `defaults.host.root` of the inventory (a local target folder); left out when undefined. */
  root?: string;
  /** Server address and subnet when there is no warewulf.conf. */
  serverIp?: string;
  subnet?: string;
  /** Folder of Warewulf's images (`<name>/rootfs`); default warewulf.conf `paths.wwchrootdir`, else WW_CHROOT_DIR. */
  chrootDir?: string;
  /**
   * The kernels of the image rooted at `rootfs` (paths inside the image), undefined when that root is not on this
   * machine. Without this option no image is read: kernel paths are assumed from `kernel version` and reported.
   */
  imageKernels?: (rootfs: string) => readonly ImageKernel[] | undefined;
}

export interface ImportResult {
  inventory: Inventory;
  report: ReportItem[];
}

export class WarewulfImportError extends Error {}

/** Keys netboot maps; any other key of a node or profile is reported as not mapped. */
const MAPPED: ReadonlySet<string> = new Set(["profiles", "network devices", "primary network", "kernel", "image name", "container name", "comment"]);
const WHY: Record<string, string> = {
  ipmi: "netboot does not manage BMCs (power and console stay with your IPMI tooling)",
  "runtime overlay": "overlays are Warewulf templates; bake files into the image or add them to the boot image's source",
  "system overlay": "overlays are Warewulf templates; bake files into the image or add them to the boot image's source",
  tags: "netboot has no free-form tags",
  keys: "netboot has no free-form keys",
  resources: "netboot has no free-form resources",
  filesystems: "local disks are not provisioned by netboot",
  disks: "local disks are not provisioned by netboot",
  discoverable: "netboot serves only nodes with a known MAC (unknown machines get an address from the dynamic range, nothing to boot)",
  "ipxe template": "netboot renders its own iPXE scripts",
  init: "the boot image hands over to the image's /sbin/init",
  root: "the boot image chooses the root (RAM, or hybrid on a network file system)",
  "asset key": "netboot does not check asset tags",
  "cluster name": "netboot has no cluster name",
  "machine id": "netboot does not set /etc/machine-id",
};

const isObj = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);
const truthy = (v: unknown) => v === true || v === "true" || v === "yes";
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function kernelArgs(k: unknown): string | undefined {
  if (!isObj(k) || k.args === undefined || k.args === null) return undefined;
  return Array.isArray(k.args) ? k.args.map(String).join(" ") : String(k.args);
}

function kernelVersion(k: unknown): string | undefined {
  if (!isObj(k)) return undefined;
  const v = k.version ?? k.override;
  return v === undefined || v === null || v === "" ? undefined : String(v);
}

/** Labels for group and image names: lower case, `-` for anything else. */
export function toLabel(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "") || "default";
}

/** Prefix length of a dotted netmask (`255.255.255.0` -> 24), undefined when not a contiguous mask. */
export function netmaskBits(mask: string): number | undefined {
  const n = parseIPv4(mask);
  if (n === undefined) return undefined;
  const host = (~n) >>> 0; // the host bits must be a run of ones at the end
  if (((host + 1) & host) !== 0) return undefined;
  return 32 - Math.log2(host + 1);
}

function cidrOf(ip: string, bits: number): string | undefined {
  const n = parseIPv4(ip);
  if (n === undefined) return undefined;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return `${formatIPv4((n & mask) >>> 0)}/${bits}`;
}

function ipInCidr(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr);
  const n = parseIPv4(ip);
  return c !== undefined && n !== undefined && inSubnet(c, n);
}

export function importWarewulf(nodesConf: string, warewulfConf: string | undefined, opts: ImportOptions = {}): ImportResult {
  const report: ReportItem[] = [];
  const nodesDoc = parseYaml(nodesConf) ?? {};
  if (!isObj(nodesDoc)) throw new WarewulfImportError("nodes.conf is not a YAML map");
  const profiles: Record<string, any> = isObj(nodesDoc.nodeprofiles) ? nodesDoc.nodeprofiles : {};
  const nodes: Record<string, any> = isObj(nodesDoc.nodes) ? nodesDoc.nodes : {};
  for (const k of Object.keys(nodesDoc)) if (!["nodeprofiles", "nodes", "WW_INTERNAL"].includes(k)) report.push({ where: k, kind: "not mapped", message: `top-level section \`${k}\` has no netboot equivalent` });

  // Server
  const serverName = opts.serverName ?? "warewulf";
  const server = serverFrom(warewulfConf, opts, report);
  const wwPaths = (() => {
    const c = warewulfConf === undefined ? undefined : parseYaml(warewulfConf);
    return isObj(c) && isObj(c.paths) ? c.paths : {};
  })();
  const chrootDir = (opts.chrootDir ?? (typeof wwPaths.wwchrootdir === "string" && wwPaths.wwchrootdir ? wwPaths.wwchrootdir : WW_CHROOT_DIR)).replace(/\/+$/, "");

  // Report what profiles carry that netboot drops (once per profile, not per node).
  for (const [pname, p] of Object.entries(profiles)) {
    if (!isObj(p)) continue;
    for (const [k, v] of Object.entries(p)) if (!MAPPED.has(k) && v !== undefined && v !== null && v !== "") report.push({ where: `nodeprofiles.${pname}.${k}`, kind: "not mapped", message: WHY[k] ?? `\`${k}\` has no netboot equivalent` });
    if (isObj(p["network devices"])) for (const [dev, d] of Object.entries<any>(p["network devices"])) if (isObj(d) && d.gateway) report.push({ where: `nodeprofiles.${pname}.network devices.${dev}.gateway`, kind: "not mapped", message: "the DHCP router option is not set by netboot; configure the gateway in the image" });
  }

  const groups: Record<string, InventoryGroup> = {};
  const images: Record<string, InventoryImage> = {};
  for (const [rawName, n] of Object.entries(nodes).sort(([a], [b]) => a.localeCompare(b))) {
    const where = `nodes.${rawName}`;
    const node = isObj(n) ? n : {};
    const plist: string[] = Array.isArray(node.profiles) ? node.profiles.map(String) : ["default"];
    const chain = [...plist.map((p) => {
      if (!isObj(profiles[p])) report.push({ where: `${where}.profiles`, kind: "review", message: `profile \`${p}\` is not defined in nodeprofiles; ignored` });
      return isObj(profiles[p]) ? profiles[p] : {};
    }), node];
    // Effective values: later entries win, as in Warewulf (the node overrides its profiles, in order).
    const eff = (f: (x: any) => unknown) => chain.map(f).filter((v) => v !== undefined && v !== null && v !== "").pop();

    for (const [k, v] of Object.entries(node)) if (!MAPPED.has(k) && v !== undefined && v !== null && v !== "") report.push({ where: `${where}.${k}`, kind: "not mapped", message: WHY[k] ?? `\`${k}\` has no netboot equivalent` });

    const name = rawName.toLowerCase();
    if (!DNS_LABEL.test(name)) {
      report.push({ where, kind: "skipped", message: `node name \`${rawName}\` is not a DNS label (netboot names nodes by host name)` });
      continue;
    }
    // Network devices: merge by device key through the chain.
    const devs: Record<string, any> = {};
    for (const c of chain) if (isObj(c["network devices"])) for (const [k, d] of Object.entries<any>(c["network devices"])) devs[k] = { ...(devs[k] ?? {}), ...(isObj(d) ? d : {}) };
    const primaryKey = (eff((c) => c["primary network"]) as string | undefined) ?? Object.keys(devs).find((k) => truthy(devs[k].default) || truthy(devs[k].primary)) ?? (devs.default ? "default" : Object.keys(devs).length === 1 ? Object.keys(devs)[0] : undefined);
    if (!primaryKey || !devs[primaryKey]) {
      report.push({ where, kind: "skipped", message: Object.keys(devs).length ? `no primary network device among ${Object.keys(devs).join(", ")} (set \`primary network\`)` : "no network device" });
      continue;
    }
    const dev = devs[primaryKey];
    const mac = typeof dev.hwaddr === "string" ? dev.hwaddr.toLowerCase() : "";
    const ip = typeof dev.ipaddr === "string" ? dev.ipaddr : "";
    if (!MAC.test(mac)) {
      report.push({ where: `${where}.network devices.${primaryKey}`, kind: "skipped", message: mac ? `hwaddr \`${dev.hwaddr}\` is not a MAC address` : "no hwaddr: netboot serves only nodes with a known MAC (Warewulf discovers it on first boot)" });
      continue;
    }
    if (!ip) {
      report.push({ where: `${where}.network devices.${primaryKey}`, kind: "skipped", message: "no ipaddr: netboot gives every node a static address" });
      continue;
    }
    if (server.subnet && !ipInCidr(ip, server.subnet)) {
      report.push({ where: `${where}.network devices.${primaryKey}.ipaddr`, kind: "skipped", message: `${ip} is outside the boot network ${server.subnet}` });
      continue;
    }
    for (const [k, d] of Object.entries(devs)) {
      // A profile's device template that the node never filled in (no MAC, no address) is not an interface.
      if (k === primaryKey || (!d.hwaddr && !d.ipaddr)) continue;
      report.push({ where: `${where}.network devices.${k}`, kind: "not mapped", message: `secondary interface${d.device ? ` ${d.device}` : ""}${d.ipaddr ? ` (${d.ipaddr})` : ""}: netboot boots each node on one interface; configure the others in the image` });
    }
    if (isObj(node["network devices"])) for (const [k, d] of Object.entries<any>(node["network devices"])) if (isObj(d) && d.gateway) report.push({ where: `${where}.network devices.${k}.gateway`, kind: "not mapped", message: "the DHCP router option is not set by netboot; configure the gateway in the image" });

    const image = eff((c) => c["image name"] ?? c["container name"]) as string | undefined;
    const profileNames = plist.filter((p) => p !== "default");
    let group = toLabel(profileNames.length ? profileNames.join("-") : "default");
    const imageLabel = image ? toLabel(image) : undefined;
    // Nodes of one profile list that override the image get a group of their own.
    while (groups[group] && groups[group].image !== imageLabel) group = `${group}-${imageLabel ?? "disk"}`;
    if (!groups[group]) {
      groups[group] = imageLabel ? { image: imageLabel, nodes: [] } : { boot: { localDisk: true }, nodes: [] };
      if (!imageLabel) report.push({ where, kind: "review", message: `no image: group ${group} boots the local disk; set \`image:\` in the inventory` });
    }
    if (image && imageLabel && !images[imageLabel]) {
      const want = eff((c) => kernelVersion(c.kernel)) as string | undefined;
      const rootfs = `${chrootDir}/${image}/rootfs`;
      const k = imageKernel(rootfs, want, opts.imageKernels);
      images[imageLabel] = { imageSource: rootfs, transport: "http", mode: "ram", ...k.fields };
      report.push({ where: `image ${image}`, kind: "review", message: `built from Warewulf's chroot over HTTP into RAM; ${k.note}` });
    }
    const entry: InventoryNode = { name, mac, ip };
    const args = eff((c) => kernelArgs(c.kernel)) as string | undefined;
    if (args) entry.kernelArgs = args;
    groups[group].nodes.push(entry);
  }

  const inventory: Inventory = {
    version: 1,
    description: "Imported from Warewulf nodes.conf by scripts/import-warewulf.ts",
    ...(opts.root !== undefined ? { defaults: { host: { root: opts.root } } } : {}),
    servers: { [serverName]: server.entry },
    ...(Object.keys(images).length ? { images: sortKeys(images) } : {}),
    groups: sortKeys(groups),
  };
  return { inventory, report };
}

/**
 * The BootImage fields that make it read the kernel and its modules from the image root (paths on this machine:
 * the rootfs joined with the path inside the image), and a sentence for the report saying how they were found.
 */
function imageKernel(rootfs: string, want: string | undefined, list: ImportOptions["imageKernels"]): { fields: Pick<InventoryImage, "kernelPath" | "modulesDir" | "kernelVersion">; note: string } {
  const asked = want === undefined ? "no kernel version was set" : `kernel version \`${want}\``;
  const kernels = list?.(rootfs);
  const found = kernels && selectKernel(kernels, want);
  if (found) {
    const modulesDir = found.modulesDir ?? `/lib/modules/${found.version}`;
    const fields = { kernelPath: rootfs + found.path, modulesDir: rootfs + modulesDir, kernelVersion: found.version };
    const others = kernels!.filter((x) => x.version !== found.version).map((x) => x.version);
    const more = others.length ? ` (the image also holds ${[...new Set(others)].join(", ")})` : "";
    return { fields, note: `${asked}: the image's kernel ${found.path}${more}, modules ${modulesDir}${found.modulesDir ? "" : " (no modules.dep there: check the image)"}` };
  }
  // Not read (no listing, or the chroot is not on this machine) or no kernel matches: the paths Warewulf would
  // use for an exact release, inside the image all the same, so a wrong guess fails the BootImage's check
  // instead of taking the build host's kernel.
  const inImage = want?.startsWith("/") ? want : want !== undefined ? `/boot/vmlinuz-${want}` : "/boot/vmlinuz";
  const fields: Pick<InventoryImage, "kernelPath" | "modulesDir"> = { kernelPath: rootfs + inImage };
  if (want !== undefined && !want.startsWith("/")) fields.modulesDir = `${rootfs}/lib/modules/${want}`;
  const why = kernels === undefined
    ? (list ? `${rootfs} is not on this machine` : "the image was not read")
    : kernels.length ? `no kernel of the image matches (it holds ${kernels.map((x) => x.path).join(", ")})` : "the image holds no /boot/vmlinuz-* or /lib/modules/*/vmlinuz";
  return { fields, note: `${asked}, and ${why}: kernel assumed at ${inImage} in the image${fields.modulesDir ? `, modules at /lib/modules/${want}` : ""} (check them, or run the import where the chroots are, with --chroot-dir)` };
}

function sortKeys<T>(m: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)));
}

function serverFrom(text: string | undefined, opts: ImportOptions, report: ReportItem[]): { entry: InventoryServer; subnet?: string } {
  const conf = text === undefined ? {} : parseYaml(text) ?? {};
  if (!isObj(conf)) throw new WarewulfImportError("warewulf.conf is not a YAML map");
  const serverIp: string | undefined = opts.serverIp ?? conf.ipaddr;
  let subnet: string | undefined = opts.subnet;
  if (!subnet && conf.ipaddr && conf.netmask) {
    const bits = netmaskBits(String(conf.netmask));
    if (bits === undefined) throw new WarewulfImportError(`warewulf.conf netmask ${conf.netmask} is not a netmask`);
    subnet = cidrOf(String(conf.network ?? conf.ipaddr), bits);
    if (!subnet) throw new WarewulfImportError(`warewulf.conf network ${conf.network ?? conf.ipaddr} is not an IPv4 address`);
  }
  if (!serverIp || !subnet) throw new WarewulfImportError("the server address and subnet are unknown: give warewulf.conf (ipaddr, netmask) or --server-ip and --subnet");
  const iface = opts.interface ?? "eth0";
  if (!opts.interface) report.push({ where: "warewulf.conf", kind: "review", message: "warewulf.conf does not name the boot interface: `eth0` assumed (use --interface)" });
  const dhcp = isObj(conf.dhcp) ? conf.dhcp : {};
  const entry: InventoryServer = { interface: iface, subnet, serverIp, dhcpMode: "static" };
  if (dhcp.enabled !== false && dhcp.enabled !== "false" && dhcp["range start"] && dhcp["range end"]) {
    entry.dhcpMode = "authoritative";
    entry.dynamicRange = { start: String(dhcp["range start"]), end: String(dhcp["range end"]) };
  } else if (text !== undefined) {
    report.push({ where: "warewulf.conf.dhcp", kind: "review", message: "no DHCP range: dhcpMode static (known nodes only)" });
  }
  if (isObj(conf.tftp) && isObj(conf.tftp.ipxe)) report.push({ where: "warewulf.conf.tftp.ipxe", kind: "not mapped", message: "netboot serves Debian's iPXE binaries (undionly.kpxe, ipxe.efi); set bootFiles/ipxeFiles to change them" });
  if (isObj(conf.nfs) && Array.isArray(conf.nfs["export paths"]) && conf.nfs["export paths"].length) report.push({ where: "warewulf.conf.nfs", kind: "not mapped", message: "NFS exports are not managed by netboot" });
  if (conf.warewulf && isObj(conf.warewulf) && conf.warewulf.port) report.push({ where: "warewulf.conf.warewulf.port", kind: "not mapped", message: "warewulfd is replaced by nginx serving the PxeServer's HTTP root (port 80 unless httpPort)" });
  return { entry, subnet };
}

/** The inventory as YAML with a header naming what to review. */
export function inventoryYaml(inv: Inventory, report: ReportItem[]): string {
  const head = [
    "# netboot cluster inventory (schema/cluster.schema.json), imported from Warewulf.",
    `# ${report.length} item(s) could not be mapped exactly: see the import report.`,
  ];
  return head.join("\n") + "\n" + stringify(inv, { lineWidth: 0 });
}

export function formatReport(report: ReportItem[]): string {
  const order: ReportItem["kind"][] = ["skipped", "not mapped", "review"];
  const lines: string[] = [];
  for (const kind of order) {
    const items = report.filter((r) => r.kind === kind);
    if (!items.length) continue;
    lines.push(`${kind} (${items.length}):`);
    for (const r of items) lines.push(`  - ${r.where}: ${r.message}`);
  }
  return lines.join("\n") + (lines.length ? "\n" : "nothing to report\n");
}
