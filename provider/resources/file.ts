/**
 * netboot:index:File: one file at a path on a host. Same lifecycle as FileSet (see lifecycle.ts).
 * `content` in the outputs is what was found on the host at the last apply or refresh, so a hand edit shows
 * as a line diff in `pulumi refresh`; `sha256` is empty when the file is missing.
 *
 * Drift beyond content and mode, as FileSet's: an owner other than the one the last apply wrote (`owner` found,
 * `owners` written), another type at the path (`type`: a symlink, a folder) and folders on the way that are not
 * plain folders (`dirDrift`: a symlink in place of one, a folder this resource made that is gone). The file is
 * read without following a symlink in its folders (transport.ts), so what is outside never reaches `content`.
 * Refresh reports them; `up` repairs them (lifecycle.ts says what is replaced and what is refused).
 */
import { randomUUID } from "crypto";
import * as provider from "@pulumi/pulumi/provider";
import { ProviderContext } from "../context";
import { sha256 } from "../drift/digest";
import { diffManifests, diffValues, folderDrift } from "../drift/diff";
import { checkFilePath, FileMode, formatIssue, Issues, modeOf, modeString, parseMode } from "../model/errors";
import { hostKey, hostPath, normalizeHost, protectHost } from "../model/host";
import { FileInputs, FileOutputs } from "../schema-types";
import { applyFiles, changeKind, confinedFolders, observeAll, observeFolders, removeFiles } from "./lifecycle";
import { describeUrn, DetailedDiffKind, DiffResultWithDetail, ResourceHandler } from "./handler";
import { hasUnknown, isSecret, reveal, secret, UNKNOWN } from "../values";

/** What was found at the path: a file's content, or (`type`) something else in its place. */
interface Seen {
  content: string;
  mode: FileMode;
  sha256: string;
  size: number;
  owner?: string;
  type?: string;
}

/** Drift of the file's surroundings and what the last apply wrote it as. */
interface Around {
  createdDirs: string[];
  /** path -> owner the last apply wrote */
  owners: Record<string, string>;
  dirDrift: Record<string, string>;
}

function outs(inputs: FileInputs, found: Seen | undefined, around: Around): FileOutputs {
  const wrap = (c: string) => (isSecret(inputs.content) ? (secret(c) as string) : c);
  return {
    host: inputs.host,
    path: inputs.path,
    fullPath: hostPath(inputs.host, inputs.path),
    content: wrap(found?.content ?? ""),
    // the schema's form at the edge; "" when the file is missing
    mode: found ? modeString(found.mode) : "",
    sha256: found?.sha256 ?? "",
    size: found?.size ?? 0,
    ...(found?.owner ? { owner: found.owner } : {}),
    ...(found?.type && found.type !== "file" ? { type: found.type } : {}),
    ...around,
  };
}

/** The property of the outputs a drift change of the file is shown on. */
const changeProperty = (kind: string) => (kind === "owner" ? "owner" : kind === "type" ? "type" : "content");

