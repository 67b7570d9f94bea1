/**
 * The day-2 report of `npm run status` (docs/status.md): which PxeServers and nodes a stack has (from its state),
 * each node's last boot (boot.ts) and the MACs no NodeGroup has, formatted as a terminal table, JSON or a
 * node_exporter textfile. Pure: the stack's deployment and the servers' texts in, report and text out. What is
 * read from the hosts, and how, is in collect.ts.
 */
import { AccessEntry, DnsmasqLog, Lease, nodeBoot, NodeBoot, NodeRef, Stage, STAGES, UnknownMac, unknownMacs } from "./boot";

// ------------------------------------------------------------------ the stack

/** A PxeServer as its component's outputs describe it. Paths are full paths on the host (local root included). */
export interface ServerRef {
  name: string;
  /** netboot's Host value (`{root}`, `{}` or `{ssh: ...}`, `systemd`) */
  host: { root?: string; ssh?: unknown; systemd?: unknown };
  interface?: string;
  httpRoot: string;
  dnsmasqConfig: string;
  nginxConfig: string;
  dnsmasqUnit?: string;
}

export interface GroupRef {
  name: string;
  server: string;
  /** the group's other PxeServers (NodeGroup `mirrors`, two head nodes): a node may have booted from any */
  mirrors?: string[];
  nodes: { name: string; macs: string[]; ip: string }[];
}

export interface Inventory { servers: ServerRef[]; groups: GroupRef[] }

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** A state value with secrets shown (`pulumi stack export --show-secrets`): `{<sig>: ..., plaintext: JSON}` -> value. */
export function reveal(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reveal);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (SECRET_SIG in o) {
      if (typeof o.plaintext !== "string") throw new Error("the state holds encrypted secrets: export it with --show-secrets");
      return reveal(JSON.parse(o.plaintext));
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, reveal(x)]));
  }
  return v;
}

/**
 * Every PxeServer and NodeGroup of a deployment (`pulumi stack export`), from their components' outputs and a
 * NodeGroup's `server` input, sorted by name. Every problem at once, each naming the resource's URN.
 */
/** A JSON object's fields, or none: the state is read defensively, every missing field is a named error. */
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const str = (x: unknown): x is string => typeof x === "string" && x !== "";

export function inventoryFromDeployment(exported: unknown): { inventory: Inventory; errors: string[] } {
  const errors: string[] = [];
  const d = obj(reveal(exported));
  const resources = obj(d.deployment).resources ?? d.resources ?? [];
  if (!Array.isArray(resources)) errors.push("the stack export has no resources list");
  const servers: ServerRef[] = [];
  const groups: GroupRef[] = [];
  for (const r of (Array.isArray(resources) ? resources : []).map(obj)) {
    const o = obj(r.outputs);
    const inputs = obj(r.inputs);
    if (r.type === "netboot:index:PxeServer") {
      const info = obj(o.info);
      // the component's httpRoot, dnsmasqConfig and nginxConfig are full paths (info's are host paths)
      if (!str(info.name) || typeof info.host !== "object" || !str(o.httpRoot) || !str(o.dnsmasqConfig) || !str(o.nginxConfig)) {
        errors.push(`${r.urn}: outputs info (name, host), httpRoot, dnsmasqConfig and nginxConfig are missing (run \`pulumi up\` first)`);
        continue;
      }
      servers.push({
        name: info.name, host: obj(info.host), httpRoot: o.httpRoot, dnsmasqConfig: o.dnsmasqConfig, nginxConfig: o.nginxConfig,
        ...(str(info.dnsmasqUnit) ? { dnsmasqUnit: info.dnsmasqUnit } : {}), ...(str(inputs.interface) ? { interface: inputs.interface } : {}),
      });
    } else if (r.type === "netboot:index:NodeGroup") {
      const server = obj(inputs.server).name;
      const table = o.nodeTable;
      if (!str(server) || !Array.isArray(table)) {
        errors.push(`${r.urn}: the input server (a PxeServer's info) or the output nodeTable is missing (run \`pulumi up\` first)`);
        continue;
      }
      const rows = table.map(obj);
      const nodes = rows
        .filter((n) => str(n.name) && str(n.ip))
        .map((n) => ({ name: n.name as string, ip: n.ip as string, macs: (Array.isArray(n.macs) ? n.macs : [n.mac]).filter(str).map((m) => m.toLowerCase()) }));
      const group = rows.map((n) => n.group).find(str) ?? String(r.urn).split("::").pop()!;
      const mirrors = (Array.isArray(inputs.mirrors) ? inputs.mirrors : []).map((m) => obj(m).name).filter(str);
      groups.push({ name: group, server, nodes, ...(mirrors.length ? { mirrors } : {}) });
    }
  }
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const g of groups) for (const name of [g.server, ...(g.mirrors ?? [])]) if (!servers.some((s) => s.name === name)) errors.push(`NodeGroup "${g.name}": its server "${name}" is not a PxeServer of this stack`);
  return { inventory: { servers: servers.sort(byName), groups: groups.sort(byName) }, errors };
}

