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
 */
import { createHash, randomBytes } from "crypto";
import * as path from "path";
import { Host } from "../schema-types";
import { Transport } from "../transport";
import { ResourceHandler } from "./handler";

/** Host folder of the journal (below `root` for a local target folder, like every host path). */
export const JOURNAL_DIR = "/var/lib/netboot/journal";

export type JournalState = "applying" | "done" | "deleting";

export interface JournalEntry {
  urn: string;
  state: JournalState;
  nonce: string;
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
  const r = await t.put(journalPath(e.urn), JSON.stringify(e) + "\n", { mode: 0o600 });
  return r.createdDirs;
}

/** Before an apply changes anything. Returns folders it had to create (the caller may own them). */
export function beginApply(t: Transport, urn: string, nonce: string): Promise<string[]> {
  return write(t, { urn, state: "applying", nonce });
}

/** After an apply finished; `nonce` goes into the resource's outputs. */
export async function endApply(t: Transport, urn: string, nonce: string): Promise<void> {
  await write(t, { urn, state: "done", nonce });
}

export async function beginDelete(t: Transport, urn: string): Promise<void> {
  await write(t, { urn, state: "deleting", nonce: "" });
}

/** Last step of a delete: the entry goes, then the journal folders if nothing else is in them. */
export async function endDelete(t: Transport, urn: string): Promise<void> {
  await t.remove(journalPath(urn));
  // A real host keeps /var/lib; a local target folder (which stands in for a host and belongs to netboot) is
  // pruned up to its root, so a destroy leaves it as it was.
  const stop = t.prunesEmptyFolders ? "/" : "/var/lib";
  for (let d = JOURNAL_DIR; d !== stop; d = path.posix.dirname(d)) if (!(await t.removeDirIfEmpty(d))) break;
}

export async function readEntry(t: Transport, urn: string): Promise<JournalEntry | undefined> {
  const data = await t.get(journalPath(urn));
  if (!data) return undefined;
  try {
    const e = JSON.parse(data.toString("utf8"));
    const known: JournalState[] = ["applying", "done", "deleting"];
    return e && typeof e === "object" && known.includes(e.state) && typeof e.nonce === "string" ? e : undefined;
  } catch {
    return undefined; // a torn or hand-edited entry is as good as none: not trusted
  }
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
 */
export function journaled(
  h: ResourceHandler,
  transport: (host: Host) => Transport,
  hostOf: (props: any) => Host | undefined,
  report: (urn: string, message: string) => void = () => undefined,
): ResourceHandler {
  const apply = async <T extends { outs?: any }>(urn: string, host: Host | undefined, run: () => Promise<T>): Promise<T> => {
    if (!host) return run();
    const t = transport(host);
    const nonce = newNonce();
    try {
      await beginApply(t, urn, nonce);
    } catch (e) {
      if (!unwritable(e)) throw e;
      report(urn, `netboot: warning: no intent journal on ${t.description} (${JOURNAL_DIR} is not writable): an interrupted apply will need \`pulumi refresh\``);
      const r = await run();
      return { ...r, outs: { ...r.outs, journal: JOURNAL_OFF } };
    }
    const r = await run();
    await endApply(t, urn, nonce);
    return { ...r, outs: { ...r.outs, journal: nonce } };
  };
  return {
    ...h,
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
    create: (urn, inputs) => apply(urn, hostOf(inputs), () => h.create(urn, inputs)),
    async update(id, urn, olds, news) {
      // An update that moves to another host (NetworkImage's publish host) also changes the old one (it clears
      // what was there): its entry, the one diff reads while state names that host, says `applying` until the
      // move is done, and then goes.
      const from = hostOf(olds);
      const to = hostOf(news);
      const away = from && to && olds?.journal !== JOURNAL_OFF && transport(from) !== transport(to) ? transport(from) : undefined;
      if (!away) return apply(urn, to, () => h.update(id, urn, olds, news));
      await beginApply(away, urn, newNonce());
      const r = await apply(urn, to, () => h.update(id, urn, olds, news));
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
      await beginDelete(t, urn);
      await h.delete(id, urn, props);
      await endDelete(t, urn);
    },
  };
}
