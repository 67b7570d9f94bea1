/**
 * Token -> implementation. The key types come from schema-types.ts, so a token in the schema without an
 * implementation fails to compile (awsx `resources.ts`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as schema from "./schema-types";
import { ComponentToken, CustomResourceToken } from "./schema-types";
import { ResourceHandler } from "./resources/handler";
import { fileHandler } from "./resources/file";
import { fileSetHandler } from "./resources/fileSet";
import { nodeGroupFilesHandler } from "./resources/nodeGroupFiles";
import { PxeServer } from "./components/pxeServer";
import { NodeGroup } from "./components/nodeGroup";
import { GlusterVolume } from "./components/glusterVolume";
import { BootImage } from "./components/bootImage";
import { Cluster } from "./components/cluster";
import { extraCustomResources } from "./resources/extra";
import { initramfsHandler } from "./resources/initramfs";
import { networkImageHandler } from "./resources/networkImage";

export type ComponentConstructor = (name: string, inputs: pulumi.Inputs, opts: pulumi.ComponentResourceOptions) => pulumi.ComponentResource;

export const components: Record<ComponentToken, ComponentConstructor> = {
  "netboot:index:PxeServer": (n, i, o) => new PxeServer(n, i as schema.PxeServerArgs, o),
  "netboot:index:NodeGroup": (n, i, o) => new NodeGroup(n, i as schema.NodeGroupArgs, o),
  "netboot:index:GlusterVolume": (n, i, o) => new GlusterVolume(n, i as schema.GlusterVolumeArgs, o),
  "netboot:index:BootImage": (n, i, o) => new BootImage(n, i as schema.BootImageArgs, o),
  "netboot:index:Cluster": (n, i, o) => new Cluster(n, i as schema.ClusterArgs, o),
};

export const customResources: Record<CustomResourceToken, ResourceHandler> = {
  "netboot:index:File": fileHandler,
  "netboot:index:FileSet": fileSetHandler,
  "netboot:index:NodeGroupFiles": nodeGroupFilesHandler(),
  "netboot:index:GlusterManagedVolume": require("./resources/glusterManaged").glusterManagedHandler,
  "netboot:index:Initramfs": initramfsHandler,
  "netboot:index:NetworkImage": networkImageHandler,
  ...extraCustomResources,
};
