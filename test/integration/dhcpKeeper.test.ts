/**
 * The DHCP client the initramfs leaves running for the booted OS (provider/render/init.ts, prepareRoot): busybox
 * udhcpc with netboot's script, against the real dnsmasq PxeServer renders, in network namespaces. netboot's own
 * static leases are `infinite`, but a site's DHCP server (proxy mode) gives finite ones: here the node's lease is
 * cut to dnsmasq's shortest (2 minutes), so udhcpc renews at T1 (1 minute): the renewal is acknowledged and the
 * address never leaves the interface (the script must not flush a renewed address: a hybrid node's /usr and the
 * glusterfs client's connections ride on it).
 */
import * as fs from "fs";
import * as path from "path";
import { Issues } from "../../provider/model/errors";
import { buildNodeGroupModel, buildPxeServerModel, serverInfo } from "../../provider/model/pxe";
import { renderDnsmasq } from "../../provider/render/dnsmasq";
import { renderDhcpHosts } from "../../provider/render/hosts";
import { renderUdhcpcScript } from "../../provider/render/init";
import { waitFor } from "../../provider/util/wait";
import { requireTool, tmpDir } from "../helpers/env";
import { Lab } from "../helpers/netns";

jest.setTimeout(240_000);

const MAC = "52:54:00:67:00:01";
const IP = "10.67.0.11";

describe("the DHCP keeper renews the node's lease past the lease time without dropping the address", () => {
  const lab = new Lab("nbk-");
  const root = tmpDir("dhcp-keeper");
  let cli: string;
  let dnsLog: string;
  let script: string;

  beforeAll(async () => {
    const busybox = requireTool("busybox");
    const srv = lab.ns("srv");
    cli = lab.ns("cli");
    lab.link(srv, "nbs0", "10.67.0.1/24", cli, "nbc0", undefined);
    lab.run(cli, `ip link set dev nbc0 address ${MAC}`);
    const issues = new Issues("test");
    const m = buildPxeServerModel("pxe", { interface: "nbs0", subnet: "10.67.0.0/24", serverIp: "10.67.0.1", dhcpMode: "static" }, { root }, issues)!;
    const g = buildNodeGroupModel("compute", { server: serverInfo(m), nodes: [{ name: "c01", macs: [MAC], ip: IP }], boot: { localDisk: true } }, issues);
    expect(issues.list).toEqual([]);
    const conf = renderDnsmasq(m);
    // dnsmasq's shortest lease: udhcpc renews at half of it
    expect(conf.content).toMatch(/,static,255\.255\.255\.0,12h$/m);
    const write = (p: string, c: string) => {
      fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
      fs.writeFileSync(path.join(root, p), c);
    };
    write(conf.path, conf.content.replace(/,static,255\.255\.255\.0,12h$/m, ",static,255.255.255.0,2m"));
    for (const d of [m.paths.tftpRoot, m.paths.runDir, m.paths.hostsDir]) fs.mkdirSync(path.join(root, d), { recursive: true });
    const hosts = renderDhcpHosts(g!);
    expect(hosts.content).toMatch(/,infinite$/m);
    write(hosts.path, hosts.content.replace(/,infinite$/m, ",2m"));
    dnsLog = path.join(root, "dnsmasq.log");
    lab.start(srv, [requireTool("dnsmasq"), "-k", "-C", path.join(root, conf.path), "--log-facility=-", "--log-dhcp"], dnsLog);
    await waitFor("dnsmasq pid file", () => fs.existsSync(path.join(root, m.paths.pidFile)), 5000);
    // netboot's script, with the files it writes on a node moved into the test's folder (this is the host)
    script = path.join(root, "udhcpc.script");
    fs.writeFileSync(script, renderUdhcpcScript().replace(/\/etc\/resolv\.conf/g, path.join(root, "resolv.conf")).replace(/\/run\/netboot\/ip/g, path.join(root, "ip")), { mode: 0o755 });
    // the initramfs's own lease (as /init takes it: -q, quit once bound)
    lab.run(cli, `${busybox} udhcpc -i nbc0 -q -n -t 10 -T 2 -s ${script}`);
    expect(fs.readFileSync(path.join(root, "ip"), "utf8").trim()).toBe(IP);
  });
  afterAll(async () => {
    const pid = Number(fs.readFileSync(path.join(root, "keeper.pid"), "utf8").trim() || 0);
    if (pid) try { process.kill(pid, "SIGTERM"); } catch { /* gone */ }
    await lab.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("the keeper (NETBOOT_KEEP=1 udhcpc -r <ip>, as /init starts it) gets the lease, renews it at T1, and the address stays throughout, its start included", async () => {
    const acks = () => (fs.readFileSync(dnsLog, "utf8").match(new RegExp(`DHCPACK\\(nbs0\\) ${IP.replace(/\./g, "\\.")} ${MAC}`, "g")) ?? []).length;
    const before = acks();
    const pidFile = path.join(root, "keeper.pid");
    // sampled from before it starts: udhcpc begins with a deconfig, which must not take the address away
    let missing = 0;
    let samples = 0;
    let started = false;
    const until = Date.now() + 80_000;
    setTimeout(() => {
      lab.start(cli, ["env", "NETBOOT_KEEP=1", requireTool("busybox"), "udhcpc", "-i", "nbc0", "-r", IP, "-s", script, "-p", pidFile], path.join(root, "keeper.log"));
      started = true;
    }, 1000);
    while (Date.now() < until) {
      samples++;
      if (!lab.run(cli, "ip -4 -o addr show dev nbc0").out.includes(` ${IP}/24 `)) missing++;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(started).toBe(true);
    // it went to the background with the lease (the same address)
    expect(fs.readFileSync(pidFile, "utf8").trim()).toMatch(/^\d+$/);
    // the keeper's own lease plus at least one renewal (T1 = 60 s of the 2 minute lease)
    expect(acks() - before).toBeGreaterThanOrEqual(2);
    expect(fs.readFileSync(dnsLog, "utf8")).toMatch(new RegExp(`DHCPREQUEST\\(nbs0\\) ${IP.replace(/\./g, "\\.")} ${MAC}`));
    expect(samples).toBeGreaterThan(100);
    expect(missing).toBe(0);
  });
});
