/**
 * The validated model of a PxeServer and of a NodeGroup, built from raw args. Every problem is collected
 * and reported at once (cdk8s `validate`), each with resource, field and value.
 */
import * as path from "path";
import { BootFiles, BootTarget, DynamicRange, Host, Node, PxeServerInfo } from "../schema-types";
import { DHCP_MODE_VALUES, DhcpMode, Firmware, FIRMWARE_VALUES } from "../schema-enums";
import { checkAbsPath, checkSafe, Issues, KERNEL_ARGS_MAX } from "./errors";
import { listValues } from "./enums";
import { buildGroupOverlay, buildNodeOverlay, checkTemplates, GroupOverlayModel, NodeFacts, NodeOverlayModel, parseImageOverlay } from "./overlay";
import { checkUnitName } from "./daemon";
import { hostKey } from "./host";
import { Cidr, formatIPv4, inSubnet, isDomain, isHostname, isSafeName, normalizeMac, parseCidr, parseIPv4 } from "./net";
import { hasNetworkOptions, NETWORK_OPTION_FIELDS, NetworkOptions, parseNetworkOptions } from "./netOptions";

export type { DhcpMode, Firmware };

/** DHCP option 93 client architecture values per firmware (RFC 4578 and the IANA registry). */
export const FIRMWARE_ARCH: Record<Firmware, number[]> = {
  bios: [0],
  "efi-x86_64": [7, 9],
  "efi-arm64": [11],
  "http-x86_64": [16],
  "http-arm64": [19],
};
const BOOTFILE_KEY: Record<Firmware, keyof BootFiles> = {
  bios: "bios",
  "efi-x86_64": "efiX64",
  "efi-arm64": "efiArm64",
  "http-x86_64": "httpX64",
  "http-arm64": "httpArm64",
};
/** In schema order, which is the order dnsmasq's tags are written in. */
export const FIRMWARES = FIRMWARE_VALUES;

/** Debian's ipxe package. */
export const DEFAULT_IPXE_DIR = "/usr/lib/ipxe";
const DEFAULT_BOOT_FILES: BootFiles = { bios: "undionly.kpxe", efiX64: "ipxe.efi", httpX64: "ipxe.efi" };

export interface PxeServerModel {
  name: string;
  host: Host;
  /** Turns a host path into the path the daemons see (below a local target root). */
  prefix: string;
  interface: string;
  subnet: Cidr;
  subnetText: string;
  serverIp: string;
  mode: DhcpMode;
  range?: { start: string; end: string; startN: number; endN: number; leaseTime: string };
  domain?: string;
  /** DHCP options every client of the server gets (model/netOptions.ts); the router defaults to `serverIp`. */
  network: NetworkOptions;
  /** firmware -> boot file name (only firmwares that have one) */
  bootFiles: Partial<Record<Firmware, string>>;
  /** boot file name -> source path on the build host */
  binaries: Record<string, string>;
  httpPort: number;
  httpBaseUrl: string;
  paths: {
    base: string;
    tftpRoot: string;
    httpRoot: string;
    hostsDir: string;
    /** dnsmasq's dhcp-optsdir: one file per node group with network options (render/hosts.ts) */
    optsDir: string;
    etcHostsDir: string;
    runDir: string;
    pidFile: string;
    leaseFile: string;
    dnsmasqConf: string;
    nginxConf: string;
    /** systemd hosts: the instance's environment file, read by Debian's dnsmasq@.service helper */
    dnsmasqDefaults?: string;
  };
  dnsmasqUnit: string;
  /** systemd hosts: the instance of Debian's dnsmasq@.service that serves this server (`netboot-<name>`) */
  dnsmasqInstance?: string;
  systemd: boolean;
}

/**
 * Debian's `dnsmasq@.service` runs `/usr/share/dnsmasq/systemd-helper exec <instance>`, which reads
 * `/etc/default/dnsmasq.<instance>` and passes `-x /run/dnsmasq/dnsmasq.<instance>.pid`. The instance name
 * therefore names a file: a DNS-label-like name keeps it one plain file name.
 */
