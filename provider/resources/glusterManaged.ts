/**
 * netboot:index:GlusterManagedVolume: a volume created and reconciled through glusterd with the `gluster`
 * command, run on the storage host through the transport's exec (never a shell).
 *
 * - create: peer probe each brick host, `volume create` (with `force` when asked), `volume set` each option,
 *   `volume start`, then the client volfile from `gluster system:: getspec VOL`. A partial create can be retried:
 *   an existing volume with the same bricks is adopted, a stopped one is started.
 * - read: `gluster volume info VOL --xml`; the options of netboot's option table that glusterd reports become
 *   the `options` output, so a key changed or set by hand shows in `pulumi refresh` and `pulumi up` sets it back.
 *   A volume deleted by hand reads as gone (the engine recreates it).
 * - update: `volume set` changed keys, `volume reset` keys no longer wanted; bricks or layout changes replace.
 *   A volume that is gone (an interrupted delete: the intent journal on `host` makes diff report it) is created
 *   again, as create would.
 * - delete: `volume stop` then `volume delete` (brick data stays on the bricks, as with glusterd itself);
 *   a missing volume is not an error.
 */
import * as provider from "@pulumi/pulumi/provider";
import { ProviderContext } from "../context";
import { sha256 } from "../drift/digest";
import { canonical, Change, diffStates, diffValues } from "../drift/diff";
import { formatIssue, Issues } from "../model/errors";
import { buildGlusterModel, createArgs, GlusterModel, OPTIONS } from "../model/gluster";
import { hostKey, normalizeHost, protectHost } from "../model/host";
import { Transport } from "../transport/transport";
import { parseVolfile, xlatorTypes } from "../model/volfileParse";
import { changeKind } from "./lifecycle";
import { describeUrn, DiffResultWithDetail, ResourceHandler } from "./handler";
import { hasUnknown, reveal } from "../values";

/** Inputs that change the volume's identity (replace). */
const REPLACE_KEYS = ["volumeName", "bricks", "layout", "replica", "disperse", "redundancy", "host", "glusterdSocket"];

function modelOf(urn: string, inputs: any): GlusterModel {
  const issues = new Issues(describeUrn(urn));
  const host = normalizeHost(issues, "host", inputs.host);
  const m = buildGlusterModel(inputs.volumeName ?? describeUrn(urn), { ...reveal<any>(inputs), mode: "managed" }, host, issues);
  issues.throwIfAny();
  return m!;
}

/**
 * How long (s) the CLI waits for glusterd to answer a `peer probe`. A probe of a host that is off the network
 * waits for glusterd's TCP connect, which takes over a minute when the host's ARP entry is still cached (SYN
 * retries), and the CLI's own default is 120 s; a live peer answers in well under a second.
 */
export const PROBE_TIMEOUT_S = 20;

async function gluster(t: Transport, m: GlusterModel, args: string[], allowFail = false, cliTimeoutS?: number): Promise<{ code: number; out: string }> {
  const argv = ["gluster", "--mode=script", ...(m.glusterdSocket ? [`--glusterd-sock=${m.glusterdSocket}`] : []), ...(cliTimeoutS ? [`--timeout=${cliTimeoutS}`] : []), ...args];
  const r = await t.exec(argv, { timeoutMs: cliTimeoutS ? (cliTimeoutS + 30) * 1000 : 120000 });
  if (r.code !== 0 && !allowFail) throw new Error(`${t.description}: ${argv.join(" ")} failed (${r.code}): ${(r.stderr + r.stdout).trim()}`);
  return { code: r.code, out: r.stdout + r.stderr };
}

export interface VolumeInfo {
  status: number;
  bricks: string[];
  options: Record<string, string>;
}

/** The bits of `gluster volume info VOL --xml` netboot reads. Pure; exported for tests. */
export function parseVolumeInfoXml(xml: string): VolumeInfo | undefined {
  const vol = /<volume>([\s\S]*)<\/volume>/.exec(xml);
  if (!vol) return undefined;
  const unesc = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
  const status = Number((/<status>(\d+)<\/status>/.exec(vol[1]) ?? [])[1] ?? -1);
  // glusterfs 10: `<brick uuid="U">HOST:PATH<name>HOST:PATH</name><hostUuid>U</hostUuid>...</brick>`
  const bricks = [...vol[1].matchAll(/<brick uuid="[^"]*">([^<]*)</g)].map((x) => unesc(x[1]));
  const options: Record<string, string> = {};
  for (const o of vol[1].matchAll(/<option>\s*<name>([^<]*)<\/name>\s*<value>([^<]*)<\/value>\s*<\/option>/g)) options[unesc(o[1])] = unesc(o[2]);
  return { status, bricks, options };
}

/** Only the keys netboot manages: glusterd's own defaults (nfs.disable, ...) are not drift. */
export function managedOptions(all: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(all).sort()) if (k in OPTIONS) out[k] = all[k];
  return out;
}

