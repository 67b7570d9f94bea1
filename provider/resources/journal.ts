/**
 * Intent journal: how netboot knows when Pulumi's state cannot be trusted.
 *
 * The engine checkpoints a resource's outputs only after the provider's create/update/delete returned. If the
 * engine is killed inside an operation, or in the few milliseconds between our reply and its checkpoint, the
 * state describes an older host: a killed `destroy` leaves a resource in state whose files are gone, a killed
 * update followed by a revert of the program leaves new files on the host while state and program agree on the
 * old ones. Comparing the program with state alone (what diff() does) then reports "no changes" over a wrong
 * host. Re-reading every file on every preview would fix it at the cost of a full refresh each time (at 10,000
 * nodes, one read per file); the journal fixes it for one small read per resource.
 *
 * The rule: every apply writes `<dir>/<key>.json` = {state: "applying", nonce: N} before it changes anything and
 * {state: "done", nonce: N} after, and returns N in the resource's outputs. A delete marks {state: "deleting"},
 * removes what the resource owns, then the journal entry. diff() trusts state only when the entry says "done"
 * with the nonce state carries; any other answer (missing, applying, deleting, another nonce) means an operation
 * did not reach the state file, and diff() reports a change so that `up` re-applies (the apply itself compares
 * against what is on the host, so this converges) and `preview --expect-no-changes` fails.
 *
 * Each step is idempotent: a rerun after any interruption writes the same entry again. The journal lives on
 * the host it describes, so it is right for every stack and checkout that manages that host.
 *
 * Each entry also names the host paths its resource owns (`paths`, the list the handler's `ownedPaths` claims at
 * check, normalized and sorted), in every state: a resource half applied or half deleted still owns them. That is
 * how a stack sees the paths of another stack on the same host (`JournalOwners` below, consulted at check beside
 * this process's PathOwners, see model/ownership.ts). Entries of an older netboot have no `paths`: they own
 * nothing as far as this check knows.
 *
 * A check reads what was applied, so two stacks that check the same path at the same moment (neither applied yet)
 * both pass. The apply closes that gap by claim-then-verify (`journaled` below): it writes its own `applying` entry
 * with its paths first, then re-reads the entries of other stacks (fresh, not the check's cache), and when one
 * holds one of its paths it withdraws its claim (puts its previous entry back, or removes the one it just made)
 * and fails before it changes any file. Each of two racing applies writes its claim before it reads the others',
 * and a write that has returned is seen by every later listing and read of the host's file system: so if A's read
 * missed B's claim, that read came before B's write, which comes before B's read, which sees A's claim. At least
 * one of the two sees the other; both may (both fail, the host unchanged, and a rerun of one succeeds).
 */
import { createHash, randomBytes } from "crypto";
import * as path from "path";
import { hostKey, hostPath } from "../model/host";
import { formatIssue } from "../model/errors";
import { claimKey, ForeignClaim, ONE_OWNER, overlapping, PathClaim } from "../model/ownership";
import { Host } from "../schema-types";
import { Transport } from "../transport";
import { reveal } from "../values";
import { describeStack, describeUrn, ResourceHandler } from "./handler";

/** Host folder of the journal (below `root` for a local target folder, like every host path). */
export const JOURNAL_DIR = "/var/lib/netboot/journal";

/**
 * Journal reads are confined like the reads of every folder netboot owns (transport.ts): a journal folder replaced
 * by a symlink reads as empty rather than as entries from elsewhere (and a write there is refused, naming it).
 */
const IN_JOURNAL = { confined: true, within: JOURNAL_DIR } as const;

export type JournalState = "applying" | "done" | "deleting";

export interface JournalEntry {
  urn: string;
  state: JournalState;
  nonce: string;
  /** Host paths the resource owns (normalized, sorted). Absent in entries of an older netboot. */
  paths?: string[];
}

/** Stable per resource (the URN survives updates; the id does not survive a create that was cut short). */
export function journalPath(urn: string): string {
  return `${JOURNAL_DIR}/${createHash("sha256").update(urn).digest("hex").slice(0, 32)}.json`;
}

/**
 * The nonce state holds when the host had no writable journal folder (an unprivileged SSH login, a read-only
 * /var/lib): the apply went ahead without the journal, with a warning, and diff falls back to trusting state.
 */
export const JOURNAL_OFF = "off";

/** Errors that mean "no journal here" rather than "the host is in trouble". */
function unwritable(e: unknown): boolean {
  return /permission denied|read-only file system|operation not permitted/i.test(String((e as Error)?.message ?? e));
}