const DNSMASQ_INSTANCE_UNIT = /^dnsmasq@([a-z0-9][a-z0-9-]{0,62})(\.service)?$/;

/**
 * Below a PxeServer's httpBaseUrl: a node requests `<stage>` here to mark a boot stage the servers cannot see
 * otherwise (the initramfs's hand-off: `image`; the image's own `up`). nginx answers 204 and logs it; `npm run
 * status` reads the access log (docs/status.md).
 */
export const STAGE_PATH = "netboot/stage/";

export function full(m: { prefix: string }, p: string): string {
  return m.prefix ? path.posix.join(m.prefix, p) : p;
}

function str(v: unknown): v is string {
  return typeof v === "string";
}

export function buildPxeServerModel(name: string, args: any, host: Host, issues: Issues): PxeServerModel | undefined {
  if (!isSafeName(name)) issues.add("name", name, "must be a lower-case DNS label (it names files and tags)");
  const iface = args.interface;
  if (!str(iface) || !/^[A-Za-z0-9_.:-]{1,15}$/.test(iface)) issues.add("interface", iface, "must be a network interface name (1-15 characters: letters, digits, `_.:-`)");
  const subnet = parseCidr(args.subnet);
  if (!subnet) issues.add("subnet", args.subnet, "must be an IPv4 network in CIDR form with host bits zero, /8 to /30, e.g. 10.0.0.0/24");
  const serverN = parseIPv4(args.serverIp);
  if (serverN === undefined) issues.add("serverIp", args.serverIp, "must be an IPv4 address");
  else if (subnet && !inSubnet(subnet, serverN)) issues.add("serverIp", args.serverIp, `is not a host address of subnet ${args.subnet}`);
  const mode = args.dhcpMode as DhcpMode;
  if (!DHCP_MODE_VALUES.includes(mode)) issues.add("dhcpMode", mode, `must be one of ${listValues(DHCP_MODE_VALUES)}`);

  let range: PxeServerModel["range"];
  const r = args.dynamicRange as DynamicRange | undefined;
  if (mode === "authoritative" && !r) issues.add("dynamicRange", r, "is required in authoritative mode (use `static` to serve known nodes only)");
  if (mode !== "authoritative" && r) issues.add("dynamicRange", r, `is only used in authoritative mode, not in ${mode} mode`);
  if (r && mode === "authoritative") {
    const s = parseIPv4(r.start);
    const e = parseIPv4(r.end);
    if (s === undefined) issues.add("dynamicRange.start", r.start, "must be an IPv4 address");
    if (e === undefined) issues.add("dynamicRange.end", r.end, "must be an IPv4 address");
    if (subnet && s !== undefined && !inSubnet(subnet, s)) issues.add("dynamicRange.start", r.start, `is outside subnet ${args.subnet}`);
    if (subnet && e !== undefined && !inSubnet(subnet, e)) issues.add("dynamicRange.end", r.end, `is outside subnet ${args.subnet}`);
    if (s !== undefined && e !== undefined && s > e) issues.add("dynamicRange", `${r.start}-${r.end}`, "start is after end");
    if (s !== undefined && e !== undefined && serverN !== undefined && serverN >= s && serverN <= e)
      issues.add("dynamicRange", `${r.start}-${r.end}`, `contains the server's own address ${args.serverIp}`);
    const lt = r.leaseTime ?? "12h";
    if (!/^(\d+[smhdw]?|infinite)$/.test(lt)) issues.add("dynamicRange.leaseTime", lt, "must be a dnsmasq lease time such as 12h, 30m or infinite");
    if (s !== undefined && e !== undefined) range = { start: r.start, end: r.end, startN: s, endN: e, leaseTime: lt };
  }
  if (args.domain !== undefined && !isDomain(args.domain)) issues.add("domain", args.domain, "must be a DNS domain such as cluster.local");
  const network = parseNetworkOptions(issues, "", args, subnet, args.subnet);
  if (mode === "proxy")
    for (const k of NETWORK_OPTION_FIELDS)
      if (args[k] !== undefined) issues.add(k, args[k], "a proxy DHCP server sends only boot information: the site's DHCP server sends the network options");

  const given = (args.bootFiles ?? {}) as BootFiles;
  const bootFiles: Partial<Record<Firmware, string>> = {};
  for (const fw of FIRMWARES) {
    const k = BOOTFILE_KEY[fw];
    const v = given[k] ?? DEFAULT_BOOT_FILES[k];
    if (v === undefined || v === "") continue;
    if (checkSafe(issues, `bootFiles.${k}`, v, { commas: false, slashes: false, spaces: false, semicolons: false })) bootFiles[fw] = v;
  }
  if (mode === "proxy") {
    // proxyDHCP cannot hand UEFI HTTP clients a URL (pxe-service has no architecture for them).
    for (const fw of ["http-x86_64", "http-arm64"] as Firmware[]) {
      const k = BOOTFILE_KEY[fw];
      if (given[k]) issues.add(`bootFiles.${k}`, given[k], "UEFI HTTP boot needs the DHCP server to send a URL, which a proxy DHCP server cannot do: use authoritative or static mode");
      delete bootFiles[fw];
    }
  }
  const binaries: Record<string, string> = {};
  const ipxeFiles = (args.ipxeFiles ?? {}) as Record<string, string>;
  for (const [n, src] of Object.entries(ipxeFiles)) {
    checkSafe(issues, `ipxeFiles["${n}"]`, n, { commas: false, slashes: false, spaces: false, semicolons: false });
    checkAbsPath(issues, `ipxeFiles["${n}"]`, src);
  }
  for (const f of new Set(Object.values(bootFiles))) {
    if (ipxeFiles[f]) binaries[f] = ipxeFiles[f];
    else if (["undionly.kpxe", "ipxe.efi", "snponly.efi", "ipxe.pxe", "undionly.kkpxe"].includes(f)) binaries[f] = `${DEFAULT_IPXE_DIR}/${f}`;
    else issues.add(`ipxeFiles["${f}"]`, undefined, `boot file ${f} is not in Debian's ipxe package: give its path on the build host in ipxeFiles`);
  }

  const httpPort = args.httpPort ?? 80;
  if (!Number.isInteger(httpPort) || httpPort < 1 || httpPort > 65535) issues.add("httpPort", httpPort, "must be a TCP port 1-65535");
  const base = args.baseDir ?? "/srv/netboot";
  checkAbsPath(issues, "baseDir", base);
  const systemd = !!host.systemd;
  // With systemd every server is its own instance of Debian's template unit, with its own config outside
  // /etc/dnsmasq.d (docs/pxe.md): the host's dnsmasq.service and its folder stay the distribution's, and two
  // servers on one host never share a folder (each has its own `port=0`, which dnsmasq refuses twice).
  const dnsmasqUnit = args.dnsmasqUnit ?? (systemd ? `dnsmasq@netboot-${name}` : "dnsmasq");
  checkUnitName(issues, "dnsmasqUnit", dnsmasqUnit);
  const instance = systemd ? DNSMASQ_INSTANCE_UNIT.exec(dnsmasqUnit)?.[1] : undefined;
  if (systemd && !instance)
    issues.add("dnsmasqUnit", dnsmasqUnit, `with systemd: true, netboot runs its own instance of Debian's dnsmasq@.service: give \`dnsmasq@<instance>\` (lower-case letters, digits, \`-\`) or leave it unset (dnsmasq@netboot-${name})`);
  if (systemd && host.root !== undefined && !host.ssh)
    issues.add("host.systemd", true, "activates units of the host's own systemd: give `ssh` or `{}` (this machine), not a local folder (`root`)");

  if (!issues.ok || !subnet || serverN === undefined) return undefined;
  const prefix = host.ssh || !host.root ? "" : host.root;
  const httpBaseUrl = `http://${args.serverIp}${httpPort === 80 ? "" : `:${httpPort}`}/`;
  return {
    name,
    host,
    prefix,
    interface: iface,
    subnet,
    subnetText: args.subnet,
    serverIp: args.serverIp,
    mode,
    range,
    domain: args.domain,
    network,
    bootFiles,
    binaries,
    httpPort,
    httpBaseUrl,
    paths: {
      base,
      tftpRoot: `${base}/tftp`,
      httpRoot: `${base}/http`,
      hostsDir: `${base}/dhcp-hosts.d`,
      optsDir: `${base}/dhcp-opts.d`,
      etcHostsDir: `${base}/hosts.d`,
      runDir: `${base}/run`,
      // The unit's helper passes `-x` with this pid file; a `pid-file=` line in the config would override it and
      // systemd would wait for a pid file that never comes (Type=forking, PIDFile=).
      pidFile: instance ? `/run/dnsmasq/dnsmasq.${instance}.pid` : `${base}/run/dnsmasq-${name}.pid`,
      leaseFile: `${base}/run/dnsmasq-${name}.leases`,
      dnsmasqConf: instance ? `/etc/netboot/dnsmasq/${instance}.conf` : `/etc/dnsmasq.d/netboot-${name}.conf`,
      // Debian's nginx.conf includes conf.d/*.conf: the server block goes where the stock nginx loads it.
      nginxConf: `/etc/nginx/conf.d/netboot-${name}.conf`,
      ...(instance ? { dnsmasqDefaults: `/etc/default/dnsmasq.${instance}` } : {}),
    },
    dnsmasqUnit,
    ...(instance ? { dnsmasqInstance: instance } : {}),
    systemd,
  };
}

