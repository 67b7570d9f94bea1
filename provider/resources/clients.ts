/**
 * Client-side classes for netboot's own custom resources, used by components inside the provider process
 * to register children (the engine routes them back to this plugin).
 */
import * as pulumi from "@pulumi/pulumi";
import { PACKAGE_VERSION, PLUGIN_DOWNLOAD_URL } from "../version";
import { BootTargetInputs, FileCheck, FileSpec, GroupOverlayInputs, Host, NetworkOptionsInputs, PxeServerInfoInputs, Signal } from "../schema-types";

export interface FileSetArgs {
  host: pulumi.Input<Host>;
  files: pulumi.Input<Record<string, pulumi.Input<FileSpec>>>;
  checks?: pulumi.Input<FileCheck[]>;
  signal?: pulumi.Input<Signal>;
  dirs?: pulumi.Input<pulumi.Input<string>[]>;
  exclusiveDirs?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * Options for resources a component registers from inside the provider: pinned to this package's version,
 * so they share the default provider with resources a program registers through the SDK (which names the
 * version), instead of a second unversioned default provider.
 */
export function childOpts<T extends pulumi.CustomResourceOptions>(opts: T): T {
  return { version: PACKAGE_VERSION, ...(PLUGIN_DOWNLOAD_URL ? { pluginDownloadURL: PLUGIN_DOWNLOAD_URL } : {}), ...opts };
}

export class FileSet extends pulumi.CustomResource {
  // `declare`: with ES2022 class fields, a `!` field would be reset to undefined after super() set it.
  declare readonly manifest: pulumi.Output<Record<string, string>>;
  declare readonly lastApply: pulumi.Output<Record<string, string>>;
  constructor(name: string, args: FileSetArgs, opts: pulumi.CustomResourceOptions = {}) {
    super("netboot:index:FileSet", name, { ...args, manifest: undefined, lastApply: undefined, createdDirs: undefined, written: undefined, dirDrift: undefined, strays: undefined, owners: undefined }, childOpts(opts));
  }
}

export interface NodeGroupFilesArgs {
  group: string;
  server: pulumi.Input<PxeServerInfoInputs>;
  /** packed, one JSON string per node (model/packedNodes.ts) */
  nodes: pulumi.Input<pulumi.Input<string>[]>;
  boot: pulumi.Input<BootTargetInputs>;
  overlay?: pulumi.Input<GroupOverlayInputs>;
  network?: pulumi.Input<NetworkOptionsInputs>;
  /** a mirror's files: the first server's host keys (NodeGroup `mirrors`) */
  sharedHostKeys?: pulumi.Input<Record<string, unknown>>;
}

/**
 * Only `manifest`, the public host keys and (for a group's mirrors) the host keys are read back (the node table waits for them): every property named
 * here costs the SDK four promises with a captured stack trace per resource, and the other outputs stay in state
 * all the same.
 */
export class NodeGroupFiles extends pulumi.CustomResource {
  declare readonly manifest: pulumi.Output<Record<string, string>>;
  declare readonly hostPublicKeys: pulumi.Output<Record<string, string> | undefined>;
  declare readonly hostKeys: pulumi.Output<Record<string, unknown> | undefined>;
  constructor(name: string, args: NodeGroupFilesArgs, opts: pulumi.CustomResourceOptions = {}) {
    // The host keys the provider generates are secret in state whatever the SDK asks for (it returns them
    // wrapped); naming them here too keeps them secret should the wrapper ever be lost.
    super("netboot:index:NodeGroupFiles", name, { ...args, manifest: undefined, hostPublicKeys: undefined, hostKeys: undefined }, childOpts({ ...opts, additionalSecretOutputs: ["hostKeys"] }));
  }
}

/** A map of rendered files as FileSet `files`. */
export function asFiles(files: { path: string; mode: number; content: string }[]): Record<string, FileSpec> {
  const out: Record<string, FileSpec> = {};
  for (const f of files) out[f.path] = { content: f.content, mode: "0" + f.mode.toString(8) };
  return out;
}
