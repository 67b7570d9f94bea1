/**
 * PxeServer and NodeGroup through the real engine, with the real dnsmasq running on what `pulumi up` wrote:
 * up -> preview/refresh no changes -> hand edits, deletion, mode change -> refresh shows each file -> up
 * repairs -> a node added without restarting dnsmasq -> a node removed sends SIGHUP -> bad input fails with
 * every error and writes nothing -> another stack claiming the same MAC is refused -> destroy leaves nothing.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { waitFor } from "../../provider/util/wait";
import * as netboot from "../../sdk/nodejs";
import { changed, cliProject, testStack, TestStack } from "../helpers/engine";
import { REPO, requireTool, tmpDir } from "../helpers/env";
import { Lab } from "../helpers/netns";

jest.setTimeout(300_000);

const CLIENT = path.join(REPO, "test/helpers/dhcpClient.js");

function walk(d: string): string[] {
  if (!fs.existsSync(d)) return [];
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
}

describe("PxeServer + NodeGroup through the engine, with dnsmasq serving the result", () => {
  const root = tmpDir("pxe-target");
  const host = { root };
  let nodes = [
    { name: "c01", macs: ["52:54:00:70:00:01"], ip: "10.70.0.11" },
    { name: "c02", macs: ["52:54:00:70:00:02"], ip: "10.70.0.12", kernelArgs: "console=ttyS0" },
  ];
  let t: TestStack;
  const lab = new Lab("nbp-e-");
  let cli = "";
  const out: string[] = [];
  const log = (s: string) => out.push(s);

  const program = async () => {
    const pxe = new netboot.PxeServer("pxe", {
      host, interface: "nbs0", subnet: "10.70.0.0/24", serverIp: "10.70.0.1", dhcpMode: "authoritative",
      dynamicRange: { start: "10.70.0.200", end: "10.70.0.250" },
    });
    const compute = new netboot.NodeGroup("compute", {
      server: pxe.info, nodes,
      boot: { kernelUrl: pulumi.interpolate`${pxe.httpBaseUrl}images/vmlinuz`, initrdUrl: pulumi.interpolate`${pxe.httpBaseUrl}images/initrd.img`, args: "quiet" },
    });
    const storage = new netboot.NodeGroup("storage", {
      server: pxe.info, nodes: [{ name: "s01", macs: ["52:54:00:70:00:21"], ip: "10.70.0.21" }], boot: { localDisk: true },
    });
    return { nodes: compute.nodeTable, storage: storage.nodeTable, dnsmasq: pxe.dnsmasqConfig, hostsDir: pxe.hostsDir };
  };

  beforeAll(async () => {
    t = await testStack("pxe", program);
  });
  afterAll(async () => {
    await lab.cleanup();
  });

  const dhcp = (mac: string, timeout = 2000) => {
    lab.run(cli, `ip link set dev nbc0 address ${mac}`);
    return JSON.parse(lab.run(cli, `node ${CLIENT} --mac ${mac} --arch 0 --vendor PXEClient --timeout ${timeout}`).out) as any[];
  };
  const pidFile = path.join(root, "srv/netboot/run/dnsmasq-pxe.pid");

  test("up renders the server and the groups; the node table is an output", async () => {
    const up = await t.stack.up({ onOutput: log });
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.nodes.value.map((n: any) => [n.name, n.mac, n.ip, n.bootUrl])).toEqual([
      ["c01", "52:54:00:70:00:01", "10.70.0.11", "http://10.70.0.1/ipxe/node-52-54-00-70-00-01.ipxe"],
      ["c02", "52:54:00:70:00:02", "10.70.0.12", "http://10.70.0.1/ipxe/node-52-54-00-70-00-02.ipxe"],
    ]);
    const conf = fs.readFileSync(up.outputs.dnsmasq.value, "utf8");
    expect(conf).toContain(`dhcp-hostsdir=${root}/srv/netboot/dhcp-hosts.d`);
    expect(fs.readFileSync(path.join(root, "srv/netboot/dhcp-hosts.d/compute"), "utf8")).toContain("52:54:00:70:00:02,10.70.0.12,c02,infinite");
    expect(fs.readFileSync(path.join(root, "srv/netboot/http/ipxe/node-52-54-00-70-00-02.ipxe"), "utf8")).toContain("set netboot-args console=ttyS0");
    expect(fs.readFileSync(path.join(root, "srv/netboot/tftp/undionly.kpxe"))).toEqual(fs.readFileSync("/usr/lib/ipxe/undionly.kpxe"));
  });

  test("preview and refresh report no changes", async () => {
    expect(changed((await t.stack.preview({ expectNoChanges: true })).changeSummary)).toEqual({});
    expect((await t.stack.refresh({ expectNoChanges: true })).summary.result).toBe("succeeded");
  });

  test("hand edit, deletion and mode change show in refresh, named by file, and up repairs them", async () => {
    const script = path.join(root, "srv/netboot/http/ipxe/group-compute.ipxe");
    const hosts = path.join(root, "srv/netboot/dhcp-hosts.d/storage");
    const conf = path.join(root, "etc/dnsmasq.d/netboot-pxe.conf");
    fs.appendFileSync(script, "shell\n");
    fs.rmSync(hosts);
    fs.chmodSync(conf, 0o666);
    const lines: string[] = [];
    await expect(t.stack.refresh({ expectNoChanges: true, onOutput: (s) => lines.push(s) })).rejects.toThrow(/no changes were expected/);
    await t.stack.refresh();
    const pre = await t.stack.preview({ diff: true, onOutput: (s) => lines.push(s) });
    expect(pre.changeSummary.update).toBe(3);
    const text = lines.join("");
    expect(text).toContain("/srv/netboot/http/ipxe/group-compute.ipxe");
    expect(text).toMatch(/-\s+shell/);
    expect(text).toContain("/srv/netboot/dhcp-hosts.d/storage");
    expect(text).toMatch(/mode\s+: "0666" => "0644"/);
    await t.stack.up();
    expect(fs.readFileSync(script, "utf8")).not.toContain("shell");
    expect(fs.existsSync(hosts)).toBe(true);
    expect(fs.statSync(conf).mode & 0o777).toBe(0o644);
    expect(changed((await t.stack.preview()).changeSummary)).toEqual({});
  });

  test("dnsmasq serves the rendered config; a node added later needs no restart", async () => {
    const s = lab.ns("srv");
    cli = lab.ns("cli");
    lab.link(s, "nbs0", "10.70.0.1/24", cli, "nbc0", undefined);
    lab.run(cli, "ip route add default dev nbc0");
    lab.start(s, [requireTool("dnsmasq"), "-k", "-C", path.join(root, "etc/dnsmasq.d/netboot-pxe.conf"), "--log-facility=-"], path.join(root, "dnsmasq.log"));
    await waitFor("dnsmasq pid file", () => fs.existsSync(pidFile), 5000);
    const pid = fs.readFileSync(pidFile, "utf8").trim();
    const ack = dhcp("52:54:00:70:00:02").find((r) => r.type === "ack");
    expect([ack.yiaddr, ack.options["12"]]).toEqual(["10.70.0.12", "c02"]);

    nodes = [...nodes, { name: "c03", macs: ["52:54:00:70:00:03"], ip: "10.70.0.13" }];
    const up = await t.stack.up();
    expect(up.summary.resourceChanges?.update).toBe(2); // the group component and its one file set
    await new Promise((r) => setTimeout(r, 300));
    const ack3 = dhcp("52:54:00:70:00:03").find((r) => r.type === "ack");
    expect([ack3.yiaddr, ack3.options["12"]]).toEqual(["10.70.0.13", "c03"]);
    expect(fs.readFileSync(pidFile, "utf8").trim()).toBe(pid);
  });

  test("a node removed is forgotten by dnsmasq: the apply sends SIGHUP through the pid file", async () => {
    const pid = fs.readFileSync(pidFile, "utf8").trim();
    nodes = nodes.filter((n) => n.name !== "c02");
    const lines: string[] = [];
    await t.stack.up({ onOutput: (s) => lines.push(s) });
    const state = JSON.parse(JSON.stringify((await t.stack.exportStack()).deployment));
    const leases = state.resources.find((r: any) => r.urn.endsWith("::compute-files"));
    expect(leases.outputs.lastApply.signalled).toBe(`sent SIGHUP to ${pid}`);
    const r = dhcp("52:54:00:70:00:02", 6000).find((x) => x.type === "ack");
    expect(r.yiaddr).not.toBe("10.70.0.12");
    expect(r.options["12"]).toBeUndefined();
    expect(fs.readFileSync(pidFile, "utf8").trim()).toBe(pid);
  });

  test("bad input fails with every error at once and writes nothing", async () => {
    const badRoot = tmpDir("pxe-bad");
    const p = cliProject("pxe-bad", `
import * as netboot from "${REPO}/sdk/nodejs";
const pxe = new netboot.PxeServer("pxe", { host: { root: "${badRoot}" }, interface: "nbs0", subnet: "10.71.0.0/24", serverIp: "10.71.0.1", dhcpMode: "static" });
new netboot.NodeGroup("g", {
  server: pxe.info,
  nodes: [
    { name: "ok1", macs: ["52:54:00:71:00:01"], ip: "10.71.0.11" },
    { name: "bad/name", macs: ["52:54:00:71:00:0g"], ip: "10.71.9.1" },
    { name: "dup", macs: ["52:54:00:71:00:01"], ip: "10.71.0.11", kernelArgs: "a\`reboot\`" },
  ],
  boot: { localDisk: true },
});
`);
    const r = p.run(["up", "--yes"]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/validation errors; nothing was written/);
    for (const f of ['nodes[1].name = "bad/name"', 'nodes[1].macs[0] = "52:54:00:71:00:0g"', 'nodes[1].ip = "10.71.9.1"', 'nodes[2].macs[0] = "52:54:00:71:00:01": MAC is also claimed by nodes[0].macs[0]', "nodes[2].kernelArgs"])
      expect(r.out).toContain(f);
    expect(walk(path.join(badRoot, "srv/netboot/dhcp-hosts.d"))).toEqual([]);
    expect(walk(path.join(badRoot, "srv/netboot/http/ipxe")).filter((f) => !f.endsWith("boot.ipxe"))).toEqual([]);
    expect(p.run(["destroy", "--yes"]).code).toBe(0);
    p.remove();
  });

  test("a group of another stack claiming a MAC already served is refused, naming the file", async () => {
    const p = cliProject("pxe-other", `
import * as netboot from "${REPO}/sdk/nodejs";
new netboot.NodeGroup("rack9", {
  server: { name: "pxe", host: { root: "${root}" }, subnet: "10.70.0.0/24", serverIp: "10.70.0.1", dhcpMode: "authoritative", rangeStart: "10.70.0.200", rangeEnd: "10.70.0.250", hostsDir: "/srv/netboot/dhcp-hosts.d", httpRoot: "/srv/netboot/http", httpBaseUrl: "http://10.70.0.1/", pidFile: "/srv/netboot/run/dnsmasq-pxe.pid", firmwares: ["bios"] },
  nodes: [{ name: "r01", macs: ["52:54:00:70:00:01"], ip: "10.70.0.91" }],
  boot: { localDisk: true },
});
`);
    const r = p.run(["up", "--yes"]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('nodes[0].macs[0] = "52:54:00:70:00:01": MAC is already claimed by /srv/netboot/dhcp-hosts.d/compute (line 2)');
    expect(fs.existsSync(path.join(root, "srv/netboot/dhcp-hosts.d/rack9"))).toBe(false);
    p.remove();
  });

  test("destroy leaves nothing behind", async () => {
    await lab.cleanup();
    for (const f of ["dnsmasq.log"]) fs.rmSync(path.join(root, f), { force: true });
    // dnsmasq's own run files (pid, leases) are the daemon's, not ours: remove them as an admin would
    fs.rmSync(path.join(root, "srv/netboot/run"), { recursive: true, force: true });
    fs.mkdirSync(path.join(root, "srv/netboot/run"));
    await t.destroy();
    expect(walk(root)).toEqual([]);
    expect(fs.readdirSync(root)).toEqual([]);
  });
});
