/**
 * The one lifecycle of everything netboot places on a host (File, FileSet, NodeGroupFiles, Initramfs;
 * NetworkImage keeps its own tarball and tree publishing on a mounted volume, but observes its files with
 * `observeAll` below and diffs through the same drift/diff.ts shapes):
 *
 *   desired (pure: path, bytes, mode) -> observe (what is on the host) -> diff (drift/diff.ts: sorted changes
 *   with path, before, after) -> apply what differs, atomically, each file checked by its real consumer first
 *   -> signal or activate the daemon (activation.ts) -> remove only what this resource wrote before.
 *
 * Checks come in two kinds. A check whose command names the staged file (`{}`) runs before the staged file is
 * renamed over the live one (`dnsmasq --test -C {}`: the file is the whole configuration). A check without `{}`
 * tests the whole configuration the daemon will load (`nginx -t` reads nginx.conf and everything it includes):
 * the new file is put in place, the check runs, and on failure the old file is put back (or the new one removed)
 * before the error is raised. The daemon is told only after every check passed, so a refused file was never
 * loaded and the old configuration keeps serving.
 *
 * The intent journal (journal.ts) wraps every handler built on it, so an interrupted apply is never taken
 * for a finished one.
 *
 * Retry rules: every step is idempotent. An apply that was interrupted leaves each file either old or new
 * (never partial: writes are temp file + rename), and the next apply compares against what is really on the
 * host, not against state, so rerunning `pulumi up` converges. Deleting a file that is already gone is a no-op.
 *
 * Type drift: a symlink where a folder netboot owns or writes into should be is replaced by a real folder
 * (unlinking loses nothing: what it pointed to is left alone); a symlink where a file should be is replaced by
 * the file (rename does not follow it). An empty folder where a file should be is removed; anything with
 * content in the way (a non-empty folder, a file where a folder goes) is an error naming the path: it is not
 * netboot's to throw away. The transport refuses to write through a symlink in any case (transport.ts), so
 * a symlink planted after the check fails the write instead of redirecting it.
 */
import * as path from "path";
import { sha256 } from "../drift/digest";
import { Change, FolderState } from "../drift/diff";
import { DetailedDiffKind } from "./handler";
import { FileMode } from "../model/errors";
import { FileCheck, Signal } from "../schema-types";
import { Transport, TransportError } from "../transport";
import { applyPlan, describePlan, runPlan, unitState } from "./activation";
import { confinedWalk, EntryType, FileStat, ownerString, ReadFound } from "../transport/transport";

export interface DesiredFile {
  path: string;
  content: string | Buffer;
  /** set when the bytes were copied from this path on the build host */
  source?: string;
  mode: FileMode;
  secret: boolean;
}

export interface ObservedFile {
  path: string;
  /** what is at the path; only a `file` has bytes and a hash (the others: empty) */
  type: EntryType;
  data: Buffer;
  mode: FileMode;
  sha256: string;
  size: number;
  owner: string;
  /** a symlink's target */
  target?: string;
}

export interface ApplyReport {
  written: string[];
  /** written files that existed before with other content (dnsmasq keeps their old entries until SIGHUP) */
  changed: string[];
  unchanged: string[];
  removed: string[];
  createdDirs: string[];
  signalled: string;
  /** systemd units this apply enabled or started (activation.ts) */
  started: string[];
  /** path -> owner (`uid:gid`) of each file as written */
  owners: Record<string, string>;
  /** folders and entries that were in the way and were replaced (symlinks, empty folders) */
  repaired: string[];
}

/** What an apply knows beyond the files: the folders netboot owns there, and the owners it wrote last time. */
export interface ApplyContext {
  /** folders netboot owns on this host for these files (FileSet `dirs`, folders it made): no symlink below them */
  owned?: string[];
  /** path -> owner recorded by the last apply: a file found with another owner is written again */
  owners?: Record<string, string>;
}

const CONCURRENCY = 16;

async function mapLimit<T, R>(items: T[], fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let i = 0;
  const workers = Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k]);
    }
  });
  await Promise.all(workers);
  return out;
}

/** The outermost owned folder holding `p`, where the transport stops following symlinks (transport.ts). */
export function withinFor(p: string, owned: string[] = []): string | undefined {
  let best: string | undefined;
  for (const d of owned) if ((p === d || p.startsWith(d === "/" ? "/" : d + "/")) && (!best || d.length < best.length)) best = d;
  return best;
}

/**
 * The folders between where symlinks stop being followed and each path's own folder, outermost first: the
 * folders whose type is drift for these files (see `confinedWalk`).
 */
