/**
 * Where each node's boot is, from what the PXE servers themselves record: dnsmasq's log (a file, or the
 * journal of its unit), its lease file and nginx's access log. Pure: texts in, events and timelines out. The
 * lab (scripts/lab/status.ts) and `npm run status` (scripts/status.ts) both read boots through this module.
 *
 *   DHCP -> iPXE -> kernel -> initramfs -> image -> up
 *
 * A stage's time is when the servers first saw the node enter it in its last boot:
 * - DHCP: the boot firmware (vendor class PXEClient or HTTPClient, or iPXE) asked for a lease;
 * - iPXE: dnsmasq acknowledged that lease (the firmware now loads iPXE), TFTP sent iPXE, or iPXE fetched
 *   boot.ipxe or the node's script;
 * - kernel: iPXE fetched the group's script, the kernel or the initrd (the kernel is loading);
 * - initramfs: a DHCP request from another client (the initramfs's udhcpc) after the kernel stage, or an image or
 *   overlay fetched over HTTP;
 * - image: the initramfs requested `<httpBaseUrl>netboot/stage/image` just before it hands off to the image;
 * - up: something on the node requested `<httpBaseUrl>netboot/stage/up` (the image's own choice: docs/status.md).
 * A new boot starts when the boot firmware asks again after the last boot got past DHCP (iPXE's own request
 * after the firmware's lease is the same boot). Renewals by the running node's DHCP client change nothing.
 */

import { STAGE_PATH } from "../model/pxe";

export type Stage = "DHCP" | "iPXE" | "kernel" | "initramfs" | "image" | "up";
export const STAGES: readonly Stage[] = ["DHCP", "iPXE", "kernel", "initramfs", "image", "up"];
export const stageIndex = (s: Stage) => STAGES.indexOf(s);

export { STAGE_PATH };

// ------------------------------------------------------------------ dnsmasq

/** DHCP message types, and `PXE`: proxy mode's answer to a firmware that got its address elsewhere. */
export type DhcpKind = "DISCOVER" | "REQUEST" | "ACK" | "NAK" | "OFFER" | "INFORM" | "RELEASE" | "DECLINE" | "PXE";

/** One DHCP message dnsmasq logged, with what its transaction said about the client. */
export interface DhcpEvent {
  /** Unix time, seconds */
  time: number;
  kind: DhcpKind;
  iface: string;
  mac: string;
  ip?: string;
  /** dnsmasq's reason when it gave nothing (`no address available`) */
  note?: string;
  /** the transaction's option 60 and 77, from log-dhcp's lines with the same transaction id */
  vendorClass?: string;
  userClass?: string;
}

/** A file dnsmasq's TFTP server sent (`sent /path to IP`). */
export interface TftpEvent { time: number; file: string; ip: string }

export interface DnsmasqLog { dhcp: DhcpEvent[]; tftp: TftpEvent[] }

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export interface TimeContext {
  /** now (Unix seconds): a log file's lines carry no year, so the year is the one that puts them before now */
  now: number;
  /** the server's offset from UTC in minutes (`date +%z`), for log files, which carry no zone; default 0 */
  utcOffsetMinutes?: number;
}

/** `Dec  2 05:07:08` in a file written by `log-facility=FILE`: the latest such time not after now (+1 day of skew). */
function fileTime(mon: string, day: string, hms: string, t: TimeContext): number | undefined {
  const m = MONTHS.indexOf(mon);
  const [h, mi, s] = hms.split(":").map(Number);
  if (m < 0) return undefined;
  const off = (t.utcOffsetMinutes ?? 0) * 60;
  const year = new Date(t.now * 1000).getUTCFullYear();
  for (const y of [year, year - 1]) {
    const v = Date.UTC(y, m, Number(day), h, mi, s) / 1000 - off;
    if (v <= t.now + 86_400) return v;
  }
  return undefined;
}

/** `2026-12-02T05:07:08+0000` (journalctl -o short-iso; also +00:00, Z and fractions of short-iso-precise). */
function isoTime(s: string): number | undefined {
  const v = Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
  return Number.isNaN(v) ? undefined : Math.floor(v / 1000);
}

