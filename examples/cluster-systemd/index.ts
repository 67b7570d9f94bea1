/**
 * cluster-systemd: a whole stateless cluster on servers that already run, as on a real site: a head node with
 * Debian's stock dnsmasq and nginx, three storage servers with Debian's glusterd, all reached over SSH, every
 * daemon run by the distribution's own systemd units. `pulumi up` alone sets them up:
 * - a glusterd-managed replica-3 volume across the three storage servers (peer probe, create, start);
 * - a PxeServer with systemd activation on the head node (its own dnsmasq@netboot-pxe instance, nginx's conf.d);
 * - a BootImage that publishes the Debian OS image onto the volume through the head node (it mounts the volume
 *   with its glusterfs client during `up`), and the kernel and initramfs into the head's HTTP root;
 * - a NodeGroup of the compute nodes, booting Debian 12 (systemd, sshd) into RAM from the volume;
 * - with `head2` set, a second head node serving the same nodes (two head nodes: either may be lost).
 * `pulumi destroy` leaves the servers as they were before `up`.
 *
 * Every server comes from stack config (`head`, `storage`, `privateKey`: Pulumi.yaml), so the same program runs
 * against a real cluster. The lab (`npm run lab -- examples/cluster-systemd --up`, docs/lab.md) starts four
 * systemd-nspawn machines as these servers from lab-machines.json, writes their addresses and host keys into the
 * stack config, runs `pulumi up`, then boots the nodes in VMs on the head's boot network.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "../../sdk/nodejs";
import { REPORT_SCRIPT, REPORT_UNIT, UP_MARKER } from "../stateless-debian/image";

interface Server { host: string; port?: number; user?: string; hostKey: string }
interface Node { name: string; macs: string[]; ip: string }

const config = new pulumi.Config();
const head = config.requireObject<Server>("head");
// A second head node (optional): the nodes are served by both (NodeGroup and BootImage `mirrors`, static leases on
// each), so either can be lost. The lab sets it with --two-heads.
const head2 = config.getObject<Server>("head2");
const storage = config.requireObject<Server[]>("storage");
const privateKey = config.requireSecret("privateKey");
const subnet = config.get("subnet") ?? "10.97.0.0/24";
const serverIp = config.get("serverIp") ?? head.host;
const bootInterface = config.get("bootInterface") ?? "nb0";
const brickDir = config.get("brickDir") ?? "/srv/brick-images";
const nodes = config.getObject<Node[]>("nodes") ?? [{ name: "node1", macs: ["52:54:00:97:00:11"], ip: "10.97.0.11" }];
const buildDir = path.resolve(__dirname, config.get("buildDir") ?? "build");
if (storage.length !== 3) throw new Error(`config storage: ${storage.length} servers given; the replica-3 volume needs exactly three`);

const ssh = (s: Server) => ({ ssh: { host: s.host, port: s.port ?? 22, user: s.user ?? "root", privateKey, hostKey: s.hostKey } });

// The nodes accept this key for root (the lab's checks log in with it, given by the overlay); made once, kept in
// the build folder.
const nodeKey = path.join(buildDir, "node_ed25519");
if (!fs.existsSync(nodeKey)) {
  fs.mkdirSync(buildDir, { recursive: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "netboot-cluster-systemd", "-f", nodeKey]);
}

// The build host's newest kernel with modules (the Debian kernel, linux-image-amd64).
const kernelVersion = config.get("kernelVersion") ??
  fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop();
if (!kernelVersion) throw new Error("no kernel with modules on the build host: run 'apt-get install -y linux-image-amd64'");

// The node OS: Debian 12 with systemd, udev and sshd: the same packages and files as examples/stateless-debian,
// so the cached image in ~/.cache/netboot/osimages serves both. No key and nothing of a node: logins and identity
// come with each node's overlay (below).
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

const vol = new netboot.GlusterVolume("images", {
  host: ssh(storage[0]), // the `gluster` commands run there; it probes the other two
  mode: "managed",
  layout: "replicate",
  replica: 3,
  clusterSubnet: subnet,
  bricks: storage.map((s) => ({ host: s.host, path: brickDir })),
  force: true, // the bricks are on the servers' root file systems
  options: { "network.ping-timeout": "10" },
});

const BASE_DIR = "/srv/netboot";
const pxe = new netboot.PxeServer("pxe", {
  host: { ...ssh(head), systemd: true },
  interface: bootInterface,
  subnet,
  serverIp,
  dhcpMode: "static",
  domain: "cluster.internal",
  baseDir: BASE_DIR,
});

// The second head: the same PxeServer settings on its own address (static DHCP: both hand out the same lease).
const pxe2 = head2 && new netboot.PxeServer("pxe2", {
  host: { ...ssh(head2), systemd: true },
  interface: bootInterface,
  subnet,
  serverIp: head2.host,
  dhcpMode: "static",
  domain: "cluster.internal",
  baseDir: BASE_DIR,
});
const mirrors = pxe2 ? [pxe2.info] : undefined;

const image = new netboot.BootImage("debian", {
  server: pxe.info,
  mirrors,
  kernelVersion,
  imageSource: os.rootPath,
  transport: "glusterfs",
  glusterVolfile: vol.clientVolfile,
  imagePath: "/netboot/images/debian",
  mode: "ram",
  onFailure: "reboot",
  publishHost: ssh(head), // the head node mounts the volume and writes the image (it reaches the bricks)
});

// Each node's identity, laid over the image at boot (docs/overlays.md): its own SSH host key (kept in state, the
// same on every boot and from either head node) and the key above for root.
const group = new netboot.NodeGroup("compute", {
  server: pxe.info, mirrors, nodes, boot: image.boot,
  overlay: { hostKeys: true, authorizedKeys: [fs.readFileSync(nodeKey + ".pub", "utf8").trim()] },
});

export const volume = { name: vol.volumeName, mountSource: vol.mountSource };
export const imageFile = image.imageFile;
export const nodeTable = group.nodeTable;

/** What `npm run lab` reads (docs/lab.md, machines mode): where the head's logs are, the nodes, the checks. */
export const lab = {
  machines: {
    pxeMachine: "head",
    interface: bootInterface,
    subnet,
    serverIp,
    dnsmasqUnit: pxe.info.dnsmasqUnit,
    // PxeServer's server block logs there (`<baseDir>/run/nginx-<name>.access.log`)
    accessLog: `${BASE_DIR}/run/nginx-pxe.access.log`,
    ...(pxe2 ? { mirrors: [{ pxeMachine: "head2", dnsmasqUnit: pxe2.info.dnsmasqUnit, accessLog: `${BASE_DIR}/run/nginx-pxe2.access.log` }] } : {}),
  },
  nodes: group.nodeTable.apply((t) => t.map((n) => ({ ...n, firmware: "bios" }))),
  upMarker: UP_MARKER,
  // the RAM node holds the image's 190 MB in tmpfs
  nodeMemoryMb: 1024,
  ssh: { user: "root", privateKeyFile: nodeKey },
  checks: [
    { name: "systemd is running", groups: ["compute"], command: "systemctl is-system-running", expect: "running" },
    { name: "the hostname is the node's", groups: ["compute"], command: "hostname", expect: "node" },
    { name: "the root is in RAM", groups: ["compute"], command: "findmnt -n -o FSTYPE /", expect: "tmpfs" },
  ],
};