export function newNonce(): string {
  return randomBytes(12).toString("hex");
}

async function write(t: Transport, e: JournalEntry): Promise<string[]> {
  const entry = e.paths ? { ...e, paths: [...new Set(e.paths.map((p) => path.posix.normalize(p)))].sort() } : e;
  const r = await t.put(journalPath(e.urn), JSON.stringify(entry) + "\n", { mode: 0o600 });
  return r.createdDirs;
}

/** Before an apply changes anything. Returns folders it had to create (the caller may own them). */
export function beginApply(t: Transport, urn: string, nonce: string, paths?: string[]): Promise<string[]> {
  return write(t, { urn, state: "applying", nonce, paths });
}

/** After an apply finished; `nonce` goes into the resource's outputs. */
export async function endApply(t: Transport, urn: string, nonce: string, paths?: string[]): Promise<void> {
  await write(t, { urn, state: "done", nonce, paths });
}

/** `paths`: what the resource owned (from its state); they stay owned until the delete finished. */
export async function beginDelete(t: Transport, urn: string, paths?: string[]): Promise<void> {
  await write(t, { urn, state: "deleting", nonce: "", paths });
}

/** Last step of a delete: the entry goes, then the journal folders if nothing else is in them. */
export async function endDelete(t: Transport, urn: string): Promise<void> {
  await t.remove(journalPath(urn));
  // A real host keeps /var/lib; a local target folder (which stands in for a host and belongs to netboot) is
  // pruned up to its root, so a destroy leaves it as it was.
  const stop = t.prunesEmptyFolders ? "/" : "/var/lib";
  for (let d = JOURNAL_DIR; d !== stop; d = path.posix.dirname(d)) if (!(await t.removeDirIfEmpty(d))) break;
}

/** An entry from its text, or undefined when it is not one (`paths` other than a list of strings is read as absent). */
export function parseEntry(text: string): JournalEntry | undefined {
  try {
    const e = JSON.parse(text);
    const known: JournalState[] = ["applying", "done", "deleting"];
    if (!e || typeof e !== "object" || !known.includes(e.state) || typeof e.nonce !== "string" || typeof e.urn !== "string") return undefined;
    const paths = Array.isArray(e.paths) && e.paths.every((p: unknown) => typeof p === "string") ? (e.paths as string[]) : undefined;
    return { urn: e.urn, state: e.state, nonce: e.nonce, ...(paths ? { paths } : {}) };
  } catch {
    return undefined; // a torn or hand-edited entry is as good as none: not trusted
  }
}

export async function readEntry(t: Transport, urn: string): Promise<JournalEntry | undefined> {
  const data = await t.get(journalPath(urn), IN_JOURNAL);
  return data ? parseEntry(data.toString("utf8")) : undefined;
}

/** `urn:pulumi:<stack>::<project>::`: what two URNs of one stack share. */
export function stackOf(urn: string): string {
  return urn.split("::").slice(0, 2).join("::") + "::";
}

/** A host's journal as one provider process read it. */
interface JournalSnapshot {
  /** normalized path -> the entries that own it, by URN */
  owners: Map<string, JournalEntry[]>;
  /** the host as its transport names it */
  description: string;
  /** entry file name -> the URN it holds (every entry that parsed, with or without paths) */
  urns: Map<string, string>;
}

/**
 * The paths other stacks own on a host, from the host's journal: the folder is listed once per host per provider
 * process (one engine operation) and every entry read once, however many resources check against it (as
 * HostsDirClaims does for the hostsdir). Read-only. Within one process every resource is of one stack, whose own
 * entries are skipped (this process's PathOwners decides for them, and a resource renamed or aliased in this stack
 * must not conflict with its own old entry); so entries this process writes later cannot make the cache wrong.
 * A host without a readable journal folder gives no information, not an error.
 *
 * `claimed` is the apply-time re-read (claim-then-verify, header): fresh, but it reads only the entries that may
 * hold another stack's claim. An entry's file name is the hash of its URN, so a name known to hold this stack's
 * URN (from the check's read, or written by this process) can hold no other stack's entry and is not read again;
 * every other name is (another stack's entry may have changed its paths since the check). In a host one stack
 * manages, that is one listing per apply and no reads.
 */
export class JournalOwners {
  private readonly cache = new Map<string, Promise<JournalSnapshot>>();
  /** per host: entry file name -> URN, for the entries this process wrote */
  private readonly written = new Map<string, Map<string, string>>();

  constructor(private readonly transport: (host: Host) => Transport) {}

