/**
 * The lab contract: the `lab` stack output an example exports so `npm run lab` can run what `pulumi up`
 * rendered (docs/lab.md). Pure: validates a parsed `pulumi stack output --json` and reports every problem
 * at once, each with its field and value.
 */

import type { Firmware as NodeFirmware } from "../../provider/schema-enums";

/** The firmwares of the schema the lab can boot (SeaBIOS and OVMF on x86_64), a subset by construction. */
export type Firmware = Extract<NodeFirmware, "bios" | "efi-x86_64">;
export const FIRMWARES: Firmware[] = ["bios", "efi-x86_64"];

export interface LabBrick { host: string; port: number; path: string; volfile: string }
export interface LabVolume { name: string; clientVolfile: string; bricks: LabBrick[] }
export interface LabContent { volume: string; source: string; path: string }
/** `hostKey`: the node's SSH host public key from state (its NodeGroup's overlay `hostKeys`), checked by the lab. */
export interface LabNode { name: string; group: string; mac: string; ip: string; firmware: Firmware; hostKey?: string }
export interface LabServer {
  interface: string;
  subnet: string;
  /** prefix length of `subnet` */
  prefix: number;
  serverIp: string;
  dnsmasqConfig: string;
  nginxMainConfig: string;
}
/** A command run over SSH on each node of `groups` once it is up; it passes when it exits 0 (and prints `expect`). */
export interface LabCheck { name: string; groups: string[]; command: string; expect?: string }
export interface LabSsh { user: string; privateKeyFile: string }
/**
 * Machines mode: the servers are real systemd machines the lab started (lab-machines.json) and `pulumi up`
 * set up over SSH; the lab reads the PXE machine's logs instead of running daemons.
 */
export interface LabMachines {
  /** the machine (lab-machines.json name) that runs the PxeServer */
  pxeMachine: string;
  /** its dnsmasq unit (PxeServer `info.dnsmasqUnit`): the lab reads DHCP from its journal */
  dnsmasqUnit: string;
  /** nginx's access log of the PxeServer's block, a path on that machine */
  accessLog: string;
  /** more PXE machines that serve the same nodes (NodeGroup `mirrors`, two head nodes): their logs are read too */
  mirrors?: { pxeMachine: string; dnsmasqUnit: string; accessLog: string }[];
}
export interface LabContract {
  /** daemons mode: the local target root (machines mode: "") */
  targetRoot: string;
  machines?: LabMachines;
  server: LabServer;
  volumes: LabVolume[];
  volumeContent: LabContent[];
  nodes: LabNode[];
  /** the line (prefix) the OS image prints when the node is up */
  upMarker: string;
  /** each VM's memory (MB); a real distribution unpacked into RAM needs more than the busybox image's 512 */
  nodeMemoryMb: number;
  /** how the lab logs in to the nodes (from the namespace, as the server would) for `checks` and `reboot` */
  ssh?: LabSsh;
  checks: LabCheck[];
  /** groups whose nodes are rebooted from inside (`systemctl reboot` over SSH) once up, and must come up again */
  reboot: string[];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const HOST_KEY = /^ssh-ed25519 [A-Za-z0-9+/]+={0,2}( [^\n]*)?$/;

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
}

/** True when `ip` is a host address of `net/prefix` (not the network or broadcast address). */
export function inSubnet(ip: string, net: string, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  const n = ipToInt(net);
  const i = ipToInt(ip);
  return i > n && i < n + size - 1;
}

class Problems {
  readonly list: string[] = [];
  add(field: string, value: unknown, why: string): void {
    this.list.push(`lab.${field}: ${JSON.stringify(value)} ${why}`);
  }
}

function absPath(p: Problems, field: string, v: unknown): v is string {
  if (typeof v !== "string" || !v.startsWith("/") || v.includes("\n") || v.split("/").includes("..")) {
    p.add(field, v, "must be an absolute path (without ..)");
    return false;
  }
  return true;
}

/**
 * Reads the `lab` output from all stack outputs. Returns the contract, or every problem found.
 * `outputs` is what `pulumi stack output --json --show-secrets` prints.
 */