export function serverInfo(m: PxeServerModel): PxeServerInfo {
  return {
    name: m.name,
    host: m.host,
    subnet: m.subnetText,
    serverIp: m.serverIp,
    dhcpMode: m.mode,
    rangeStart: m.range?.start,
    rangeEnd: m.range?.end,
    hostsDir: m.paths.hostsDir,
    httpRoot: m.paths.httpRoot,
    httpBaseUrl: m.httpBaseUrl,
    pidFile: m.paths.pidFile,
    firmwares: (Object.keys(m.bootFiles) as Firmware[]).sort(),
    dnsmasqUnit: m.dnsmasqUnit,
    ...(m.domain ? { domain: m.domain } : {}),
  };
}

// ---------------------------------------------------------------- node groups

export interface NodeModel {
  name: string;
  macs: string[];
  ip: string;
  firmware?: Firmware;
  kernelArgs?: string;
  /** The node's own overlay files and tags; set only when the group has an overlay. */
  overlay?: NodeOverlayModel;
}

export interface NodeGroupModel {
  name: string;
  server: PxeServerInfo;
  prefix: string;
  nodes: NodeModel[];
  boot: { kind: "kernel"; kernelUrl: string; initrdUrl: string; args: string } | { kind: "localDisk" };
  domain?: string;
  /** The group's overlay; without one no archive is rendered and the boot scripts are as before. */
  overlay?: GroupOverlayModel;
  /** The group's own DHCP options, over the server's (only fields given); absent: the group sets no tag. */
  network?: NetworkOptions;
}

