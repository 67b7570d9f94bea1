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
  /**
   * A file, or (ending in `/`) a folder and everything in it: an Initramfs owns its `images/<name>/` folder,
   * whose file names carry content hashes that are only known once it is built.
   */
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

/** One key per path: `/etc//hosts` and `/etc/./hosts` are one file; a folder claim keeps its trailing `/`. */
export function claimKey(p: string): string {
  return path.posix.normalize(p);
}

/**
 * The keys of `byKey` whose claims overlap the claim of `p` (see PathClaim): the same path, a folder claim of
 * `p` or of one of its parents, and for a folder claim every path below it. Pure. A file claim costs one lookup
 * per parent folder; only a folder claim scans the keys (there are few: one per Initramfs).
 */
export function overlapping<T>(p: string, byKey: ReadonlyMap<string, T>): string[] {
  const k = claimKey(p);
  const folder = k.endsWith("/") && k !== "/";
  const bare = folder ? k.slice(0, -1) : k;
  const out = new Set<string>();
  for (const c of [bare, bare + "/"]) if (byKey.has(c)) out.add(c);
  for (let d = path.posix.dirname(bare); ; d = path.posix.dirname(d)) {
    const f = d === "/" ? "/" : d + "/";
    if (byKey.has(f)) out.add(f);
    if (d === "/") break;
  }
  if (folder) for (const x of byKey.keys()) if (x.startsWith(bare + "/")) out.add(x);
  return [...out];
}

export class PathOwners {
  /** host -> claim key -> holder */
  private readonly byHost = new Map<string, Map<string, { owner: string; field: string }>>();
  /** owner -> its claims as [host, key] */
  private readonly byOwner = new Map<string, Array<[string, string]>>();

  /**
   * Claims `claims` for `owner` (a URN), replacing what `owner` claimed before (a resource checked again, or
   * with other paths, lets go of the old ones). Returns the claims some other owner already holds; those are
   * not recorded, so the holder keeps them.
   */
  claim(owner: string, claims: PathClaim[]): OwnershipConflict[] {
    this.release(owner);
    const conflicts: OwnershipConflict[] = [];
    const mine: Array<[string, string]> = [];
    for (const c of claims) {
      let paths = this.byHost.get(c.host);
      if (!paths) this.byHost.set(c.host, (paths = new Map()));
      const k = claimKey(c.path);
      const h = overlapping(k, paths).map((x) => paths!.get(x)!).find((x) => x.owner !== owner);
      if (h) {
        conflicts.push({ ...c, holder: h.owner, holderField: h.field });
        continue;
      }
      paths.set(k, { owner, field: c.field });
      mine.push([c.host, k]);
    }
    this.byOwner.set(owner, mine);
    return conflicts;
  }

  /** Drops every claim of `owner`. */
  release(owner: string): void {
    for (const [host, k] of this.byOwner.get(owner) ?? []) {
      const paths = this.byHost.get(host);
      if (paths?.get(k)?.owner === owner) paths.delete(k);
    }
    this.byOwner.delete(owner);
  }
}
