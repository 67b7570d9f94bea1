/** The provider: dispatch only (eks `cmd/provider/index.ts`). Unknown tokens are explicit errors. */
import * as pulumi from "@pulumi/pulumi";
import * as provider from "@pulumi/pulumi/provider";
import { components, customResources } from "./registry";
import { ResourceHandler } from "./resources/handler";

function typeOf(urn: string): string {
  return (urn.split("::")[2] ?? "").split("$").pop() ?? "";
}

export class NetbootProvider implements provider.Provider {
  private readonly outputNames: Record<string, string[]>;

  constructor(readonly version: string, readonly schema: string) {
    const spec = JSON.parse(schema);
    this.outputNames = Object.fromEntries(
      Object.entries<any>(spec.resources).map(([tok, r]) => [tok, Object.keys(r.properties ?? {})]),
    );
  }

  async getSchema(): Promise<string> {
    return this.schema;
  }

  private handler(urn: string): ResourceHandler {
    const t = typeOf(urn);
    const h = (customResources as Record<string, ResourceHandler>)[t];
    if (!h) throw new Error(`netboot: unknown resource type ${t}`);
    return h;
  }

  check(urn: string, olds: any, news: any) {
    return traced("check", urn, () => this.handler(urn).check(urn, olds, news));
  }
  diff(id: string, urn: string, olds: any, news: any, oldInputs?: any) {
    return traced("diff", urn, () => this.handler(urn).diff(id, urn, olds, news, oldInputs));
  }
  create(urn: string, inputs: any) {
    return traced("create", urn, () => this.handler(urn).create(urn, inputs));
  }
  read(id: string, urn: string, props: any, inputs?: any) {
    return traced("read", urn, () => this.handler(urn).read(id, urn, props, inputs));
  }
  update(id: string, urn: string, olds: any, news: any) {
    return traced("update", urn, () => this.handler(urn).update(id, urn, olds, news));
  }
  delete(id: string, urn: string, props: any) {
    return traced("delete", urn, () => this.handler(urn).delete(id, urn, props));
  }

  async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<provider.ConstructResult> {
    const ctor = (components as Record<string, (n: string, i: pulumi.Inputs, o: pulumi.ComponentResourceOptions) => pulumi.ComponentResource>)[type];
    if (!ctor) throw new Error(`netboot: unknown component type ${type}`);
    const t0 = Date.now();
    const c = ctor(name, inputs, options) as unknown as Record<string, pulumi.Input<unknown>> & pulumi.ComponentResource;
    const state: pulumi.Inputs = {};
    // Outputs are plain data: drop `undefined` members, which the gRPC struct encoder rejects.
    for (const k of this.outputNames[type] ?? []) state[k] = plain(c[k]);
    trace(`construct ${type} ${name} ${Date.now() - t0} ms`);
    return { urn: c.urn, state };
  }
}

function plain(v: pulumi.Input<any>): pulumi.Output<any> {
  return pulumi.output(v).apply((x: any) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x))));
}

/** NETBOOT_TRACE=FILE appends one line per provider call with its duration (for performance work). */
export function trace(line: string): void {
  const f = process.env.NETBOOT_TRACE;
  if (f) require("fs").appendFileSync(f, `${new Date().toISOString()} ${line}\n`);
}

async function traced<T>(op: string, urn: string, f: () => Promise<T>): Promise<T> {
  if (!process.env.NETBOOT_TRACE) return f();
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    trace(`${op} ${urn.split("::").pop()} ${Date.now() - t0} ms`);
  }
}