/** The facts a node's overlay templates see (model/overlay.ts TEMPLATE_VARIABLES). */
export function nodeFacts(g: Pick<NodeGroupModel, "name" | "server" | "domain" | "overlay">, n: NodeModel): NodeFacts {
  return { name: n.name, group: g.name, ip: n.ip, macs: n.macs, domain: g.domain, serverIp: g.server.serverIp, serverName: g.server.name, tags: { ...g.overlay?.tags, ...n.overlay?.tags } };
}

/** A claim on a MAC, IP or host name, by a group. */
export interface Claim {
  kind: "mac" | "ip" | "name";
  value: string;
  group: string;
  field: string;
}

function checkUrl(issues: Issues, field: string, v: unknown): boolean {
  if (!checkSafe(issues, field, v, { spaces: false })) return false;
  if (!/^(https?|tftp):\/\/[^\s/]+\/\S*$/.test(v as string)) {
    issues.add(field, v, "must be an http://, https:// or tftp:// URL");
    return false;
  }
  return true;
}

export function buildNodeGroupModel(name: string, args: any, issues: Issues): NodeGroupModel | undefined {
  if (!isSafeName(name)) issues.add("name", name, "must be a lower-case DNS label (it names files)");
  const server = args.server as PxeServerInfo;
  if (!server || typeof server !== "object" || !server.hostsDir) {
    issues.add("server", server, "must be a PxeServer's `info` output");
    return undefined;
  }
  // the domain lands in overlays' /etc/hosts: only a PxeServer's checked domain, never text of another shape
  if (server.domain !== undefined && !isDomain(server.domain)) issues.add("server.domain", server.domain, "must be a DNS domain such as cluster.local");
  const subnet = parseCidr(server.subnet);
  const rs = parseIPv4(server.rangeStart);
  const re = parseIPv4(server.rangeEnd);
  const nodes: NodeModel[] = [];
  if (!Array.isArray(args.nodes)) issues.add("nodes", args.nodes, "must be a list of nodes");
  const seen = new Map<string, string>();
  const claim = (kind: string, value: string, field: string) => {
    const k = `${kind}:${value}`;
    const prev = seen.get(k);
    if (prev) issues.add(field, value, `${kind} is also claimed by ${prev}`);
    else seen.set(k, field);
  };
  for (const [i, n] of ((args.nodes ?? []) as Node[]).entries()) {
    const f = `nodes[${i}]`;
    let ok = true;
    if (!isHostname(n?.name)) {
      checkSafe(issues, `${f}.name`, n?.name, { commas: false, slashes: false });
      issues.add(`${f}.name`, n?.name, "must be a host name (a DNS label: letters, digits, inner hyphens)");
      ok = false;
    } else claim("host name", n.name.toLowerCase(), `${f}.name`);
    const macs: string[] = [];
    if (!Array.isArray(n?.macs) || n.macs.length === 0) {
      issues.add(`${f}.macs`, n?.macs, "must list at least one MAC address");
      ok = false;
    } else
      for (const [j, mac] of n.macs.entries()) {
        const m = normalizeMac(mac);
        if (!m) {
          issues.add(`${f}.macs[${j}]`, mac, "is not a MAC address (aa:bb:cc:dd:ee:ff)");
          ok = false;
        } else {
          claim("MAC", m, `${f}.macs[${j}]`);
          macs.push(m);
        }
      }
    const ipN = parseIPv4(n?.ip);
    if (ipN === undefined) {
      issues.add(`${f}.ip`, n?.ip, "is not an IPv4 address");
      ok = false;
    } else {
      if (subnet && !inSubnet(subnet, ipN)) issues.add(`${f}.ip`, n.ip, `is outside the server's subnet ${server.subnet}`);
      if (rs !== undefined && re !== undefined && ipN >= rs && ipN <= re)
        issues.add(`${f}.ip`, n.ip, `is inside the server's dynamic range ${server.rangeStart}-${server.rangeEnd}`);
      if (n.ip === server.serverIp) issues.add(`${f}.ip`, n.ip, "is the PXE server's own address");
      claim("IP", formatIPv4(ipN), `${f}.ip`);
    }
    if (n?.firmware !== undefined) {
      if (!FIRMWARES.includes(n.firmware as Firmware)) issues.add(`${f}.firmware`, n.firmware, `must be one of ${listValues(FIRMWARES)}`);
      else if (!(server.firmwares ?? []).includes(n.firmware)) issues.add(`${f}.firmware`, n.firmware, `server ${server.name} has no boot file for this firmware`);
    }
    if (n?.kernelArgs !== undefined) checkSafe(issues, `${f}.kernelArgs`, n.kernelArgs, { semicolons: false, max: KERNEL_ARGS_MAX });
    const raw = n as Node & { overlay?: unknown; tags?: unknown };
    let overlay: NodeOverlayModel | undefined;
    if (args.overlay !== undefined && args.overlay !== null) overlay = buildNodeOverlay(issues, f, raw?.overlay, raw?.tags);
    else if (raw?.overlay !== undefined || raw?.tags !== undefined)
      issues.add(raw?.overlay !== undefined ? `${f}.overlay` : `${f}.tags`, undefined, "the group has no `overlay`: give the NodeGroup one (`overlay: {}` for the built-ins) to deliver node overlays");
    if (ok) nodes.push({ name: n.name, macs, ip: n.ip, firmware: n.firmware as Firmware | undefined, kernelArgs: n.kernelArgs, overlay });
  }
  const b = (args.boot ?? {}) as BootTarget;
  // A BootImage's overlay reaches its groups in `boot`: a group without an overlay of its own still delivers it,
  // with the built-ins' defaults.
  const imageFiles = parseImageOverlay(issues, "boot.overlay", b.overlay);
  const overlay = args.overlay !== undefined && args.overlay !== null ? buildGroupOverlay(issues, "overlay", args.overlay) : imageFiles.length > 0 ? buildGroupOverlay(issues, "overlay", {}) : undefined;
  if (overlay) {
    overlay.imageFiles = imageFiles;
    const facts = { name, server, overlay, domain: server.domain };
    checkTemplates(issues, overlay, nodes.map((n) => ({ facts: nodeFacts(facts, n), overlay: n.overlay })));
  }
  let boot: NodeGroupModel["boot"] | undefined;
  if (b.localDisk) {
    if (b.kernelUrl || b.initrdUrl) issues.add("boot", b, "give either localDisk or kernelUrl/initrdUrl, not both");
    boot = { kind: "localDisk" };
  } else {
    const k = checkUrl(issues, "boot.kernelUrl", b.kernelUrl);
    const r = checkUrl(issues, "boot.initrdUrl", b.initrdUrl);
    if (b.args !== undefined) checkSafe(issues, "boot.args", b.args, { semicolons: false, max: KERNEL_ARGS_MAX });
    if (k && r) boot = { kind: "kernel", kernelUrl: b.kernelUrl!, initrdUrl: b.initrdUrl!, args: b.args ?? "" };
  }
  // The initramfs fetches the overlay; a group that boots its local disk has no netboot initramfs to do it.
  if (overlay && boot?.kind === "localDisk") issues.add(args.overlay ? "overlay" : "boot.overlay", undefined, "a group that boots from its local disk gets no overlay (the netboot initramfs lays it over the root)");
  let network: NetworkOptions | undefined;
  if (args.network !== undefined && args.network !== null) {
    if (typeof args.network !== "object" || Array.isArray(args.network)) issues.add("network", args.network, "must be an object of network options (gateway, dnsServers, ntpServers, domainSearch, mtu)");
    else {
      network = parseNetworkOptions(issues, "network.", args.network, subnet, server.subnet);
      if (server.dhcpMode === "proxy" && hasNetworkOptions(network))
        issues.add("network", args.network, `server ${server.name} is a proxy DHCP server, which sends only boot information: the site's DHCP server sends the network options`);
      if (!hasNetworkOptions(network)) network = undefined;
    }
  }
  if (!issues.ok || !boot) return undefined;
  const host = server.host;
  return { name, server, prefix: host.ssh || !host.root ? "" : host.root, nodes, boot, ...(server.domain ? { domain: server.domain } : {}), ...(overlay ? { overlay } : {}), ...(network ? { network } : {}) };
}

