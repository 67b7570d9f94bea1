/**
 * netboot:index:File: one file at a path on a host. Same lifecycle as FileSet (see lifecycle.ts).
 * `content` in the outputs is what was found on the host at the last apply or refresh, so a hand edit shows
 * as a line diff in `pulumi refresh`; `sha256` is empty when the file is missing.
 */
import { randomUUID } from "crypto";
import * as provider from "@pulumi/pulumi/provider";
import { ProviderContext } from "../context";
import { sha256 } from "../drift/digest";
import { diffManifests, diffValues } from "../drift/diff";
import { checkFilePath, FileMode, formatIssue, Issues, modeOf, modeString, parseMode } from "../model/errors";
import { hostKey, hostPath, normalizeHost, protectHost } from "../model/host";
import { FileInputs, FileOutputs } from "../schema-types";
import { applyFiles, changeKind, observe, removeFiles } from "./lifecycle";
import { describeUrn, DetailedDiffKind, DiffResultWithDetail, ResourceHandler } from "./handler";
import { hasUnknown, isSecret, reveal, secret, UNKNOWN } from "../values";

function outs(inputs: FileInputs, found: { content: string; mode: FileMode; sha256: string; size: number } | undefined, createdDirs: string[]): FileOutputs {
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
    createdDirs,
  };
}

export function fileHandler(ctx: ProviderContext): ResourceHandler {
  async function apply(inputs: FileInputs, prevDirs: string[]): Promise<FileOutputs> {
    const t = ctx.transport(inputs.host);
    const content = reveal<string>(inputs.content);
    const mode = modeOf(inputs.mode);
    const report = await applyFiles(t, [{ path: inputs.path, content, mode, secret: isSecret(inputs.content) }], []);
    const found = { content, mode, sha256: sha256(content), size: Buffer.byteLength(content) };
    return outs(inputs, found, [...new Set([...prevDirs, ...report.createdDirs])].sort());
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
      const want = { content: { sha256: content === UNKNOWN ? UNKNOWN : sha256(content), mode: 0 } };
      const have = { content: olds.sha256 === "" ? undefined : { sha256: olds.sha256, mode: 0 } };
      for (const c of [...diffManifests(want, have), ...diffValues({ mode }, { mode: found })]) d[c.path] = { kind: changeKind(c) };
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
      const found = await observe(ctx.transport(props.host), props.path);
      const seen = found && { content: found.data.toString("utf8"), mode: found.mode, sha256: found.sha256, size: found.size };
      return { id, props: outs(props as unknown as FileInputs, seen, props.createdDirs ?? []) };
    },

    async delete(_id, _urn, props: FileOutputs) {
      await removeFiles(ctx.transport(props.host), [props.path], props.createdDirs ?? []);
    },
  };
}
