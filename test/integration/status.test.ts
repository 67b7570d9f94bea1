/**
 * `npm run status` against real daemons: `pulumi up` renders a PxeServer (authoritative DHCP, so an unknown
 * machine gets a dynamic lease) and a NodeGroup into a local target folder; the real dnsmasq and nginx serve
 * those files in a network namespace; a client walks a node's boot as its firmware, iPXE and the initramfs
 * would (DHCP as a PXE ROM, as iPXE, the scripts, kernel and initrd over HTTP, DHCP as udhcpc, the initramfs's
 * stage mark), and an unknown MAC asks for a lease. Then the command, as a user runs it (the stack's state
 * through the pulumi CLI, the servers' files through the local transport), reports the node's stages with the
 * times the servers logged, the generation it fetched, the idle node as never seen and the unknown MAC; the
 * table, --json and the --prometheus textfile are checked.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "../../sdk/nodejs";
import { parseAccessLog, parseDnsmasqLog } from "../../provider/status/boot";
import { testStack, TestStack } from "../helpers/engine";
import { REPO, requireTool, tmpDir } from "../helpers/env";
import { Lab } from "../helpers/netns";

jest.setTimeout(300_000);

const CLIENT = path.join(REPO, "test/helpers/dhcpClient.js");
const N1 = "52:54:00:78:00:05";
const STRANGER = "52:54:00:78:00:99";
const GEN = "0123456789ab";

describe("npm run status over real dnsmasq and nginx", () => {
  const root = tmpDir("status-target");
  const lab = new Lab("nbst-");
  let t: TestStack;
  let srv = "";
  let cli = "";

  beforeAll(async () => {
    for (const tool of ["dnsmasq", "nginx", "curl"]) requireTool(tool);
    t = await testStack("status", async () => {
      const pxe = new netboot.PxeServer("pxe", {
        host: { root }, interface: "nbs0", subnet: "10.78.0.0/24", serverIp: "10.78.0.1", dhcpMode: "authoritative",
        dynamicRange: { start: "10.78.0.200", end: "10.78.0.250" },
      });
      new netboot.NodeGroup("compute", {
        server: pxe.info,
        nodes: [{ name: "n1", macs: [N1], ip: "10.78.0.5" }, { name: "n2", macs: ["52:54:00:78:00:06"], ip: "10.78.0.6" }],
        boot: { kernelUrl: pulumi.interpolate`${pxe.httpBaseUrl}images/compute/vmlinuz-6.1-${GEN}`, initrdUrl: pulumi.interpolate`${pxe.httpBaseUrl}images/compute/initrd-${GEN}.img` },
      });
      return {};
    });
    await t.stack.up();
    // the boot files a BootImage would have published
    const images = path.join(root, "srv/netboot/http/images/compute");
    fs.mkdirSync(images, { recursive: true });
    fs.writeFileSync(path.join(images, `vmlinuz-6.1-${GEN}`), "kernel");
    fs.writeFileSync(path.join(images, `initrd-${GEN}.img`), "initrd");

    srv = lab.ns("srv");
    cli = lab.ns("cli");
    lab.link(srv, "nbs0", "10.78.0.1/24", cli, "nbc0", undefined);
    lab.run(cli, "ip route add default dev nbc0");
    // dnsmasq drops privileges before it writes its log
    const log = path.join(root, "dnsmasq.log");
    fs.writeFileSync(log, "");
    fs.chmodSync(log, 0o666);
    lab.start(srv, [requireTool("dnsmasq"), "-k", "-C", path.join(root, "etc/dnsmasq.d/netboot-pxe.conf"), `--log-facility=${log}`], path.join(root, "dnsmasq.out"));
    lab.start(srv, ["nginx", "-c", path.join(root, "srv/netboot/nginx.conf"), "-g", "daemon off;"], path.join(root, "nginx.out"));
    // both write their pid files once they serve; the test's own timeout bounds the wait
    for (const f of ["dnsmasq-pxe.pid", "nginx-pxe.pid"]) while (!fs.existsSync(path.join(root, "srv/netboot/run", f))) await new Promise((r) => setTimeout(r, 100));
  });

  const promDir = tmpDir("status-prom");
  afterAll(async () => {
    await lab.cleanup();
    await t?.destroy();
    for (const d of [root, promDir]) fs.rmSync(d, { recursive: true, force: true });
  });

  const dhcp = (mac: string, flags: string, timeout = 2000) => {
    lab.run(cli, `ip link set dev nbc0 address ${mac}`);
    return JSON.parse(lab.run(cli, `node ${CLIENT} --mac ${mac} ${flags} --timeout ${timeout}`).out) as { type: string; yiaddr: string }[];
  };
  const get = (p: string) => lab.run(cli, `curl -s -o /dev/null -w '%{http_code}' --interface 10.78.0.5 http://10.78.0.1/${p}`, true).out.trim();

  function status(args: string[]) {
    const env = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${path.join(t.dir, "state")}`, PULUMI_CONFIG_PASSPHRASE: "netboot-tests-only",
      PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_HOME: path.join(t.dir, "home"),
    };
    const r = spawnSync("npx", ["ts-node", "--transpile-only", "scripts/status.ts", "test", "--cwd", t.dir, "--dnsmasq-log", `pxe=${path.join(root, "dnsmasq.log")}`, ...args], { cwd: REPO, env, encoding: "utf8" });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  test("a node's boot, step by step, and an unknown MAC, as the servers logged them", () => {
    // the PXE ROM, then iPXE (user class iPXE) asking for the same lease
    expect(dhcp(N1, "--arch 0 --vendor PXEClient:Arch:00000:UNDI:002001").find((r) => r.type === "ack")?.yiaddr).toBe("10.78.0.5");
    expect(dhcp(N1, "--arch 0 --vendor PXEClient:Arch:00000:UNDI:002001 --userclass iPXE").find((r) => r.type === "ack")?.yiaddr).toBe("10.78.0.5");
    // the node's address stays on the client from here on (broadcast DHCP works with or without it)
    lab.run(cli, "ip addr add 10.78.0.5/24 dev nbc0");
    for (const p of ["ipxe/boot.ipxe", `ipxe/node-${N1.replace(/:/g, "-")}.ipxe`, "ipxe/group-compute.ipxe", `images/compute/vmlinuz-6.1-${GEN}`, `images/compute/initrd-${GEN}.img`]) expect([p, get(p)]).toEqual([p, "200"]);
    // the initramfs's udhcpc, then its mark just before the hand-off
    expect(dhcp(N1, "--vendor 'udhcp 1.36.1'").some((r) => r.type === "ack")).toBe(true);
    expect(get(`netboot/stage/image?image=image-${GEN}.tar.gz`)).toBe("204");
    // a machine no NodeGroup has: authoritative mode leases it an address from the range (dnsmasq pings the
    // address for about 3 s before it offers it: the client listens longer)
    expect(dhcp(STRANGER, "--arch 7 --vendor PXEClient:Arch:00007:UNDI:003016", 8000).find((r) => r.type === "ack")?.yiaddr).toMatch(/^10\.78\.0\.2\d\d$/);

    const prom = path.join(promDir, "netboot.prom");
    fs.writeFileSync(prom, "old\n");
    const r = status(["--json", "--prometheus", prom]);
    expect([r.code, r.err]).toEqual([0, ""]);
    const rep = JSON.parse(r.out);
    // the times are the ones in the servers' own logs
    const logged = parseDnsmasqLog(fs.readFileSync(path.join(root, "dnsmasq.log"), "utf8"), { now: Date.now() / 1000 }).dhcp.filter((e) => e.mac === N1);
    const access = parseAccessLog(fs.readFileSync(path.join(root, "srv/netboot/run/nginx-pxe.access.log"), "utf8"));
    const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.000Z$/, "Z");
    const n1 = rep.nodes.find((n: any) => n.name === "n1");
    expect(n1).toMatchObject({
      group: "compute", server: "pxe", ip: "10.78.0.5", stage: "image", leasedIp: "10.78.0.5",
      image: { initrd: `/images/compute/initrd-${GEN}.img`, generation: GEN, current: true, osImage: `image-${GEN}.tar.gz` },
    });
    expect(n1.failure).toBeUndefined();
    expect(n1.stages).toEqual({
      DHCP: iso(logged[0].time),
      iPXE: iso(logged.find((e) => e.kind === "ACK")!.time),
      kernel: iso(access.find((e) => e.path === "/ipxe/group-compute.ipxe")!.time!),
      initramfs: iso(logged.find((e) => e.vendorClass === "udhcp 1.36.1")!.time),
      image: iso(access.find((e) => e.path.startsWith("/netboot/stage/image?"))!.time!),
    });
    expect(rep.nodes.find((n: any) => n.name === "n2")).toMatchObject({ stage: "DHCP", stages: {} });
    expect(rep.unknownMacs).toEqual([expect.objectContaining({ mac: STRANGER, servers: ["pxe"], leasedIp: expect.stringMatching(/^10\.78\.0\.2\d\d$/), vendorClass: "PXEClient:Arch:00007:UNDI:003016" })]);
    expect(rep.servers).toEqual([{ name: "pxe", dnsmasqSource: `file:${path.join(root, "dnsmasq.log")}`, warnings: [] }]);

    // the textfile replaced the old one whole, and left no temp file beside it
    const text = fs.readFileSync(prom, "utf8");
    expect(fs.readdirSync(path.dirname(prom))).toEqual(["netboot.prom"]);
    const sample = (m: string) => new RegExp(`^${m.replace(/[{}]/g, "\\$&")} (\\d+)$`, "m").exec(text)?.[1];
    expect(sample(`netboot_node_stage_timestamp_seconds{node="n1",group="compute",stage="image"}`)).toBe(String(access.find((e) => e.path.startsWith("/netboot/stage/image?"))!.time));
    expect(sample(`netboot_node_boot_seconds{node="n1",group="compute",stage="image"}`)).toBe(String(access.find((e) => e.path.startsWith("/netboot/stage/image?"))!.time! - logged[0].time));
    expect(sample(`netboot_node_stage{node="n1",group="compute",stage="image"}`)).toBe("1");
    expect(sample(`netboot_node_boot_failed{node="n1",group="compute"}`)).toBe("0");
    expect(text).not.toMatch(/node="n2"/);
    expect(sample(`netboot_unknown_mac_last_seen_timestamp_seconds{mac="${STRANGER}",server="pxe"}`)).toBeDefined();

    // the table
    const tab = status([]);
    expect(tab.code).toBe(0);
    expect(tab.out).toMatch(new RegExp(`^n1 +compute +10\\.78\\.0\\.5 +image +\\S+ \\S+ +\\d+s +${GEN}\\s*$`, "m"));
    expect(tab.out).toMatch(/^n2 +compute +10\.78\.0\.6 +- +- +- +- +never seen$/m);
    expect(tab.out).toMatch(new RegExp(`^${STRANGER} +pxe +10\\.78\\.0\\.2\\d\\d +\\d+ `, "m"));
  });

  test("a reboot that fails on a missing initrd: the last boot is reported, with the HTTP error", () => {
    fs.rmSync(path.join(root, `srv/netboot/http/images/compute/initrd-${GEN}.img`));
    dhcp(N1, "--arch 0 --vendor PXEClient:Arch:00000:UNDI:002001");
    expect(get("ipxe/group-compute.ipxe")).toBe("200");
    expect(get(`images/compute/initrd-${GEN}.img`)).toBe("404");
    const n1 = JSON.parse(status(["--json"]).out).nodes.find((n: any) => n.name === "n1");
    expect(n1).toMatchObject({ stage: "kernel", failure: `HTTP 404 for /images/compute/initrd-${GEN}.img` });
    expect(n1.stages.image).toBeUndefined();
  });

  test("bad usage and an unknown server are refused before any server is read", () => {
    const r = status(["--json", "--dnsmasq-log", "nosuch=/x"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--dnsmasq-log: the stack has no PxeServer "nosuch" (it has pxe)`);
    const u = spawnSync("npx", ["ts-node", "--transpile-only", "scripts/status.ts", "--json"], { cwd: REPO, encoding: "utf8" });
    expect(u.status).toBe(2);
    expect(u.stderr).toContain("status: give the stack name");
  });
});
