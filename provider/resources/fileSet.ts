/**
 * netboot:index:FileSet: many files on one host as one resource, with a manifest of hashes.
 * The engine's work grows with file sets, not files; the detailed diff still names each changed file
 * (`files["/srv/netboot/http/ipxe/node-aa-bb.ipxe"]`), and since outputs hold what was found on the host,
 * `pulumi refresh` and `preview --diff` show a line diff of hand edits. Retry and idempotence rules: lifecycle.ts.
 */
import { randomUUID } from "crypto";
import * as provider from "@pulumi/pulumi/provider";
import { ProviderContext } from "../context";
import { sha256 } from "../drift/digest";
import { diffManifests, diffValues, FileState } from "../drift/diff";
import { checkAbsPath, checkFilePath, formatIssue, Issues, modeString, parseMode } from "../model/errors";
import { checkUnitName } from "../model/daemon";
import { hostKey, normalizeHost, protectHost } from "../model/host";
import { FileCheck, FileSetInputs, FileSetOutputs, Host, Signal, SIGNAL_NAME_VALUES, SIGNAL_ON_VALUES } from "../schema-types";
import { oneOf } from "../model/enums";
import { Transport } from "../transport";
import { applyFiles, changeKind, DesiredFile, desiredStates, observeAll, removeFiles, maybeSignal } from "./lifecycle";
import { describeUrn, DetailedDiffKind, DiffResultWithDetail, ResourceHandler } from "./handler";
import { hasUnknown, isSecret, reveal, secret, UNKNOWN } from "../values";

const key = (p: string) => `files["${p}"]`;

/**
 * A component whose inputs hold a secret (an SSH key in `host`) passes every value derived from them as one
 * secret. `files` stays secret file by file (each content is then a secret output); `checks`, `dirs` and
 * `signal` hold only paths and argv and are unwrapped; `host` keeps only its private key secret (protectHost).
 */
export function unwrapWholeSecrets(news: any): any {
  const out = { ...news };
  if (isSecret(news.files)) {
    const files = reveal<Record<string, unknown>>(news.files);
    out.files = files && typeof files === "object" ? Object.fromEntries(Object.entries(files).map(([p, f]) => [p, secret(f)])) : files;
  }
  for (const k of ["checks", "dirs", "signal"]) if (isSecret(news[k])) out[k] = reveal(news[k]);
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
    out.push({ path, content, mode: parseMode(new Issues(""), "", spec.mode), secret: isSecret(f) || isSecret((f as any)?.content), source: spec.source });
  }
  if (missing.length) throw new Error(missing.join("\n"));
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

function observedManifest(olds: FileSetOutputs): Record<string, FileState | undefined> {
  const out: Record<string, FileState | undefined> = {};
  for (const [p, h] of Object.entries(olds.manifest ?? {})) {
    const f = reveal<any>(olds.files?.[p]);
    out[p] = h ? { sha256: h, mode: f?.mode ?? "" } : undefined;
  }
  return out;
}

type Seen = { content: string; mode: string; sha256: string; source?: string };

function outputs(inputs: FileSetInputs, host: Host, observed: Map<string, Seen | undefined>, secrets: Set<string>, createdDirs: string[], written: Record<string, string>, lastApply?: Record<string, string>): FileSetOutputs {
  const files: Record<string, any> = {};
  const manifest: Record<string, string> = {};
  for (const [p, o] of [...observed.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    manifest[p] = o ? o.sha256 : "";
    if (!o) continue;
    // Outputs keep hashes; the content only of a file that drifted from what we wrote, so that refresh and
    // preview can show the hand edit as a line diff. Binary files from the build host are hashes only.
    const spec: Record<string, unknown> = { mode: o.mode, sha256: o.sha256 };
    if (o.source) spec.source = o.source;
    else if (o.sha256 !== written[p]) spec.content = secrets.has(p) ? secret(o.content) : o.content;
    files[p] = spec;
  }
  return { ...inputs, host, files, manifest, written, createdDirs, ...(lastApply ? { lastApply } : {}) } as FileSetOutputs;
}

export function fileSetHandler(ctx: ProviderContext): ResourceHandler {
  const buildHost = () => ctx.transport({});

  async function apply(inputs: FileSetInputs, olds: FileSetOutputs | undefined): Promise<FileSetOutputs> {
  const host = inputs.host;
    const t = ctx.transport(host);
    const want = await desired(buildHost(), inputs.files);
  const ownedDirs: string[] = [];
  for (const d of inputs.dirs ?? []) ownedDirs.push(...(await t.mkdirp(d)));
  const report = await applyFiles(t, want, Object.keys(olds?.manifest ?? {}), inputs.checks ?? [], inputs.signal, !!host.systemd);
  const observed = new Map<string, Seen>(
    want.map((d) => [d.path, { content: d.source ? "" : d.content.toString(), mode: modeString(d.mode), sha256: sha256(d.content), source: d.source }]),
  );
  const createdDirs = [...new Set([...(olds?.createdDirs ?? []), ...ownedDirs, ...report.createdDirs, ...(inputs.dirs ?? [])])].sort();
  const secrets = new Set(want.filter((d) => d.secret).map((d) => d.path));
  const written = Object.fromEntries([...observed].map(([p, o]) => [p, o.sha256]));
  return outputs(inputs, host, observed, secrets, createdDirs, written, {
    written: String(report.written.length),
    changed: String(report.changed.length),
    unchanged: String(report.unchanged.length),
    removed: String(report.removed.length),
    signalled: report.signalled,
  });
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
      for (const c of diffManifests(desiredStates(await desired(buildHost(), news.files)), observedManifest(olds))) {
        // A file that drifted has its found content in the outputs: diff against that. Otherwise the engine
        // shows the change against the last inputs (inputDiff), i.e. a line diff of what we rendered.
        const drifted = (olds.files?.[c.path] as any)?.content !== undefined;
        detailedDiff[key(c.path)] = { kind: changeKind(c), inputDiff: c.kind === "update" && !drifted };
      }
      const args = (x: FileSetInputs | FileSetOutputs) => ({ checks: x.checks?.length ? x.checks : undefined, dirs: x.dirs?.length ? x.dirs : undefined, signal: x.signal });
      for (const c of diffValues(args(news), args(olds))) detailedDiff[c.path] = { kind: "update" };
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
      const paths = Object.keys(props.manifest ?? props.files ?? {});
      const found = await observeAll(ctx.transport(host), paths);
      const observed = new Map<string, Seen | undefined>();
      for (const [p, o] of found) {
        const source = reveal<any>(props.files?.[p])?.source;
        observed.set(p, o && { mode: o.mode, sha256: o.sha256, content: source ? "" : o.data.toString("utf8"), source });
      }
      const secrets = new Set(paths.filter((p) => isSecret(props.files?.[p]) || isSecret((props.files?.[p] as any)?.content)));
      const { lastApply: _drop, ...rest } = props as any;
      return { id, props: outputs(rest, host, observed, secrets, props.createdDirs ?? [], (props as any).written ?? {}) };
    },

    async delete(_id, _urn, props: FileSetOutputs) {
      const t = ctx.transport(props.host);
      const removed = await removeFiles(t, Object.keys(props.manifest ?? {}), props.createdDirs ?? []);
      await maybeSignal(t, props.signal, { written: [], changed: [], removed }, !!props.host.systemd);
    },
  };
}
