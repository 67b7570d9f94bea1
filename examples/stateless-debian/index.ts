/**
 * stateless-debian: a real Debian 12 (systemd, udev, sshd) built by netboot, booting stateless from a replica-3
 * GlusterFS volume, one node in RAM mode and one in hybrid mode with all of /usr left on GlusterFS:
 * - `ram`: the whole image (about 190 MB) is unpacked into RAM and the volume is unmounted before the hand-off;
 * - `hybrid`: only the root without /usr is unpacked (a few MB); /usr is bind-mounted from the volume, so
 *   systemd, sshd and every program run from GlusterFS (mmap through FUSE), served by the glusterfs client the
 *   initramfs started, which systemd leaves alone as a root storage daemon.
 *
 * Boot it in VMs:  npm run lab -- examples/stateless-debian --up   (see README.md and docs/lab.md)
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "../../sdk/nodejs";
import { LAB_FILE, LAB_FILE_CONTENT, REPORT_SCRIPT, REPORT_UNIT, UP_MARKER } from "./image";
import { makeVolumeContent } from "./volume";

const config = new pulumi.Config();
const targetRoot = path.resolve(__dirname, config.get("targetRoot") ?? "target");
const buildDir = path.resolve(__dirname, config.get("buildDir") ?? "build");
const host = { root: targetRoot };

// Every node's /etc/motd, from its BootImage's overlay (a template over the node's variables).
const MOTD = "{{ name }} ({{ group }}): Debian 12, booted stateless by netboot from {{ serverName }}\n";

// The lab network (inside the lab's own network namespace).
const SUBNET = "10.91.0.0/24";
const SERVER_IP = "10.91.0.1";
const STORAGE = ["10.91.0.2", "10.91.0.3", "10.91.0.4"];
const IFACE = "nbdbr0";

// The build host's newest kernel with modules (the Debian kernel, linux-image-amd64).
const kernelVersion = config.get("kernelVersion") ??
  fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop();
if (!kernelVersion) throw new Error("no kernel with modules on the build host: run 'apt-get install -y linux-image-amd64'");

// The lab logs in to the nodes (root, this key, given by the overlays) for its checks and the reboot; made once,
// kept in the build folder.
const labKey = path.join(buildDir, "lab_ed25519");
if (!fs.existsSync(labKey)) {
  fs.mkdirSync(buildDir, { recursive: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "netboot-lab", "-f", labKey]);
}

// The node OS image: Debian 12 with systemd, udev and sshd, built with mmdebstrap (docs/os-images.md). It holds no
// key and nothing of a node: logins and identity come with each node's overlay, so the image's inputs stay the
// same and its build is cached (~/.cache/netboot/osimages) across stacks and lab runs.
const os = new netboot.OsImage("debian", {
  debian: {
    suite: "bookworm",
    packages: ["systemd-sysv", "udev", "openssh-server", "iproute2"],
    files: [
      { path: "/usr/local/sbin/netboot-lab-report", content: REPORT_SCRIPT, mode: "0755" },
      { path: "/etc/systemd/system/netboot-lab-report.service", content: REPORT_UNIT },
    ],
    customize: ["systemctl enable netboot-lab-report.service"],
  },
});
const imageRoot = os.rootPath;
const imageDigest = os.digest;

const pxe = new netboot.PxeServer("pxe", {
  host,
  interface: IFACE,
  subnet: SUBNET,
  serverIp: SERVER_IP,
  dhcpMode: "static",
  domain: "lab.internal",
});

const vol = new netboot.GlusterVolume("images", {
  host,
  mode: "standalone",
  layout: "replicate",
  replica: 3,
  clusterSubnet: SUBNET,
  bricks: STORAGE.map((ip, i) => ({ host: ip, path: path.join(targetRoot, `srv/gluster/b${i + 1}`), port: 49152 + i })),
  options: { "network.ping-timeout": "10" },
}, { dependsOn: [pxe] });

const images = {
  ram: { imagePath: "/netboot/images/debian-ram" },
  hybrid: { imagePath: "/netboot/images/debian-hybrid", hybridPaths: ["/usr"] },
};

const bootImage = (name: "ram" | "hybrid") => new netboot.BootImage(name, {
  server: pxe.info,
  kernelVersion,
  imageSource: imageRoot,
  transport: "glusterfs",
  glusterVolfile: vol.clientVolfile,
  imagePath: images[name].imagePath,
  mode: name,
  ...(name === "hybrid" ? { hybridPaths: images.hybrid.hybridPaths } : {}),
  onFailure: "reboot",
  // a file every node of the image gets (docs/overlays.md): changing it rebuilds nothing, only the nodes' overlays
  overlay: { files: [{ path: "/etc/motd", content: MOTD, template: true }] },
  publishImage: false, // the lab copies the image onto the volume once it has started the bricks (docs/lab.md)
}, { dependsOn: [pxe] });
const ramImage = bootImage("ram");
const hybridImage = bootImage("hybrid");

const volumeContent = pulumi.all([imageRoot, imageDigest]).apply(([root, digest]) =>
  makeVolumeContent(buildDir, root, digest, Object.values(images), { path: LAB_FILE, content: LAB_FILE_CONTENT }));

const nodes = {
  ram: [{ name: "deb-ram1", macs: ["52:54:00:91:00:11"], ip: "10.91.0.11" }],
  hybrid: [{ name: "deb-hyb1", macs: ["52:54:00:91:00:21"], ip: "10.91.0.21" }],
};
// Each node's identity, laid over the image at boot (docs/overlays.md): its own SSH host key (kept in state, the
// same on every boot), the lab's login key, and an /etc/hosts that also names the other group's node.
const overlay = (other: Array<{ name: string; ip: string }>) => ({
  hostKeys: true,
  authorizedKeys: [fs.readFileSync(labKey + ".pub", "utf8").trim()],
  extraHosts: other.map((n) => ({ ip: n.ip, names: [`${n.name}.lab.internal`, n.name] })),
});
const ram = new netboot.NodeGroup("ram", { server: pxe.info, nodes: nodes.ram, boot: ramImage.boot, overlay: overlay(nodes.hybrid) }, { dependsOn: [pxe] });
const hybrid = new netboot.NodeGroup("hybrid", { server: pxe.info, nodes: nodes.hybrid, boot: hybridImage.boot, overlay: overlay(nodes.ram) }, { dependsOn: [pxe] });

export const initrdSize = { ram: ramImage.initrdSize, hybrid: hybridImage.initrdSize };
export const image = { digest: os.digest, size: os.size, packages: os.packages.apply((p) => Object.keys(p).length) };

/** What `npm run lab` reads (docs/lab.md, "the lab contract"). */
export const lab = {
  targetRoot,
  server: {
    interface: IFACE,
    subnet: SUBNET,
    serverIp: SERVER_IP,
    dnsmasqConfig: pxe.dnsmasqConfig,
    nginxMainConfig: path.join(targetRoot, "srv/netboot/nginx.conf"),
  },
  volumes: [{ name: vol.volumeName, clientVolfile: vol.clientVolfilePath, bricks: vol.bricks }],
  volumeContent: [{ volume: vol.volumeName, source: volumeContent, path: "/" }],
  nodes: pulumi.all([ram.nodeTable, hybrid.nodeTable]).apply(([a, b]) => [...a, ...b].map((n) => ({ ...n, firmware: "bios" }))),
  upMarker: UP_MARKER,
  // the RAM node holds the image's 190 MB in tmpfs
  nodeMemoryMb: 1024,
  // checked over SSH from the servers' network once each node reports up
  ssh: { user: "root", privateKeyFile: labKey },
  checks: [
    { name: "systemd is running", groups: ["ram", "hybrid"], command: "systemctl is-system-running", expect: "running" },
    { name: "the hostname is the node's", groups: ["ram", "hybrid"], command: "hostname", expect: "deb-" },
    // the overlays: the image's file (a template), /etc/hosts naming the other group's node
    { name: "the image's overlay file", groups: ["ram", "hybrid"], command: "cat /etc/motd", expect: "booted stateless by netboot" },
    { name: "the other group's node by name", groups: ["ram"], command: "getent hosts deb-hyb1", expect: "10.91.0.21" },
    { name: "the other group's node by name", groups: ["hybrid"], command: "getent hosts deb-ram1", expect: "10.91.0.11" },
    // the DHCP client the initramfs left running keeps the lease under systemd
    { name: "the DHCP keeper runs", groups: ["ram", "hybrid"], command: `kill -0 "$(cat /run/netboot/udhcpc.pid)" && echo "dhcp keeper running"`, expect: "dhcp keeper running" },
    // started as @glusterfs: systemd's root storage daemon mark, so shutdown leaves it to serve /usr to the end
    { name: "glusterfs is a root storage daemon", groups: ["hybrid"], command: `tr "\\0" " " < /proc/"$(cat /run/netboot/glusterfs.pid)"/cmdline`, expect: "@glusterfs -f /etc/netboot/client.vol" },
    { name: "a file the server wrote on the volume", groups: ["hybrid"], command: `cat ${LAB_FILE}`, expect: LAB_FILE_CONTENT },
    // ld.so maps dpkg and its libraries (PROT_EXEC) from /usr: on GlusterFS here, so this is mmap through FUSE
    { name: "mmap of /usr through FUSE", groups: ["hybrid"], command: `t=$(findmnt -n -o FSTYPE --target /usr/bin/dpkg); /lib64/ld-linux-x86-64.so.2 --list /usr/bin/dpkg >/dev/null && echo "mapped from $t"`, expect: "mapped from fuse.glusterfs" },
    // the package manager checks its files' checksums under /usr (documentation left out of the image is "missing")
    { name: "dpkg --verify on the hybrid /usr", groups: ["hybrid"], command: `out=$(dpkg --verify dpkg coreutils systemd | grep -v "^missing "); [ -z "$out" ] && echo verified || { echo "$out"; exit 1; }`, expect: "verified" },
  ],
  reboot: ["hybrid"],
};
