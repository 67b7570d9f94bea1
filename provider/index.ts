/** Entry of the `pulumi-resource-netboot` plugin: load schema + version, start the provider. */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { NetbootProvider } from "./provider";
import { installDetailedDiff } from "./_server";
import { connectProgress } from "./progress";
import { schemaPath } from "./version";

export function schemaText(): string {
  return fs.readFileSync(schemaPath(), "utf8");
}

export function main(args: string[]): Promise<void> {
  const schema = schemaText();
  const version = JSON.parse(schema).version as string;
  const p = new NetbootProvider(version, schema);
  installDetailedDiff((id, urn, olds, news, oldInputs) => p.diff(id, urn, olds, news, oldInputs), (id, urn, props, inputs) => p.read(id, urn, props, inputs));
  connectProgress(args);
  return pulumi.provider.main(p, args);
}

if (require.main === module) {
  // A clean exit on the engine's termination signals lets `NETBOOT_PROFILE` CPU profiles be written.
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(0));
  main(process.argv.slice(2));
}