/** Claims of a group, for conflict checks across groups and stacks. */
export function claimsOf(g: NodeGroupModel): Claim[] {
  const out: Claim[] = [];
  g.nodes.forEach((n, i) => {
    out.push({ kind: "name", value: n.name.toLowerCase(), group: g.name, field: `nodes[${i}].name` });
    out.push({ kind: "ip", value: n.ip, group: g.name, field: `nodes[${i}].ip` });
    n.macs.forEach((m, j) => out.push({ kind: "mac", value: m, group: g.name, field: `nodes[${i}].macs[${j}]` }));
  });
  return out;
}

/** Claims found in a dhcp-hostsdir file written by anyone (`mac[,mac...],ip,name[,lease]` lines). */
export function parseHostsFile(group: string, text: string): Claim[] {
  const out: Claim[] = [];
  text.split("\n").forEach((line, i) => {
    const l = line.trim();
    if (!l || l.startsWith("#")) return;
    for (const part of l.split(",")) {
      const p = part.trim();
      const mac = normalizeMac(p);
      if (mac) out.push({ kind: "mac", value: mac, group, field: `line ${i + 1}` });
      else if (parseIPv4(p) !== undefined) out.push({ kind: "ip", value: p, group, field: `line ${i + 1}` });
      else if (isHostname(p) && !/^\d+[smhdw]?$/.test(p) && p !== "infinite" && !p.startsWith("set:")) out.push({ kind: "name", value: p.toLowerCase(), group, field: `line ${i + 1}` });
    }
  });
  return out;
}

