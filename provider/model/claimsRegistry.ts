import { Claim } from "./pxe";

/**
 * Claims of the node groups constructed in this provider process (= this stack), per server, so two groups
 * of one stack that claim the same MAC, IP or name are caught before either is written. Groups of other
 * stacks are found in the server's hostsdir instead.
 */
const byServer = new Map<string, Map<string, Claim[]>>();

export function registerClaims(serverKey: string, group: string, claims: Claim[]): Claim[] {
  let groups = byServer.get(serverKey);
  if (!groups) byServer.set(serverKey, (groups = new Map()));
  groups.set(group, claims);
  return [...groups.entries()].filter(([g]) => g !== group).flatMap(([, c]) => c);
}
