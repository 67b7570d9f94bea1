import { ClaimIndex, parseHostsFile } from "../model/pxe";
import { hostKey } from "../model/host";
import { Host } from "../schema-types";
import { Transport } from "../transport";

/**
 * Every claim in the files of `hostsDir` on the host behind `t`. The folder is the PxeServer's (netboot owns it),
 * so it is read confined (transport.ts): a hostsdir replaced by a symlink holds no claims (the PxeServer reports
 * the symlink as drift and `up` replaces it), and neither does a symlink in it, instead of netboot taking
 * whatever is behind the link for other groups' leases.
 */
export async function readHostsDir(t: Transport, hostsDir: string): Promise<ClaimIndex> {
  const index = new ClaimIndex();
  const confine = { confined: true, within: hostsDir };
  for (const n of (await t.list(hostsDir, confine)) ?? []) {
    if (n.startsWith(".")) continue;
    const data = await t.get(`${hostsDir}/${n}`, confine);
    if (data) index.add(parseHostsFile(`${hostsDir}/${n}`, data.toString("utf8")));
  }
  return index;
}

/**
 * Claims already on the server, written by node groups of other stacks (or by hand): every file in the
 * hostsdir except this group's own. Read-only. The folder is read once per provider context (one engine
 * operation) and shared by all groups of the server: 50 groups read it once, not 50 times.
 */
export class HostsDirClaims {
  private readonly cache = new Map<string, Promise<ClaimIndex>>();

  constructor(private readonly transport: (host: Host) => Transport) {}

  /**
   * The claims in the server's hostsdir as an index; claims are grouped by file path (`<hostsDir>/<group>`), so
   * a group skips its own file with `holder(c, ownFile)`.
   */
  async read(host: Host, hostsDir: string, ownGroup: string): Promise<{ index: ClaimIndex; except: string }> {
    const key = `${hostKey(host)}${hostsDir}`;
    let index = this.cache.get(key);
    if (!index) this.cache.set(key, (index = readHostsDir(this.transport(host), hostsDir)));
    return { index: await index, except: `${hostsDir}/${ownGroup}` };
  }
}
