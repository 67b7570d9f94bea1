/**
 * The netboot quickstart: a PXE server and two node groups, rendered into a local target folder
 * (`./target`, standing in for the server's file system). Run it with `npm run quickstart`.
 * Point `host` at a real machine (see README) to use it for real.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "./sdk/nodejs";

const config = new pulumi.Config();
const host = { root: path.resolve(config.get("targetRoot") ?? "target") };

const pxe = new netboot.PxeServer("pxe", {
  host,
  interface: "nb0",
  subnet: "10.77.0.0/24",
  serverIp: "10.77.0.1",
  dhcpMode: "authoritative",
  dynamicRange: { start: "10.77.0.200", end: "10.77.0.250", leaseTime: "1h" },
  domain: "cluster.lan",
});

const compute = new netboot.NodeGroup("compute", {
  server: pxe.info,
  nodes: [
    { name: "c01", macs: ["52:54:00:77:00:11"], ip: "10.77.0.11" },
    { name: "c02", macs: ["52:54:00:77:00:12"], ip: "10.77.0.12", kernelArgs: "console=ttyS0" },
  ],
  boot: {
    kernelUrl: pulumi.interpolate`${pxe.httpBaseUrl}images/vmlinuz`,
    initrdUrl: pulumi.interpolate`${pxe.httpBaseUrl}images/initrd.img`,
    args: "console=ttyS0 quiet",
  },
});

const storage = new netboot.NodeGroup("storage", {
  server: pxe.info,
  nodes: [{ name: "s01", macs: ["52:54:00:77:00:21", "52:54:00:77:00:22"], ip: "10.77.0.21" }],
  boot: { localDisk: true },
});

const motd = new netboot.File("motd", {
  host,
  path: "/etc/motd",
  content: "This PXE server is managed by netboot. Edit the Pulumi program, not this file.\n",
});

export const targetRoot = host.root;
export const httpBaseUrl = pxe.httpBaseUrl;
export const dnsmasqConfig = pxe.dnsmasqConfig;
export const nginxConfig = pxe.nginxConfig;
export const tftpRoot = pxe.tftpRoot;
export const nodes = pulumi.all([compute.nodeTable, storage.nodeTable]).apply(([a, b]) => [...a, ...b]);
export const motdSha256 = motd.sha256;
