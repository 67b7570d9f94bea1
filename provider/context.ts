/**
 * Everything a provider process keeps between calls, in one object built once in `main()` and handed to the
 * provider, to every resource handler (`fileSetHandler(ctx)`) and to every component (`new NodeGroup(ctx, ...)`).
 * Nothing else in the provider holds mutable state at module level, so a test builds its own context over
 * in-memory hosts (`testContext` in test/helpers/context.ts) and runs a handler's whole lifecycle without a host.
 *
 * - transports: one per host and credentials (a changed key or pin opens a new connection), shared by every
 *   resource of the process; `close()` ends them (SSH master connections and their temp folders).
 * - claims: the MACs, IPs and names of this stack's node groups, per server; hostsDirs: other stacks' claims,
 *   read once per server; owners: the host paths each resource of this stack writes; journals: the paths other
 *   stacks own on each host, from its intent journal, read once per host; barrier: failures held until the run
 *   is quiet, so every resource's errors are reported.
 * - buildHosts: the mirror and the one-plan-at-a-time queue of each remote build host.
 * - units: one apply at a time per host and shared systemd unit (resources/activation.ts `UnitQueue`).
 * - inventorySchema: the Cluster inventory schema, compiled once.
 * - progress and trace: what long steps tell the engine; NETBOOT_TRACE's per-call timings.
 * - tools: the steps that need real programs or the kernel (planning and building an initramfs, packing an OS
 *   image, mounting a network file system, building an OsImage). Unit tests replace them; the integration
 *   tests run the real ones.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import { BuildHosts } from "./build/buildFs";
import { buildImage, buildInitrd } from "./build/initramfs";
import { planImage, planInitramfs } from "./build/plan";
import { localTreeDigest } from "./build/tree";
import { osImageTools, OsImageTools } from "./build/osImageBuild";
import { InventorySchema } from "./inventory/parse";
import { ClaimsRegistry } from "./model/claimsRegistry";
import { PathOwners } from "./model/ownership";
import { FailureBarrier } from "./barrier";
import { PendingConstructs } from "./_server";
import { hostKey, SshConfig } from "./model/host";
import { EngineProgress, ProgressSink } from "./progress";
import { HostsDirClaims } from "./resources/hostsDir";
import { JournalOwners } from "./resources/journal";
import { UnitQueue } from "./resources/activation";
import { Host, SshConnection, SshProxyConnection } from "./schema-types";
import { LocalTransport, SshTransport, Transport } from "./transport";
import { SshHop, SshTarget } from "./transport/ssh";
import { withNetworkFs } from "./transport/netfs";
import { reveal } from "./values";

export interface Tools {
  planInitramfs: typeof planInitramfs;
  planImage: typeof planImage;
  buildInitrd: typeof buildInitrd;
  buildImage: typeof buildImage;
  treeDigest: typeof localTreeDigest;
  withNetworkFs: typeof withNetworkFs;
  osImage: OsImageTools;
}

export const realTools: Readonly<Tools> = { planInitramfs, planImage, buildInitrd, buildImage, treeDigest: localTreeDigest, withNetworkFs, osImage: osImageTools };

export interface ContextOptions {
  /** Opens the transport of a host (called once per host and credentials). Default: `openTransport`. */
  openTransport?: (host: Host) => Transport;
  /** Where progress goes. Default: the engine at `engineAddress`, if given. */
  progress?: ProgressSink;
  engineAddress?: string;
  /** Appends one line per provider call with its duration. Default: $NETBOOT_TRACE. */
  traceFile?: string;
  tools?: Partial<Tools>;
}

/** The real transport of a host: a local folder (or this machine) or an SSH host. */
export function openTransport(host: Host, env: NodeJS.ProcessEnv = process.env): Transport {
  const h = reveal<Host>(host);
  if (!h.ssh) return new LocalTransport(h.root);
  return new SshTransport(sshTarget(h, env));
}

/**
 * The transport's view of a host's `ssh` (the provider config already merged in, see `resolveHosts`): a key, or
 * the agent of `agentSocketPath` or of SSH_AUTH_SOCK in the provider's environment (the shell that runs
 * `pulumi`). A connection with neither fails here, before anything connects.
 */
