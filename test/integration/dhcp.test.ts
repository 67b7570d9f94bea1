/**
 * Real dnsmasq with the configs netboot renders, in network namespaces, answering a DHCP client that
 * claims to be a BIOS PXE ROM, UEFI firmware, UEFI HTTP boot, or iPXE. Authoritative, static and proxy mode.
 */
import * as fs from "fs";
import * as path from "path";
import { Issues } from "../../provider/model/errors";
import { buildNodeGroupModel, buildPxeServerModel, PxeServerModel, serverInfo } from "../../provider/model/pxe";
import { renderDnsmasq } from "../../provider/render/dnsmasq";
import { renderDhcpHosts } from "../../provider/render/hosts";
import { waitFor } from "../../provider/util/wait";
import { requireTool, REPO, tmpDir } from "../helpers/env";
import { Lab } from "../helpers/netns";

jest.setTimeout(120_000);

const CLIENT = path.join(REPO, "test/helpers/dhcpClient.js");
const BIOS = { arch: "0", vendor: "PXEClient:Arch:00000:UNDI:002001" };
const UEFI = { arch: "7", vendor: "PXEClient:Arch:00007:UNDI:003016" };
const HTTP = { arch: "16", vendor: "HTTPClient:Arch:00016:UNDI:003001" };
const IPXE = { arch: "0", vendor: "PXEClient:Arch:00000:UNDI:002001", userclass: "iPXE" };

interface Reply { type: string; yiaddr: string; file: string; options: Record<string, string> }

function dhcp(lab: Lab, ns: string, mac: string, kind: Record<string, string>, timeout = 2000): Reply[] {
  const flags = Object.entries(kind).map(([k, v]) => `--${k} '${v}'`).join(" ");
  // The client NIC takes the MAC it claims, so replies sent to that MAC reach it.
  lab.run(ns, `ip link set dev nbc0 address ${mac}`);
  const out = lab.run(ns, `node ${CLIENT} --mac ${mac} ${flags} --timeout ${timeout}`).out;
  return JSON.parse(out);
}
const bootFile = (r: Reply) => (r.file || r.options["67"] || "").replace(/\0+$/, "");

function model(root: string, args: any): PxeServerModel {
  const issues = new Issues("test");
  const m = buildPxeServerModel(args.name ?? "pxe", { interface: "nbs0", ...args }, { root }, issues);
  expect(issues.list).toEqual([]);
  return m!;
}

/** Writes the rendered config + one group's hostsdir file below root and starts dnsmasq on it. */
function serve(lab: Lab, ns: string, m: PxeServerModel, root: string, nodes: any[]) {
  const conf = renderDnsmasq(m);
  const write = (p: string, c: string) => {
    const full = path.join(root, p);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, c);
  };
  write(conf.path, conf.content);
  for (const d of [m.paths.tftpRoot, m.paths.runDir, m.paths.hostsDir]) fs.mkdirSync(path.join(root, d), { recursive: true });
  const gi = new Issues("test");
  const g = buildNodeGroupModel("compute", { server: serverInfo(m), nodes, boot: { localDisk: true } }, gi);
  expect(gi.list).toEqual([]);
  const hosts = renderDhcpHosts(g!);
  write(hosts.path, hosts.content);
  const log = path.join(root, "dnsmasq.log");
  const pidFile = path.join(root, m.paths.pidFile);
  const proc = lab.start(ns, [requireTool("dnsmasq"), "-k", "-C", path.join(root, conf.path), "--log-facility=-"], log);
  return { proc, log, pidFile, hostsDir: path.join(root, m.paths.hostsDir) };
}