export function confinedFolders(t: Transport, paths: string[], owned: string[] = []): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    const { base, rest } = confinedWalk(path.posix.dirname(p), !!t.prunesEmptyFolders, withinFor(p, owned));
    let cur = base === "/" ? "" : base;
    for (const c of rest) out.add((cur += "/" + c));
  }
  return [...out].sort();
}

function folderState(st: FileStat | undefined): FolderState {
  if (!st) return "missing";
  if (st.type === "symlink") return `symlink -> ${st.target ?? "?"}`;
  return st.type;
}

/**
 * Each folder as found (see FolderState). Each is looked at without going through a symlink at or below the
 * owned folder that holds it (a folder below a symlinked one is `missing`: what is behind the link is not
 * netboot's folder); a folder no owned one holds is netboot's outermost, its parents followed.
 */
export async function observeFolders(t: Transport, folders: string[], owned: string[] = []): Promise<Record<string, FolderState>> {
  const found = await mapLimit(folders, (d) => t.stat(d, { confined: true, within: withinFor(d, owned) ?? d }));
  return Object.fromEntries(folders.map((d, i) => [d, folderState(found[i])]));
}

/**
 * What is at `path`, read the way writes go (transport.ts): no symlink at or below the owned folder that holds
 * it is followed, so a file reached only through a symlinked folder is missing (the folder is the drift), and
 * what is outside never reaches the outputs.
 */
export async function observe(t: Transport, path: string, owned: string[] = []): Promise<ObservedFile | undefined> {
  return observed(path, (await t.readMany([{ path, within: withinFor(path, owned) }]))[0]);
}

function observed(path: string, found: ReadFound | undefined): ObservedFile | undefined {
  if (!found) return undefined;
  const { stat: st, data } = found;
  const meta = { path, type: st.type, mode: st.mode, owner: ownerString(st) };
  // Only a regular file is read: a symlink's target is not what netboot wrote, whatever it holds.
  if (st.type !== "file") return { ...meta, data: Buffer.alloc(0), sha256: "", size: 0, ...(st.target !== undefined ? { target: st.target } : {}) };
  if (!data) return undefined;
  return { ...meta, data, sha256: sha256(data), size: data.length };
}

/**
 * Every path as found. A file below a folder that is not a real folder (a symlink planted in its place) is
 * reported missing: what is behind the symlink is not netboot's file. The reads themselves are confined too
 * (`observe`), so a folder swapped for a symlink after `folders` were looked at is not followed either. They go
 * as one batch (`readMany`): the local transport opens each folder once for all of them, not once per file.
 */
export async function observeAll(t: Transport, paths: string[], folders?: Record<string, FolderState>, owned: string[] = []): Promise<Map<string, ObservedFile | undefined>> {
  const bad = Object.entries(folders ?? {}).filter(([, s]) => s !== "dir" && s !== "missing").map(([d]) => d + "/");
  const readable = paths.filter((p) => !bad.some((d) => p.startsWith(d)));
  const found = await t.readMany(readable.map((p) => ({ path: p, within: withinFor(p, owned) })));
  const byPath = new Map(readable.map((p, i) => [p, observed(p, found[i])]));
  return new Map(paths.map((p) => [p, byPath.get(p)]));
}

/**
 * Makes each folder a real folder again: a symlink in its place is removed (never followed) and the folder
 * made. A file in its place is an error: its content is not netboot's to throw away. Outermost first, so a
 * symlinked parent is replaced before its children are looked at. Returns the folders repaired.
 */
/** A drift change as the engine's detailed diff kind (mode, owner and type changes are updates of the file). */
export function changeKind(c: Pick<Change<unknown>, "kind">): DetailedDiffKind {
  switch (c.kind) {
    case "add": return "add";
    case "delete": return "delete";
    case "update":
    case "mode":
    case "owner":
    case "type": return "update";
    default: {
      const never: never = c.kind;
      return never;
    }
  }
}

export async function repairFolders(t: Transport, found: Record<string, FolderState>, owned: string[] = []): Promise<string[]> {
  const repaired: string[] = [];
  for (const d of Object.keys(found).sort()) {
    const s = found[d];
    if (s === "dir" || s === "missing") continue;
    if (repaired.some((r) => d.startsWith(r + "/"))) continue; // below a symlink that is gone now
    if (!s.startsWith("symlink"))
      throw new TransportError(t.description, "repair", d, `a ${s === "file" ? "file" : "non-folder"} is where netboot's folder goes; netboot does not remove it: move it away, then run \`pulumi up\` again`);
    const within = withinFor(d, owned);
    await t.remove(d, { within });
    await t.mkdirp(d, 0o755, { within });
    repaired.push(d);
  }
  return repaired;
}

