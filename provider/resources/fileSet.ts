/**
 * netboot:index:FileSet: many files on one host as one resource, with a manifest of hashes.
 * The engine's work grows with file sets, not files; the detailed diff still names each changed file
 * (`files["/srv/netboot/http/ipxe/node-aa-bb.ipxe"]`), and since outputs hold what was found on the host,
 * `pulumi refresh` and `preview --diff` show a line diff of hand edits.
 *
 * Drift beyond content and mode: an owner other than the one the last apply wrote (`owners`), an entry of
 * another type where a file goes (`files[p].type`), folders that are not plain folders (`dirDrift`: a symlink
 * in place of a folder this set owns or writes into, a missing owned folder) and, in `exclusiveDirs`, entries
 * no netboot resource accounts for (`strays`). Refresh reports them; `up` repairs them (lifecycle.ts says
 * what is replaced and what is refused). Retry and idempotence rules: lifecycle.ts.
 */
import { randomUUID } from "crypto";
import * as path from "path";
import * as provider from "@pulumi/pulumi/provider";
import { ProviderContext } from "../context";
import { sha256 } from "../drift/digest";
import { diffManifests, diffValues, FileState, folderDrift, FolderState, strays } from "../drift/diff";
import { checkAbsPath, checkFilePath, FileMode, formatIssue, Issues, modeOf, modeString, parseMode } from "../model/errors";
import { checkUnitName } from "../model/daemon";
import { hostKey, normalizeHost, protectHost } from "../model/host";
import { ACTIVATION_VALUES, FileCheck, FileSetInputs, FileSetOutputs, Host, Signal, SIGNAL_NAME_VALUES, SIGNAL_ON_VALUES } from "../schema-types";
import { oneOf } from "../model/enums";
import { renderedByNetboot } from "../render/types";
import { Transport, TransportError } from "../transport/transport";
import { applyFiles, changeKind, confinedFolders, DesiredFile, isUnitFile, observeAll, observeFolders, removeFiles, maybeSignal, repairFolders, withinFor } from "./lifecycle";
import { destroyPlan, runPlan } from "./activation";
import { describeUrn, DetailedDiffKind, DiffResultWithDetail, ResourceHandler } from "./handler";
import { hasUnknown, isSecret, reveal, secret, UNKNOWN } from "../values";

const key = (p: string) => `files["${p}"]`;

/**
 * A component whose inputs hold a secret (an SSH key in `host`) passes every value derived from them as one
 * secret. `files` stays secret file by file (each content is then a secret output); `checks`, `dirs`,
 * `exclusiveDirs` and `signal` hold only paths and argv and are unwrapped; `host` keeps only its private key secret (protectHost).
 */
export function unwrapWholeSecrets(news: any): any {
  const out = { ...news };
  if (isSecret(news.files)) {
    const files = reveal<Record<string, unknown>>(news.files);
    out.files = files && typeof files === "object" ? Object.fromEntries(Object.entries(files).map(([p, f]) => [p, secret(f)])) : files;
  }
  for (const k of ["checks", "dirs", "exclusiveDirs", "signal"]) if (isSecret(news[k])) out[k] = reveal(news[k]);
  return out;
}

/**
 * The inputs' rules. `buildHost` is this machine (where `source` files are read at apply): a missing source, or
 * a folder, is found here at preview instead of after other files were written.
 */
