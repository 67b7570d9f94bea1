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
import { checkPxeServer, PxeServer } from "./components/pxeServer";
import { checkNodeGroup, NodeGroup } from "./components/nodeGroup";
import { checkGlusterVolume, GlusterVolume } from "./components/glusterVolume";
import { BootImage, checkBootImage } from "./components/bootImage";
import { checkCluster, Cluster } from "./components/cluster";
import { Issues } from "./model/errors";
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

/**
 * Each component's argument check, run by the provider on the resolved inputs before the component is
 * constructed: an invalid component registers no child at all (see NetbootProvider.construct).
 */
export type ComponentCheck = (name: string, args: any, issues: Issues, partial: boolean) => unknown;

export const componentChecks: Record<ComponentToken, ComponentCheck> = {
  "netboot:index:PxeServer": checkPxeServer,
  "netboot:index:NodeGroup": checkNodeGroup,
  "netboot:index:GlusterVolume": checkGlusterVolume,
  "netboot:index:BootImage": checkBootImage,
  "netboot:index:Cluster": checkCluster,
};

export const customResources: Record<CustomResourceToken, ResourceHandler> = {
  "netboot:index:File": fileHandler,
  "netboot:index:FileSet": fileSetHandler,
  "netboot:index:GlusterManagedVolume": require("./resources/glusterManaged").glusterManagedHandler,
  "netboot:index:Initramfs": initramfsHandler,
  "netboot:index:NetworkImage": networkImageHandler,
  ...extraCustomResources,
};
