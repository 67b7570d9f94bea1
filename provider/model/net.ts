/** IPv4, CIDR, MAC and host-name helpers. Pure. */

export function parseIPv4(s: unknown): number | undefined {
  if (typeof s !== "string") return undefined;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith("0")))) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export interface Cidr {
  network: number;
  prefix: number;
  mask: number;
  broadcast: number;
}

export function parseCidr(s: unknown): Cidr | undefined {
  if (typeof s !== "string") return undefined;
  const [ip, len, ...rest] = s.split("/");
  if (rest.length || len === undefined || !/^\d{1,2}$/.test(len)) return undefined;
  const prefix = Number(len);
  const addr = parseIPv4(ip);
  if (addr === undefined || prefix < 8 || prefix > 30) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (addr & mask) >>> 0;
  if (network !== addr) return undefined; // host bits set: say so rather than guess
  return { network, prefix, mask, broadcast: (network | (~mask >>> 0)) >>> 0 };
}

/** A usable host address of the subnet (not the network or broadcast address). */
export function inSubnet(c: Cidr, ip: number): boolean {
  return ((ip & c.mask) >>> 0) === c.network && ip !== c.network && ip !== c.broadcast;
}

export function normalizeMac(s: unknown): string | undefined {
  if (typeof s !== "string") return undefined;
  const m = s.trim().toLowerCase().replace(/-/g, ":");
  return /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m) ? m : undefined;
}

/** A DNS label: letters, digits and inner hyphens, 1-63 characters. */
export function isHostname(s: unknown): boolean {
  return typeof s === "string" && /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(s);
}

export function isDomain(s: unknown): boolean {
  return typeof s === "string" && s.length <= 253 && s.split(".").every(isHostname);
}

/** Names used in file names and tags: a DNS label, lower case. */
export function isSafeName(s: unknown): boolean {
  return typeof s === "string" && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s);
}

/**
 * A host as a config names it: an IPv4 address or a DNS name. A name whose last label is all digits is not a
 * host name (RFC 3696 section 2: top-level labels are never all-numeric), so `10.0.0.300` is refused as a bad
 * address instead of being taken for a name that no resolver will ever find.
 */
export function isHostOrIPv4(s: unknown): boolean {
  if (parseIPv4(s) !== undefined) return true;
  return isDomain(s) && !/^\d+$/.test((s as string).split(".").pop() ?? "");
}