// ------------------------------------------------------------------ the report

/** What was read from one server (collect.ts). */
export interface ServerData {
  server: string;
  /** where dnsmasq's log came from: `file:/path` or `journal:<unit>` */
  dnsmasqSource: string;
  log: DnsmasqLog;
  leases: Lease[];
  access: AccessEntry[];
  /** group -> the URL paths its iPXE script names now */
  groupFiles: Record<string, { kernelPath?: string; initrdPath?: string }>;
  /** what could not be read (a missing log): the report says so instead of guessing */
  warnings: string[];
}

export interface NodeStatus extends NodeBoot {
  name: string;
  group: string;
  server: string;
  ip: string;
  macs: string[];
  /** seconds from the last boot's DHCP to its furthest stage */
  bootSeconds?: number;
}

export interface StatusReport {
  stack: string;
  /** Unix seconds */
  generatedAt: number;
  servers: { name: string; dnsmasqSource: string; warnings: string[] }[];
  nodes: NodeStatus[];
  unknownMacs: UnknownMac[];
}

export function buildReport(stack: string, inv: Inventory, data: ServerData[], now: number): StatusReport {
  const byServer = new Map(data.map((d) => [d.server, d]));
  const nodes: NodeStatus[] = [];
  for (const g of inv.groups) {
    for (const n of g.nodes) {
      // With mirrors (two head nodes) the node's last boot is the one the server that saw it latest served.
      const seen = [g.server, ...(g.mirrors ?? [])].flatMap((server) => {
        const d = byServer.get(server);
        if (!d) return [];
        const ref: NodeRef = { name: n.name, group: g.name, macs: n.macs, ip: n.ip, ...(d.groupFiles[g.name] ?? {}) };
        const b = nodeBoot(ref, d.log, d.access);
        return [{ server, b, latest: Math.max(-Infinity, ...Object.values(b.stages).filter((t): t is number => typeof t === "number")) }];
      });
      const best = seen.reduce<(typeof seen)[number] | undefined>((a, x) => (!a || x.latest > a.latest ? x : a), undefined);
      const b = best?.b ?? { stage: "DHCP" as Stage, stages: {} };
      const first = b.stages.DHCP ?? b.stages[STAGES.find((s) => b.stages[s] !== undefined) ?? "DHCP"];
      const last = b.stages[b.stage];
      nodes.push({ name: n.name, group: g.name, server: best && best.latest > -Infinity ? best.server : g.server, ip: n.ip, macs: n.macs, ...b, ...(first !== undefined && last !== undefined ? { bootSeconds: last - first } : {}) });
    }
  }
  nodes.sort((a, b) => (a.group + "\0" + a.name < b.group + "\0" + b.name ? -1 : 1));
  const known = inv.groups.flatMap((g) => g.nodes.flatMap((n) => n.macs));
  return {
    stack, generatedAt: now,
    servers: data.map((d) => ({ name: d.server, dnsmasqSource: d.dnsmasqSource, warnings: d.warnings })),
    nodes,
    unknownMacs: unknownMacs(known, data.map((d) => ({ server: d.server, log: d.log, leases: d.leases }))),
  };
}

// ------------------------------------------------------------------ formats

const iso = (t?: number) => (t === undefined ? undefined : new Date(t * 1000).toISOString().replace(/\.000Z$/, "Z"));

/** JSON for scripts: times as ISO 8601 UTC, keys in a fixed order. */
export function formatJson(r: StatusReport): string {
  const times = (s: Partial<Record<Stage, number>>) => Object.fromEntries(STAGES.filter((k) => s[k] !== undefined).map((k) => [k, iso(s[k])]));
  return JSON.stringify({
    stack: r.stack,
    generatedAt: iso(r.generatedAt),
    servers: r.servers,
    nodes: r.nodes.map((n) => ({
      name: n.name, group: n.group, server: n.server, ip: n.ip, macs: n.macs, stage: n.stage, stages: times(n.stages),
      bootSeconds: n.bootSeconds, leasedIp: n.leasedIp, image: n.image, failure: n.failure, lastSeen: iso(n.lastSeen),
    })),
    unknownMacs: r.unknownMacs.map((u) => ({ ...u, firstSeen: iso(u.firstSeen), lastSeen: iso(u.lastSeen) })),
  }, null, 2) + "\n";
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join("  ").trimEnd()).join("\n") + "\n";
}

