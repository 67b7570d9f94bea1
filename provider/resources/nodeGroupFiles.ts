/**
 * netboot:index:NodeGroupFiles: the files of one NodeGroup, rendered here in the provider from the node list.
 * The engine carries the nodes (name, MACs, IP, firmware, kernel arguments) and a manifest of hashes, never
 * file contents: at 10,000 nodes the engine's own serialization of rendered text was what made a one-node
 * change slow.
 *
 * - check: validates the group (model/pxe.ts, every error at once) and refuses a MAC, IP or host name that
 *   another group holds: groups of this stack through one claim index per server in this provider process,
 *   groups of other stacks (and hand-written files) through the server's dhcp-hostsdir, read once per server.
 * - diff: pure. Names the inputs that changed by property path (`nodes[17].kernelArgs`, `boot.args`), and
 *   the files that drifted on the host (`files["/srv/netboot/http/ipxe/group-rack1.ipxe"]`): a file drifted
 *   when what the last apply or refresh found differs from what the old inputs render to.
 * - create/update: renders and writes only the files whose bytes or mode differ, through the shared apply of
 *   fileCommon.ts (atomic writes; SIGHUP or a systemd reload only when the leases file lost or changed lines,
 *   so adding nodes keeps dnsmasq's pid).
 * - read: re-hashes the files on the host (rendering from the inputs the engine holds). A drifted file's found content goes into the outputs (`files`) and
 *   its path into the inputs the engine keeps (`drifted`); the next check renders just those files into its
 *   inputs, so `preview --diff` shows the hand edit as a line diff against what will be written.
 *   A file found with another owner than the last apply wrote (`owners`, as FileSet's) has drifted too; files
 *   are read without following a symlink in their folder (lifecycle.ts `observe`), so a symlinked folder's files
 *   are missing, never read from where the link points, and the folder is drift of its own (`dirDrift`, as
 *   FileSet's): a symlink in place of the iPXE scripts folder is named as such, not only as every script gone.
 *   `up` replaces it by a real folder (lifecycle.ts `applyFiles` repairs the folders it writes into) and writes the files.
 * - delete: removes only the files in the manifest (what this resource wrote), then the folders it created.
 *
 * - overlays (a group with `overlay`, docs/overlays.md): one archive per node under `<httpRoot>/overlays/<group>/`,
 *   named by its hash and pinned in the node's iPXE script, and the group's nginx access rules; nginx is reloaded
 *   only when those rules change. SSH host keys are generated in create/update for nodes that have none in the
 *   outputs (`hostKeys`, a secret) and kept from then on; diff and read render with the keys of the outputs.
 *
 * Retry rules are fileCommon's: an interrupted apply leaves every file old or new, and the next apply compares
 * with the host, not with state, so rerunning converges. Deleting files that are already gone is a no-op. An
 * apply that fails after generating host keys records none: the next apply generates new ones and rewrites
 * those nodes' archives (a node that booted in between sees a new key once).
 */
import { generateKeyPairSync, randomUUID } from "crypto";
import * as provider from "@pulumi/pulumi/provider";
import { sha256 } from "../drift/digest";
import { diffManifests, FileState, folderDrift } from "../drift/diff";
import { diffFields, diffNodes } from "../drift/nodes";
import { Issues, modeOf, modeString, ValidationError } from "../model/errors";
import { isPacked, unpackNodes } from "../model/packedNodes";
import { buildNodeGroupModel, Claim, ClaimIndex, claimsOf, findConflicts, NodeGroupModel } from "../model/pxe";
import { hostsDirFile, hostsFragmentFile, optsDirFile } from "../render/hosts";
import { groupScriptName } from "../render/ipxe";
import { renderNodeGroup } from "../render/nodeGroup";
import { HostKey, nginxPidFile, openSshEd25519, overlayAccessFile, renderGroupOverlays } from "../render/overlay";
import { RenderedFile } from "../render/types";
import { FileSpec, Host, NodeGroupFilesInputs, NodeGroupFilesOutputs, PxeServerInfo, Signal } from "../schema-types";
import { hostKey, normalizeHost, protectHost } from "../model/host";
import { Transport } from "../transport";
import { ProviderContext } from "../context";
import { applyFiles, confinedFolders, DesiredFile, maybeSignal, observeAll, observeFolders, removeFiles } from "./lifecycle";
import { DetailedDiffKind, DiffResultWithDetail, ResourceHandler } from "./handler";
import { hasUnknown, isSecret, reveal, secret } from "../values";