describe("dnsmasq answers as rendered (authoritative mode)", () => {
  const lab = new Lab("nbp-a-");
  const root = tmpDir("dhcp-auth");
  let srv: ReturnType<typeof serve>;
  let cli: string;
  beforeAll(async () => {
    const s = lab.ns("srv");
    cli = lab.ns("cli");
    lab.link(s, "nbs0", "10.66.0.1/24", cli, "nbc0", undefined);
    lab.run(cli, "ip route add default dev nbc0");
    const m = model(root, { subnet: "10.66.0.0/24", serverIp: "10.66.0.1", dhcpMode: "authoritative", dynamicRange: { start: "10.66.0.200", end: "10.66.0.250" }, domain: "cluster.lan" });
    srv = serve(lab, s, m, root, [
      { name: "c01", macs: ["52:54:00:66:00:01"], ip: "10.66.0.11" },
      { name: "c02", macs: ["52:54:00:66:00:02"], ip: "10.66.0.12" },
    ]);
    await waitFor("dnsmasq pid file", () => fs.existsSync(srv.pidFile), 5000);
  });
  afterAll(() => lab.cleanup());

  test("a BIOS PXE client gets its static address, host name and undionly.kpxe", () => {
    const r = dhcp(lab, cli, "52:54:00:66:00:01", BIOS);
    const ack = r.find((x) => x.type === "ack")!;
    expect(ack).toBeDefined();
    expect(ack.yiaddr).toBe("10.66.0.11");
    expect(ack.options["12"]).toBe("c01");
    expect(bootFile(ack)).toBe("undionly.kpxe");
  });

  test("a UEFI x86_64 client gets ipxe.efi", () => {
    const ack = dhcp(lab, cli, "52:54:00:66:00:02", UEFI).find((x) => x.type === "ack")!;
    expect(ack.yiaddr).toBe("10.66.0.12");
    expect(bootFile(ack)).toBe("ipxe.efi");
  });

  test("iPXE itself gets the boot script URL, which ends the chain", () => {
    const ack = dhcp(lab, cli, "52:54:00:66:00:01", IPXE).find((x) => x.type === "ack")!;
    expect(bootFile(ack)).toBe("http://10.66.0.1/ipxe/boot.ipxe");
    expect(ack.yiaddr).toBe("10.66.0.11");
  });

  test("a UEFI HTTP boot client gets a URL and the HTTPClient vendor class", () => {
    const ack = dhcp(lab, cli, "52:54:00:66:00:02", HTTP).find((x) => x.type === "ack")!;
    expect(bootFile(ack)).toBe("http://10.66.0.1/ipxe.efi");
    expect(ack.options["60"]).toBe("HTTPClient");
  });

  // dnsmasq pings a dynamic address before offering it (about 3 s): hence the longer wait.
  test("an unknown machine gets an address from the dynamic range", () => {
    const ack = dhcp(lab, cli, "52:54:00:66:00:99", BIOS, 6000).find((x) => x.type === "ack")!;
    const last = Number(ack.yiaddr.split(".")[3]);
    expect(ack.yiaddr.startsWith("10.66.0.")).toBe(true);
    expect(last).toBeGreaterThanOrEqual(200);
    expect(last).toBeLessThanOrEqual(250);
  });

  test("a node added to the hostsdir is served without a restart (same pid)", async () => {
    const pid = fs.readFileSync(srv.pidFile, "utf8").trim();
    fs.writeFileSync(path.join(srv.hostsDir, "late"), "52:54:00:66:00:33,10.66.0.33,late01,infinite\n");
    await new Promise((r) => setTimeout(r, 500));
    const ack = dhcp(lab, cli, "52:54:00:66:00:33", BIOS).find((x) => x.type === "ack")!;
    expect(ack.yiaddr).toBe("10.66.0.33");
    expect(ack.options["12"]).toBe("late01");
    expect(fs.readFileSync(srv.pidFile, "utf8").trim()).toBe(pid);
    expect(srv.proc.exitCode).toBeNull();
  });
});

