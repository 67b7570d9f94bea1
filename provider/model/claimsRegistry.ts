import { Claim, ClaimIndex } from "./pxe";

/**
 * Claims of the node groups constructed in this provider process (= this stack), per server, so two groups
 * of one stack that claim the same MAC, IP or name are caught before either is written. Groups of other
 * stacks are found in the server's hostsdir instead. One index per server, grown as groups register.
 * One registry per provider context (the process's one stack), never shared between contexts.
 */
export class ClaimsRegistry {
  private readonly byServer = new Map<string, { groups: Set<string>; index: ClaimIndex }>();

  /** Registers `group`'s claims and returns the server's index (look up with `holder(c, group)`). */
  register(serverKey: string, group: string, claims: Claim[]): ClaimIndex {
    let s = this.byServer.get(serverKey);
    if (!s) this.byServer.set(serverKey, (s = { groups: new Set(), index: new ClaimIndex() }));
    if (s.groups.has(group)) s.index.removeGroup(group);
    s.groups.add(group);
    s.index.add(claims);
    return s.index;
  }
}