/**
 * Claims by `kind:value`, built once and looked up per claim: checking a group of n nodes against every other
 * claim of a server costs O(n), not O(all nodes) (50 groups of 200 nodes: 10,000 lookups, not 1.5 million).
 */
export class ClaimIndex {
  private readonly byKey = new Map<string, Claim[]>();
  /** The keys each group holds, so replacing one group's claims costs its own claims, not every group's. */
  private readonly byGroup = new Map<string, Set<string>>();
  constructor(claims: Iterable<Claim> = []) {
    this.add(claims);
  }
  add(claims: Iterable<Claim>): void {
    for (const c of claims) {
      const k = `${c.kind}:${c.value}`;
      const l = this.byKey.get(k);
      if (l) l.push(c);
      else this.byKey.set(k, [c]);
      let g = this.byGroup.get(c.group);
      if (!g) this.byGroup.set(c.group, (g = new Set()));
      g.add(k);
    }
  }
  /** Drops every claim of `group` (a group registered again replaces its claims). */
  removeGroup(group: string): void {
    for (const k of this.byGroup.get(group) ?? []) {
      const l = this.byKey.get(k);
      if (!l) continue;
      const kept = l.filter((c) => c.group !== group);
      if (kept.length === 0) this.byKey.delete(k);
      else this.byKey.set(k, kept);
    }
    this.byGroup.delete(group);
  }
  /** The first claim of the same kind and value whose group is not `exceptGroup`. */
  holder(c: Claim, exceptGroup: string): Claim | undefined {
    return this.byKey.get(`${c.kind}:${c.value}`)?.find((h) => h.group !== exceptGroup);
  }
}