async function info(t: Transport, m: GlusterModel): Promise<VolumeInfo | undefined> {
  const r = await gluster(t, m, ["volume", "info", m.name, "--xml"], true);
  if (r.code !== 0 || /<opRet>-1<\/opRet>/.test(r.out)) return undefined;
  return parseVolumeInfoXml(r.out);
}

async function outputsFor(t: Transport, m: GlusterModel, inputs: any, vi: VolumeInfo): Promise<any> {
  const spec = await gluster(t, m, ["system::", "getspec", m.name]);
  const text = spec.out.endsWith("\n") ? spec.out : spec.out + "\n";
  return {
    ...inputs,
    volumeName: m.name,
    options: managedOptions(vi.options),
    started: vi.status === 1,
    clientVolfile: text,
    clientVolfileSha256: sha256(text),
    xlators: xlatorTypes(parseVolfile(text)),
  };
}

/** The option changes that turn glusterd's `observed` options into `desired` (sorted by key; delete = reset). */
export function optionChanges(desired: Record<string, string>, observed: Record<string, string>): Change<string>[] {
  return diffStates(desired, observed, (want, have) => (want === have ? "same" : "update"));
}

async function reconcile(t: Transport, m: GlusterModel, observed: Record<string, string>): Promise<void> {
  const changes = optionChanges(m.options, managedOptions(observed));
  for (const c of changes) if (c.after !== undefined) await gluster(t, m, ["volume", "set", m.name, c.path, c.after]);
  for (const c of changes) if (c.after === undefined) await gluster(t, m, ["volume", "reset", m.name, c.path]);
}

export interface PeerStatus {
  connected: boolean;
  state: string;
}

/** `gluster peer status --xml`: every name a peer is known by -> its state. Pure; exported for tests. */
export function parsePeerStatusXml(xml: string): Map<string, PeerStatus> {
  const out = new Map<string, PeerStatus>();
  for (const p of xml.matchAll(/<peer>([\s\S]*?)<\/peer>/g)) {
    const body = p[1];
    const st: PeerStatus = { connected: /<connected>1<\/connected>/.test(body), state: (/<stateStr>([^<]*)<\/stateStr>/.exec(body) ?? [])[1] ?? "?" };
    for (const h of body.matchAll(/<hostname>([^<]*)<\/hostname>/g)) out.set(h[1], st);
  }
  return out;
}

/**
 * Peer-probes every brick host from the managing host, then waits until each is "Peer in Cluster" and
 * connected, so a brick host that is down fails here with its name, before `volume create`.
 * - Each probe is bounded by PROBE_TIMEOUT_S: a host that does not answer at all costs that long, not the
 *   CLI's 120 s.
 * - Probing a peer already in the pool is a no-op, so a create that failed on a down host is retried by the
 *   next `pulumi up`. A probe that timed out leaves the host in glusterd's peer list and glusterd keeps
 *   reconnecting (every 3 s); once the host answers it joins, which is why we wait for the state rather than
 *   trust the probe's exit code (`volume create` fails with "Failed to find host" until then).
 */
