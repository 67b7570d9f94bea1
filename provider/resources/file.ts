/**
 * netboot:index:File: one file at a path on a host. Same lifecycle as FileSet (see fileCommon.ts).
 * `content` in the outputs is what was found on the host at the last apply or refresh, so a hand edit shows
 * as a line diff in `pulumi refresh`; `sha256` is empty when the file is missing.
 */
import { randomUUID } from "crypto";
import * as provider from "@pulumi/pulumi/provider";
import { sha256 } from "../drift/digest";
import { checkFilePath, formatIssue, Issues, modeString, parseMode } from "../model/errors";
import { FileInputs, FileOutputs } from "../schema-types";
import { hostKey, hostPath, normalizeHost, protectHost, transportFor } from "../transport";
import { applyFiles, observe, removeFiles } from "./fileCommon";
import { describeUrn, DetailedDiffKind, DiffResultWithDetail, ResourceHandler } from "./handler";
import { hasUnknown, isSecret, reveal, secret, UNKNOWN } from "./values";

function outs(inputs: FileInputs, found: { content: string; mode: string; sha256: string; size: number } | undefined, createdDirs: string[]): FileOutputs {
  const wrap = (c: string) => (isSecret(inputs.content) ? (secret(c) as string) : c);
  return {
    host: inputs.host,
    path: inputs.path,
    fullPath: hostPath(inputs.host, inputs.path),
    content: wrap(found?.content ?? ""),
    mode: found?.mode ?? "",
    sha256: found?.sha256 ?? "",
    size: found?.size ?? 0,
    createdDirs,
  };
}

export const fileHandler: ResourceHandler = {
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
    if (hasUnknown(news.host) || hostKey(olds.host) !== hostKey(news.host)) d.host = { kind: "update-replace" };
    if (news.path !== olds.path) d.path = { kind: "update-replace" };
    const content = reveal<string>(news.content);
    if (content === UNKNOWN || olds.sha256 === "" || sha256(content) !== olds.sha256) d.content = { kind: olds.sha256 === "" ? "add" : "update" };
    if (news.mode === UNKNOWN || modeString(parseMode(new Issues(""), "", news.mode)) !== olds.mode) d.mode = { kind: "update" };
    const replaces = Object.entries(d).filter(([, v]) => v.kind.endsWith("replace")).map(([k]) => k);
    return { changes: Object.keys(d).length > 0, replaces, detailedDiff: d };
  },

  async create(_urn, inputs: FileInputs) {
    return { id: randomUUID(), outs: await apply(inputs, []) };
  },

  async update(_id, _urn, olds: FileOutputs, news: FileInputs) {
    return { outs: await apply(news, olds.createdDirs ?? []) };
  },

  async read(id, _urn, props: FileOutputs): Promise<provider.ReadResult> {
    const found = await observe(transportFor(props.host), props.path);
    return { id, props: outs(props as unknown as FileInputs, found, props.createdDirs ?? []) };
  },

  async delete(_id, _urn, props: FileOutputs) {
    await removeFiles(transportFor(props.host), [props.path], props.createdDirs ?? []);
  },
};

async function apply(inputs: FileInputs, prevDirs: string[]): Promise<FileOutputs> {
  const t = transportFor(inputs.host);
  const content = reveal<string>(inputs.content);
  const mode = parseMode(new Issues(""), "", inputs.mode);
  const report = await applyFiles(t, [{ path: inputs.path, content, mode, secret: isSecret(inputs.content) }], []);
  const found = { content, mode: modeString(mode), sha256: sha256(content), size: Buffer.byteLength(content) };
  return outs(inputs, found, [...new Set([...prevDirs, ...report.createdDirs])].sort());
}