/** Pure: every claim of `mine` that some other group already holds (in `others`, checked in order). */
export function findConflicts(mine: Claim[], others: Claim[] | Array<{ index: ClaimIndex; except: string }>, issues: Issues): void {
  const sources = others.length > 0 && "index" in (others[0] as object)
    ? (others as Array<{ index: ClaimIndex; except: string }>)
    : [{ index: new ClaimIndex(others as Claim[]), except: "" }];
  const label = { mac: "MAC", ip: "IP", name: "host name" };
  for (const c of mine) {
    let h: Claim | undefined;
    for (const s of sources) if ((h = s.index.holder(c, s.except || c.group))) break;
    if (h) issues.add(c.field, c.value, `${label[c.kind]} is already claimed by ${h.group} (${h.field})`);
  }
}

// ---------------------------------------------------------------- two head nodes (NodeGroup `mirrors`)

/**
 * What a group boots when a mirror serves it: every URL below the group's own server's `httpBaseUrl` (kernel,
 * initramfs, and any in the arguments, such as an http image) moved below the mirror's, so a node that a mirror
 * answered fetches everything from that mirror and keeps booting when the other head node is gone. URLs elsewhere
 * (another web server, a volume's address) stay as they are. `servedBy` is the BootImage's record, not a boot
 * setting, and is left out.
 */