const FILE_LINE = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d) (dnsmasq(?:-dhcp|-tftp)?)\[\d+\]: (.*)$/;
const JOURNAL_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) \S+ (dnsmasq(?:-dhcp|-tftp)?)\[\d+\]: (.*)$/;
const DHCP_MSG = /^(\d+ )?(?:DHCP)?(DISCOVER|REQUEST|ACK|NAK|OFFER|INFORM|RELEASE|DECLINE|PXE)\(([^)]*)\) (?:(\d+\.\d+\.\d+\.\d+) )?((?:[0-9a-f]{2}:){5}[0-9a-f]{2})\b ?(.*)$/i;

/**
 * dnsmasq's log, either format: a `log-facility=` file (`Mon DD HH:MM:SS dnsmasq-dhcp[pid]: ...`) or
 * `journalctl -o short-iso` (`ISO host dnsmasq-dhcp[pid]: ...`). With `log-dhcp` (PxeServer's config sets it)
 * every line of a transaction starts with its id, so the vendor and user class logged before a DHCPDISCOVER
 * belong to it. Other lines are ignored.
 */
export function parseDnsmasqLog(text: string, t: TimeContext): DnsmasqLog {
  const dhcp: DhcpEvent[] = [];
  const tftp: TftpEvent[] = [];
  const classes = new Map<string, { vendorClass?: string; userClass?: string }>();
  for (const line of text.split("\n")) {
    let time: number | undefined;
    let msg: string;
    let f = FILE_LINE.exec(line);
    if (f) {
      time = fileTime(f[1], f[2], f[3], t);
      msg = f[5];
    } else {
      f = JOURNAL_LINE.exec(line);
      if (!f) continue;
      time = isoTime(f[1]);
      msg = f[3];
    }
    if (time === undefined) continue;
    const sent = /^sent (\S+) to (\d+\.\d+\.\d+\.\d+)$/.exec(msg.trim());
    if (sent) {
      tftp.push({ time, file: sent[1], ip: sent[2] });
      continue;
    }
    const cls = /^(\d+) (vendor|user) class: (.*)$/.exec(msg.trimEnd());
    if (cls) {
      const c = classes.get(cls[1]) ?? {};
      if (cls[2] === "vendor") c.vendorClass = cls[3];
      else c.userClass = cls[3];
      classes.set(cls[1], c);
      continue;
    }
    const d = DHCP_MSG.exec(msg.trimEnd());
    if (!d) continue;
    const xid = d[1]?.trim();
    const ev: DhcpEvent = { time, kind: d[2].toUpperCase() as DhcpKind, iface: d[3], mac: d[5].toLowerCase() };
    if (d[4]) ev.ip = d[4];
    const rest = d[6].trim();
    // after the MAC: the host name on an ACK, or why nothing was given (`no address available`)
    if (rest && !/^\S+$/.test(rest)) ev.note = rest;
    const c = xid ? classes.get(xid) : undefined;
    if (c?.vendorClass !== undefined) ev.vendorClass = c.vendorClass;
    if (c?.userClass !== undefined) ev.userClass = c.userClass;
    dhcp.push(ev);
  }
  return { dhcp, tftp };
}

/** The first address dnsmasq acknowledged for `mac` (`DHCPACK(iface) IP MAC [name]`), in either log format. */
export function leaseOf(dnsmasqLog: string, mac: string): string | undefined {
  const re = new RegExp(`DHCPACK\\([^)]*\\) (\\d+\\.\\d+\\.\\d+\\.\\d+) ${mac}\\b`, "i");
  return re.exec(dnsmasqLog)?.[1];
}

export interface Lease {
  /** Unix seconds; 0 for an infinite lease */
  expires: number;
  mac: string;
  ip: string;
  hostname?: string;
}

/** dnsmasq's lease file: `expiry mac ip hostname|* clientid|*` per line (IPv4 leases; DHCPv6 lines skipped). */
export function parseLeases(text: string): Lease[] {
  const out: Lease[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+) ((?:[0-9a-f]{2}:){5}[0-9a-f]{2}) (\d+\.\d+\.\d+\.\d+) (\S+)/i.exec(line);
    if (m) out.push({ expires: Number(m[1]), mac: m[2].toLowerCase(), ip: m[3], ...(m[4] !== "*" ? { hostname: m[4] } : {}) });
  }
  return out;
}

// ------------------------------------------------------------------ nginx

export interface AccessEntry {
  ip: string;
  method: string;
  path: string;
  status: number;
  /** Unix seconds, when the line's time parses */
  time?: number;
}

