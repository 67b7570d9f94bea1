/**
 * Token -> implementation. The key types come from schema-types.ts, so a token in the schema without an
 * implementation fails to compile (awsx `resources.ts`). Both tables are made for one provider context: every
 * component and handler gets it (a handler is a factory `fileSetHandler(ctx)`, a component takes it first).
 */
import * as pulumi from "@pulumi/pulumi";
import { ProviderContext } from "./context";
import * as schema from "./schema-types";
import { ComponentToken, CustomResourceToken, Host } from "./schema-types";
import { journaled } from "./resources/journal";
import { ResourceHandler } from "./resources/handler";
import { fileHandler } from "./resources/file";
import { fileSetHandler } from "./resources/fileSet";
import { glusterManagedHandler } from "./resources/glusterManaged";
import { checkPxeServer, PxeServer } from "./components/pxeServer";
import { checkNodeGroup, NodeGroup } from "./components/nodeGroup";
import { checkGlusterVolume, GlusterVolume } from "./components/glusterVolume";
import { BootImage, checkBootImage } from "./components/bootImage";
import { checkCluster, Cluster } from "./components/cluster";
import { Issues } from "./model/errors";
import { nodeGroupFilesHandler, nodeGroupFilesDeps } from "./resources/nodeGroupFiles";
import { initramfsHandler } from "./resources/initramfs";
import { networkImageHandler } from "./resources/networkImage";
import { osImageHandler } from "./resources/osImage";

export type ComponentConstructor = (name: string, inputs: pulumi.Inputs, opts: pulumi.ComponentResourceOptions) => pulumi.ComponentResource;

export function components(ctx: ProviderContext): Record<ComponentToken, ComponentConstructor> {
  return {
    "netboot:index:PxeServer": (n, i, o) => new PxeServer(ctx, n, i as schema.PxeServerArgs, o),
    "netboot:index:NodeGroup": (n, i, o) => new NodeGroup(ctx, n, i as schema.NodeGroupArgs, o),
    "netboot:index:GlusterVolume": (n, i, o) => new GlusterVolume(ctx, n, i as schema.GlusterVolumeArgs, o),
    "netboot:index:BootImage": (n, i, o) => new BootImage(ctx, n, i as schema.BootImageArgs, o),
    "netboot:index:Cluster": (n, i, o) => new Cluster(ctx, n, i as schema.ClusterArgs, o),
  };
}

/**
 * Handlers that place files on a host go through the intent journal (resources/journal.ts), so an interrupted
 * apply or delete is never reported as done; `hostOf` says where each one writes. The journal also tells which
 * paths other stacks own on the host (`ctx.journals`), so a check refuses them.
 */
export function customResources(ctx: ProviderContext): Record<CustomResourceToken, ResourceHandler> {
  const j = (h: ResourceHandler, hostOf: (props: any) => Host | undefined) =>
    journaled(h, (host) => ctx.transport(host), hostOf, (urn, m) => ctx.progress.report(urn, m), ctx.journals);
  const own = (p: any) => (p?.host && typeof p.host === "object" ? (p.host as Host) : undefined);
  return {
    "netboot:index:File": j(fileHandler(ctx), own),
    "netboot:index:FileSet": j(fileSetHandler(ctx), own),
    "netboot:index:NodeGroupFiles": j(nodeGroupFilesHandler(nodeGroupFilesDeps(ctx)), (p) => (p?.server?.host && typeof p.server.host === "object" ? (p.server.host as Host) : undefined)),
    // glusterd's state changes through the `gluster` CLI run on `host`: that host keeps the journal
    "netboot:index:GlusterManagedVolume": j(glusterManagedHandler(ctx), own),
    "netboot:index:Initramfs": j(initramfsHandler(ctx), own),
    // The image is written through the publish host's transport (it mounts the volume or export there), so the
    // journal lives on that host, not on the volume: reading an entry on the volume would cost a mount on
    // every preview, where the publish host answers with one small read. The publish host is part of the
    // program (BootImage publishHost, default: the machine running Pulumi), so every run of the stack from
    // the same place reads the same entry; a run from another machine finds none and re-applies once, which
    // writes nothing that is already on the volume (apply compares with what the mount shows).
    "netboot:index:NetworkImage": j(networkImageHandler(ctx), own),
    // builds only on this machine's cache (never a host's files), so it needs no journal
    "netboot:index:OsImage": osImageHandler(ctx),
  };
}

/**
 * Each component's argument check, run by the provider on the resolved inputs before the component is
 * constructed: an invalid component registers no child at all (see NetbootProvider.construct).
 */
export type ComponentCheck = (ctx: ProviderContext, name: string, args: any, issues: Issues, partial: boolean) => unknown;

export const componentChecks: Record<ComponentToken, ComponentCheck> = {
  "netboot:index:PxeServer": (ctx, n, a, i) => checkPxeServer(ctx, n, a, i),
  "netboot:index:NodeGroup": (ctx, n, a, i) => checkNodeGroup(ctx, n, a, i),
  "netboot:index:GlusterVolume": (_ctx, n, a, i) => checkGlusterVolume(n, a, i),
  "netboot:index:BootImage": (_ctx, n, a, i, partial) => checkBootImage(n, a, i, partial),
  "netboot:index:Cluster": (ctx, n, a, i) => checkCluster(ctx, n, a, i),
};
