/**
 * dnsmasq config for a PxeServer. See dnsmasq(8) and ../shared/reference/pxe.md.
 *
 * - Every firmware tag that is set is consumed by a boot line (a well-known peer sets `bios` and never
 *   serves it). Firmwares without a boot file get no tag at all.
 * - iPXE chainloading never loops: requests from iPXE (user class `iPXE` or option 175) get the script URL;
 *   everything else gets the iPXE binary for its architecture (`tag:!ipxe`).
 * - Static leases come from the dhcp-hostsdir that node groups write into: new files are read without a
 *   restart; removals need SIGHUP, which the node group's FileSet sends.
 */
import { FIRMWARE_ARCH, FIRMWARES, Firmware, full, PxeServerModel } from "../model/pxe";
import { formatIPv4 } from "../model/net";
import { dhcpOptionSpecs } from "../model/netOptions";
import { header, RenderedFile } from "./types";

/** proxyDHCP client system architecture names (dnsmasq `pxe-service` CSA) per option-93 value. */
const CSA: Record<number, string> = { 0: "x86PC", 7: "BC_EFI", 9: "X86-64_EFI", 11: "ARM64_EFI" };

export function bootScriptUrl(m: PxeServerModel): string {
  return `${m.httpBaseUrl}ipxe/boot.ipxe`;
}

/** In proxy mode, dnsmasq asks BIOS clients for `<basename>.0`; this is that basename. */
export function proxyBiosBasename(file: string): string {
  return file.replace(/\.[^.]*$/, "");
}

export function renderDnsmasq(m: PxeServerModel): RenderedFile {
  const P = (p: string) => full(m, p);
  const mask = formatIPv4(m.subnet.mask);
  const net = formatIPv4(m.subnet.network);
  const L: string[] = [];
  L.push(header("#", `PxeServer "${m.name}" (${m.mode} DHCP on ${m.interface}, ${m.subnetText})`).trimEnd());
  L.push("", "# DHCP and TFTP only: no DNS.", "port=0");
  L.push(`interface=${m.interface}`, "bind-interfaces", "log-dhcp");
  // Under systemd the unit passes the pid file (`-x`); a `pid-file=` line would override it (model/pxe.ts).
  if (!m.dnsmasqInstance) L.push(`pid-file=${P(m.paths.pidFile)}`);
  L.push(`dhcp-leasefile=${P(m.paths.leaseFile)}`);
  L.push("");
  switch (m.mode) {
    case "authoritative":
      L.push("# Authoritative: a dynamic range for unknown machines, static leases for known nodes.");
      L.push(`dhcp-range=set:netboot,${m.range!.start},${m.range!.end},${mask},${m.range!.leaseTime}`);
      L.push("dhcp-authoritative");
      break;
    case "static":
      L.push("# Static: only machines listed in the hosts folder get an address.");
      L.push(`dhcp-range=set:netboot,${net},static,${mask},12h`);
      L.push("dhcp-authoritative");
      break;
    case "proxy":
      L.push("# Proxy: the site's DHCP server hands out addresses; this server only adds boot information.");
      L.push(`dhcp-range=${net},proxy,${mask}`);
      break;
    default: {
      const never: never = m.mode;
      throw new Error(`unknown mode ${never}`);
    }
  }
  L.push(`dhcp-hostsdir=${P(m.paths.hostsDir)}`);
  if (m.domain) L.push(`domain=${m.domain}`);
  if (m.mode !== "proxy") {
    // Node groups' own options (model/netOptions.ts): read like the hostsdir, new files without a restart.
    L.push(`dhcp-optsdir=${P(m.paths.optsDir)}`);
    L.push("", "# Network options for every client; a node group's own (tag:nbg-<group>) win for its nodes.");
    for (const o of dhcpOptionSpecs({ gateway: m.serverIp, ...m.network })) L.push(`dhcp-option=${o}`);
  }
  L.push("", "# TFTP serves only the iPXE binaries; kernels and images go over HTTP.");
  L.push("enable-tftp", `tftp-root=${P(m.paths.tftpRoot)}`);
  L.push("", "# Firmware from DHCP option 93 (client architecture).");
  const fws = FIRMWARES.filter((f) => m.bootFiles[f]);
  for (const fw of fws) for (const arch of FIRMWARE_ARCH[fw]) L.push(`dhcp-match=set:${fw},option:client-arch,${arch}`);
  L.push("", "# Requests from iPXE itself end the chain with the boot script.");
  L.push("dhcp-userclass=set:ipxe,iPXE", "dhcp-match=set:ipxe,175");
  const script = bootScriptUrl(m);
  if (m.mode === "proxy") {
    L.push("pxe-prompt=\"netboot\",0");
    for (const fw of fws) {
      for (const arch of FIRMWARE_ARCH[fw]) {
        const csa = CSA[arch];
        if (!csa) continue;
        L.push(`pxe-service=tag:ipxe,${csa},"netboot iPXE script",${script}`);
        const file = m.bootFiles[fw as Firmware]!;
        L.push(`pxe-service=tag:!ipxe,${csa},"netboot ${fw}",${arch === 0 ? proxyBiosBasename(file) : file}`);
      }
    }
    L.push(`dhcp-boot=tag:ipxe,${script}`);
  } else {
    L.push(`dhcp-boot=tag:ipxe,${script}`);
    L.push("", "# Everything else gets the iPXE binary for its firmware.");
    for (const fw of fws) {
      const file = m.bootFiles[fw as Firmware]!;
      if (fw.startsWith("http-")) {
        L.push(`dhcp-option-force=tag:${fw},option:vendor-class,HTTPClient`);
        L.push(`dhcp-boot=tag:!ipxe,tag:${fw},${m.httpBaseUrl}${file}`);
      } else L.push(`dhcp-boot=tag:!ipxe,tag:${fw},${file},,${m.serverIp}`);
    }
  }
  return { path: m.paths.dnsmasqConf, mode: 0o644, content: L.join("\n") + "\n" };
}

