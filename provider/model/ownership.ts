/**
 * Who owns which path on which host, among the resources of this provider process (= this stack's run).
 * Two resources that write one path would each rewrite it on every `pulumi up` and delete it when either goes,
 * so the second claim is refused at check (preview), naming both resources.
 *
 * One instance per provider process, made in provider.ts and passed to where claims are made (the ctx
 * branch moves it into the ProviderContext). Not a module-level map: tests make their own.
 *
 * Claims of other stacks on the same host are not in this object (another stack runs in another process): each
 * host's intent journal records the paths of every resource applied there (resources/journal.ts, `paths` of an
 * entry), and the provider checks the claims that pass here against it (`JournalOwners`, `ForeignClaim` below).
 */
import * as path from "path";

/** Why a path has one owner, for every refusal of a second one (within a stack and across stacks). */
export const ONE_OWNER = "two resources must not own one path (each would rewrite it on every run, and deleting either would remove it)";

export interface PathClaim {
  /** hostKey() of the host (`local:/tmp/target`, `ssh:root@10.0.0.1:22`) */
  host: string;
  path: string;
  /** the field of the claiming resource that names the path (`files["/etc/hosts"]`, `path`) */
  field: string;
}

export interface OwnershipConflict extends PathClaim {
  /** the resource that claimed the path first */
  holder: string;
  holderField: string;
}

/** A path this stack claims that a journal entry of another stack on the host holds (resources/journal.ts). */
export interface ForeignClaim extends PathClaim {
  /** the other stack's resource (its URN) */
  holder: string;
  holderState: "applying" | "done" | "deleting";
  /** the entry to remove if that stack no longer exists, as a full path on the host (below `root` locally) */
  entryFile: string;
  /** the host, as its transport names it */
  hostDescription: string;
  /** an SSH host (the entry is removed there), not this machine or a local target folder */
  remote: boolean;
}

export class PathOwners {
  private readonly byPath = new Map<string, { owner: string; field: string }>();
  private readonly byOwner = new Map<string, string[]>();

  /**
   * Claims `claims` for `owner` (a URN), replacing what `owner` claimed before (a resource checked again, or
   * with other paths, lets go of the old ones). Returns the claims some other owner already holds; those are
   * not recorded, so the holder keeps them.
   */
  claim(owner: string, claims: PathClaim[]): OwnershipConflict[] {
    this.release(owner);
    const conflicts: OwnershipConflict[] = [];
    const mine: string[] = [];
    for (const c of claims) {
      // `/etc//hosts` and `/etc/./hosts` are one file
      const k = `${c.host}\0${path.posix.normalize(c.path)}`;
      const h = this.byPath.get(k);
      if (h && h.owner !== owner) {
        conflicts.push({ ...c, holder: h.owner, holderField: h.field });
        continue;
      }
      this.byPath.set(k, { owner, field: c.field });
      mine.push(k);
    }
    this.byOwner.set(owner, mine);
    return conflicts;
  }

  /** Drops every claim of `owner`. */
  release(owner: string): void {
    for (const k of this.byOwner.get(owner) ?? []) if (this.byPath.get(k)?.owner === owner) this.byPath.delete(k);
    this.byOwner.delete(owner);
  }
}
