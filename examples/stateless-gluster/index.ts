/**
 * stateless-gluster: a PXE server, a replica-3 GlusterFS volume (standalone bricks on three storage
 * addresses) and two node groups booting the same small OS image from it:
 * - `ram`: the whole image is unpacked into RAM (tmpfs) and the volume is unmounted before the hand-off;
 * - `hybrid`: the root is in RAM but /usr/share/lab stays on GlusterFS (the FUSE client survives switch_root).
 *
 * Everything is rendered below a local target root (`./target`), standing in for the server's file system.
 * Boot it in VMs:  npm run lab -- examples/stateless-gluster   (see README.md and docs/lab.md)
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "../../sdk/nodejs";
import { IMAGE_VERSION, LAB_FILE, LAB_FILE_CONTENT, makeRootfs, makeVolumeContent, OVERLAY_FILE, UP_MARKER } from "./rootfs";

const config = new pulumi.Config();
const targetRoot = path.resolve(__dirname, config.get("targetRoot") ?? "target");
const buildDir = path.resolve(__dirname, config.get("buildDir") ?? "build");
const host = { root: targetRoot };

// The lab network (inside the lab's own network namespace).
const SUBNET = "10.90.0.0/24";
const SERVER_IP = "10.90.0.1";
const STORAGE = ["10.90.0.2", "10.90.0.3", "10.90.0.4"];
const IFACE = "nblbr0";

// The build host's newest kernel with modules (the Debian kernel, linux-image-amd64).
const kernelVersion = config.get("kernelVersion") ??
  fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop();
if (!kernelVersion) throw new Error("no kernel with modules on the build host: run 'apt-get install -y linux-image-amd64'");

const pxe = new netboot.PxeServer("pxe", {
  host,
  interface: IFACE,
  subnet: SUBNET,
  serverIp: SERVER_IP,
  dhcpMode: "static",
  domain: "lab.internal",
});

// Replica 3 across three storage addresses; the brick folders stand for /srv/gluster/bN on each server.
const vol = new netboot.GlusterVolume("images", {
  host,
  mode: "standalone",
  layout: "replicate",
  replica: 3,
  clusterSubnet: SUBNET,
  bricks: STORAGE.map((ip, i) => ({ host: ip, path: path.join(targetRoot, `srv/gluster/b${i + 1}`), port: 49152 + i })),
  options: { "network.ping-timeout": "10" },
}, {
  // Same target root as the PXE server: created after it and destroyed before it, so the folders both write
  // below (`etc/`) are removed by their owner once they are empty (two FileSets deleted in parallel race on
  // a shared parent folder and may leave it behind).
  dependsOn: [pxe],
});

// The OS image: a busybox root folder made here, and the content the volume must hold for both images.
// On a real cluster BootImage publishes the image onto the volume itself (the build host mounts it). In the
// lab the bricks run in a private network namespace that only starts after `pulumi up`, so these images set
// `publishImage: false` and the lab copies `image.tar.gz` / `root/` onto the volume before it boots the VMs.
const images = {
  ram: { imagePath: "/netboot/images/ram" },
  hybrid: { imagePath: "/netboot/images/hybrid", hybridPaths: [path.posix.dirname(LAB_FILE)] },
};
const rootfs = makeRootfs(buildDir);
const volumeContent = makeVolumeContent(buildDir, rootfs, Object.values(images));

const ramImage = new netboot.BootImage("ram", {
  server: pxe.info,
  kernelVersion,
  imageSource: rootfs,
  transport: "glusterfs",
  glusterVolfile: vol.clientVolfile,
  imagePath: images.ram.imagePath,
  mode: "ram",
  onFailure: "reboot",
  publishImage: false, // the lab copies the image onto the volume once it has started the bricks (see above)
}, { dependsOn: [pxe] });

const hybridImage = new netboot.BootImage("hybrid", {
  server: pxe.info,
  kernelVersion,
  imageSource: rootfs,
  transport: "glusterfs",
  glusterVolfile: vol.clientVolfile,
  imagePath: images.hybrid.imagePath,
  mode: "hybrid",
  hybridPaths: images.hybrid.hybridPaths,
  onFailure: "reboot",
  publishImage: false, // the lab copies the image onto the volume once it has started the bricks (see above)
}, { dependsOn: [pxe] });

const nodes = {
  ram: [
    { name: "ram1", macs: ["52:54:00:90:00:11"], ip: "10.90.0.11" },
    { name: "ram2", macs: ["52:54:00:90:00:12"], ip: "10.90.0.12", firmware: "efi-x86_64" as const },
  ],
  hybrid: [
    { name: "hyb1", macs: ["52:54:00:90:00:21"], ip: "10.90.0.21" },
    { name: "hyb2", macs: ["52:54:00:90:00:22"], ip: "10.90.0.22", firmware: "efi-x86_64" as const },
  ],
};

// Each node's overlay (docs/overlays.md): its hostname, an /etc/hosts that names every node of both groups (the
// other group's through extraHosts) and a templated file; the image's /sbin/init prints the file and resolves
// the other group's first node by name (rootfs.ts).
const overlayOf = (others: { name: string; ip: string }[]) => ({
  tags: { rack: "lab-rack-1" },
  extraHosts: others.map((n) => ({ ip: n.ip, names: [n.name] })),
  files: [{ path: OVERLAY_FILE, content: "overlay of {{ name }} (group {{ group }}, {{ ip }}) in {{ tags.rack }}\n", template: true }],
});

// dependsOn: written into the PXE server's folders, so removed before the server removes them (see above).
const ram = new netboot.NodeGroup("ram", { server: pxe.info, nodes: nodes.ram, boot: ramImage.boot, overlay: overlayOf(nodes.hybrid) }, { dependsOn: [pxe] });
const hybrid = new netboot.NodeGroup("hybrid", { server: pxe.info, nodes: nodes.hybrid, boot: hybridImage.boot, overlay: overlayOf(nodes.ram) }, { dependsOn: [pxe] });

const firmwareOf = Object.fromEntries([...nodes.ram, ...nodes.hybrid].map((n) => [n.name, n.firmware ?? "bios"]));

export const dnsmasqConfig = pxe.dnsmasqConfig;
export const nginxConfig = pxe.nginxConfig;
export const clientVolfile = vol.clientVolfilePath;
export const initrdSize = { ram: ramImage.initrdSize, hybrid: hybridImage.initrdSize };

/** What `npm run lab` reads (docs/lab.md, "the lab contract"). */
export const lab = {
  targetRoot,
  server: {
    interface: IFACE,
    subnet: SUBNET,
    serverIp: SERVER_IP,
    dnsmasqConfig: pxe.dnsmasqConfig,
    // PxeServer renders a standalone nginx.conf around its server block at <baseDir>/nginx.conf
    nginxMainConfig: path.join(targetRoot, "srv/netboot/nginx.conf"),
  },
  volumes: [{ name: vol.volumeName, clientVolfile: vol.clientVolfilePath, bricks: vol.bricks }],
  volumeContent: [{ volume: vol.volumeName, source: volumeContent, path: "/" }],
  nodes: pulumi.all([ram.nodeTable, hybrid.nodeTable]).apply(([a, b]) => [...a, ...b].map((n) => ({ ...n, firmware: firmwareOf[n.name] }))),
  upMarker: UP_MARKER,
  expect: { image: IMAGE_VERSION, labFile: LAB_FILE_CONTENT },
};