export function fileHandler(ctx: ProviderContext): ResourceHandler {
  async function apply(inputs: FileInputs, olds: FileOutputs | undefined): Promise<FileOutputs> {
    const t = ctx.transport(inputs.host);
    const content = reveal<string>(inputs.content);
    const mode = modeOf(inputs.mode);
    const prevDirs = olds?.createdDirs ?? [];
    // The folders it made are its own: no symlink is followed at or below them (transport.ts).
    const report = await applyFiles(t, [{ path: inputs.path, content, mode, secret: isSecret(inputs.content) }], [], [], undefined, false, {
      owned: prevDirs,
      owners: olds?.owners,
    });
    const owner = report.owners[inputs.path];
    const found = { content, mode, sha256: sha256(content), size: Buffer.byteLength(content), owner };
    return outs(inputs, found, { createdDirs: [...new Set([...prevDirs, ...report.createdDirs])].sort(), owners: owner ? { [inputs.path]: owner } : {}, dirDrift: {} });
  }

  return {
    async check(urn, _olds, news) {
      const issues = new Issues(describeUrn(urn));
      const host = hasUnknown(news.host) ? news.host : protectHost(normalizeHost(issues, "host", news.host));
      if (news.path !== UNKNOWN) checkFilePath(issues, "path", news.path);
      const content = reveal(news.content);
      if (content !== UNKNOWN && typeof content !== "string") issues.add("content", content, "must be a string");
      if (news.mode !== UNKNOWN) parseMode(issues, "mode", news.mode);
      return { inputs: { ...news, host }, failures: issues.list.map((i) => ({ property: i.field, reason: formatIssue(i) })) };
    },

    ownedPaths: (inputs: FileInputs) => (hasUnknown(inputs.host) || hasUnknown(inputs.path) ? undefined : [{ host: hostKey(inputs.host), path: inputs.path, field: "path" }]),

    async diff(_id, _urn, olds: FileOutputs, news: FileInputs): Promise<DiffResultWithDetail> {
      const d: Record<string, { kind: DetailedDiffKind }> = {};
      // where the file is: another host or path is another file (replace)
      const where = (h: unknown, p: unknown) => ({ host: hasUnknown(h) ? UNKNOWN : hostKey(h as FileInputs["host"]), path: p });
      for (const c of diffValues(where(news.host, news.path), where(olds.host, olds.path))) d[c.path] = { kind: "update-replace" };
      // what the file holds, against what was found at the last apply or refresh (sha256 "" = missing)
      const content = reveal<string>(news.content);
      const mode = news.mode === UNKNOWN ? UNKNOWN : modeOf(news.mode);
      // The mode found at the last apply or refresh, from the outputs' string ("" when the file was missing:
      // a mode unlike any, so that the missing file's mode is a change as well as its content).
      const found = olds.mode === "" ? -1 : modeOf(olds.mode);
      // content and mode are separate properties, each with its own change (a missing file lacks both)
      // An owner other than the one written and another type at the path are updates too (`up` writes the file again).
      const owner = olds.owners?.[olds.path];
      const want = { content: { sha256: content === UNKNOWN ? UNKNOWN : sha256(content), mode: 0, ...(owner ? { owner } : {}) } };
      const have = { content: olds.sha256 === "" && !olds.type ? undefined : { sha256: olds.sha256, mode: 0, ...(olds.type ? { type: olds.type } : {}), ...(olds.owner ? { owner: olds.owner } : {}) } };
      for (const c of diffManifests(want, have)) d[changeProperty(c.kind)] = { kind: changeKind(c) };
      if (!olds.type) for (const c of diffValues({ mode }, { mode: found })) d[c.path] = { kind: changeKind(c) };
      // Folders found by refresh: `up` replaces a symlink by a folder and makes a missing one.
      for (const f of Object.keys(olds.dirDrift ?? {})) d[`dirDrift["${f}"]`] = { kind: "update" };
      const replaces = Object.entries(d).filter(([, v]) => v.kind.endsWith("replace")).map(([k]) => k);
      return { changes: Object.keys(d).length > 0, replaces, detailedDiff: d };
    },

    async create(_urn, inputs: FileInputs) {
      return { id: randomUUID(), outs: await apply(inputs, undefined) };
    },

    async update(_id, _urn, olds: FileOutputs, news: FileInputs) {
      return { outs: await apply(news, olds) };
    },

    async read(id, _urn, props: FileOutputs): Promise<provider.ReadResult> {
      const t = ctx.transport(props.host);
      const owned = props.createdDirs ?? [];
      const folders = await observeFolders(t, confinedFolders(t, [props.path, ...owned.map((d) => d + "/.")], owned), owned);
      const found = (await observeAll(t, [props.path], folders, owned)).get(props.path);
      const seen = found && { content: found.data.toString("utf8"), mode: found.mode, sha256: found.sha256, size: found.size, owner: found.owner, type: found.type };
      const around = { createdDirs: owned, owners: props.owners ?? {}, dirDrift: folderDrift(folders, new Set(owned)) };
      return { id, props: outs(props as unknown as FileInputs, seen, around) };
    },

    async delete(_id, _urn, props: FileOutputs) {
      await removeFiles(ctx.transport(props.host), [props.path], props.createdDirs ?? []);
    },
  };
}
