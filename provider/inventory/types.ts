/**
 * The cluster inventory as data (schema/cluster.schema.json). Hand-written mirror of that JSON Schema;
 * test/inventory/schemaMirror.test.ts pins every key here to the schema and to the components' inputs.
 */

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
  dhcpMode: "authoritative" | "static" | "proxy";
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
  mode: "standalone" | "managed";
  bricks: { host: string; path: string; port?: number }[];
  layout: "distribute" | "replicate" | "arbiter" | "disperse";
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
  transport: "glusterfs" | "nfs" | "http";
  nfsExport?: string;
  imagePath?: string;
  mode?: "ram" | "hybrid";
  hybridPaths?: string[];
  handoff?: "switch_root" | "kexec";
  modules?: string[];
  compression?: "gzip" | "xz" | "zstd";
  onFailure?: "shell" | "reboot";
  kernelArgs?: string;
  /** glusterfs/nfs: publish the OS image onto the volume or export (default true) */
  publishImage?: boolean;
}

export interface InventoryNode {
  name: string;
  mac?: string;
  macs?: string[];
  ip: string;
  firmware?: "bios" | "efi-x86_64" | "efi-arm64";
  kernelArgs?: string;
}

export interface InventoryGroup {
  server?: string;
  image?: string;
  boot?: { kernelUrl?: string; initrdUrl?: string; args?: string; localDisk?: boolean };
  nodes: InventoryNode[];
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