const NGINX_TIME = /^(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/;

/** nginx's default `combined` format: `IP - user [time] "GET /path HTTP/1.1" status bytes "ref" "agent"`. */
export function parseAccessLog(text: string): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\S+) \S+ \S+ \[([^\]]*)\] "(\S+) (\S+)[^"]*" (\d{3}) /.exec(line);
    if (!m) continue;
    const e: AccessEntry = { ip: m[1], method: m[3], path: m[4], status: Number(m[5]) };
    const t = NGINX_TIME.exec(m[2]);
    if (t) {
      const off = (t[7] === "-" ? -1 : 1) * (Number(t[8]) * 60 + Number(t[9])) * 60;
      e.time = Date.UTC(Number(t[3]), MONTHS.indexOf(t[2]), Number(t[1]), Number(t[4]), Number(t[5]), Number(t[6])) / 1000 - off;
    }
    out.push(e);
  }
  return out;
}

// ------------------------------------------------------------------ a node's boots

/** What the servers know about a node: its MACs and static address, and its group's current boot files. */
export interface NodeRef {
  name: string;
  group: string;
  macs: string[];
  ip: string;
  /** URL paths of the group's kernel and initrd as its iPXE script names them now (from the server's copy) */
  kernelPath?: string;
  initrdPath?: string;
}

/** The boot files a node fetched, and whether they are the group's current ones. */
export interface BootedImage {
  /** the initrd's URL path as fetched (`/images/compute/initrd-0123456789ab.img`) */
  initrd?: string;
  /** the content hash in the name netboot publishes it under (`initrd-<sha12>.img`), when it has one */
  generation?: string;
  /** the group's script names this initrd now; false: the node booted an older (or other) generation */
  current?: boolean;
  /** the OS image the initramfs unpacked (`image-<sha12>.tar.gz`), as its `image` stage mark names it */
  osImage?: string;
  /** hybrid mode: the tree on the network file system (`root-<sha12>`) */
  root?: string;
}

export interface NodeBoot {
  /** the furthest stage the last boot reached */
  stage: Stage;
  /** when the last boot entered each stage it reached (Unix seconds) */
  stages: Partial<Record<Stage, number>>;
  /** the address dnsmasq acknowledged in the last boot */
  leasedIp?: string;
  image?: BootedImage;
  /** what went wrong, as far as the servers can tell (an HTTP error, a refused lease) */
  failure?: string;
  /** the last time any server heard from the node (DHCP or HTTP) */
  lastSeen?: number;
}

type Ev =
  | { t: number; order: number; src: "dhcp"; e: DhcpEvent }
  | { t: number; order: number; src: "tftp"; e: TftpEvent }
  | { t: number; order: number; src: "http"; e: AccessEntry };

/** Boot firmware asks with a PXE or UEFI HTTP vendor class, or is iPXE; a running system's client does not. */
function firmwareClass(e: DhcpEvent): "firmware" | "ipxe" | "os" {
  if (e.userClass === "iPXE") return "ipxe";
  // dnsmasq logs no vendor class line when the client sent none: an old log without log-dhcp counts as firmware
  if (e.vendorClass === undefined || /^(PXEClient|HTTPClient)/.test(e.vendorClass)) return "firmware";
  return "os";
}

