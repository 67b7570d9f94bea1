/**
 * Where a node's boot is, from what the lab can see: the servers' own records (dnsmasq's log, nginx's access
 * log), read by the same code as `npm run status` (provider/status/boot.ts), and the node's serial console
 * (kernel, netboot's initramfs lines, the image's marker). Pure: texts in, observation out.
 *
 *   DHCP -> iPXE -> kernel -> initramfs -> image -> up
 *
 * With SeaBIOS, iPXE prints to the VGA screen only, so the early steps come from the daemons' logs; with OVMF,
 * iPXE also prints to the serial console.
 */
import { AccessEntry, leaseOf, nodeBoot, parseAccessLog, parseDnsmasqLog, Stage, STAGES, stageIndex } from "../../provider/status/boot";
import { LabNode } from "./contract";

export type Step = Stage;
export const STEPS: Step[] = [...STAGES];
export { leaseOf, parseAccessLog };
export type { AccessEntry };

export interface Observation {
  /** the step in progress (or "up") */
  step: Step;
  /** the address dnsmasq gave the node, if any */
  leasedIp?: string;
  /** why the boot failed, when it did */
  failure?: string;
  /** the image's marker line, when up */
  marker?: string;
}

/** Console text without ANSI escapes and carriage returns. */
export function cleanConsole(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, "").replace(/\x1b[()][A-Z0-9]/g, "").replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
}

/** The last `n` non-empty console lines (kernel timestamps kept), for failure reports. */
export function lastLines(text: string, n: number): string[] {
  return cleanConsole(text).split("\n").map((l) => l.trimEnd()).filter((l) => l.trim()).slice(-n);
}

const at = stageIndex;

/** Reads every source and returns the furthest step reached, and a failure when one is visible. */
export function observe(node: LabNode, src: { console: string; dnsmasq: string; access: string }, upMarker: string): Observation {
  let step: Step = "DHCP";
  const advance = (s: Step) => {
    if (at(s) > at(step)) step = s;
  };
  const con = cleanConsole(src.console);
  // The servers' view of the node's last boot: DHCP, iPXE's fetches, netboot's stage marks, HTTP errors.
  const servers = nodeBoot({ name: node.name, group: node.group, macs: [node.mac], ip: node.ip }, parseDnsmasqLog(src.dnsmasq, { now: Date.now() / 1000 }), parseAccessLog(src.access));
  const leasedIp = servers.leasedIp ?? leaseOf(src.dnsmasq, node.mac) ?? (new RegExp(`Configuring \\(net\\d+ ${node.mac}\\)[. ]*ok`, "i").test(con) ? node.ip : undefined);
  if (leasedIp) advance("iPXE");
  advance(servers.stage);
  let failure: string | undefined = servers.failure?.startsWith("HTTP") ? servers.failure : undefined;

  if (/loads its kernel/.test(con) || /^Linux version /m.test(con) || /\] Linux version /.test(con)) advance("kernel");
  if (/netboot: boot image \S+ starting/.test(con)) advance("initramfs");
  if (/netboot: switching root|netboot: kexec into/.test(con)) advance("image");

  const markerLine = con.split("\n").find((l) => l.includes(upMarker));
  let marker: string | undefined;
  if (markerLine) {
    marker = markerLine.slice(markerLine.indexOf(upMarker)).trim();
    advance("up");
  }

  // the most specific first: the initramfs's own failure line, an HTTP error, then iPXE's error line
  const initramfsFailed = /netboot: FAILED: (.*)/.exec(con);
  const ipxeFailed = /netboot: ERROR (.*)/.exec(con);
  const nothing = /(No bootable device|No bootable option or device was found)/.exec(con);
  if (initramfsFailed) failure = initramfsFailed[1].trim();
  else if (failure) { /* HTTP error from the access log */ }
  else if (ipxeFailed) failure = ipxeFailed[1].trim();
  else if (nothing) failure = `the firmware found nothing to boot ("${nothing[1]}"): no network boot ROM on the NIC?`;
  else if (/Kernel panic - not syncing: (.*)/.test(con)) failure = `kernel panic: ${/Kernel panic - not syncing: (.*)/.exec(con)![1].trim()}`;
  if (leasedIp && leasedIp !== node.ip && !failure) failure = `dnsmasq gave ${leasedIp}, not the node's static address ${node.ip}`;

  if ((step as Step) === "up" && marker) {
    // The image must name the node it booted on: a wrong host name or address is a failed boot.
    const host = /\bhost=(\S+)/.exec(marker)?.[1];
    const mip = /\bip=(\S+)/.exec(marker)?.[1];
    // an image with systemd reports `systemctl is-system-running`: anything but running (degraded) is a failure
    const state = /\bstate=(\S+)/.exec(marker)?.[1];
    const failed = /\bfailed=(\S+)/.exec(marker)?.[1];
    if (host !== undefined && host !== node.name) failure = `the image says host=${host}, expected ${node.name}`;
    else if (mip !== undefined && mip !== node.ip) failure = `the image says ip=${mip}, expected ${node.ip}`;
    else if (state !== undefined && state !== "running") failure = `systemd is ${state}${failed && failed !== "none" ? `; failed units: ${failed.split(",").join(", ")}` : ""}`;
    else failure = undefined; // a retried step that ended up fine
  }
  return { step, leasedIp, failure, marker };
}