export function parseContract(outputs: Record<string, unknown>): { contract?: LabContract; errors: string[] } {
  const p = new Problems();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON, checked field by field below
  const lab = outputs.lab as any;
  if (!lab || typeof lab !== "object") {
    return { errors: ["the stack has no `lab` output: run `pulumi up` in the example first, and export `lab` as docs/lab.md describes"] };
  }
  const inMachines = lab.machines !== undefined;
  let machines: LabMachines | undefined;
  if (inMachines) {
    const mc = lab.machines ?? {};
    const pxeFields = (f: string, x: { pxeMachine?: unknown; dnsmasqUnit?: unknown; accessLog?: unknown }) => {
      if (!NAME.test(String(x.pxeMachine ?? ""))) p.add(`${f}.pxeMachine`, x.pxeMachine, "must name the machine of lab-machines.json that runs the PxeServer");
      if (!/^[A-Za-z0-9@_.:-]+$/.test(String(x.dnsmasqUnit ?? ""))) p.add(`${f}.dnsmasqUnit`, x.dnsmasqUnit, "must be the PxeServer's dnsmasq unit (info.dnsmasqUnit)");
      absPath(p, `${f}.accessLog`, x.accessLog);
    };
    pxeFields("machines", mc);
    if (mc.mirrors !== undefined && !Array.isArray(mc.mirrors)) p.add("machines.mirrors", mc.mirrors, "must be a list of { pxeMachine, dnsmasqUnit, accessLog }");
    const mirrors = Array.isArray(mc.mirrors) ? mc.mirrors : [];
    mirrors.forEach((x: object, i: number) => pxeFields(`machines.mirrors[${i}]`, x ?? {}));
    for (const k of ["server", "targetRoot", "volumes", "volumeContent"]) if (lab[k] !== undefined) p.add(k, lab[k], "is for the daemons mode: with machines, `pulumi up` set the servers up and the lab starts no daemon and copies nothing");
    machines = {
      pxeMachine: mc.pxeMachine, dnsmasqUnit: mc.dnsmasqUnit, accessLog: mc.accessLog,
      ...(mirrors.length ? { mirrors: mirrors.map((x: LabMachines) => ({ pxeMachine: x.pxeMachine, dnsmasqUnit: x.dnsmasqUnit, accessLog: x.accessLog })) } : {}),
    };
  } else absPath(p, "targetRoot", lab.targetRoot);
  // machines mode: the boot network's facts are in `machines` (interface, subnet, serverIp)
  const s = (inMachines ? lab.machines : lab.server) ?? {};
  const sf = inMachines ? "machines" : "server";
  if (!IFNAME.test(String(s.interface ?? ""))) p.add(`${sf}.interface`, s.interface, "must be an interface name (1-15 of A-Z a-z 0-9 _ . -)");
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(String(s.subnet ?? ""));
  let prefix = 0;
  let net = "";
  if (!m || !IPV4.test(m[1]) || Number(m[2]) < 8 || Number(m[2]) > 30) p.add(`${sf}.subnet`, s.subnet, "must be an IPv4 network such as 10.90.0.0/24 (/8 to /30)");
  else [net, prefix] = [m[1], Number(m[2])];
  const inNet = (field: string, ip: unknown): boolean => {
    if (typeof ip !== "string" || !IPV4.test(ip)) {
      p.add(field, ip, "must be an IPv4 address");
      return false;
    }
    if (prefix && !inSubnet(ip, net, prefix)) {
      p.add(field, ip, `is not a host address of ${s.subnet}: the lab puts every server and node on one bridge in that subnet`);
      return false;
    }
    return true;
  };
  inNet(`${sf}.serverIp`, s.serverIp);
  if (!inMachines) {
  absPath(p, "server.dnsmasqConfig", s.dnsmasqConfig);
  absPath(p, "server.nginxMainConfig", s.nginxMainConfig);
  }

  const volumes: LabVolume[] = [];
  const ports = new Map<string, string>();
  for (const [i, v] of (Array.isArray(lab.volumes) ? lab.volumes : []).entries()) {
    const f = `volumes[${i}]`;
    if (!NAME.test(String(v?.name ?? ""))) p.add(`${f}.name`, v?.name, "must be a volume name");
    absPath(p, `${f}.clientVolfile`, v?.clientVolfile);
    const bricks: LabBrick[] = [];
    for (const [j, b] of (Array.isArray(v?.bricks) ? v.bricks : []).entries()) {
      const bf = `${f}.bricks[${j}]`;
      inNet(`${bf}.host`, b?.host);
      if (!Number.isInteger(b?.port) || b.port < 1 || b.port > 65535) p.add(`${bf}.port`, b?.port, "must be a TCP port (standalone bricks listen on a fixed port)");
      absPath(p, `${bf}.path`, b?.path);
      absPath(p, `${bf}.volfile`, b?.volfile);
      const key = `${b?.host}:${b?.port}`;
      if (ports.has(key)) p.add(`${bf}.port`, b?.port, `is also used by ${ports.get(key)} on ${b?.host}`);
      else ports.set(key, bf);
      bricks.push(b);
    }
    if (bricks.length === 0) p.add(`${f}.bricks`, v?.bricks, "must list the volume's bricks (GlusterVolume `bricks` output, standalone mode)");
    volumes.push({ name: v?.name, clientVolfile: v?.clientVolfile, bricks });
  }
  if (lab.volumes !== undefined && !Array.isArray(lab.volumes)) p.add("volumes", lab.volumes, "must be a list");

  const content: LabContent[] = [];
  for (const [i, c] of (Array.isArray(lab.volumeContent) ? lab.volumeContent : []).entries()) {
    const f = `volumeContent[${i}]`;
    if (!volumes.some((v) => v.name === c?.volume)) p.add(`${f}.volume`, c?.volume, `names no volume of lab.volumes (${volumes.map((v) => v.name).join(", ") || "none"})`);
    absPath(p, `${f}.source`, c?.source);
    absPath(p, `${f}.path`, c?.path ?? "/");
    content.push({ volume: c?.volume, source: c?.source, path: c?.path ?? "/" });
  }

  const nodes: LabNode[] = [];
  const seen = new Map<string, string>();
  const claim = (what: string, v: string, field: string) => {
    const k = `${what}:${v}`;
    if (seen.has(k)) p.add(field, v, `is also the ${what} of ${seen.get(k)}`);
    else seen.set(k, field);
  };
  for (const [i, n] of (Array.isArray(lab.nodes) ? lab.nodes : []).entries()) {
    const f = `nodes[${i}]`;
    if (!NAME.test(String(n?.name ?? ""))) p.add(`${f}.name`, n?.name, "must be a host name");
    else claim("name", n.name, `${f}.name`);
    if (!NAME.test(String(n?.group ?? ""))) p.add(`${f}.group`, n?.group, "must be a group name");
    const mac = String(n?.mac ?? "").toLowerCase();
    if (!MAC.test(mac)) p.add(`${f}.mac`, n?.mac, "must be a MAC address aa:bb:cc:dd:ee:ff");
    else claim("MAC", mac, `${f}.mac`);
    if (inNet(`${f}.ip`, n?.ip)) claim("IP", n.ip, `${f}.ip`);
    const fw = n?.firmware ?? "bios";
    if (!FIRMWARES.includes(fw)) p.add(`${f}.firmware`, fw, `is not one the lab can boot (${FIRMWARES.join(", ")}: SeaBIOS or OVMF on x86_64)`);
    if (n?.hostKey !== undefined && !HOST_KEY.test(String(n.hostKey))) p.add(`${f}.hostKey`, n.hostKey, "must be an SSH public key line such as \"ssh-ed25519 AAAA... name\"");
    nodes.push({ name: n?.name, group: n?.group, mac, ip: n?.ip, firmware: fw, ...(typeof n?.hostKey === "string" ? { hostKey: n.hostKey } : {}) });
  }
  if (nodes.length === 0) p.add("nodes", lab.nodes, "must list the nodes (NodeGroup `nodeTable` entries, plus `firmware`)");
  if (typeof lab.upMarker !== "string" || lab.upMarker.trim().length < 4) p.add("upMarker", lab.upMarker, "must be the text the image prints when the node is up (4 characters or more)");
  const mem = lab.nodeMemoryMb ?? 512;
  if (!Number.isInteger(mem) || mem < 256 || mem > 16384) p.add("nodeMemoryMb", lab.nodeMemoryMb, "must be a whole number of MB from 256 to 16384");

  let ssh: LabSsh | undefined;
  if (lab.ssh !== undefined) {
    if (typeof lab.ssh?.user !== "string" || !NAME.test(lab.ssh.user)) p.add("ssh.user", lab.ssh?.user, "must be a user name");
    absPath(p, "ssh.privateKeyFile", lab.ssh?.privateKeyFile);
    ssh = { user: lab.ssh?.user, privateKeyFile: lab.ssh?.privateKeyFile };
  }
  const groups = [...new Set(nodes.map((n) => n.group))];
  const knownGroups = (field: string, v: unknown) => {
    if (!Array.isArray(v) || v.some((g) => !groups.includes(g))) p.add(field, v, `must list groups of lab.nodes (${groups.join(", ")})`);
  };
  const checks: LabCheck[] = [];
  for (const [i, ch] of (Array.isArray(lab.checks) ? lab.checks : []).entries()) {
    const f = `checks[${i}]`;
    if (typeof ch?.name !== "string" || !ch.name.trim()) p.add(`${f}.name`, ch?.name, "must name the check");
    if (typeof ch?.command !== "string" || !ch.command.trim()) p.add(`${f}.command`, ch?.command, "must be a shell command run on the node");
    if (ch?.expect !== undefined && typeof ch.expect !== "string") p.add(`${f}.expect`, ch.expect, "must be text the command prints");
    knownGroups(`${f}.groups`, ch?.groups);
    checks.push({ name: ch?.name, groups: ch?.groups, command: ch?.command, expect: ch?.expect });
  }
  if (lab.checks !== undefined && !Array.isArray(lab.checks)) p.add("checks", lab.checks, "must be a list");
  const reboot: string[] = lab.reboot ?? [];
  knownGroups("reboot", reboot);
  if ((checks.length || reboot.length) && !ssh) p.add("ssh", lab.ssh, "is needed by checks and reboot (the lab logs in to the nodes): { user, privateKeyFile }");

  if (p.list.length) return { errors: p.list };
  return {
    contract: {
      targetRoot: inMachines ? "" : lab.targetRoot,
      machines,
      server: { interface: s.interface, subnet: s.subnet, prefix, serverIp: s.serverIp, dnsmasqConfig: s.dnsmasqConfig ?? "", nginxMainConfig: s.nginxMainConfig ?? "" },
      volumes, volumeContent: content, nodes, upMarker: lab.upMarker, nodeMemoryMb: mem,
      ssh, checks, reboot,
    },
    errors: [],
  };
}

/** The nodes chosen by `--groups` and `--nodes` (their union; all nodes when neither is given). */
export function selectNodes(all: LabNode[], groups: string[], names: string[]): { nodes: LabNode[]; errors: string[] } {
  const errors: string[] = [];
  const knownGroups = [...new Set(all.map((n) => n.group))];
  for (const g of groups) if (!knownGroups.includes(g)) errors.push(`--groups: no group "${g}" (the example has ${knownGroups.join(", ")})`);
  for (const n of names) if (!all.some((x) => x.name === n)) errors.push(`--nodes: no node "${n}" (the example has ${all.map((x) => x.name).join(", ")})`);
  if (!groups.length && !names.length) return { nodes: all, errors };
  return { nodes: all.filter((n) => groups.includes(n.group) || names.includes(n.name)), errors };
}

/** Server addresses to put on the lab bridge: the PXE server's first, then each brick host once. */
export function serverAddresses(c: LabContract): string[] {
  const out = [c.server.serverIp];
  for (const v of c.volumes) for (const b of v.bricks) if (!out.includes(b.host)) out.push(b.host);
  return out;
}