/** The terminal table: one line per node, then the unknown MACs and what could not be read. */
export function formatTable(r: StatusReport): string {
  const when = (t?: number) => iso(t)?.replace("T", " ") ?? "-";
  const rows = [["NODE", "GROUP", "IP", "STAGE", "SINCE", "BOOT", "IMAGE", "NOTE"]];
  for (const n of r.nodes) {
    const seen = n.stages[n.stage] !== undefined;
    // the image the node unpacked, by its content hash when netboot named it; else the initrd it fetched
    const os = n.image?.osImage && (/^image-([0-9a-f]{12})\./.exec(n.image.osImage)?.[1] ?? n.image.osImage);
    const image = n.image ? `${os ?? n.image.generation ?? n.image.initrd ?? "-"}${n.image.current === false ? " (old)" : ""}` : "-";
    rows.push([n.name, n.group, n.leasedIp ?? n.ip, seen ? n.stage : "-", when(n.stages[n.stage]), n.bootSeconds === undefined ? "-" : `${n.bootSeconds}s`, image, n.failure ?? (seen ? "" : "never seen")]);
  }
  let out = `stack ${r.stack} at ${when(r.generatedAt)}\n` + table(rows);
  if (r.unknownMacs.length) {
    out += `\nMACs that asked for a lease but belong to no NodeGroup:\n`;
    out += table([["MAC", "SERVER", "LEASE", "REQUESTS", "LAST SEEN", "VENDOR CLASS"],
      ...r.unknownMacs.map((u) => [u.mac, u.servers.join(","), u.leasedIp ?? "-", String(u.requests), when(u.lastSeen), u.vendorClass ?? "-"])]);
  }
  for (const s of r.servers) for (const w of s.warnings) out += `warning: ${s.name}: ${w}\n`;
  return out;
}

/** A Prometheus label value: backslash, quote and newline escaped (exposition format). */
const lv = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n");

/**
 * node_exporter's textfile format (docs/status.md lists the metrics). Only what the servers saw is written: a
 * stage the last boot did not reach has no sample, so `absent()` and staleness work as usual.
 */
export function formatPrometheus(r: StatusReport): string {
  const L: string[] = [];
  const metric = (name: string, help: string) => L.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
  metric("netboot_node_stage_timestamp_seconds", "When the PXE servers saw the node's last boot enter the stage (Unix time).");
  for (const n of r.nodes) for (const s of STAGES) if (n.stages[s] !== undefined) L.push(`netboot_node_stage_timestamp_seconds{node="${lv(n.name)}",group="${lv(n.group)}",stage="${s}"} ${n.stages[s]}`);
  metric("netboot_node_boot_seconds", "Seconds from the last boot's DHCP request to the furthest stage it reached (label stage).");
  for (const n of r.nodes) if (n.bootSeconds !== undefined) L.push(`netboot_node_boot_seconds{node="${lv(n.name)}",group="${lv(n.group)}",stage="${n.stage}"} ${n.bootSeconds}`);
  metric("netboot_node_stage", "The furthest stage of the node's last boot: 1 for that stage, 0 for the others; no samples for a node never seen.");
  for (const n of r.nodes) if (n.stages[n.stage] !== undefined) for (const s of STAGES) L.push(`netboot_node_stage{node="${lv(n.name)}",group="${lv(n.group)}",stage="${s}"} ${s === n.stage ? 1 : 0}`);
  metric("netboot_node_boot_failed", "1 when the servers saw the last boot fail (an HTTP error, a refused or wrong lease).");
  for (const n of r.nodes) if (n.stages[n.stage] !== undefined) L.push(`netboot_node_boot_failed{node="${lv(n.name)}",group="${lv(n.group)}"} ${n.failure ? 1 : 0}`);
  metric("netboot_unknown_mac_last_seen_timestamp_seconds", "When a MAC that belongs to no NodeGroup last asked a PXE server for a lease (Unix time).");
  for (const u of r.unknownMacs) if (u.lastSeen !== undefined) L.push(`netboot_unknown_mac_last_seen_timestamp_seconds{mac="${u.mac}",server="${lv(u.servers.join(","))}"} ${u.lastSeen}`);
  metric("netboot_status_timestamp_seconds", "When netboot status read the servers (Unix time).");
  L.push(`netboot_status_timestamp_seconds ${r.generatedAt}`);
  return L.join("\n") + "\n";
}