/**
 * What the handler needs from outside: the context's transports and claim indexes (`nodeGroupFilesDeps(ctx)`);
 * a unit test hands its own in-memory ones.
 */
export interface NodeGroupFilesDeps {
  transport(host: Host): Transport;
  /** Registers a group's claims with this stack's index for the server; returns the index (`holder(c, group)`). */
  registerClaims(serverKey: string, group: string, claims: Claim[]): ClaimIndex;
  /** Claims in the server's dhcp-hostsdir, its own file excepted (`holder(c, except)`). */
  serverClaims(host: Host, hostsDir: string, group: string): Promise<{ index: ClaimIndex; except: string }>;
}

export function nodeGroupFilesDeps(ctx: ProviderContext): NodeGroupFilesDeps {
  return {
    transport: (host) => ctx.transport(host),
    registerClaims: (serverKey, group, claims) => ctx.claims.register(serverKey, group, claims),
    serverClaims: (host, hostsDir, group) => ctx.hostsDirs.read(host, hostsDir, group),
  };
}

/** The inputs as the engine keeps them: the schema's, plus what check and read add (see the header). */
type Inputs = { -readonly [K in keyof NodeGroupFilesInputs]: NodeGroupFilesInputs[K] } & {
  /** Paths that read() found drifted; set only in the inputs read() returns. */
  drifted?: string[];
  /** The rendered content of just the drifted files; set only by check(), for the line diff in preview. */
  files?: Record<string, FileSpec>;
};
type Outputs = NodeGroupFilesOutputs;

const FILE_MODE = 0o644;
const fileKey = (p: string) => `files["${p}"]`;
const resourceName = (group: unknown) => `netboot:index:NodeGroup "${group}"`;

/** The model of validated inputs (state or checked inputs); a failure here means state was written by hand. */
function modelOf(inputs: Pick<Inputs, "group" | "server" | "nodes" | "boot" | "overlay" | "network">): NodeGroupModel {
  const issues = new Issues(resourceName(inputs.group));
  const g = buildNodeGroupModel(inputs.group, { server: reveal(inputs.server), nodes: unpackNodes(reveal(inputs.nodes)), boot: reveal(inputs.boot), overlay: reveal(inputs.overlay), network: reveal(inputs.network) }, issues);
  if (!g) throw new ValidationError(issues.list);
  return g;
}

/**
 * A fresh ed25519 host key in OpenSSH's formats. The only randomness of this resource: it runs when a node has
 * no key in state yet (or the group's rotateHostKeys changed), never on a plain update, so keys survive every
 * `up` and any change of image.
 */
function newHostKey(node: string): HostKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  // PKCS#8 and SPKI DER of ed25519 end in the 32-byte seed and the 32-byte public key (RFC 8410).
  const seed = privateKey.export({ format: "der", type: "pkcs8" }).subarray(-32);
  const pub = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  return { type: "ed25519", ...openSshEd25519(seed, pub, `root@${node}`) };
}

/** The host keys the group's nodes have in state (outputs), as plain values. */
function hostKeysOf(olds: Partial<Outputs> | undefined): Record<string, HostKey[]> {
  return (reveal<Record<string, HostKey[]> | undefined>(olds?.hostKeys) ?? {}) as Record<string, HostKey[]>;
}