/**
 * What the instance's unit adds to the config file, as `/usr/share/dnsmasq/systemd-helper checkconfig` passes
 * it (init-system-common: `dnsmasq --test ${CONFIG_DIR:+ -7 ..} ${DNSMASQ_OPTS}`, and it appends
 * `--local-service` to DNSMASQ_OPTS). `--conf-file` replaces /etc/dnsmasq.conf, so the config file is the whole
 * configuration; CONFIG_DIR stays unset, so /etc/dnsmasq.d is not read.
 */
export function dnsmasqInstanceOpts(conf: string): string[] {
  return [`--conf-file=${conf}`];
}

/** The unit's own check of the whole configuration, on `conf` (the staged file: `{}`). */
export function dnsmasqInstanceCheck(conf: string): string[] {
  return ["dnsmasq", "--test", ...dnsmasqInstanceOpts(conf), "--local-service"];
}

/**
 * `/etc/default/dnsmasq.<instance>`, sourced by Debian's helper for `dnsmasq@<instance>.service`.
 *
 * DNSMASQ_EXCEPT=lo: the helper's start-resolvconf registers `nameserver 127.0.0.1` with resolvconf unless `lo`
 * is excluded, and this dnsmasq serves no DNS (`port=0`): the host's name resolution would break. `-I lo` on the
 * command line is harmless next to `interface=` and `bind-interfaces`. IGNORE_RESOLVCONF keeps `-r` away.
 */
export function renderDnsmasqDefaults(m: PxeServerModel): RenderedFile {
  if (!m.dnsmasqInstance || !m.paths.dnsmasqDefaults) throw new Error(`PxeServer "${m.name}": dnsmasq defaults exist only for systemd hosts`);
  const content =
    header("#", `PxeServer "${m.name}" (${m.dnsmasqUnit}: read by /usr/share/dnsmasq/systemd-helper)`) +
    `DNSMASQ_OPTS="${dnsmasqInstanceOpts(m.paths.dnsmasqConf).join(" ")}"\n` +
    `DNSMASQ_EXCEPT=lo\n` +
    `IGNORE_RESOLVCONF=yes\n`;
  return { path: m.paths.dnsmasqDefaults, mode: 0o644, content };
}