async function probeBrickHosts(t: Transport, m: GlusterModel): Promise<void> {
  const failed: string[] = [];
  const remote: string[] = [];
  for (const h of [...new Set(m.bricks.map((b) => b.host))]) {
    const r = await gluster(t, m, ["peer", "probe", h], true, PROBE_TIMEOUT_S);
    const why = /Request timed out/.test(r.out) ? `no answer within ${PROBE_TIMEOUT_S} s` : r.out.trim().replace(/^peer probe: /, "");
    if (r.code !== 0) failed.push(`brick host ${h} is unreachable from glusterd on ${t.description} (peer probe: ${why}); is glusterd running there and port 24007 open?`);
    else if (!/localhost not needed/.test(r.out)) remote.push(h);
  }
  if (failed.length) throw new Error(`${t.description}: ${failed.join("; ")}`);
  const until = Date.now() + PROBE_TIMEOUT_S * 1000;
  for (;;) {
    const peers = parsePeerStatusXml((await gluster(t, m, ["peer", "status", "--xml"], true)).out);
    const bad = remote.filter((h) => { const p = peers.get(h); return !p || !p.connected || p.state !== "Peer in Cluster"; });
    if (!bad.length) return;
    if (Date.now() > until) {
      const what = bad.map((h) => { const p = peers.get(h); return `${h} (${p ? `${p.state}, ${p.connected ? "connected" : "disconnected"}` : "not in the peer list"})`; });
      throw new Error(`${t.description}: brick host ${what.join(", ")} did not join the trusted pool within ${PROBE_TIMEOUT_S} s (glusterd down or unreachable there?); volume ${m.name} was not changed`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Creates the volume, or adopts one of that name with the same bricks (a create or delete that was cut short),
 * then sets its options and starts it. glusterd may refuse brick folders that still carry a deleted volume's
 * volume-id attribute; its own error is passed on (clearing it is not netboot's to decide).
 */
async function ensure(t: Transport, urn: string, m: GlusterModel, inputs: any): Promise<any> {
  let vi = await info(t, m);
  if (vi) {
    const want = m.bricks.map((b) => `${b.host}:${b.path}`);
    if (canonical(vi.bricks) !== canonical(want))
      throw new Error(`${describeUrn(urn)}: volume ${m.name} already exists on ${t.description} with other bricks (${vi.bricks.join(" ")}); refusing to adopt it`);
  } else {
    await probeBrickHosts(t, m);
    await gluster(t, m, createArgs(m));
    vi = (await info(t, m))!;
  }
  await reconcile(t, m, vi.options);
  if (vi.status !== 1) await gluster(t, m, ["volume", "start", m.name]);
  return outputsFor(t, m, inputs, (await info(t, m))!);
}

export function glusterManagedHandler(ctx: ProviderContext): ResourceHandler {
  return {
    async check(urn, _olds, news) {
      if (hasUnknown(news)) return { inputs: news };
      try {
        modelOf(urn, news);
        // The SSH key (if any) is kept as a secret in state even when the program passed a plain string.
        const host = normalizeHost(new Issues(""), "host", news.host);
        return { inputs: host.ssh ? { ...news, host: protectHost(host) } : news };
      } catch (e: any) {
        const issues: Issues | undefined = e.issues ? { list: e.issues } as any : undefined;
        return { inputs: news, failures: (issues?.list ?? [{ resource: describeUrn(urn), field: "(args)", value: undefined, message: String(e.message) }]).map((i: any) => ({ property: i.field, reason: formatIssue(i) })) };
      }
    },

    async diff(_id, _urn, olds, news): Promise<DiffResultWithDetail> {
      const detailedDiff: DiffResultWithDetail["detailedDiff"] = {};
      const replaces: string[] = [];
      // A new SSH key (or pin) for the same user@host:port must not replace (delete) the volume: compare the host's identity.
      const identity = (x: any, host: unknown) => ({ ...Object.fromEntries(REPLACE_KEYS.map((k) => [k, x[k]])), host });
      const newHost = hasUnknown(news.host) ? news.host : hostKey(news.host ?? {});
      for (const c of diffValues(identity(news, newHost), identity(olds, hostKey(olds.host ?? {})))) {
        replaces.push(c.path);
        detailedDiff![c.path] = { kind: "update-replace", inputDiff: true };
      }
      // Options: compare what glusterd reported (olds.options after a refresh) with what is wanted now.
      let desired: Record<string, string> | undefined;
      try {
        if (!hasUnknown(news)) desired = modelOf(_urn, news).options;
      } catch {
        desired = undefined;
      }
      const observed: Record<string, string> = olds.options ?? {};
      if (desired) for (const c of optionChanges(desired, observed)) detailedDiff![`options["${c.path}"]`] = { kind: changeKind(c) };
      else if (diffValues({ options: news.options }, { options: olds.options }).length) detailedDiff!.options = { kind: "update", inputDiff: true };
      if (olds.started === false) detailedDiff!.started = { kind: "update" };
      const changes = Object.keys(detailedDiff!).length > 0;
      return { changes, replaces, deleteBeforeReplace: true, detailedDiff };
    },

    async create(urn, inputs) {
      const m = modelOf(urn, inputs);
      return { id: m.name, outs: await ensure(ctx.transport(m.host), urn, m, inputs) };
    },

    async read(id, urn, props) {
      const m = modelOf(urn, props);
      const t = ctx.transport(m.host);
      const vi = await info(t, m);
      if (!vi) return { id: "", props: {} } as provider.ReadResult; // deleted by hand: gone
      return { id, props: await outputsFor(t, m, props, vi) };
    },

    async update(_id, urn, olds, news) {
      const m = modelOf(urn, news);
      const t = ctx.transport(m.host);
      const vi = await info(t, m);
      // Gone while state has it: a delete or destroy was interrupted after `volume delete` (the journal makes
      // diff report it) or the volume was deleted by hand. The program still wants it: create it again.
      if (!vi) return { outs: await ensure(t, urn, m, news) };
      await reconcile(t, m, vi.options);
      if (vi.status !== 1) await gluster(t, m, ["volume", "start", m.name]);
      return { outs: await outputsFor(t, m, news, (await info(t, m))!) };
    },

    async delete(_id, urn, props) {
      const m = modelOf(urn, props);
      const t = ctx.transport(m.host);
      const vi = await info(t, m);
      if (!vi) return;
      if (vi.status === 1) await gluster(t, m, ["volume", "stop", m.name, "force"]);
      await gluster(t, m, ["volume", "delete", m.name]);
    },
  };
}