/**
 * Keys for every node of a group with `hostKeys`: kept from state, new for new nodes, all new on rotation. A
 * mirror's files (`sharedHostKeys`, NodeGroup `mirrors`) take the first server's keys instead: one identity per
 * node, whichever server it booted from.
 */
function keysFor(g: NodeGroupModel, olds: Partial<Outputs> | undefined, shared?: Record<string, HostKey[]>): Record<string, HostKey[]> | undefined {
  if (!g.overlay?.hostKeys) return undefined;
  if (shared) {
    const missing = g.nodes.filter((n) => !shared[n.name]?.length).map((n) => n.name);
    if (missing.length) throw new ValidationError([{ resource: resourceName(g.name), field: "sharedHostKeys", value: missing.join(", "), message: "has no host key for these nodes (the first server's files generate them)" }]);
    return Object.fromEntries(g.nodes.map((n) => [n.name, shared[n.name]]));
  }
  const rotated = (olds?.hostKeysGeneration ?? 0) !== g.overlay.rotateHostKeys;
  const kept = rotated ? {} : hostKeysOf(olds);
  // Only nodes of the group keep keys: a removed node's key leaves state with it.
  return Object.fromEntries(g.nodes.map((n) => [n.name, kept[n.name]?.length ? kept[n.name] : [newHostKey(n.name)]]));
}

/**
 * The owners the last apply wrote, compact for state: the owner most files have (`owner`) and the paths that
 * differ (`owners`). Every file of a group is written by one provider process, so at 10,000 nodes this is one
 * value instead of 10,000; a state that holds the full map (no `owner`) reads the same.
 */
function packOwners(all: Record<string, string>): { owner?: string; owners: Record<string, string> } {
  const count = new Map<string, number>();
  for (const o of Object.values(all)) count.set(o, (count.get(o) ?? 0) + 1);
  const owner = [...count].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
  return { ...(owner ? { owner } : {}), owners: Object.fromEntries(Object.entries(all).filter(([, o]) => o !== owner)) };
}

/** Path -> owner the last apply wrote, for every file of the manifest (the inverse of packOwners). */
function ownersOf(olds: Partial<Pick<Outputs, "owner" | "owners" | "manifest">> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of Object.keys(olds?.manifest ?? {})) {
    const o = olds?.owners?.[p] ?? olds?.owner;
    if (o) out[p] = o;
  }
  return out;
}

/** What the files should be: rendered bytes and modes, and (`owners`) the owner the last apply wrote each with. */
function manifestOf(files: RenderedFile[], owners: Record<string, string> = {}): Record<string, FileState> {
  return Object.fromEntries(files.map((f) => [f.path, { sha256: sha256(f.content), mode: f.mode, ...(owners[f.path] ? { owner: owners[f.path] } : {}) }]));
}

/** What the last apply or refresh found: the manifest's hashes, the mode and owner of a file only when it drifted. */
function observedManifest(olds: { manifest?: Record<string, string>; files?: Record<string, FileSpec> }): Record<string, FileState | undefined> {
  const out: Record<string, FileState | undefined> = {};
  for (const [p, h] of Object.entries(olds.manifest ?? {})) {
    const f = reveal<FileSpec | undefined>(olds.files?.[p]);
    out[p] = h ? { sha256: h, mode: modeOf(f?.mode, FILE_MODE), ...(f?.owner ? { owner: f.owner } : {}) } : undefined;
  }
  return out;
}

function signalOf(server: { pidFile?: string; dnsmasqUnit?: string }, leases: string, opts: string): Signal {
  // dnsmasq reads a new hostsdir or optsdir file by itself (inotify) but keeps removed or changed entries until SIGHUP.
  return { pidFile: server.pidFile, systemdUnit: server.dnsmasqUnit, on: "removal", paths: [leases, opts] };
}

