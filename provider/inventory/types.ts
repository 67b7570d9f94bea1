/**
 * The cluster inventory as data (schema/cluster.schema.json, generated from schema/schema.json by
 * scripts/gen-inventory-schema.js). Closed sets are the schema's enums; test/inventory/schemaMirror.test.ts pins
 * every key here to the JSON Schema.
 */
import type { BootMode, Compression, DhcpMode, Firmware, GlusterLayout, GlusterMode, Handoff, ImageTransport, OnFailure } from "../schema-enums";

export interface InventoryHost {
  root?: string;
  systemd?: boolean;
  ssh?: { host: string; port?: number; user?: string; hostKey: string; privateKeyFile: string };
}

export interface InventoryServer {
  host?: InventoryHost;
  interface: string;
  subnet: string;
  serverIp: string;
  dhcpMode: DhcpMode;
  dynamicRange?: { start: string; end: string; leaseTime?: string };
  domain?: string;
  bootFiles?: { bios?: string; efiX64?: string; efiArm64?: string; httpX64?: string; httpArm64?: string };
  ipxeFiles?: Record<string, string>;
  httpPort?: number;
  baseDir?: string;
  dnsmasqUnit?: string;
}

export interface InventoryVolume {
  host?: InventoryHost;
  volumeName?: string;
  mode: GlusterMode;
  bricks: { host: string; path: string; port?: number }[];
  layout: GlusterLayout;
  replica?: number;
  disperse?: number;
  redundancy?: number;
  options?: Record<string, string>;
  clusterSubnet: string;
  allowSameHostSets?: boolean;
  stateDir?: string;
  glusterdSocket?: string;
  force?: boolean;
}

export interface InventoryImage {
  server?: string;
  volume?: string;
  kernelVersion?: string;
  kernelPath?: string;
  modulesDir?: string;
  imageSource: string;
  transport: ImageTransport;
  nfsExport?: string;
  imagePath?: string;
  mode?: BootMode;
  hybridPaths?: string[];
  handoff?: Handoff;
  modules?: string[];
  compression?: Compression;
  onFailure?: OnFailure;
  kernelArgs?: string;
  /** glusterfs/nfs: publish the OS image onto the volume or export (default true) */
  publishImage?: boolean;
  /** Files for every node that boots the image (docs/overlays.md). */
  overlay?: { files?: InventoryOverlayFile[] };
}

export interface InventoryNode {
  name: string;
  mac?: string;
  macs?: string[];
  ip: string;
  firmware?: Firmware;
  kernelArgs?: string;
  /** The node's template variables and own overlay files (docs/overlays.md); need the group's `overlay`. */
  tags?: Record<string, string>;
  overlay?: { files?: InventoryOverlayFile[] };
}

/** A file of an overlay (the schema's OverlayFile). */
export interface InventoryOverlayFile {
  path: string;
  content: string;
  mode?: string;
  owner?: string;
  template?: boolean;
  secret?: boolean;
}

/** A group's overlay (the schema's GroupOverlay). */
export interface InventoryGroupOverlay {
  files?: InventoryOverlayFile[];
  hostname?: boolean;
  hosts?: boolean;
  extraHosts?: { ip: string; names: string[] }[];
  resolver?: { nameservers: string[]; search?: string[] };
  authorizedKeys?: string[];
  tags?: Record<string, string>;
  hostKeys?: boolean;
  rotateHostKeys?: number;
}

export interface InventoryGroup {
  server?: string;
  image?: string;
  boot?: { kernelUrl?: string; initrdUrl?: string; args?: string; localDisk?: boolean };
  nodes: InventoryNode[];
  /** Per-node configuration laid over the image at boot (docs/overlays.md). */
  overlay?: InventoryGroupOverlay;
}

export interface Inventory {
  version: 1;
  description?: string;
  defaults?: { host?: InventoryHost; server?: string };
  servers?: Record<string, InventoryServer>;
  volumes?: Record<string, InventoryVolume>;
  images?: Record<string, InventoryImage>;
  groups?: Record<string, InventoryGroup>;
}