export function rebaseBoot(boot: BootTarget, fromBase: string, toBase: string): BootTarget {
  const { servedBy: _s, ...b } = boot;
  const move = (u: string | undefined) => (u === undefined ? undefined : u.split(fromBase).join(toBase));
  return {
    ...b,
    ...(b.kernelUrl !== undefined ? { kernelUrl: move(b.kernelUrl) } : {}),
    ...(b.initrdUrl !== undefined ? { initrdUrl: move(b.initrdUrl) } : {}),
    ...(b.args !== undefined ? { args: move(b.args) } : {}),
  };
}

/**
 * A NodeGroup's mirrors, checked against its server and its boot target: each a PxeServer's `info` on the same
 * subnet (the nodes keep their static addresses), a different server (host and hostsdir), static-only DHCP (two
 * servers leasing from one dynamic range would hand out the same address twice), and, when the boot target is a
 * BootImage's (`servedBy`) below the server's URL, published on the mirror too.
 */
export function checkMirrors(server: PxeServerInfo, mirrors: unknown, boot: BootTarget | undefined, issues: Issues): PxeServerInfo[] {
  if (mirrors === undefined || mirrors === null) return [];
  if (!Array.isArray(mirrors)) {
    issues.add("mirrors", mirrors, "must be a list of PxeServer `info` outputs");
    return [];
  }
  // Two servers leasing from one dynamic range would hand out the same address twice; a proxy hands out none.
  const staticOnly = (s: PxeServerInfo, field: string) => {
    if (s.dhcpMode !== "static") issues.add(field, s.dhcpMode, "a group with mirrors needs dhcpMode `static` on every server (static leases only: each hands out the same fixed address, so neither needs to know the other)");
  };
  if (mirrors.length > 0) staticOnly(server, "server.dhcpMode");
  const seen = new Map<string, string>([[`${hostKey(server.host)}${server.hostsDir}`, "server"]]);
  const out: PxeServerInfo[] = [];
  const onServer = !!boot?.kernelUrl && boot.kernelUrl.startsWith(server.httpBaseUrl);
  mirrors.forEach((m: PxeServerInfo, i: number) => {
    const f = `mirrors[${i}]`;
    if (!m || typeof m !== "object" || typeof m.hostsDir !== "string" || typeof m.httpBaseUrl !== "string") {
      issues.add(f, m, "must be a PxeServer's `info` output");
      return;
    }
    const key = `${hostKey(m.host)}${m.hostsDir}`;
    if (seen.has(key)) issues.add(f, m.name, `is the same server (host and hostsdir) as ${seen.get(key)}`);
    else seen.set(key, f);
    if (m.subnet !== server.subnet) issues.add(`${f}.subnet`, m.subnet, `must be the server's subnet ${server.subnet}: the nodes keep their static addresses on either`);
    staticOnly(m, `${f}.dhcpMode`);
    if (onServer && Array.isArray(boot?.servedBy) && !boot!.servedBy.includes(m.httpBaseUrl))
      issues.add(f, m.name, `does not serve the group's boot image (published on ${boot!.servedBy.join(", ")}): give the BootImage the same \`mirrors\``);
    out.push(m);
  });
  return out;
}
