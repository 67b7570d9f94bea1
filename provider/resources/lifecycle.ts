/**
 * The one lifecycle of everything netboot places on a host (File, FileSet, NodeGroupFiles, Initramfs; NetworkImage keeps its
 * own tree publishing but observes and diffs through the same shapes):
 *
 *   desired (pure: path, bytes, mode) -> observe (what is on the host) -> diff (drift/diff.ts: sorted changes
 *   with path, before, after) -> apply what differs, atomically, each file checked by its real consumer first
 *   -> signal or activate the daemon -> remove only what this resource wrote before.
 *
 * Retry rules: every step is idempotent. An apply that was interrupted leaves each file either old or new
 * (never partial: writes are temp file + rename), and the next apply compares against what is really on the
 * host, not against state, so rerunning `pulumi up` converges. Deleting a file that is already gone is a no-op.
 */
import * as path from "path";
import { sha256 } from "../drift/digest";
import { Change, diffManifests, FileState } from "../drift/diff";
import { modeString } from "../model/errors";
import { FileCheck, Signal } from "../schema-types";
import { Transport, TransportError } from "../transport";
import { DetailedDiffKind } from "./handler";

export interface DesiredFile {
  path: string;
  content: string | Buffer;
  /** set when the bytes were copied from this path on the build host */
  source?: string;
  mode: number;
  secret: boolean;
}

export interface ObservedFile {
  path: string;
  data: Buffer;
  mode: string;
  sha256: string;
  size: number;
}

export interface ApplyReport {
  written: string[];
  /** written files that existed before with other content (dnsmasq keeps their old entries until SIGHUP) */
  changed: string[];
  unchanged: string[];
  removed: string[];
  createdDirs: string[];
  signalled: string;
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

export async function observe(t: Transport, path: string): Promise<ObservedFile | undefined> {
  const st = await t.stat(path);
  if (!st || st.isDir) return undefined;
  const data = await t.get(path);
  if (!data) return undefined;
  return { path, data, mode: modeString(st.mode), sha256: sha256(data), size: data.length };
}

export async function observeAll(t: Transport, paths: string[]): Promise<Map<string, ObservedFile | undefined>> {
  const found = await mapLimit(paths, (p) => observe(t, p));
  return new Map(paths.map((p, i) => [p, found[i]]));
}

/** The manifest (path -> hash and mode) of what should be on the host. Pure. */
export function desiredStates(desired: DesiredFile[]): Record<string, FileState> {
  return Object.fromEntries(desired.map((d) => [d.path, { sha256: sha256(d.content), mode: modeString(d.mode) }]));
}

/** The manifest of what was found (a missing file is `undefined`). */
export function observedStates(observed: Map<string, ObservedFile | undefined>): Record<string, FileState | undefined> {
  return Object.fromEntries([...observed].map(([p, o]) => [p, o && { sha256: o.sha256, mode: o.mode }]));
}

/** A drift change as the engine's detailed diff kind (a mode change is an update of the file). */
export function changeKind(c: Pick<Change<unknown>, "kind">): DetailedDiffKind {
  switch (c.kind) {
    case "add": return "add";
    case "delete": return "delete";
    case "update":
    case "mode": return "update";
    default: {
      const never: never = c.kind;
      return never;
    }
  }
}

function substitute(argv: string[], staged: string): string[] {
  return argv.map((a) => a.split("{}").join(staged));
}

/**
 * Writes what differs from the host (files with a check first, one at a time), removes `previousPaths` that
 * are no longer desired, then signals. A failing check throws before its file takes the name.
 */
export async function applyFiles(
  t: Transport,
  desired: DesiredFile[],
  previousPaths: string[],
  checks: FileCheck[] = [],
  signal?: Signal,
  systemd = false,
): Promise<ApplyReport> {
  const report: ApplyReport = { written: [], changed: [], unchanged: [], removed: [], createdDirs: [], signalled: "" };
  const current = await observeAll(t, desired.map((d) => d.path));
  const differs = new Set(diffManifests(desiredStates(desired), observedStates(current)).map((c) => c.path));
  const checked = new Set(checks.map((c) => c.path));
  // Files with a check go first: a failing check stops the apply before anything else is written.
  const order = [...desired].sort((a, b) => Number(checked.has(b.path)) - Number(checked.has(a.path)) || (a.path < b.path ? -1 : 1));
  const toWrite = order.filter((d) => {
    if (!differs.has(d.path)) report.unchanged.push(d.path);
    return differs.has(d.path);
  });
  const writeOne = async (d: DesiredFile) => {
    const myChecks = checks.filter((c) => c.path === d.path);
    const res = await t.put(d.path, d.content, {
      mode: d.mode,
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
    if (current.get(d.path)) report.changed.push(d.path);
    report.createdDirs.push(...res.createdDirs);
  };
  const firstChecked = toWrite.filter((d) => checked.has(d.path));
  for (const d of firstChecked) await writeOne(d);
  await mapLimit(toWrite.filter((d) => !checked.has(d.path)), writeOne);

  const keep = new Set(desired.map((d) => d.path));
  for (const p of previousPaths) if (!keep.has(p) && (await t.remove(p))) report.removed.push(p);

  report.signalled = await maybeSignal(t, signal, report, systemd);
  report.written.sort();
  report.createdDirs.sort();
  return report;
}

/** Tells the daemon, if its files changed in a way it needs to hear about. Returns what was done. */
export async function maybeSignal(t: Transport, signal: Signal | undefined, r: Pick<ApplyReport, "written" | "changed" | "removed">, systemd: boolean): Promise<string> {
  if (!signal) return "";
  const only = signal.paths?.length ? new Set(signal.paths) : undefined;
  const pick = (l: string[]) => (only ? l.filter((p) => only.has(p)) : l);
  const needed = signal.on === "change" ? pick(r.written).length + pick(r.removed).length > 0 : pick(r.removed).length + pick(r.changed).length > 0;
  if (!needed) return "not needed";
  if (systemd && signal.systemdUnit) {
    const verb = signal.restart ? "restart" : "reload-or-restart";
    const res = await t.exec(["systemctl", verb, signal.systemdUnit]);
    if (res.code !== 0) throw new TransportError(t.description, verb, signal.systemdUnit, res.stderr.trim());
    return `${signal.restart ? "restarted" : "reloaded"} ${signal.systemdUnit}`;
  }
  if (!signal.pidFile) return "no daemon to tell";
  const pidText = (await t.get(signal.pidFile))?.toString().trim();
  if (!pidText || !/^\d+$/.test(pidText)) return "not running";
  const sig = signal.signal ?? "HUP";
  const res = await t.exec(["kill", "-s", sig, pidText]);
  return res.code === 0 ? `sent SIG${sig} to ${pidText}` : "not running";
}

/** Removes what we wrote, then the folders we created if they are empty (innermost first). */
export async function removeFiles(t: Transport, paths: string[], createdDirs: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const p of paths) if (await t.remove(p)) removed.push(p);
  for (const d of [...createdDirs].sort().reverse()) await t.removeDirIfEmpty(d);
  // In a local target folder, file sets created in parallel can each record a different level of a shared
  // parent (one made /etc, another /etc/nginx); whichever is deleted last prunes what is left empty.
  if (t.prunesEmptyFolders) {
    const parents = new Set<string>();
    for (const p of [...removed, ...createdDirs]) for (let d = path.posix.dirname(p); d !== "/"; d = path.posix.dirname(d)) parents.add(d);
    for (const d of [...parents].sort((a, b) => b.length - a.length)) await t.removeDirIfEmpty(d);
  }
  return removed;
}
