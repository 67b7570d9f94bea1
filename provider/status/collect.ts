/**
 * Reads what each PxeServer's daemons recorded, over the transport the provider uses for its host (this machine
 * for a local target folder, SSH otherwise). Read-only: nothing is written on a server.
 *
 * Where each text comes from (docs/status.md):
 * - dnsmasq's config (the PxeServer's `dnsmasqConfig` output) names the lease file and, when it has a
 *   `log-facility=/path` line, the log file;
 * - otherwise dnsmasq logs to syslog: on a systemd host the journal of the server's unit (`journalctl -u
 *   dnsmasq@netboot-<name> -o short-iso`), elsewhere the journal's dnsmasq lines on the server's interface;
 *   `dnsmasqLogs` (the command's `--dnsmasq-log server=FILE`) names a file instead, for a dnsmasq started with
 *   `--log-facility` on its command line (the lab does);
 * - nginx's server block (`nginxConfig`) names the access log;
 * - each group's iPXE script (below `httpRoot/ipxe/`) names the kernel and initrd the group boots now;
 * - `date +%z` on the host gives the zone of a log file's times, which carry none.
 * A text that cannot be read is a warning in the report, never a guess.
 */
import { Transport } from "../transport";
import { dnsmasqFiles, groupScriptFiles, nginxAccessLogs, parseAccessLog, parseDnsmasqLog, parseLeases } from "./boot";
import { Inventory, ServerData, ServerRef } from "./report";

export interface CollectOptions {
  /** server name -> dnsmasq log file on its host */
  dnsmasqLogs?: Record<string, string>;
  now: number;
}

/** The transport for a server's host; full paths (local target root included) are read as they are. */
export type OpenTransport = (host: ServerRef["host"]) => Transport;

async function text(t: Transport, p: string, what: string, warnings: string[]): Promise<string> {
  try {
    const b = await t.get(p);
    if (b === undefined) warnings.push(`${what} ${p} does not exist`);
    return b?.toString("utf8") ?? "";
  } catch (e) {
    warnings.push(`${what} ${p}: ${(e as Error).message}`);
    return "";
  }
}

/** The zone of the host's clock in minutes east of UTC (`date +%z`: +0100), 0 when it cannot be asked. */
async function utcOffset(t: Transport): Promise<number> {
  const r = await t.exec(["date", "+%z"]).catch(() => undefined);
  const m = r && r.code === 0 ? /^([+-])(\d\d)(\d\d)/.exec(r.stdout.trim()) : null;
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

export async function collectServer(s: ServerRef, groups: string[], t: Transport, o: CollectOptions): Promise<ServerData> {
  const warnings: string[] = [];
  const conf = await text(t, s.dnsmasqConfig, "dnsmasq config", warnings);
  const files = dnsmasqFiles(conf);
  const iface = files.interface ?? s.interface;
  const logFile = o.dnsmasqLogs?.[s.name] ?? files.logFile;
  // A systemd server runs its own dnsmasq instance (model/pxe.ts): the unit's journal holds only its lines.
  const own = s.host.systemd === true && !!s.dnsmasqUnit;
  let logText = "";
  let source: string;
  if (logFile) {
    source = `file:${logFile}`;
    logText = await text(t, logFile, "dnsmasq log", warnings);
  } else {
    // Elsewhere the journal's dnsmasq lines may be several servers': only DHCP on this server's interface is
    // kept (TFTP lines name none).
    const argv = own ? ["journalctl", "--no-pager", "-q", "-o", "short-iso", "-u", s.dnsmasqUnit!] : ["journalctl", "--no-pager", "-q", "-o", "short-iso", "-t", "dnsmasq-dhcp", "-t", "dnsmasq-tftp"];
    source = own ? `journal:${s.dnsmasqUnit}` : "journal:dnsmasq-dhcp";
    const r = await t.exec(argv).catch((e: Error) => ({ code: -1, stdout: "", stderr: e.message }));
    if (r.code !== 0) warnings.push(`${argv.join(" ")} failed (${(r.stderr || "").trim() || `exit ${r.code}`}): without a log file (log-facility= in its config, or --dnsmasq-log ${s.name}=FILE) dnsmasq's log is read from the journal`);
    else logText = r.stdout;
  }
  const log = parseDnsmasqLog(logText, { now: o.now, utcOffsetMinutes: await utcOffset(t) });
  if (!logFile && !own && iface) log.dhcp = log.dhcp.filter((e) => e.iface === iface);
  const leases = files.leaseFile ? parseLeases(await text(t, files.leaseFile, "lease file", warnings)) : [];
  if (!files.leaseFile && conf) warnings.push(`${s.dnsmasqConfig} names no dhcp-leasefile`);
  const nginx = await text(t, s.nginxConfig, "nginx config", warnings);
  const access = [];
  for (const f of nginxAccessLogs(nginx)) access.push(...parseAccessLog(await text(t, f, "nginx access log", warnings)));
  if (nginx && !nginxAccessLogs(nginx).length) warnings.push(`${s.nginxConfig} names no access_log`);
  const groupFiles: ServerData["groupFiles"] = {};
  for (const g of groups) {
    const script = await text(t, `${s.httpRoot}/ipxe/group-${g}.ipxe`, `group ${g}'s iPXE script`, warnings);
    groupFiles[g] = groupScriptFiles(script);
  }
  return { server: s.name, dnsmasqSource: source, log, leases, access, groupFiles, warnings };
}

/** Every server of the inventory, one at a time (an SSH connection each, closed after). */
export async function collect(inv: Inventory, open: OpenTransport, o: CollectOptions): Promise<ServerData[]> {
  const out: ServerData[] = [];
  for (const s of inv.servers) {
    const t = open(s.host);
    try {
      out.push(await collectServer(s, inv.groups.filter((g) => g.server === s.name || g.mirrors?.includes(s.name)).map((g) => g.name), t, o));
    } finally {
      await t.close();
    }
  }
  return out;
}
