/** The provider: dispatch only (eks `cmd/provider/index.ts`). Unknown tokens are explicit errors. */
import * as pulumi from "@pulumi/pulumi";
import * as provider from "@pulumi/pulumi/provider";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import { ProviderContext } from "./context";
import { fromPulumi } from "./_grpc";
import { ComponentCheck, componentChecks, ComponentConstructor, components, customResources } from "./registry";
import { describeUrn, ResourceHandler } from "./resources/handler";
import { foreignReason } from "./resources/journal";
import { ONE_OWNER } from "./model/ownership";
import { formatIssue, Issues, ValidationError } from "./model/errors";
import { checkSshConfig, resolveHosts, SshConfig } from "./model/host";
import { reveal } from "./values";
import { Stopper } from "./barrier";
import { PACKAGE_VERSION, PLUGIN_DOWNLOAD_URL } from "./version";

/**
 * Not in the schema: a resource registered only by a refused construct, whose check fails (barrier.ts).
 * The engine names it in the output: `netboot:internal:Refusal (netboot-refused)`.
 */
const REFUSAL = "netboot:internal:Refusal";
/** Not in the schema either: the construct that takes the engine's abort (barrier.ts, step 2). */
const STOP = "netboot:internal:Stop";

/**
 * The stop resources of barrier.ts, registered straight through this construct's resource monitor
 * (captured now, inside the construct's runtime context). Not through pulumi.CustomResource: the SDK turns
 * every failed registration into an unhandled rejection, which its provider server answers by failing every
 * construct in flight with it; these registrations are meant to fail when the run stops.
 */
function stopperFor(options: pulumi.ComponentResourceOptions): Stopper {
  const monitor = pulumi.runtime.getMonitor();
  const gstruct = fromPulumi<{ Struct: { fromJavaScript(o: Record<string, unknown>): NonNullable<ReturnType<resproto.RegisterResourceRequest["getObject"]>> } }>("google-protobuf/google/protobuf/struct_pb");
  const parent = (options.parent as { urn?: unknown } | undefined)?.urn;
  const register = async (type: string, name: string, custom: boolean, object: Record<string, unknown>) => {
    const req = new resproto.RegisterResourceRequest();
    req.setType(type);
    req.setName(name);
    req.setCustom(custom);
    req.setRemote(!custom);
    req.setObject(gstruct.Struct.fromJavaScript(object));
    req.setVersion(PACKAGE_VERSION);
    // the same default provider as the program's resources (version.ts: PLUGIN_DOWNLOAD_URL)
    if (PLUGIN_DOWNLOAD_URL) req.setPlugindownloadurl(PLUGIN_DOWNLOAD_URL);
    req.setAcceptsecrets(true);
    if (parent) req.setParent(await (pulumi.output(parent) as unknown as { promise(): Promise<string> }).promise());
    monitor?.registerResource(req, () => undefined);
  };
  return {
    block: () => void register(REFUSAL, "netboot-refused", true, { reason: "this program has invalid resources (listed above); nothing was written" }),
    sacrifice: () => void register(STOP, "netboot-stop", false, {}),
  };
}

/**
 * A resource's properties as the engine sends them (a protobuf Struct read as a plain object): what each
 * handler checks before it trusts a field. (@pulumi/pulumi's provider.Provider declares them `any`.)
 */
type PropertyBag = Record<string, unknown>;

function typeOf(urn: string): string {
  return (urn.split("::")[2] ?? "").split("$").pop() ?? "";
}

export class NetbootProvider implements provider.Provider {
  private readonly outputNames: Record<string, string[]>;
  private readonly handlers: Record<string, ResourceHandler>;
  private readonly components: Record<string, ComponentConstructor>;
  constructor(private readonly ctx: ProviderContext, readonly version: string, readonly schema: string) {
    const spec = JSON.parse(schema);
    this.outputNames = Object.fromEntries(
      Object.entries(spec.resources as Record<string, { properties?: Record<string, unknown> }>).map(([tok, r]) => [tok, Object.keys(r.properties ?? {})]),
    );
    this.handlers = customResources(ctx);
    this.components = components(ctx);
  }