async function syncFolders(t: Transport, paths: string[], owned: string[]): Promise<void> {
  const byDir = new Map<string, string>();
  for (const p of paths) byDir.set(path.posix.dirname(p), p);
  for (const [dir, p] of byDir) await t.syncDirs([dir], { within: withinFor(p, owned) });
}

function substitute(argv: string[], staged: string): string[] {
  return argv.map((a) => a.split("{}").join(staged));
}

export async function applyFiles(
  t: Transport,
  desired: DesiredFile[],
  previousPaths: string[],
  checks: FileCheck[] = [],
  signal?: Signal,
  systemd = false,
  ctx: ApplyContext = {},
): Promise<ApplyReport> {
  const report: ApplyReport = { written: [], changed: [], unchanged: [], removed: [], createdDirs: [], signalled: "", started: [], owners: {}, repaired: [] };
  const owned = ctx.owned ?? [];
  const paths = desired.map((d) => d.path);
  report.repaired.push(...(await repairFolders(t, await observeFolders(t, confinedFolders(t, paths, owned), owned), owned)));
  const current = await observeAll(t, paths, undefined, owned);
  // An empty folder where a file goes is removed (nothing is lost); one with content stops the apply here,
  // before anything is written.
  for (const [p, cur] of current) {
    if (cur?.type !== "dir") continue;
    if (!(await t.removeDirIfEmpty(p, { within: withinFor(p, owned) })))
      throw new TransportError(t.description, "write", p, "a folder with content is where netboot's file goes; netboot does not remove it: move it away, then run `pulumi up` again");
    report.repaired.push(p);
    current.set(p, undefined);
  }
  const staged = checks.filter((c) => c.command.some((a) => a.includes("{}")));
  const inPlace = checks.filter((c) => !staged.includes(c));
  const checked = new Set(checks.map((c) => c.path));
  // Files with a check go first: a failing check stops the apply before anything else is written.
  const order = [...desired].sort((a, b) => Number(checked.has(b.path)) - Number(checked.has(a.path)) || (a.path < b.path ? -1 : 1));
  const toWrite = order.filter((d) => {
    const cur = current.get(d.path);
    const was = ctx.owners?.[d.path];
    const same = cur && cur.type === "file" && cur.sha256 === sha256(d.content) && cur.mode === d.mode && (!was || cur.owner === was);
    if (same) {
      report.unchanged.push(d.path);
      report.owners[d.path] = cur.owner;
    }
    return !same;
  });
  const writeOne = async (d: DesiredFile) => {
    const myChecks = staged.filter((c) => c.path === d.path);
    const res = await t.put(d.path, d.content, {
      mode: d.mode,
      within: withinFor(d.path, owned),
      // checked files are live at once (their check loads them); the rest become durable together, below
      syncDir: checked.has(d.path),
      validate: myChecks.length
        ? async (staged) => {
            for (const c of myChecks) {
              const argv = substitute(c.command, staged);
              const r = await t.exec(argv);
              if (r.code !== 0)
                throw new TransportError(t.description, "check", d.path,
                  `\`${c.command.join(" ")}\` rejected the new file (exit ${r.code}); the live file is unchanged:\n${(r.stderr + r.stdout).trim()}`);
            }
          }
        : undefined,
    });
    report.written.push(d.path);
    report.owners[d.path] = res.owner;
    if (current.get(d.path)) report.changed.push(d.path);
    report.createdDirs.push(...res.createdDirs);
  };
  const firstChecked = toWrite.filter((d) => checked.has(d.path));
  for (const d of firstChecked) {
    await writeOne(d);
    await checkInPlace(t, d, current.get(d.path), inPlace, withinFor(d.path, owned));
  }
  const bulk = toWrite.filter((d) => !checked.has(d.path));
  await mapLimit(bulk, writeOne);
  // One fsync per folder instead of one per file (10,000 overlay archives in 50 folders: 50, not 10,000), before
  // anything is removed, any daemon is told or the engine records the apply.
  await syncFolders(t, bulk.map((d) => d.path), owned);

  const keep = new Set(desired.map((d) => d.path));
  for (const p of previousPaths) if (!keep.has(p) && (await t.remove(p, { within: withinFor(p, owned) }))) report.removed.push(p);

  const told = await maybeSignal(t, signal, report, systemd);
  report.signalled = told.done;
  report.started = told.started;
  report.written.sort();
  report.createdDirs.sort();
  report.repaired.sort();
  return report;
}

/**
 * Runs the checks of `d` that test the whole configuration with the new file in place (no `{}`). On failure the
 * file found before is put back as it was (bytes and mode), or the new file removed if there was none, and the
 * error names the check and its output: the daemon has not been told, so it still serves the old configuration.
 */