/**
 * nginx rereads the group's overlay access rules on a reload: with systemd the distribution's unit, otherwise the
 * standalone nginx of the server (SIGHUP through its pid file; not running is not an error). Only when the
 * rules file was written or removed, so a group without overlay changes never touches nginx.
 */
function nginxSignalOf(server: { hostsDir: string; name: string }, access: string): Signal {
  return { pidFile: nginxPidFile(server), systemdUnit: "nginx", on: "change", paths: [access] };
}

/**
 * The nodes that changed, by engine property path. The engine shows a path's old and new values from the inputs it
 * holds: with the packed list (model/packedNodes.ts) that is the node's string, so a changed field is named by its
 * node (`nodes[17]`, shown as the two strings); a list still in structs (state of an older version) keeps the field.
 */
function nodeChanges(before: unknown, after: unknown) {
  const changes = diffNodes("nodes", unpackNodes(before) as Record<string, unknown>[], unpackNodes(after) as Record<string, unknown>[]);
  if (!isPacked(after)) return changes;
  const byNode = new Map<string, (typeof changes)[number]>();
  for (const c of changes) {
    const at = c.path.replace(/^(nodes\[\d+\]).*$/, "$1");
    if (!byNode.has(at)) byNode.set(at, { path: at, kind: at === c.path ? c.kind : "update" });
  }
  return [...byNode.values()];
}

// The owner counts only when both sides know it (as diffManifests): what the last apply wrote, what refresh found.
const sameState = (a: FileState | undefined, b: FileState | undefined) =>
  a?.sha256 === b?.sha256 && a?.mode === b?.mode && !(a?.owner && b?.owner && a.owner !== b.owner);

/** The inputs that are the resource's own, as handed back by read(). */
function own(i: Pick<Inputs, "group" | "server" | "nodes" | "boot" | "overlay" | "network" | "sharedHostKeys">) {
  return {
    group: i.group, server: i.server, nodes: i.nodes, boot: i.boot,
    ...(i.overlay !== undefined ? { overlay: i.overlay } : {}), ...(i.network !== undefined ? { network: i.network } : {}),
    // private keys: secret in state whatever the program passed
    ...(i.sharedHostKeys !== undefined ? { sharedHostKeys: (isSecret(i.sharedHostKeys) ? i.sharedHostKeys : secret(i.sharedHostKeys)) as Inputs["sharedHostKeys"] } : {}),
  };
}

/** Found content of drifted files is as secret as the inputs it was rendered from. */
function secretInputs(i: Pick<Inputs, "nodes" | "boot" | "overlay">): boolean {
  return isSecret(i.nodes) || isSecret(i.boot) || isSecret(i.overlay);
}

/**
 * An overlay archive's content is never put in outputs: it may hold host keys and other secrets, and it is an
 * archive, not text a line diff helps with. Its path and hash say which node's overlay drifted.
 */
const isArchive = (g: NodeGroupModel, p: string) => !!g.overlay && p.startsWith(`${g.server.httpRoot}/overlays/`);

