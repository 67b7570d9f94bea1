import { ClaimIndex, parseHostsFile } from "../model/pxe";
import { Host } from "../schema-types";
import { hostKey, Transport, transportFor } from "../transport";

/**
 * Claims already on the server, written by node groups of other stacks (or by hand): every file in the
 * hostsdir except this group's own. Read-only. The folder is read once per provider process (one engine
 * operation) and shared by all groups of the server: 50 groups read it once, not 50 times.
 */
const cache = new Map<string, Promise<ClaimIndex>>();

/** Every claim in the files of `hostsDir` on the host behind `t`. */
export async function readHostsDir(t: Transport, hostsDir: string): Promise<ClaimIndex> {
  const index = new ClaimIndex();
  for (const n of (await t.list(hostsDir)) ?? []) {
    if (n.startsWith(".")) continue;
    const data = await t.get(`${hostsDir}/${n}`);
    if (data) index.add(parseHostsFile(`${hostsDir}/${n}`, data.toString("utf8")));
  }
  return index;
}

/**
 * The claims in the server's hostsdir as an index; claims are grouped by file path (`<hostsDir>/<group>`), so
 * a group skips its own file with `holder(c, ownFile)`.
 */
export async function readHostsDirClaims(host: Host, hostsDir: string, ownGroup: string): Promise<{ index: ClaimIndex; except: string }> {
  const key = `${hostKey(host)}${hostsDir}`;
  let index = cache.get(key);
  if (!index) cache.set(key, (index = readHostsDir(transportFor(host), hostsDir)));
  return { index: await index, except: `${hostsDir}/${ownGroup}` };
}
