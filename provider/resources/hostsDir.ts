import { Claim, parseHostsFile } from "../model/pxe";
import { Host } from "../schema-types";
import { hostKey, transportFor } from "../transport";

/**
 * Claims already on the server, written by node groups of other stacks (or by hand): every file in the
 * hostsdir except this group's own. Read-only. The folder is read once per provider process (one engine
 * operation) and shared by all groups of the server: 50 groups read it once, not 50 times.
 */
const cache = new Map<string, Promise<Map<string, Claim[]>>>();

async function readAll(host: Host, hostsDir: string): Promise<Map<string, Claim[]>> {
  const t = transportFor(host);
  const out = new Map<string, Claim[]>();
  for (const n of (await t.list(hostsDir)) ?? []) {
    if (n.startsWith(".")) continue;
    const data = await t.get(`${hostsDir}/${n}`);
    if (data) out.set(n, parseHostsFile(`${hostsDir}/${n}`, data.toString("utf8")));
  }
  return out;
}

export async function readHostsDirClaims(host: Host, hostsDir: string, ownGroup: string): Promise<Claim[]> {
  const key = `${hostKey(host)}${hostsDir}`;
  let files = cache.get(key);
  if (!files) cache.set(key, (files = readAll(host, hostsDir)));
  return [...(await files).entries()].filter(([n]) => n !== ownGroup).flatMap(([, c]) => c);
}