  private read(host: Host): Promise<JournalSnapshot> {
    const key = hostKey(host);
    let m = this.cache.get(key);
    if (!m) {
      // a transport that cannot even be opened (its error is the resource's own check's to report) knows nothing
      m = Promise.resolve()
        .then(async () => {
          const t = this.transport(host);
          return { ...(await readOwners(t)), description: t.description };
        })
        .catch(() => ({ owners: new Map<string, JournalEntry[]>(), description: key, urns: new Map<string, string>() }));
      this.cache.set(key, m);
    }
    return m;
  }

  /** The claims of `urn` on `host` that an entry of another stack holds. */
  async foreign(host: Host, urn: string, claims: PathClaim[]): Promise<ForeignClaim[]> {
    const key = hostKey(host);
    const mine = claims.filter((c) => c.host === key);
    if (!mine.length) return [];
    const { owners, description } = await this.read(host);
    const out: ForeignClaim[] = [];
    for (const c of mine) {
      // the same path, or a folder claim (an Initramfs' `images/<name>/`) that holds it or that it holds
      const e = overlapping(c.path, owners).flatMap((k) => owners.get(k)!).find((x) => stackOf(x.urn) !== stackOf(urn));
      if (e) out.push(foreignClaim(host, c, e, description));
    }
    return out;
  }

  /** Before this process writes `urn`'s entry on `host`: its file is this stack's, not to be re-read by `claimed`. */
  noteWrite(host: Host, urn: string): void {
    const key = hostKey(host);
    let m = this.written.get(key);
    if (!m) this.written.set(key, (m = new Map()));
    m.set(path.posix.basename(journalPath(urn)), urn);
  }

  /**
   * The claims of `urn` on `host` that another stack's entry holds now (read from the host, after `urn`'s own
   * claim was written): one listing of the folder, and a read of each entry not known to be this stack's.
   * A folder that cannot be listed (permission denied) gives no information, as at check.
   */
  async claimed(host: Host, urn: string, claims: PathClaim[]): Promise<ForeignClaim[]> {
    const key = hostKey(host);
    const mine = new Map(claims.filter((c) => c.host === key).map((c) => [claimKey(c.path), c]));
    if (!mine.size) return [];
    const t = this.transport(host);
    let names: string[];
    try {
      names = await entryNames(t);
    } catch (e) {
      if (unwritable(e)) return [];
      throw e;
    }
    // the check's read, if this process made one (it always has before an apply of `up`); else every name is read
    const known = this.cache.has(key) ? (await this.read(host)).urns : new Map<string, string>();
    const ours = (n: string) => {
      const u = this.written.get(key)?.get(n) ?? known.get(n);
      return u !== undefined && stackOf(u) === stackOf(urn);
    };
    const toRead = names.filter((n) => !ours(n));
    const out: ForeignClaim[] = [];
    // an entry this login may not read tells nothing, as at check; any other failure (the host went away) stops
    // the apply with its claim in place, which is what an interrupted apply leaves
    for (const e of await readEntries(t, toRead, unwritable)) {
      if (!e?.paths || stackOf(e.urn) === stackOf(urn)) continue;
      // the same path, or a folder claim (an Initramfs' `images/<name>/`) on either side that holds the other
      const hit = new Set(e.paths.flatMap((p) => overlapping(p, mine)));
      for (const k of hit) out.push(foreignClaim(host, mine.get(k)!, e, t.description));
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.holder < b.holder ? -1 : a.holder > b.holder ? 1 : 0));
  }
}

function foreignClaim(host: Host, c: PathClaim, e: JournalEntry, description: string): ForeignClaim {
  return { ...c, holder: e.urn, holderState: e.state, entryFile: hostPath(host, journalPath(e.urn)), hostDescription: description, remote: !!reveal<Host>(host).ssh };
}

/**
 * The refusal of a path another stack's entry holds, as check gives it and (`atApply`) as an apply gives it when
 * the claim appeared after this resource's check (the two stacks ran at once).
 */
export function foreignReason(urn: string, c: ForeignClaim, atApply = false): string {
  const deleting = c.holderState === "deleting";
  const reason = formatIssue({
    resource: describeUrn(urn), field: c.field, value: c.path,
    message: `is also written by ${describeUrn(c.holder)} of ${describeStack(c.holder)} (${c.holder}${deleting ? ", whose delete was interrupted" : ""}), per the intent journal of ${c.hostDescription}; ${ONE_OWNER}. ` +
      `Remove the path from one of the two stacks${deleting ? ", or finish that stack's destroy" : ""}; if that stack no longer exists, remove its journal entry: rm ${c.entryFile}${c.remote ? ` (on ${c.hostDescription})` : ""}`,
  });
  // after formatIssue, which cuts a message at 600 characters: this part holds no user value, and the `rm` must stay
  if (!atApply) return reason;
  const both = c.holderState === "applying" ? "; if that stack's apply fails the same way, both did: rerun one of them" : "";
  return `${reason}. This apply withdrew its claim and changed no file: that claim appeared after this resource's check (the two stacks ran at the same time)${both}`;
}