export function nodeGroupFilesHandler(deps: NodeGroupFilesDeps): ResourceHandler {
  async function apply(inputs: Inputs, olds: Outputs | undefined): Promise<Outputs> {
    const g = modelOf(inputs);
    const host = g.server.host;
    const t = deps.transport(host);
    const keys = keysFor(g, olds, reveal<Record<string, HostKey[]> | undefined>(inputs.sharedHostKeys));
    const overlays = renderGroupOverlays(g, keys);
    const rendered = renderNodeGroup(g, keys, overlays);
    const want: DesiredFile[] = rendered.map((f) => ({ path: f.path, content: f.content, mode: f.mode, secret: !!f.secret }));
    const access = overlayAccessFile(g.server, g.name);
    // With systemd the whole configuration is checked with the new rules in place (`nginx -t`), as PxeServer
    // checks its server block; a refusal puts the old file back and fails the update before nginx reloads.
    const checks = host.systemd && g.overlay ? [{ path: access, command: ["nginx", "-t"] }] : [];
    const report = await applyFiles(t, want, Object.keys(olds?.manifest ?? {}), checks, signalOf(g.server, hostsDirFile(g), optsDirFile(g)), !!host.systemd, { owners: ownersOf(olds) });
    const nginx = await maybeSignal(t, nginxSignalOf(g.server, access), report, !!host.systemd);
    // Outputs keep the group and server (delete needs them) but not the node list: diff and read get the
    // inputs from the engine (see _server.ts), so the nodes are not carried twice.
    return {
      group: inputs.group,
      server: inputs.server,
      manifest: Object.fromEntries(want.map((d) => [d.path, sha256(d.content)])),
      files: {},
      ...packOwners(report.owners),
      createdDirs: [...new Set([...(olds?.createdDirs ?? []), ...report.createdDirs])].sort(),
      // the apply replaced every folder it writes into that was not a plain folder
      dirDrift: {},
      lastApply: {
        written: String(report.written.length),
        changed: String(report.changed.length),
        unchanged: String(report.unchanged.length),
        removed: String(report.removed.length),
        signalled: report.signalled,
        ...(g.overlay || nginx.done !== "not needed" ? { nginx: nginx.done } : {}),
      },
      ...(keys ? {
        hostKeys: secret(keys) as Outputs["hostKeys"],
        hostKeysGeneration: g.overlay!.rotateHostKeys,
        hostPublicKeys: Object.fromEntries(Object.entries(keys).map(([n, ks]) => [n, ks[0].publicKey.trim()])),
      } : {}),
      ...(g.overlay ? { overlays: Object.fromEntries(overlays.map((o) => [o.node, o.url])) } : {}),
    };
  }

  return {
    async check(_urn, olds: Partial<Inputs> | undefined, news: Inputs) {
      const issues = new Issues(resourceName(news.group));
      const inputs: Inputs = { ...own(news) };
      if (typeof news.group !== "string") issues.add("group", news.group, "must be the node group's name");
      // With a value still unknown (preview of a program that computes it) the group is checked at `up`.
      else if (!hasUnknown(news.server) && !hasUnknown(news.nodes) && !hasUnknown(news.boot) && !hasUnknown(news.overlay) && !hasUnknown(news.network)) {
        const server = reveal<any>(news.server);
        let checked = server;
        if (server && typeof server === "object") {
          // Only the SSH key stays secret, so that paths and addresses show in diffs (as FileSet's host does).
          const host = normalizeHost(issues, "server.host", server.host);
          checked = { ...server, host };
          inputs.server = { ...server, host: protectHost(host) };
        }
        const g = buildNodeGroupModel(news.group, { server: checked, nodes: unpackNodes(reveal(news.nodes)), boot: reveal(news.boot), overlay: reveal(news.overlay), network: reveal(news.network) }, issues);
        if (g) {
          const mine = claimsOf(g);
          const sameStack = deps.registerClaims(`${hostKey(g.server.host)}${g.server.hostsDir}`, g.name, mine);
          const onServer = await deps.serverClaims(g.server.host, g.server.hostsDir, g.name);
          findConflicts(mine, [{ index: sameStack, except: g.name }, onServer], issues);
          const drifted = new Set(Array.isArray(olds?.drifted) ? olds!.drifted : []);
          if (issues.ok && drifted.size > 0) {
            const files: Record<string, FileSpec> = {};
            for (const f of renderNodeGroup(g, hostKeysOf(olds as Partial<Outputs>)))
              if (drifted.has(f.path) && !isArchive(g, f.path)) files[f.path] = { content: secretInputs(news) ? (secret(f.content) as string) : f.content, mode: modeString(f.mode) };
            inputs.files = files;
          }
        }
      }
      // One failure with every issue: the engine prints it as one block, the way the component used to throw.
      const failures = issues.ok ? [] : [{ property: "", reason: new ValidationError(issues.list).message }];
      return { inputs, failures };
    },

    /**
     * The files named by the group (its leases, DHCP options, hosts fragment, group script and overlay rules),
     * claimed in this stack and against other stacks' journal entries: two stacks with a group of one name on one
     * server would otherwise rewrite one leases file in turn. A node's own script is named by its MAC, and the MAC
     * already has one owner (check's claims, across stacks through the hostsdir), so it is not claimed again: the
     * list, and each journal entry, stays five paths whatever the group's size.
     */
    ownedPaths(inputs: Inputs) {
      if (typeof inputs.group !== "string" || hasUnknown(inputs.server)) return undefined;
      const s = reveal<PxeServerInfo>(inputs.server);
      if (!s || typeof s !== "object" || !s.host || typeof s.hostsDir !== "string" || typeof s.httpRoot !== "string") return undefined;
      const host = hostKey(reveal<Host>(s.host));
      const g = { name: inputs.group, server: s };
      const paths = [hostsDirFile(g), optsDirFile(g), hostsFragmentFile(g), `${s.httpRoot}/ipxe/${groupScriptName(inputs.group)}`, overlayAccessFile(s, inputs.group)];
      return paths.map((p) => ({ host, path: p, field: "group" }));
    },

    async diff(_id, _urn, olds: Outputs & { host?: Host }, news: Inputs, oldInputs?: Inputs): Promise<DiffResultWithDetail> {
      const detailedDiff: Record<string, { kind: DetailedDiffKind; inputDiff?: boolean }> = {};
      // A state made by FileSet (the NodeGroup of earlier versions, moved here by an alias) has `host` only.
      const oldHost = olds.server?.host ?? olds.host;
      if (hasUnknown(news.server) || !oldHost || hostKey(oldHost) !== hostKey(reveal<any>(news.server).host))
        return { changes: true, replaces: ["server"], detailedDiff: { "server.host": { kind: "update-replace", inputDiff: true } } };
      const unknown = (["nodes", "boot", "overlay", "network", "sharedHostKeys"] as const).filter((k) => hasUnknown(news[k]));
      if (unknown.length > 0) return { changes: true, detailedDiff: Object.fromEntries(unknown.map((k) => [k, { kind: "update" as const }])) };

      // The inputs that changed, by path; the engine shows their old and new values from the inputs.
      // Without the old inputs of a NodeGroupFiles (a FileSet's state) every input counts as changed.
      const old = oldInputs && Array.isArray(oldInputs.nodes) && olds.server ? oldInputs : undefined;
      const inputChanges = old
        ? [
            ...(old.group !== news.group ? [{ path: "group", kind: "update" as const }] : []),
            ...diffFields("server", reveal(old.server), reveal(news.server)),
            ...diffFields("boot", reveal(old.boot), reveal(news.boot)),
            ...diffFields("overlay", reveal(old.overlay), reveal(news.overlay)),
            ...diffFields("network", reveal(old.network), reveal(news.network)),
            ...nodeChanges(reveal(old.nodes), reveal(news.nodes)),
            // a mirror's keys follow the first server's (a rotation there, a new node): named, never shown
            ...(JSON.stringify(reveal(old.sharedHostKeys) ?? null) !== JSON.stringify(reveal(news.sharedHostKeys) ?? null) ? [{ path: "sharedHostKeys", kind: "update" as const }] : []),
          ]
        : [{ path: "nodes", kind: "update" as const }];
      for (const c of inputChanges) detailedDiff[c.path] = { kind: c.kind, inputDiff: true };

      // The files that drifted: found (manifest) differs from what the old inputs render to. A file that
      // changes only because an input changed is already named by that input.
      const keys = hostKeysOf(olds);
      const expected = manifestOf(renderNodeGroup(modelOf(news), keys), ownersOf(olds));
      // Unchanged inputs render the same files: a preview of 50 unchanged groups renders each group once, not twice.
      const sameInputs = !!old && inputChanges.length === 0;
      const previous = sameInputs ? expected : old ? manifestOf(renderNodeGroup(modelOf(old), keys), ownersOf(olds)) : {};
      const observed = observedManifest(olds);
      for (const c of diffManifests(expected, observed)) {
        if (sameState(previous[c.path], observed[c.path])) continue;
        detailedDiff[fileKey(c.path)] = { kind: c.kind === "add" ? "add" : c.kind === "delete" ? "delete" : "update" };
      }
      // Folders refresh found not to be plain folders: `up` replaces them.
      for (const d of Object.keys(olds.dirDrift ?? {})) detailedDiff[`dirDrift["${d}"]`] = { kind: "update" };
      return { changes: Object.keys(detailedDiff).length > 0, detailedDiff };
    },

    async create(_urn, inputs: Inputs) {
      return { id: randomUUID(), outs: await apply(inputs, undefined) };
    },

    async update(_id, _urn, olds: Outputs, news: Inputs) {
      return { outs: await apply(news, olds) };
    },

    async read(id, _urn, props: Outputs & { host?: Host }, inputs?: Inputs): Promise<provider.ReadResult> {
      if (!inputs || !Array.isArray(inputs.nodes) || !props.server) {
        // A FileSet's state (see diff) not yet updated: hashes only, nothing to render against.
        const found = await observeAll(deps.transport(props.host!), Object.keys(props.manifest ?? {}));
        return { id, props: { ...props, manifest: Object.fromEntries([...found].map(([p, o]) => [p, o?.sha256 ?? ""])) } };
      }
      const g = modelOf(inputs);
      const expected = manifestOf(renderNodeGroup(g, hostKeysOf(props)), ownersOf(props));
      const paths = Object.keys(props.manifest ?? {});
      const t = deps.transport(g.server.host);
      // The folders the files are in (each file's own, and every one below a target root): a few stats per group,
      // whatever its size. The files below one that is not a folder are missing (observeAll).
      const folders = await observeFolders(t, confinedFolders(t, paths));
      const found = await observeAll(t, paths, folders);
      const manifest: Record<string, string> = {};
      const files: Record<string, FileSpec> = {};
      const drifted: string[] = [];
      for (const p of paths) {
        const o = found.get(p);
        manifest[p] = o ? o.sha256 : "";
        const want = expected[p];
        if (o && want && sameState({ sha256: o.sha256, mode: o.mode, owner: o.owner }, want)) continue;
        // Gone, edited, a mode or owner change; a file no longer rendered but still there counts too (up removes it).
        drifted.push(p);
        if (!o || isArchive(g, p)) continue;
        const text = o.data.toString("utf8");
        const content = secretInputs(inputs) ? (secret(text) as string) : text;
        files[p] = { mode: modeString(o.mode), sha256: o.sha256, owner: o.owner, ...(o.sha256 !== want?.sha256 ? { content } : {}) };
      }
      return { id, props: { ...props, manifest, files, dirDrift: folderDrift(folders, new Set()) }, inputs: { ...own(inputs), ...(drifted.length ? { drifted: drifted.sort() } : {}) } };
    },

    async delete(_id, _urn, props: Outputs & { host?: Host; signal?: Signal }) {
      const host = props.server?.host ?? props.host!;
      const t = deps.transport(host);
      const removed = await removeFiles(t, Object.keys(props.manifest ?? {}), props.createdDirs ?? []);
      const server = reveal<PxeServerInfo | undefined>(props.server);
      const signal = server ? signalOf(server, `${server.hostsDir}/${props.group}`, optsDirFile({ name: props.group, server })) : props.signal;
      await maybeSignal(t, signal, { written: [], changed: [], removed }, !!reveal<Host>(host).systemd);
      if (server) await maybeSignal(t, nginxSignalOf(server, overlayAccessFile(server, props.group)), { written: [], changed: [], removed }, !!reveal<Host>(host).systemd);
    },
  };
}
