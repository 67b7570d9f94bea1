import { Claim, parseHostsFile } from "../model/pxe";
import { Host } from "../schema-types";
import { transportFor } from "../transport";

/**
 * Claims already on the server, written by node groups of other stacks (or by hand): every file in the
 * hostsdir except this group's own. Read-only.
 */
export async function readHostsDirClaims(host: Host, hostsDir: string, ownGroup: string): Promise<Claim[]> {
  const t = transportFor(host);
  const names = (await t.list(hostsDir)) ?? [];
  const out: Claim[] = [];
  for (const n of names) {
    if (n === ownGroup || n.startsWith(".")) continue;
    const data = await t.get(`${hostsDir}/${n}`);
    if (data) out.push(...parseHostsFile(`${hostsDir}/${n}`, data.toString("utf8")));
  }
  return out;
}