export async function checkFileSet(resource: string, news: any, buildHost: Transport): Promise<{ inputs: any; issues: Issues }> {
  const issues = new Issues(resource);
  news = unwrapWholeSecrets(news);
  const host = hasUnknown(news.host) ? news.host : protectHost(normalizeHost(issues, "host", news.host));
  const files = news.files;
  if (files !== UNKNOWN) {
    if (!files || typeof files !== "object" || Array.isArray(files)) issues.add("files", files, "must be a map of absolute path -> {content, mode}");
    else
      for (const [p, f] of Object.entries<any>(files)) {
        checkFilePath(issues, `files["${p}"]`, p);
        if (f === UNKNOWN) continue;
        const spec = reveal<any>(f);
        if (!spec || typeof spec !== "object") {
          issues.add(`files["${p}"]`, spec, "must be {content, mode} or {source, mode}");
          continue;
        }
        // One of the two: with both, one would be dropped without a word.
        if (spec.source !== undefined && spec.content !== undefined) issues.add(`files["${p}"]`, "content+source", "give either content or source, not both");
        if (spec.source !== undefined) await checkBuildHostFile(buildHost, issues, `files["${p}"].source`, spec.source);
        else if (spec.content !== UNKNOWN && typeof spec.content !== "string") issues.add(`files["${p}"].content`, spec.content, "must be a string");
        if (spec.mode !== UNKNOWN) parseMode(issues, `files["${p}"].mode`, spec.mode);
      }
  }
  for (const [i, d] of ((news.dirs ?? []) as string[]).entries()) if (d !== UNKNOWN) checkAbsPath(issues, `dirs[${i}]`, d);
  for (const [i, d] of ((news.exclusiveDirs ?? []) as string[]).entries()) if (d !== UNKNOWN) checkAbsPath(issues, `exclusiveDirs[${i}]`, d);
  for (const [i, c] of ((news.checks ?? []) as FileCheck[]).entries()) {
    if (hasUnknown(c)) continue;
    if (!files || typeof files !== "object" || !(c.path in files)) issues.add(`checks[${i}].path`, c.path, "is not one of `files`");
    if (!Array.isArray(c.command) || c.command.length === 0 || c.command.some((a) => typeof a !== "string"))
      issues.add(`checks[${i}].command`, c.command, "must be a non-empty argv list");
  }
  const s = news.signal as Signal | undefined;
  if (s && !hasUnknown(s)) {
    if (s.on !== undefined) oneOf(issues, "signal.on", s.on, SIGNAL_ON_VALUES);
    if (s.pidFile !== undefined) checkAbsPath(issues, "signal.pidFile", s.pidFile);
    if (s.signal !== undefined) oneOf(issues, "signal.signal", s.signal, SIGNAL_NAME_VALUES);
    if (s.systemdUnit !== undefined) checkUnitName(issues, "signal.systemdUnit", s.systemdUnit);
    for (const [i, p] of (Array.isArray(s.paths) ? s.paths : []).entries()) if (p !== UNKNOWN) checkFilePath(issues, `signal.paths[${i}]`, p);
    if (s.restart !== undefined && typeof s.restart !== "boolean") issues.add("signal.restart", s.restart, "must be true or false");
    if (s.activation !== undefined) {
      oneOf(issues, "signal.activation", s.activation, ACTIVATION_VALUES);
      if (s.systemdUnit === undefined) issues.add("signal.activation", s.activation, "needs signal.systemdUnit: the unit to enable and start");
    }
  }
  return { inputs: { ...news, host }, issues };
}

export async function checkBuildHostFile(buildHost: Transport, issues: Issues, field: string, source: unknown): Promise<boolean> {
  if (source === UNKNOWN) return true;
  if (!checkFilePath(issues, field, source)) return false;
  const st = await buildHost.stat(source as string);
  if (!st) issues.add(field, source, "does not exist on the build host (this machine)");
  else if (st.isDir) issues.add(field, source, "is a folder on the build host; give a file");
  return !!st && !st.isDir;
}

/**
 * The files to put, with `source` files read from the build host (this machine: `buildHost` is the context's
 * transport for `{}`). Every missing source is reported at once.
 */
