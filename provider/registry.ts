/**
 * Token -> implementation. The key types come from schema-types.ts, so a token in the schema without an
 * implementation fails to compile (awsx `resources.ts`). Both tables are made for one provider context: every
 * component and handler gets it (a handler is a factory `fileSetHandler(ctx)`, a component takes it first).
 */
import * as pulumi from "@pulumi/pulumi";
import { ProviderContext } from "./context";
import * as schema from "./schema-types";
import { ComponentToken, CustomResourceToken } from "./schema-types";
import { ResourceHandler } from "./resources/handler";
import { fileHandler } from "./resources/file";
import { fileSetHandler } from "./resources/fileSet";
import { glusterManagedHandler } from "./resources/glusterManaged";
import { PxeServer } from "./components/pxeServer";
import { NodeGroup } from "./components/nodeGroup";
import { GlusterVolume } from "./components/glusterVolume";
import { BootImage } from "./components/bootImage";
import { Cluster } from "./components/cluster";
import { extraCustomResources } from "./resources/extra";
import { initramfsHandler } from "./resources/initramfs";
import { networkImageHandler } from "./resources/networkImage";

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

export function customResources(ctx: ProviderContext): Record<CustomResourceToken, ResourceHandler> {
  return {
    "netboot:index:File": fileHandler(ctx),
    "netboot:index:FileSet": fileSetHandler(ctx),
    "netboot:index:GlusterManagedVolume": glusterManagedHandler(ctx),
    "netboot:index:Initramfs": initramfsHandler(ctx),
    "netboot:index:NetworkImage": networkImageHandler(ctx),
    ...extraCustomResources(ctx),
  };
}
