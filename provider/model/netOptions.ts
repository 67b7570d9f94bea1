/**
 * DHCP network options (gateway, name servers, NTP servers, search domains, MTU) of a PxeServer or a node group:
 * validated here, rendered as dnsmasq `dhcp-option` lines by render/dnsmasq.ts, honoured on the node by the
 * initramfs's udhcpc script (render/init.ts).
 *
 * Every value is checked to its exact shape (addresses, domain names, an integer) before it reaches a rendered
 * file, so nothing a user types can add a line or an option to dnsmasq's config.
 */
import { Cidr, inSubnet, isDomain, parseIPv4 } from "./net";
import { Issues } from "./errors";

export interface NetworkOptions {
  /** An IPv4 address, or "none": send no router. */
  gateway?: string;
  dnsServers?: string[];
  ntpServers?: string[];
  domainSearch?: string[];
  mtu?: number;
}

export const NETWORK_OPTION_FIELDS = ["gateway", "dnsServers", "ntpServers", "domainSearch", "mtu"] as const;

/** Limits: glibc reads 3 name servers, searches at most 6 domains; 8 servers are plenty for any site. */
const MAX_SERVERS = 8;
const MAX_SEARCH = 6;
/** IPv4's minimum datagram every host must take, and the largest jumbo frame common switches carry. */
export const MTU_MIN = 576;
export const MTU_MAX = 9216;

function addresses(issues: Issues, field: string, v: unknown, what: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    issues.add(field, v, `must be a list of IPv4 addresses of ${what}`);
    return undefined;
  }
  if (v.length === 0) issues.add(field, v, `must list at least one ${what.replace(/s$/, "")} (leave the field out to send none)`);
  if (v.length > MAX_SERVERS) issues.add(field, v.length, `lists more than ${MAX_SERVERS} ${what}`);
  const out: string[] = [];
  v.forEach((a, i) => {
    if (parseIPv4(a) === undefined) issues.add(`${field}[${i}]`, a, "must be an IPv4 address");
    else out.push(a as string);
  });
  return out;
}

/**
 * Reads the five options from `v` (an object holding them among other fields), each reported under
 * `prefix + name`. `subnet`: the boot network, which the gateway must be on (a router is reached on the link).
 */
export function parseNetworkOptions(issues: Issues, prefix: string, v: Record<string, unknown> | undefined, subnet: Cidr | undefined, subnetText?: string): NetworkOptions {
  const out: NetworkOptions = {};
  if (!v) return out;
  const f = (n: string) => `${prefix}${n}`;
  if (v.gateway !== undefined) {
    const g = v.gateway;
    const n = parseIPv4(g);
    if (g === "none") out.gateway = "none";
    else if (n === undefined) issues.add(f("gateway"), g, "must be an IPv4 address, or `none` to send no router");
    else if (subnet && !inSubnet(subnet, n)) issues.add(f("gateway"), g, `is not on the boot network ${subnetText ?? ""}: a gateway must be reachable on the link`.replace("  ", " "));
    else out.gateway = g as string;
  }
  const dns = addresses(issues, f("dnsServers"), v.dnsServers, "name servers");
  if (dns) out.dnsServers = dns;
  const ntp = addresses(issues, f("ntpServers"), v.ntpServers, "NTP servers");
  if (ntp) out.ntpServers = ntp;
  if (v.domainSearch !== undefined) {
    const s = v.domainSearch;
    if (!Array.isArray(s)) issues.add(f("domainSearch"), s, "must be a list of DNS domains");
    else {
      if (s.length === 0) issues.add(f("domainSearch"), s, "must list at least one domain (leave the field out to send none)");
      if (s.length > MAX_SEARCH) issues.add(f("domainSearch"), s.length, `lists more than ${MAX_SEARCH} domains (resolv.conf searches at most ${MAX_SEARCH})`);
      s.forEach((d, i) => { if (!isDomain(d)) issues.add(`${f("domainSearch")}[${i}]`, d, "must be a DNS domain such as cluster.lan"); });
      if (s.every((d) => isDomain(d))) out.domainSearch = s as string[];
    }
  }
  if (v.mtu !== undefined) {
    const m = v.mtu;
    if (!Number.isInteger(m) || (m as number) < MTU_MIN || (m as number) > MTU_MAX) issues.add(f("mtu"), m, `must be an integer from ${MTU_MIN} to ${MTU_MAX}`);
    else out.mtu = m as number;
  }
  return out;
}

export function hasNetworkOptions(o: NetworkOptions | undefined): boolean {
  return !!o && NETWORK_OPTION_FIELDS.some((k) => o[k] !== undefined);
}

/**
 * The options as dnsmasq option specs (what follows `dhcp-option=`, as dhcp-optsdir files hold them), tagged
 * with `tag` when given. The router goes first; `gateway: none` is an empty router option, which dnsmasq sends
 * as no router at all (and which overrides an untagged one for the tagged clients).
 */
export function dhcpOptionSpecs(o: NetworkOptions, tag?: string): string[] {
  const t = tag ? `tag:${tag},` : "";
  const out: string[] = [];
  if (o.gateway !== undefined) out.push(o.gateway === "none" ? `${t}option:router` : `${t}option:router,${o.gateway}`);
  if (o.dnsServers) out.push(`${t}option:dns-server,${o.dnsServers.join(",")}`);
  if (o.ntpServers) out.push(`${t}option:ntp-server,${o.ntpServers.join(",")}`);
  if (o.domainSearch) out.push(`${t}option:domain-search,${o.domainSearch.join(",")}`);
  if (o.mtu !== undefined) out.push(`${t}option:mtu,${o.mtu}`);
  return out;
}

/** The dnsmasq tag a group's static leases set, which its options match. Group names are DNS labels. */
export function groupTag(group: string): string {
  return `nbg-${group}`;
}