async function checkInPlace(t: Transport, d: DesiredFile, before: ObservedFile | undefined, checks: FileCheck[], within: string | undefined): Promise<void> {
  for (const c of checks.filter((x) => x.path === d.path)) {
    const r = await t.exec(c.command);
    if (r.code === 0) continue;
    if (before?.type === "file") await t.put(d.path, before.data, { mode: before.mode, within });
    else await t.remove(d.path, { within });
    throw new TransportError(t.description, "check", d.path,
      `\`${c.command.join(" ")}\` rejected the configuration with the new file in place (exit ${r.code}); the old file is back and the daemon was not told:\n${(r.stderr + r.stdout).trim()}`);
  }
}

/** Files whose change systemd must reread (`daemon-reload`): unit files. */
export function isUnitFile(p: string): boolean {
  return /^\/(etc|run|usr\/lib|lib)\/systemd\/system\/[^/]+$/.test(p);
}

/**
 * Tells the daemon, if its files changed in a way it needs to hear about; on a systemd host, activates its unit
 * (activation.ts). Returns what was done and the units this call enabled or started.
 */
export async function maybeSignal(t: Transport, signal: Signal | undefined, r: Pick<ApplyReport, "written" | "changed" | "removed">, systemd: boolean): Promise<{ done: string; started: string[] }> {
  if (!signal) return { done: "", started: [] };
  const only = signal.paths?.length ? new Set(signal.paths) : undefined;
  const pick = (l: string[]) => (only ? l.filter((p) => only.has(p)) : l);
  const needed = signal.on === "change" ? pick(r.written).length + pick(r.removed).length > 0 : pick(r.removed).length + pick(r.changed).length > 0;
  if (systemd && signal.systemdUnit) {
    const unit = signal.systemdUnit;
    const unitFilesChanged = [...r.written, ...r.removed].some(isUnitFile);
    // Without an activation and nothing to tell, systemd is not even asked (hosts that only reload).
    if (!signal.activation && !needed && !unitFilesChanged) return { done: "not needed", started: [] };
    const state = signal.activation ? await unitState(t, unit) : { enabled: true, active: true };
    const plan = applyPlan({ unit, activation: signal.activation, restart: !!signal.restart, needed, unitFilesChanged, state });
    await runPlan(t, unit, plan.commands);
    return { done: describePlan(plan.commands), started: plan.started ? [unit] : [] };
  }
  if (!needed) return { done: "not needed", started: [] };
  if (!signal.pidFile) return { done: "no daemon to tell", started: [] };
  // The pid file itself is never followed (its folders may be, /var/run is one): a symlink planted in its place
  // would name any process for netboot to signal as root. A symlink reads as no file: "not running".
  const pidText = (await t.get(signal.pidFile, { confined: true, within: signal.pidFile }))?.toString().trim();
  if (!pidText || !/^\d+$/.test(pidText)) return { done: "not running", started: [] };
  const sig = signal.signal ?? "HUP";
  const res = await t.exec(["kill", "-s", sig, pidText]);
  return { done: res.code === 0 ? `sent SIG${sig} to ${pidText}` : "not running", started: [] };
}

/** Removes what we wrote, then the folders we created if they are empty (innermost first). */
export async function removeFiles(t: Transport, paths: string[], createdDirs: string[]): Promise<string[]> {
  // What is below a folder that is no longer a folder (a symlink planted in its place) is not netboot's: it is
  // left alone, and delete does not fail on it (the transport would refuse to go through the symlink).
  const folders = await observeFolders(t, confinedFolders(t, [...paths, ...createdDirs.map((d) => d + "/.")], createdDirs), createdDirs);
  const bad = Object.entries(folders).filter(([, s]) => s !== "dir" && s !== "missing").map(([d]) => d);
  const below = (p: string) => bad.some((d) => p === d || p.startsWith(d + "/"));
  const removed: string[] = [];
  for (const p of paths) if (!below(path.posix.dirname(p)) && (await t.remove(p))) removed.push(p);
  for (const d of [...createdDirs].sort().reverse()) if (!below(d)) await t.removeDirIfEmpty(d);
  // In a local target folder, file sets created in parallel can each record a different level of a shared
  // parent (one made /etc, another /etc/nginx); whichever is deleted last prunes what is left empty.
  if (t.prunesEmptyFolders) {
    const parents = new Set<string>();
    for (const p of [...removed, ...createdDirs]) for (let d = path.posix.dirname(p); d !== "/"; d = path.posix.dirname(d)) parents.add(d);
    for (const d of [...parents].sort((a, b) => b.length - a.length)) if (!below(d)) await t.removeDirIfEmpty(d);
  }
  return removed;
}