export async function desired(buildHost: Transport, files: Record<string, any>): Promise<DesiredFile[]> {
  const out: DesiredFile[] = [];
  const missing: string[] = [];
  for (const [path, f] of Object.entries(files)) {
    const spec = reveal<{ content?: string; mode?: string; source?: string }>(f);
    let content: string | Buffer = spec.content ?? "";
    if (spec.source) {
      const data = await buildHost.get(spec.source);
      if (!data) missing.push(`files["${path}"].source: ${spec.source} does not exist on the build host`);
      content = data ?? "";
    }
    out.push({ path, content, mode: modeOf(spec.mode), secret: isSecret(f) || isSecret((f as any)?.content), source: spec.source });
  }
  if (missing.length) throw new Error(missing.join("\n"));
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** What the files should be: the inputs' bytes and modes, and the owners the last apply wrote them with. */
async function expectedManifest(buildHost: Transport, files: Record<string, any>, owners: Record<string, string> = {}): Promise<Record<string, FileState>> {
  const out: Record<string, FileState> = {};
  for (const d of await desired(buildHost, files)) out[d.path] = { sha256: sha256(d.content), mode: d.mode, ...(owners[d.path] ? { owner: owners[d.path] } : {}) };
  return out;
}

function observedManifest(olds: FileSetOutputs): Record<string, FileState | undefined> {
  const out: Record<string, FileState | undefined> = {};
  for (const [p, h] of Object.entries(olds.manifest ?? {})) {
    const f = reveal<any>(olds.files?.[p]);
    const owner = f?.owner ? { owner: f.owner as string } : {};
    // The outputs' modes are the schema's strings, written by `outputs` below with modeString.
    if (h) out[p] = { sha256: h, mode: modeOf(f?.mode), ...owner };
    else if (f?.type && f.type !== "file") out[p] = { sha256: "", mode: modeOf(f.mode), type: f.type, ...owner };
  }
  return out;
}

type Seen = { type?: string; content: string; mode: FileMode; sha256: string; source?: string; owner?: string };

/** The folders this set owns: made on apply, repaired when they are not plain folders; no symlink below them. */
function ownedDirs(inputs: { dirs?: string[]; exclusiveDirs?: string[] }, createdDirs: string[] = []): string[] {
  return [...new Set([...(inputs.dirs ?? []), ...(inputs.exclusiveDirs ?? []), ...createdDirs])].sort();
}

/** Folders to look at: the owned ones and every folder on the way to a file, below where symlinks stop. */
function foldersToCheck(t: Transport, inputs: { dirs?: string[]; exclusiveDirs?: string[] }, paths: string[], owned: string[]): string[] {
  const own = [...(inputs.dirs ?? []), ...(inputs.exclusiveDirs ?? [])];
  return [...new Set([...confinedFolders(t, [...paths, ...own.map((d) => d + "/.")], owned)])].sort();
}

/**
 * Entries of the exclusive folders that no netboot resource accounts for, path -> type. A file is accounted for
 * when it is one of ours, or when its first line is a netboot header (another node group's leases: the
 * hostsdir is shared by the groups of a server, across stacks); temp files of writes in progress never count.
 */
async function findStrays(t: Transport, exclusive: string[], paths: string[], folders: Record<string, FolderState>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ours = new Set(paths);
  for (const d of exclusive) {
    if (folders[d] !== "dir") continue;
    const at = (n: string) => `${d === "/" ? "" : d}/${n}`;
    const names = (await t.list(d, { confined: true, within: withinFor(d, exclusive) })) ?? [];
    const mine = new Set(names.filter((n) => ours.has(at(n))));
    const found = new Map<string, string>();
    const netboot = new Set<string>();
    const candidates = strays(names, mine, () => false);
    // One batch: the folder is opened once for all of them (transport.ts `readMany`).
    const read = await t.readMany(candidates.map((n) => ({ path: at(n), within: withinFor(d, exclusive) })));
    for (const [i, n] of candidates.entries()) {
      const r = read[i];
      if (!r) continue; // gone since the listing
      found.set(n, r.stat.type);
      if (r.data && renderedByNetboot(r.data.subarray(0, 200).toString("utf8"))) netboot.add(n);
    }
    for (const n of strays([...found.keys()], new Set(), (x) => netboot.has(x))) out[at(n)] = found.get(n)!;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Removes the strays: files and symlinks (never followed), empty folders; a folder with content is refused. */
async function removeStrays(t: Transport, found: Record<string, string>, exclusive: string[]): Promise<string[]> {
  const refused = Object.entries(found).filter(([, type]) => type === "dir");
  const removed: string[] = [];
  for (const [p] of refused) if (await t.removeDirIfEmpty(p, { within: withinFor(p, exclusive) })) removed.push(p);
  const full = refused.map(([p]) => p).filter((p) => !removed.includes(p));
  if (full.length)
    throw new TransportError(t.description, "remove", full.join(", "), `a folder with content is in a folder netboot owns exclusively; netboot does not remove it: move it away, then run \`pulumi up\` again`);
  for (const [p, type] of Object.entries(found)) if (type !== "dir" && (await t.remove(p, { within: withinFor(p, exclusive) }))) removed.push(p);
  return removed.sort();
}

interface Found {
  dirDrift: Record<string, string>;
  strays: Record<string, string>;
  /** path -> owner the last apply wrote */
  owners: Record<string, string>;
}

function outputs(inputs: FileSetInputs, host: Host, observed: Map<string, Seen | undefined>, secrets: Set<string>, createdDirs: string[], written: Record<string, string>, found: Found, lastApply?: Record<string, string>): FileSetOutputs {
  const files: Record<string, any> = {};
  const manifest: Record<string, string> = {};
  for (const [p, o] of [...observed.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    manifest[p] = o && (o.type ?? "file") === "file" ? o.sha256 : "";
    if (!o) continue;
    if ((o.type ?? "file") !== "file") {
      files[p] = { type: o.type, mode: modeString(o.mode), ...(o.owner ? { owner: o.owner } : {}) };
      continue;
    }
    // Outputs keep hashes; the content only of a file that drifted from what we wrote, so that refresh and
    // preview can show the hand edit as a line diff. Binary files from the build host are hashes only.
    const spec: Record<string, unknown> = { mode: modeString(o.mode), sha256: o.sha256, ...(o.owner ? { owner: o.owner } : {}) };
    if (o.source) spec.source = o.source;
    else if (o.sha256 !== written[p]) spec.content = secrets.has(p) ? secret(o.content) : o.content;
    files[p] = spec;
  }
  return { ...inputs, host, files, manifest, written, createdDirs, ...found, ...(lastApply ? { lastApply } : {}) } as FileSetOutputs;
}

/**
 * Whether any of these folders still holds a file with a netboot header (another server's config, say). Read
 * confined as the set's writes go (`owned`: within the outermost owned folder, else the folder itself must be
 * real): a folder replaced by a symlink holds nothing of netboot's, so a copy of a config behind the link does
 * not keep a unit netboot started running.
 */
async function netbootFilesIn(t: Transport, folders: string[], owned: string[]): Promise<boolean> {
  for (const d of folders) {
    const confine = { confined: true, within: withinFor(d, owned) };
    for (const n of (await t.list(d, confine)) ?? []) {
      const p = `${d === "/" ? "" : d}/${n}`;
      const st = await t.stat(p, confine);
      if (st?.type === "file" && renderedByNetboot(((await t.get(p, confine)) ?? Buffer.alloc(0)).subarray(0, 200).toString("utf8"))) return true;
    }
  }
  return false;
}

export function fileSetHandler(ctx: ProviderContext): ResourceHandler {
  const buildHost = () => ctx.transport({});

  /** Applies and destroys that check and tell a shared unit (nginx) run one at a time per host and unit. */
  const sharedUnit = <T>(host: Host, s: Signal | undefined, fn: () => Promise<T>): Promise<T> =>
    host.systemd && s?.systemdUnit && s.activation === "shared" ? ctx.units.run(`${hostKey(host)} ${s.systemdUnit}`, fn) : fn();

  async function apply(inputs: FileSetInputs, olds: FileSetOutputs | undefined): Promise<FileSetOutputs> {
    const host = inputs.host;
    const t = ctx.transport(host);
    const want = await desired(buildHost(), inputs.files);
    const ins = inputs;
    const exclusive = ins.exclusiveDirs ?? [];
    const owned = ownedDirs(ins, olds?.createdDirs ?? []);
    // Folders first (a symlink in place of one is replaced before anything is written below it), then the
    // strays of the exclusive folders, then the files.
    const folders = await observeFolders(t, foldersToCheck(t, ins, want.map((d) => d.path), owned), owned);
    const repaired = await repairFolders(t, folders, owned);
    const made: string[] = [];
    for (const d of [...(inputs.dirs ?? []), ...exclusive]) made.push(...(await t.mkdirp(d, 0o755, { within: withinFor(d, owned) })));
    const straysRemoved = await removeStrays(t, await findStrays(t, exclusive, want.map((d) => d.path), await observeFolders(t, exclusive, owned)), exclusive);
    const report = await sharedUnit(host, inputs.signal, () => applyFiles(t, want, Object.keys(olds?.manifest ?? {}), inputs.checks ?? [], inputs.signal, !!host.systemd, {
      owned,
      owners: olds?.owners,
    }));
    const observed = new Map<string, Seen>(
      want.map((d) => [d.path, { content: d.source ? "" : d.content.toString(), mode: d.mode, sha256: sha256(d.content), source: d.source, owner: report.owners[d.path] }]),
    );
    const createdDirs = [...new Set([...(olds?.createdDirs ?? []), ...made, ...report.createdDirs, ...(inputs.dirs ?? []), ...exclusive])].sort();
    const secrets = new Set(want.filter((d) => d.secret).map((d) => d.path));
    const written = Object.fromEntries([...observed].map(([p, o]) => [p, o.sha256]));
    const started = [...new Set([...(olds?.started ?? []), ...report.started])].sort();
    const outs = outputs(inputs, host, observed, secrets, createdDirs, written, { dirDrift: {}, strays: {}, owners: report.owners }, {
      written: String(report.written.length),
      repaired: String(repaired.length + report.repaired.length),
      straysRemoved: String(straysRemoved.length),
      changed: String(report.changed.length),
      unchanged: String(report.unchanged.length),
      removed: String(report.removed.length),
      signalled: report.signalled,
    });
    return started.length ? { ...outs, started } : outs;
  }

  return {
    async check(urn, _olds, news) {
      const { inputs, issues } = await checkFileSet(describeUrn(urn), news, buildHost());
      return { inputs, failures: issues.list.map((i) => ({ property: i.field, reason: formatIssue(i) })) };
    },

    ownedPaths(inputs: FileSetInputs) {
      if (hasUnknown(inputs.host) || inputs.files === (UNKNOWN as any) || !inputs.files || typeof inputs.files !== "object") return undefined;
      const host = hostKey(inputs.host);
      // Known paths are claimed even while some file contents are unknown: the keys are what is owned.
      return Object.keys(inputs.files).map((p) => ({ host, path: p, field: key(p) }));
    },

    async diff(_id, _urn, olds: FileSetOutputs, news: FileSetInputs): Promise<DiffResultWithDetail> {
      const detailedDiff: Record<string, { kind: DetailedDiffKind; inputDiff?: boolean }> = {};
      if (hasUnknown(news.host) || hostKey(olds.host) !== hostKey(news.host))
        return { changes: true, replaces: ["host"], detailedDiff: { host: { kind: "update-replace" } } };
      if (hasUnknown(news.files)) {
        const known = news.files === (UNKNOWN as any) ? {} : news.files;
        for (const p of Object.keys(known)) detailedDiff[key(p)] = { kind: "update" };
        return { changes: true, detailedDiff: Object.keys(detailedDiff).length ? detailedDiff : { files: { kind: "update" } } };
      }
      for (const c of diffManifests(await expectedManifest(buildHost(), news.files, olds.owners), observedManifest(olds))) {
        // A file that drifted has its found content in the outputs: diff against that. Otherwise the engine
        // shows the change against the last inputs (inputDiff), i.e. a line diff of what we rendered.
        const drifted = (olds.files?.[c.path] as any)?.content !== undefined;
        detailedDiff[key(c.path)] = { kind: changeKind(c), inputDiff: c.kind === "update" && !drifted };
      }
      const args = (x: FileSetInputs | FileSetOutputs) => ({
        checks: x.checks?.length ? x.checks : undefined,
        dirs: x.dirs?.length ? x.dirs : undefined,
        exclusiveDirs: x.exclusiveDirs?.length ? x.exclusiveDirs : undefined,
        signal: x.signal,
      });
      for (const c of diffValues(args(news), args(olds))) detailedDiff[c.path] = { kind: "update" };
      // Folders and strays found by refresh: `up` repairs the folders and removes the strays.
      for (const d of Object.keys(olds.dirDrift ?? {})) detailedDiff[`dirDrift["${d}"]`] = { kind: "update" };
      for (const p of Object.keys(olds.strays ?? {})) detailedDiff[`strays["${p}"]`] = { kind: "delete" };
      return { changes: Object.keys(detailedDiff).length > 0, detailedDiff };
    },

    async create(_urn, inputs: FileSetInputs) {
      return { id: randomUUID(), outs: await apply(inputs, undefined) };
    },

    async update(_id, _urn, olds: FileSetOutputs, news: FileSetInputs) {
      return { outs: await apply(news, olds) };
    },

    async read(id, _urn, props: FileSetOutputs): Promise<provider.ReadResult> {
      const host = props.host;
      const t = ctx.transport(host);
      const paths = Object.keys(props.manifest ?? props.files ?? {});
      const owned = ownedDirs(props, props.createdDirs ?? []);
      const folders = await observeFolders(t, foldersToCheck(t, props, paths, owned), owned);
      const found = await observeAll(t, paths, folders, owned);
      const observed = new Map<string, Seen | undefined>();
      for (const [p, o] of found) {
        const source = reveal<any>(props.files?.[p])?.source;
        observed.set(p, o && { ...o, content: source ? "" : o.data.toString("utf8"), source });
      }
      const secrets = new Set(paths.filter((p) => isSecret(props.files?.[p]) || isSecret((props.files?.[p] as any)?.content)));
      const { lastApply: _drop, ...rest } = props as any;
      const drift: Found = {
        dirDrift: folderDrift(folders, new Set([...(props.dirs ?? []), ...(props.exclusiveDirs ?? [])])),
        strays: await findStrays(t, props.exclusiveDirs ?? [], paths, folders),
        owners: props.owners ?? {},
      };
      return { id, props: outputs(rest, host, observed, secrets, props.createdDirs ?? [], (props as any).written ?? {}, drift) };
    },

    async delete(_id, _urn, props: FileSetOutputs) {
      const t = ctx.transport(props.host);
      const s = props.signal;
      const paths = Object.keys(props.manifest ?? {});
      if (!(props.host.systemd && s?.systemdUnit && s.activation)) {
        const removed = await removeFiles(t, paths, props.createdDirs ?? []);
        await maybeSignal(t, s, { written: [], changed: [], removed }, !!props.host.systemd);
        return;
      }
      // An activated unit (activation.ts): netboot's own is stopped before its files go (its ExecStop may read
      // them); a shared one is told, or stopped if this set started it and nothing of netboot's is left for it.
      const unit = s.systemdUnit;
      const facts = { unit, activation: s.activation, restart: !!s.restart, startedByNetboot: (props.started ?? []).includes(unit) };
      await sharedUnit(props.host, s, async () => {
        await runPlan(t, unit, destroyPlan({ ...facts, othersLeft: false, removedAny: false, unitFilesRemoved: false }).before);
        const removed = await removeFiles(t, paths, props.createdDirs ?? []);
        const told = s.paths?.length ? removed.filter((p) => s.paths!.includes(p)) : removed;
        const othersLeft = await netbootFilesIn(t, [...new Set((s.paths?.length ? s.paths : paths).map((p) => path.posix.dirname(p)))], ownedDirs(props, props.createdDirs ?? []));
        await runPlan(t, unit, destroyPlan({ ...facts, othersLeft, removedAny: told.length > 0, unitFilesRemoved: removed.some(isUnitFile) }).after);
      });
    },
  };
}