describe("static mode serves known nodes only", () => {
  const lab = new Lab("nbp-s-");
  const root = tmpDir("dhcp-static");
  let cli: string;
  beforeAll(async () => {
    const s = lab.ns("srv");
    cli = lab.ns("cli");
    lab.link(s, "nbs0", "10.67.0.1/24", cli, "nbc0", undefined);
    lab.run(cli, "ip route add default dev nbc0");
    const srv = serve(lab, s, model(root, { subnet: "10.67.0.0/24", serverIp: "10.67.0.1", dhcpMode: "static" }), root, [
      { name: "k01", macs: ["52:54:00:67:00:01"], ip: "10.67.0.11" },
    ]);
    await waitFor("dnsmasq pid file", () => fs.existsSync(srv.pidFile), 5000);
  });
  afterAll(() => lab.cleanup());

  test("the known node is served", () => {
    const ack = dhcp(lab, cli, "52:54:00:67:00:01", BIOS).find((x) => x.type === "ack")!;
    expect(ack.yiaddr).toBe("10.67.0.11");
    expect(bootFile(ack)).toBe("undionly.kpxe");
  });

  test("an unknown machine gets no answer", () => {
    expect(dhcp(lab, cli, "52:54:00:67:00:99", BIOS, 1500)).toEqual([]);
  });
});

describe("proxy mode beside the site's DHCP server", () => {
  const lab = new Lab("nbp-p-");
  const root = tmpDir("dhcp-proxy");
  let cli: string;
  beforeAll(async () => {
    const lan = lab.ns("lan");
    const pxe = lab.ns("pxe");
    const site = lab.ns("site");
    cli = lab.ns("cli");
    lab.bridge(lan, [[pxe, "nbs0", "10.68.0.5/24"], [site, "nbd0", "10.68.0.1/24"], [cli, "nbc0", undefined]]);
    lab.run(cli, "ip route add default dev nbc0");
    // The site's own DHCP server: plain addresses, no boot information.
    const siteConf = path.join(root, "site.conf");
    fs.writeFileSync(siteConf, `port=0\ninterface=nbd0\nbind-interfaces\ndhcp-range=10.68.0.100,10.68.0.150,255.255.255.0,1h\ndhcp-leasefile=${root}/site.leases\npid-file=${root}/site.pid\n`);
    lab.start(site, [requireTool("dnsmasq"), "-k", "-C", siteConf, "--log-facility=-"], path.join(root, "site.log"));
    const srv = serve(lab, pxe, model(root, { subnet: "10.68.0.0/24", serverIp: "10.68.0.5", dhcpMode: "proxy" }), root, []);
    await waitFor("both dnsmasq pid files", () => fs.existsSync(srv.pidFile) && fs.existsSync(`${root}/site.pid`), 5000);
  });
  afterAll(() => lab.cleanup());

  test("a BIOS client gets its address from the site and its boot file from netboot", () => {
    const r = dhcp(lab, cli, "52:54:00:68:00:01", { ...BIOS, iface: "nbc0" }, 6000);
    const siteOffer = r.find((x) => x.type === "offer" && x.options["54"] === "10.68.0.1")!;
    const proxyOffer = r.find((x) => x.type === "offer" && x.options["54"] === "10.68.0.5")!;
    expect(siteOffer.yiaddr.startsWith("10.68.0.1")).toBe(true);
    expect(bootFile(siteOffer)).toBe("");
    expect(proxyOffer.yiaddr).toBe("0.0.0.0");
    expect(proxyOffer.options["60"]).toBe("PXEClient");
    // Stage two, as a PXE ROM does it: the proxy's boot server (port 4011) names the file to fetch over TFTP.
    const bootAck = r.find((x) => x.type === "ack" && x.options["54"] === "10.68.0.5")!;
    expect(bootAck).toBeDefined();
    expect(bootFile(bootAck)).toBe("undionly.0");
  });

  test("iPXE gets the boot script URL from the proxy", () => {
    const r = dhcp(lab, cli, "52:54:00:68:00:02", IPXE, 2500);
    const proxyOffer = r.find((x) => x.options["54"] === "10.68.0.5")!;
    expect(proxyOffer).toBeDefined();
    expect(Buffer.from(proxyOffer.options["43"] ?? "", "hex").toString("latin1") + bootFile(proxyOffer)).toMatch(/http:\/\/10\.68\.0\.5\/ipxe\/boot\.ipxe/);
  });
});