const pathOf = (p: string) => p.replace(/[?#].*$/, "");

/**
 * The last boot of one node from every server's events. `access` entries may come from several servers (a group
 * served by two head nodes): only the node's addresses count. Events without a time (an access log in another
 * format) are kept in log order after the timed ones.
 */
export function nodeBoot(node: NodeRef, log: DnsmasqLog, access: AccessEntry[]): NodeBoot {
  const macs = new Set(node.macs.map((m) => m.toLowerCase()));
  const evs: Ev[] = [];
  let order = 0;
  for (const e of log.dhcp) if (macs.has(e.mac)) evs.push({ t: e.time, order: order++, src: "dhcp", e });
  // the node's addresses: its static one and whatever dnsmasq gave it
  const ips = new Set([node.ip, ...log.dhcp.filter((e) => macs.has(e.mac) && e.kind === "ACK" && e.ip).map((e) => e.ip!)]);
  for (const e of log.tftp) if (ips.has(e.ip)) evs.push({ t: e.time, order: order++, src: "tftp", e });
  for (const e of access) if (ips.has(e.ip)) evs.push({ t: e.time ?? Number.MAX_SAFE_INTEGER, order: order++, src: "http", e });
  // The logs count whole seconds and a fast boot does several stages in one: within a second, events go in
  // the order of the stages they mean (the initramfs's DHCP after the kernel's download), then each log's order.
  const rank = (ev: Ev): number => {
    if (ev.src === "tftp") return 1;
    if (ev.src === "dhcp") return firmwareClass(ev.e) === "os" ? 3 : ev.e.kind === "ACK" ? 1 : 0;
    const p = pathOf(ev.e.path);
    if (p.endsWith(`/${STAGE_PATH}image`)) return 4;
    if (p.endsWith(`/${STAGE_PATH}up`)) return 5;
    if (/\/ipxe\/(boot|node-[^/]*)\.ipxe$/.test(p)) return 1;
    if (/\/overlays\//.test(p) || /\/image-[0-9a-f]{12}\.tar\.(gz|xz)$/.test(p)) return 3;
    return 2;
  };
  evs.sort((a, b) => a.t - b.t || rank(a) - rank(b) || a.order - b.order);

  let boot: NodeBoot | undefined;
  let lastSeen: number | undefined;
  const enter = (s: Stage, t: number) => {
    if (!boot) boot = { stage: "DHCP", stages: {} };
    if (boot.stages[s] === undefined && t !== Number.MAX_SAFE_INTEGER) boot.stages[s] = t;
    if (stageIndex(s) > stageIndex(boot.stage)) boot.stage = s;
  };
  for (const ev of evs) {
    if (ev.t !== Number.MAX_SAFE_INTEGER) lastSeen = Math.max(lastSeen ?? 0, ev.t);
    const at = boot ? stageIndex(boot.stage) : -1;
    if (ev.src === "dhcp") {
      const e = ev.e;
      const cls = firmwareClass(e);
      if (cls === "os") {
        // the initramfs's client after the kernel loaded; later on, the running node renewing
        if (boot && boot.stage === "kernel" && (e.kind === "DISCOVER" || e.kind === "REQUEST")) enter("initramfs", ev.t);
        continue;
      }
      const asks = e.kind === "DISCOVER" || e.kind === "PXE";
      const fresh = asks && (cls === "firmware" ? at >= stageIndex("iPXE") : at >= stageIndex("kernel"));
      if (!boot || fresh) boot = { stage: "DHCP", stages: {} };
      if (asks || e.kind === "REQUEST") enter("DHCP", ev.t);
      else if (e.kind === "ACK") {
        enter("DHCP", ev.t);
        enter("iPXE", ev.t);
        if (e.ip) boot.leasedIp = e.ip;
        if (boot.failure?.startsWith("dnsmasq")) delete boot.failure;
      }
      if (e.kind === "NAK" || e.note) boot.failure = `dnsmasq: DHCP${e.kind}${e.note ? ` ${e.note}` : ""}`;
    } else if (ev.src === "tftp") {
      enter("iPXE", ev.t);
    } else {
      const e = ev.e;
      const p = pathOf(e.path);
      if (e.status >= 400) {
        // a request the node made without a DHCP line seen (proxy mode, a log rotated away) still counts
        if (!boot) boot = { stage: "DHCP", stages: {} };
        if (!boot.failure) boot.failure = `HTTP ${e.status} for ${p}`;
        continue;
      }
      if (p.endsWith(`/${STAGE_PATH}image`)) {
        enter("image", ev.t);
        // `?image=<file>[&root=<tree>]` from the initramfs (render/init.ts): plain names, taken only when they are
        const q = new URLSearchParams(/\?(.*)$/.exec(e.path)?.[1] ?? "");
        const name = (k: string) => (/^[A-Za-z0-9._-]{1,128}$/.test(q.get(k) ?? "") ? q.get(k)! : undefined);
        const osImage = name("image");
        const root = name("root");
        if (osImage || root) boot!.image = { ...boot!.image, ...(osImage ? { osImage } : {}), ...(root ? { root } : {}) };
      }
      else if (p.endsWith(`/${STAGE_PATH}up`)) enter("up", ev.t);
      else if (/\/ipxe\/(boot|node-[^/]*)\.ipxe$/.test(p)) enter("iPXE", ev.t);
      else if (/\/ipxe\/group-[^/]*\.ipxe$/.test(p) || p === node.kernelPath) enter("kernel", ev.t);
      else if (p === node.initrdPath || /\/initrd-[0-9a-f]{12}\.img$/.test(p)) {
        enter("kernel", ev.t);
        const gen = /initrd-([0-9a-f]{12})\.img$/.exec(p)?.[1];
        boot!.image = { ...boot!.image, initrd: p, ...(gen ? { generation: gen } : {}), ...(node.initrdPath ? { current: p === node.initrdPath } : {}) };
      } else if (/\/overlays\//.test(p) || /\/image-[0-9a-f]{12}\.tar\.(gz|xz)$/.test(p)) enter("initramfs", ev.t);
    }
  }
  if (!boot) return { stage: "DHCP", stages: {}, ...(lastSeen !== undefined ? { lastSeen } : {}) };
  if (boot.leasedIp && boot.leasedIp !== node.ip && !boot.failure) boot.failure = `dnsmasq gave ${boot.leasedIp}, not the node's static address ${node.ip}`;
  if (lastSeen !== undefined) boot.lastSeen = lastSeen;
  return boot;
}

/** A MAC that asked a server for a lease (or holds one) and belongs to no NodeGroup. */
export interface UnknownMac {
  mac: string;
  /** the server(s) it asked */
  servers: string[];
  firstSeen?: number;
  lastSeen?: number;
  /** DHCP messages logged from it */
  requests: number;
  /** the address it holds in a lease file (authoritative mode gives unknown machines one from the range) */
  leasedIp?: string;
  vendorClass?: string;
}

/** Every MAC in the servers' logs and lease files that no node has, sorted by MAC. */
export function unknownMacs(known: Iterable<string>, servers: { server: string; log: DnsmasqLog; leases: Lease[] }[]): UnknownMac[] {
  const k = new Set([...known].map((m) => m.toLowerCase()));
  const out = new Map<string, UnknownMac>();
  const get = (mac: string, server: string) => {
    let u = out.get(mac);
    if (!u) out.set(mac, (u = { mac, servers: [], requests: 0 }));
    if (!u.servers.includes(server)) u.servers.push(server);
    return u;
  };
  for (const s of servers) {
    for (const e of s.log.dhcp) {
      if (k.has(e.mac) || (e.kind !== "DISCOVER" && e.kind !== "REQUEST" && e.kind !== "PXE")) continue;
      const u = get(e.mac, s.server);
      u.requests++;
      u.firstSeen = Math.min(u.firstSeen ?? e.time, e.time);
      u.lastSeen = Math.max(u.lastSeen ?? e.time, e.time);
      if (e.vendorClass !== undefined) u.vendorClass = e.vendorClass;
    }
    for (const l of s.leases) if (!k.has(l.mac)) get(l.mac, s.server).leasedIp = l.ip;
  }
  for (const u of out.values()) u.servers.sort();
  return [...out.values()].sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
}

// ------------------------------------------------------------------ what the servers' files say

/** The files a dnsmasq config names (PxeServer renders `dhcp-leasefile=`; `log-facility=` when a user adds one). */
export function dnsmasqFiles(conf: string): { interface?: string; leaseFile?: string; logFile?: string; pidFile?: string } {
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(conf)?.[1]?.trim();
  const log = get("log-facility");
  // a facility name (DAEMON, LOCAL0) or `-` (stderr) is not a file the status can read
  return { interface: get("interface"), leaseFile: get("dhcp-leasefile"), pidFile: get("pid-file"), ...(log && log.startsWith("/") ? { logFile: log } : {}) };
}

/** The URL paths of an iPXE group script's `kernel` and `initrd` lines (render/ipxe.ts renderGroupScript). */
export function groupScriptFiles(script: string): { kernelPath?: string; initrdPath?: string } {
  const url = (k: string) => new RegExp(`^${k} (?:--name \\S+ )?(\\S+)`, "m").exec(script)?.[1];
  const p = (u?: string) => (u ? pathOf(u.replace(/^[a-z]+:\/\/[^/]*/i, "")) : undefined);
  const out: { kernelPath?: string; initrdPath?: string } = {};
  const k = p(url("kernel"));
  const i = p(url("initrd"));
  if (k) out.kernelPath = k;
  if (i) out.initrdPath = i;
  return out;
}

/** The access logs an nginx server block writes (`access_log PATH [format];`, `off` skipped; comments dropped). */
export function nginxAccessLogs(conf: string): string[] {
  const text = conf.replace(/#[^\n]*/g, "");
  return [...text.matchAll(/(?:^|[;{}\s])access_log\s+([^;\s]+)[^;]*;/g)].map((m) => m[1]).filter((p) => p !== "off");
}