/** The entry files in a host's journal folder, sorted (none when it does not exist). */
async function entryNames(t: Transport): Promise<string[]> {
  return ((await t.list(JOURNAL_DIR, IN_JOURNAL)) ?? []).filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort();
}

/**
 * The entries of `names`, in order (undefined: gone, torn, or a read failure `tolerate` accepts; any other
 * failure rejects). A few reads at a time: over SSH each is one round trip, and a host may hold thousands.
 */
async function readEntries(t: Transport, names: string[], tolerate: (e: unknown) => boolean): Promise<(JournalEntry | undefined)[]> {
  const out: (JournalEntry | undefined)[] = [];
  for (let i = 0; i < names.length; i += 16) {
    const batch = await Promise.all(names.slice(i, i + 16).map((n) => t.get(`${JOURNAL_DIR}/${n}`, IN_JOURNAL).catch((e) => (tolerate(e) ? undefined : Promise.reject(e)))));
    for (const d of batch) out.push(d ? parseEntry(d.toString("utf8")) : undefined);
  }
  return out;
}

async function readOwners(t: Transport): Promise<{ owners: Map<string, JournalEntry[]>; urns: Map<string, string> }> {
  let names: string[];
  try {
    names = await entryNames(t);
  } catch {
    return { owners: new Map(), urns: new Map() }; // unreadable (an unprivileged login): no cross-stack information
  }
  const entries: JournalEntry[] = [];
  const urns = new Map<string, string>();
  // at check, an entry that cannot be read tells nothing, whatever the reason
  (await readEntries(t, names, () => true)).forEach((e, j) => {
    if (e) urns.set(names[j], e.urn);
    if (e?.paths) entries.push(e);
  });
  const owners = new Map<string, JournalEntry[]>();
  for (const e of entries.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0)))
    for (const p of new Set(e.paths!.map(claimKey))) owners.set(p, [...(owners.get(p) ?? []), e]);
  return { owners, urns };
}

/**
 * Why state cannot be trusted for this resource, or undefined when it can. `stateNonce` is the nonce the
 * engine's state holds (outputs of the last apply it recorded).
 */
export function distrust(entry: JournalEntry | undefined, stateNonce: string | undefined): string | undefined {
  if (stateNonce === JOURNAL_OFF) return undefined; // the host gave no place for a journal: state is all there is
  if (!stateNonce) return "state predates the journal (written by an older netboot): re-applying once";
  if (!entry) return "no journal entry on the host: an earlier delete or destroy was interrupted after it removed files";
  switch (entry.state) {
    case "applying":
      return "an earlier apply was interrupted (or failed) before it finished";
    case "deleting":
      return "an earlier delete or destroy was interrupted";
    case "done":
      return entry.nonce === stateNonce ? undefined : "the last apply on the host is not the one in state (interrupted before the engine saved it)";
    default: {
      const never: never = entry.state;
      return `unknown journal state ${String(never)}`;
    }
  }
}

/**
 * The journal rule around a handler that places files on a host (see the header): every create and update is
 * bracketed by `applying`/`done` and returns the nonce in its outputs (`journal`), every delete by `deleting`
 * and the entry's removal, and diff reports a change named `journal` whenever the host's entry does not vouch
 * for the state it is given. `hostOf` names the host a resource's state writes to (undefined: not journaled).
 * Each entry records the paths the handler's `ownedPaths` gives for that host; with `owners`, the handler also
 * answers `foreignOwners` (the claims another stack's entries hold there), which the provider asks at check.
 */
