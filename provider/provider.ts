/** The provider: dispatch only (eks `cmd/provider/index.ts`). Unknown tokens are explicit errors. */
import * as pulumi from "@pulumi/pulumi";
import * as provider from "@pulumi/pulumi/provider";
import { ProviderContext } from "./context";
import { ComponentConstructor, components, customResources } from "./registry";
import { ResourceHandler } from "./resources/handler";

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
      Object.entries<any>(spec.resources).map(([tok, r]) => [tok, Object.keys(r.properties ?? {})]),
    );
    this.handlers = customResources(ctx);
    this.components = components(ctx);
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

  check(urn: string, olds: any, news: any) {
    return this.traced("check", urn, () => this.handler(urn).check(urn, olds, news));
  }
  diff(id: string, urn: string, olds: any, news: any) {
    return this.traced("diff", urn, () => this.handler(urn).diff(id, urn, olds, news));
  }
  create(urn: string, inputs: any) {
    return this.traced("create", urn, () => this.handler(urn).create(urn, inputs));
  }
  read(id: string, urn: string, props: any) {
    return this.traced("read", urn, () => this.handler(urn).read(id, urn, props));
  }
  update(id: string, urn: string, olds: any, news: any) {
    return this.traced("update", urn, () => this.handler(urn).update(id, urn, olds, news));
  }
  delete(id: string, urn: string, props: any) {
    return this.traced("delete", urn, () => this.handler(urn).delete(id, urn, props));
  }

  async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<provider.ConstructResult> {
    const ctor = this.components[type];
    if (!ctor) throw new Error(`netboot: unknown component type ${type}`);
    const t0 = Date.now();
    const c = ctor(name, inputs, options) as unknown as Record<string, pulumi.Input<unknown>> & pulumi.ComponentResource;
    const state: pulumi.Inputs = {};
    // Outputs are plain data: drop `undefined` members, which the gRPC struct encoder rejects.
    for (const k of this.outputNames[type] ?? []) state[k] = plain(c[k]);
    this.ctx.trace(`construct ${type} ${name} ${Date.now() - t0} ms`);
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
}

function plain(v: pulumi.Input<any>): pulumi.Output<any> {
  return pulumi.output(v).apply((x: any) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x))));
}