  /**
   * The provider config: `netboot:hosts` (SSH hosts by name) and `netboot:ssh` (defaults of every SSH
   * connection), checked at once with every issue named (`netboot:hosts.head.hostKey`); the values are merged
   * under each resource's `host.ssh` in check and construct (`resolveHosts`). Other keys are refused, so a typo
   * (`netboot:host`) is not silently ignored.
   */
  async configure(config: Record<string, unknown>): Promise<void> {
    const issues = new Issues("provider netboot");
    // The engine's own keys of a provider resource (`version`, `pluginDownloadURL`, `__internal`) are not config.
    const engineKeys = new Set(["hosts", "ssh", "version", "pluginDownloadURL"]);
    for (const k of Object.keys(config)) if (!engineKeys.has(k) && !k.startsWith("__")) issues.add(`netboot:${k}`, k, "is not a netboot config key (netboot:hosts, netboot:ssh)");
    const cfg: SshConfig = { hosts: config.hosts as SshConfig["hosts"], ssh: config.ssh as SshConfig["ssh"] };
    checkSshConfig(issues, cfg);
    issues.throwIfAny();
    this.ctx.sshConfig = Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined));
  }

  async getSchema(): Promise<string> {
    return this.schema;
  }

  private handler(urn: string): ResourceHandler {
    const t = typeOf(urn);
    const h = this.handlers[t];
    if (!h) throw new Error(`netboot: unknown resource type ${t}`);
    return h;
  }

  check(urn: string, olds: PropertyBag, news: PropertyBag) {
    return this.traced("check", urn, async () => {
      if (typeOf(urn) === REFUSAL) {
        // the resource a refused construct registers so the run stops cleanly (barrier.ts)
        await this.ctx.barrier.failCheckLater();
        return { inputs: news, failures: [{ property: "", reason: String(news.reason ?? "invalid arguments; nothing was written") }] };
      }
      news = resolveHosts(news, this.ctx.sshConfig);
      const r = await this.ctx.barrier.run(() => this.checkOwned(urn, olds, news));
      if (!r.failures?.length) return r;
      await this.ctx.barrier.failCheckLater();
      // No property: the engine would print that input's raw value; each reason names field and value already.
      return { ...r, failures: r.failures.map((f) => ({ property: "", reason: f.reason })) };
    });
  }

  /** The handler's check, then the paths it writes claimed for `urn` (refused when another resource has one). */
  private async checkOwned(urn: string, olds: PropertyBag, news: PropertyBag): Promise<provider.CheckResult> {
    const h = this.handler(urn);
    const r = await h.check(urn, olds, news);
    const owned = h.ownedPaths && !r.failures?.length ? h.ownedPaths(r.inputs) : undefined;
    if (!owned) return r;
    const inStack = this.ctx.owners.claim(urn, owned);
    const failures = inStack.map((c) => ({
      property: c.field,
      reason: formatIssue({ resource: describeUrn(urn), field: c.field, value: c.path, message: `is also written by ${describeUrn(c.holder)} (${c.holderField}); ${ONE_OWNER}` }),
    }));
    // The rest against the host's journal: paths another stack's resources own there (resources/journal.ts).
    const taken = new Set(inStack.map((c) => `${c.host}\0${c.path}`));
    const rest = owned.filter((c) => !taken.has(`${c.host}\0${c.path}`));
    for (const c of h.foreignOwners && rest.length ? await h.foreignOwners(urn, r.inputs, rest) : [])
      failures.push({ property: c.field, reason: foreignReason(urn, c) });
    return failures.length ? { ...r, failures } : r;
  }
  diff(id: string, urn: string, olds: PropertyBag, news: PropertyBag, oldInputs?: PropertyBag) {
    return this.traced("diff", urn, () => this.handler(urn).diff(id, urn, olds, news, oldInputs));
  }
  create(urn: string, inputs: PropertyBag) {
    return this.traced("create", urn, () => this.handler(urn).create(urn, inputs));
  }
  read(id: string, urn: string, props: PropertyBag, inputs?: PropertyBag) {
    return this.traced("read", urn, () => this.handler(urn).read(id, urn, props, inputs));
  }
  update(id: string, urn: string, olds: PropertyBag, news: PropertyBag) {
    return this.traced("update", urn, () => this.handler(urn).update(id, urn, olds, news));
  }
  delete(id: string, urn: string, props: PropertyBag) {
    return this.traced("delete", urn, () => this.handler(urn).delete(id, urn, props));
  }

  /**
   * The engine stops the run (a failed check, of this process or another: a YAML program's components and their
   * children reach two provider processes, an unversioned default provider and the versioned one childOpts pins)
   * and cancels every provider before it closes them. A construct still waiting for its children is answered
   * now, by name, instead of being cut off, which the CLI prints as `grpc: the client connection is closing`.
   */
  async cancel(): Promise<void> {
    this.ctx.constructs.answerAll((label) => `${label}: not constructed: the engine stopped the run (at the errors of other resources, reported with them, or on a cancel)`);
  }

  async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<provider.ConstructResult> {
    if (type === STOP) {
      this.ctx.barrier.sacrificed();
      throw new Error("the run stops: this program has invalid resources (each listed here, under its name); nothing was written");
    }
    const ctor = this.components[type];
    if (!ctor) throw new Error(`netboot: unknown component type ${type}`);
    inputs = withHostConfig(inputs, this.ctx.sshConfig);
    await this.checkComponent(name, type, inputs, options);
    const t0 = Date.now();
    const c = ctor(name, inputs, options) as unknown as Record<string, pulumi.Input<unknown>> & pulumi.ComponentResource;
    const state: pulumi.Inputs = {};
    // Outputs are plain data: drop `undefined` members, which the gRPC struct encoder rejects.
    for (const k of this.outputNames[type] ?? []) state[k] = plain(c[k]);
    this.ctx.trace(`construct ${type} ${name} ${Date.now() - t0} ms`);
    // In flight until its outputs settle, known or not (they wait for its children's registrations). (promise()
    // is @internal, as in knownInputs.)
    const done = this.ctx.barrier.constructing(stopperFor(options));
    const settled = (o: pulumi.Input<unknown>) => (pulumi.output(o) as unknown as { promise(withUnknowns?: boolean): Promise<unknown> }).promise(true);
    void Promise.allSettled([c.urn, ...Object.values(state)].map(settled)).then(done);
    return { urn: c.urn, state };
  }

  /** With NETBOOT_TRACE, one line per provider call with its duration (for performance work). */
  private async traced<T>(op: string, urn: string, f: () => Promise<T>): Promise<T> {
    if (!this.ctx.tracing) return f();
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      this.ctx.trace(`${op} ${urn.split("::").pop()} ${Date.now() - t0} ms`);
    }
  }

  /**
   * Checks a component's arguments before it is constructed. An invalid component registers no child: a child
   * whose inputs come from a failed check would fail as an unhandled rejection, which @pulumi/pulumi's provider
   * server answers by failing every construct in flight with that one error (so the first component's errors
   * appeared under every other component). Refused here, each component fails alone, under its own URN, with
   * every issue as a property error (field, value, message) and no stack trace.
   *
   * Inputs still unknown (a preview on a fresh stack, with values from resources not created yet) cannot be
   * checked here; the component's own `validated()` checks them once they are known.
   */
  private async checkComponent(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<void> {
    const check = (componentChecks as Record<string, ComponentCheck | undefined>)[type];
    if (!check) return;
    const issues = new Issues(`${type} "${name}"`);
    await this.ctx.barrier.run(async () => {
      const { known, unknown } = await knownInputs(inputs);
      // With unknown inputs (a preview on a fresh stack), the check runs on the known ones; its issues about the
      // unknown ones (missing, wrong type) are dropped. The component checks again once everything is known.
      const all = new Issues(issues.resource);
      await check(this.ctx, name, known, all, unknown.size > 0);
      for (const i of all.list) if (!unknown.has(i.field.split(/[.[]/)[0])) issues.list.push(i);
    });
    if (issues.ok) return;
    await this.ctx.barrier.failConstructLater(stopperFor(options));
    // A plain message, not InputPropertiesError: with property errors the engine prints each property's raw
    // value (newlines, NUL and 100,000 characters as they are); formatIssue shows it escaped and cut.
    throw new Error(new ValidationError(issues.list).message);
  }
}

/**
 * The inputs whose values are known, resolved, and the names of those that are not. (isKnown and promise() are
 * @internal in @pulumi/pulumi's typings; its provider server uses them the same way.)
 */
async function knownInputs(inputs: pulumi.Inputs): Promise<{ known: Record<string, unknown>; unknown: Set<string> }> {
  const known: Record<string, unknown> = {};
  const unknown = new Set<string>();
  for (const [k, v] of Object.entries(inputs)) {
    const o = pulumi.output(v) as unknown as { isKnown: Promise<boolean>; promise(): Promise<unknown> };
    if (await o.isKnown) known[k] = await o.promise();
    else unknown.add(k);
  }
  return { known, unknown };
}

/**
 * A component's inputs with the provider's SSH config merged into every host in them. Only when there is config;
 * a value that gained a key from it is a secret as a whole (the component passes it on to its children).
 */
function withHostConfig(inputs: pulumi.Inputs, cfg: SshConfig): pulumi.Inputs {
  if (!cfg.hosts && !cfg.ssh) return inputs;
  const out: pulumi.Inputs = {};
  for (const [k, v] of Object.entries(inputs)) {
    if (!pulumi.Output.isInstance(v)) {
      const r = resolveHosts(v, cfg);
      out[k] = r === v ? v : pulumi.secret(reveal(r));
      continue;
    }
    out[k] = v.apply((x) => {
      const r = resolveHosts(x, cfg);
      return r === x ? x : (pulumi.secret(reveal(r)) as unknown);
    });
  }
  return out;
}

function plain(v: pulumi.Input<unknown>): pulumi.Output<unknown> {
  return (pulumi.output(v) as pulumi.Output<unknown>).apply((x) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x))));
}
