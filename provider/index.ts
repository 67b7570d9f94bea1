/** Entry of the `pulumi-resource-netboot` plugin: load schema + version, build the context, start the provider. */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { ContextOptions, ProviderContext } from "./context";
import { NetbootProvider } from "./provider";
import { installDetailedDiff } from "./_server";
import { watchParent } from "./_engine";
import { schemaPath } from "./version";

export function schemaText(): string {
  return fs.readFileSync(schemaPath(), "utf8");
}

/** `args` as the engine passes them: the engine's gRPC address first, then flags. */
export function main(args: string[], opts: ContextOptions = {}): Promise<void> {
  const schema = schemaText();
  const version = JSON.parse(schema).version as string;
  const ctx = new ProviderContext({ engineAddress: args.find((a) => !a.startsWith("-")), ...opts });
  // SSH master connections and their key folders must not outlive the process, however it ends
  process.once("exit", () => ctx.closeSync());
  const p = new NetbootProvider(ctx, version, schema);
  installDetailedDiff((id, urn, olds, news, oldInputs) => p.diff(id, urn, olds, news, oldInputs), (id, urn, props, inputs) => p.read(id, urn, props, inputs), ctx.constructs, (c) => p.configure(c));
  const serving = pulumi.provider.main(p, args);
  // provider.main has just installed source-map-support, which maps every stack trace formatted from now on. The
  // SDK formats one for every promise it makes (runtime/debuggable.js keeps `new Error().stack` on each), so at
  // 10,000 nodes the mapping alone was a tenth of a preview's CPU (bench/pxe/README.md). Our stacks never reach a
  // user (barrier.ts reports messages), and a compiled file's line is enough in a log: V8's own formatter again.
  delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
  return serving;
}

if (require.main === module) {
  // A clean exit on the engine's termination signals lets `NETBOOT_PROFILE` CPU profiles be written.
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(0));
  // An engine that died without stopping us: nobody will ask for anything again.
  watchParent(() => {
    process.stderr.write(`netboot: the engine (parent process) is gone; exiting\n`);
    process.exit(1);
  });
  main(process.argv.slice(2));
}