export function journaled(
  h: ResourceHandler,
  transport: (host: Host) => Transport,
  hostOf: (props: any) => Host | undefined,
  report: (urn: string, message: string) => void = () => undefined,
  owners?: JournalOwners,
): ResourceHandler {
  /** The claims `props` (inputs or state) make on `host`, for its entry (undefined: the handler claims none). */
  const claimsOf = (host: Host, props: any): PathClaim[] | undefined => {
    const claims = h.ownedPaths?.(props);
    if (!claims) return undefined;
    const key = hostKey(host);
    return claims.filter((c) => c.host === key);
  };
  const pathsOf = (host: Host, props: any): string[] | undefined => claimsOf(host, props)?.map((c) => c.path);
  // the apply-time re-read of other stacks' claims (header: claim-then-verify); its own reader when none is shared
  const verifier = owners ?? new JournalOwners(transport);
  const apply = async <T extends { outs?: any }>(urn: string, host: Host | undefined, props: any, run: () => Promise<T>): Promise<T> => {
    if (!host) return run();
    const t = transport(host);
    const nonce = newNonce();
    const claims = claimsOf(host, props);
    const paths = claims?.map((c) => c.path);
    // the entry this claim replaces (an update's `done`, an interrupted apply's), put back if the claim is withdrawn
    let previous: Buffer | undefined;
    try {
      if (claims?.length) previous = await t.get(journalPath(urn), IN_JOURNAL);
      verifier.noteWrite(host, urn);
      await beginApply(t, urn, nonce, paths);
    } catch (e) {
      if (!unwritable(e)) throw e;
      report(urn, `netboot: warning: no intent journal on ${t.description} (${JOURNAL_DIR} is not writable): an interrupted apply will need \`pulumi refresh\``);
      const r = await run();
      return { ...r, outs: { ...r.outs, journal: JOURNAL_OFF } };
    }
    // Our claim is on the host: now another stack's claim on one of our paths, made since our check, is seen
    // (or that stack sees ours). Nothing was changed yet, so refusing here leaves the host as it was.
    const taken = claims?.length ? await verifier.claimed(host, urn, claims) : [];
    if (taken.length) {
      if (previous) await t.put(journalPath(urn), previous, { mode: 0o600 });
      else await endDelete(t, urn);
      throw new Error(taken.map((c) => foreignReason(urn, c, true)).join("\n"));
    }
    const r = await run();
    await endApply(t, urn, nonce, paths);
    return { ...r, outs: { ...r.outs, journal: nonce } };
  };
  const foreignOwners = owners
    ? async (urn: string, inputs: any, claims: PathClaim[]): Promise<ForeignClaim[]> => {
        const host = hostOf(inputs);
        return host ? owners.foreign(host, urn, claims) : [];
      }
    : h.foreignOwners;
  return {
    ...h,
    ...(foreignOwners ? { foreignOwners } : {}),
    async diff(id, urn, olds, news, oldInputs) {
      const d = await h.diff(id, urn, olds, news, oldInputs);
      const host = hostOf(olds);
      // a resource being replaced (another host) is written from scratch anyway
      if (!host || d.replaces?.length) return d;
      const why = distrust(await readEntry(transport(host), urn), olds?.journal);
      if (!why) return d;
      report(urn, `netboot: re-applying: ${why}`);
      return { ...d, changes: true, detailedDiff: { ...(d.detailedDiff ?? {}), journal: { kind: "update" } } };
    },
    create: (urn, inputs) => apply(urn, hostOf(inputs), inputs, () => h.create(urn, inputs)),
    async update(id, urn, olds, news) {
      // An update that moves to another host (NetworkImage's publish host) also changes the old one (it clears
      // what was there): its entry, the one diff reads while state names that host, says `applying` until the
      // move is done, and then goes.
      const from = hostOf(olds);
      const to = hostOf(news);
      const away = from && to && olds?.journal !== JOURNAL_OFF && transport(from) !== transport(to) ? transport(from) : undefined;
      if (!away) return apply(urn, to, news, () => h.update(id, urn, olds, news));
      verifier.noteWrite(from!, urn);
      await beginApply(away, urn, newNonce(), pathsOf(from!, olds));
      const r = await apply(urn, to, news, () => h.update(id, urn, olds, news));
      await endDelete(away, urn);
      return r;
    },
    async read(id, urn, props, inputs) {
      const r = await h.read(id, urn, props, inputs);
      // refresh re-reads the host, but the journal still speaks for the last apply: keep its nonce
      return props?.journal && r.props && r.props.journal === undefined ? { ...r, props: { ...r.props, journal: props.journal } } : r;
    },
    async delete(id, urn, props) {
      const host = hostOf(props);
      if (!host) return h.delete(id, urn, props);
      const t = transport(host);
      if (props?.journal === JOURNAL_OFF) return h.delete(id, urn, props);
      verifier.noteWrite(host, urn);
      await beginDelete(t, urn, pathsOf(host, props));
      await h.delete(id, urn, props);
      await endDelete(t, urn);
    },
  };
}