export function sshTarget(host: Host, env: NodeJS.ProcessEnv = process.env): SshTarget {
  const h = reveal<Host>(host);
  const s = h.ssh as SshConnection;
  const id = hostKey(h);
  const hop = (o: SshConnection | SshProxyConnection, user: string, field: string, inherit?: string): SshHop => {
    if (typeof o.hostKey !== "string") throw new Error(`${id}: ${field}hostKey is required (netboot never connects unpinned)`);
    const agent = o.privateKey ? undefined : o.agentSocketPath || inherit || env.SSH_AUTH_SOCK || undefined;
    if (!o.privateKey && !agent)
      throw new Error(`${id}: no credentials for ${field ? "the bastion " + o.host : "the host"}: give ${field}privateKey (a Pulumi secret, or the provider config netboot:ssh / netboot:hosts), or run an ssh-agent (SSH_AUTH_SOCK in the shell that runs pulumi, or ${field}agentSocketPath)`);
    const attempts = o.dialErrorLimit === -1 ? 10 : o.dialErrorLimit;
    return { host: o.host, port: o.port ?? 22, user, privateKey: o.privateKey || undefined, agentSocket: agent, hostKey: o.hostKey, connectTimeout: o.perDialTimeout || undefined, attempts };
  };
  const user = s.user ?? "root";
  const target: SshTarget = hop(s, user, "");
  if (s.proxy) target.proxy = hop(s.proxy, s.proxy.user ?? user, "proxy.", s.agentSocketPath);
  if (s.sudo) target.sudo = true;
  return target;
}

export class ProviderContext {
  readonly claims = new ClaimsRegistry();
  /** Host paths claimed by this stack's resources at check: two resources never own one path. */
  readonly owners = new PathOwners();
  /** Host paths other stacks' resources own, from each host's intent journal (read once per host). */
  readonly journals: JournalOwners;
  /** Failures wait for the other checks of the run, so all are reported (see barrier.ts). */
  /** Constructs the engine waits for: answered, not cut off, when the run stops at errors (see _server.ts). */
  readonly constructs = new PendingConstructs();
  readonly barrier = new FailureBarrier(() =>
    this.constructs.answerAll((label) => `${label}: not constructed: this run stops at the errors of other resources (reported with them); nothing of it was written`),
  );
  readonly hostsDirs: HostsDirClaims;
  readonly buildHosts = new BuildHosts();
  readonly units = new UnitQueue();
  readonly inventorySchema = new InventorySchema();
  readonly progress: ProgressSink;
  readonly tools: Tools;
  /** The provider config's SSH hosts and defaults (`netboot:hosts`, `netboot:ssh`), set by configure(). */
  sshConfig: SshConfig = {};
  private readonly transports = new Map<string, Transport>();
  private readonly open: (host: Host) => Transport;
  private readonly traceFile: string | undefined;

  constructor(opts: ContextOptions = {}) {
    this.open = opts.openTransport ?? openTransport;
    this.progress = opts.progress ?? new EngineProgress(opts.engineAddress);
    this.traceFile = opts.traceFile ?? (process.env.NETBOOT_TRACE || undefined);
    this.tools = { ...realTools, ...opts.tools };
    this.hostsDirs = new HostsDirClaims((h) => this.transport(h));
    this.journals = new JournalOwners((h) => this.transport(h));
  }

  /** The transport of `host`, opened on first use and shared by every resource of this context. */
  transport(host: Host): Transport {
    const h = reveal<Host>(host);
    let key = hostKey(h);
    if (h.ssh) key += ":" + createHash("sha256").update(JSON.stringify(h.ssh)).digest("hex").slice(0, 16);
    let t = this.transports.get(key);
    if (!t) this.transports.set(key, (t = this.open(h)));
    return t;
  }

  get tracing(): boolean {
    return this.traceFile !== undefined;
  }

  /** One line of NETBOOT_TRACE (appended synchronously: the trace must survive the process being killed). */
  trace(line: string): void {
    if (this.traceFile) fs.appendFileSync(this.traceFile, `${new Date().toISOString()} ${line}\n`);
  }

  /** Closes every transport (SSH master connections and their temp folders). */
  async close(): Promise<void> {
    const all = [...this.transports.values()];
    this.transports.clear();
    await Promise.all(all.map((t) => t.close()));
  }

  /** `close()` for a process `exit` hook, where nothing asynchronous runs any more. */
  closeSync(): void {
    for (const t of this.transports.values()) if (t instanceof SshTransport) t.closeSync();
    this.transports.clear();
  }
}
