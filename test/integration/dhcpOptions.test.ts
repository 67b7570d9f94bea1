/**
 * Network options end to end: the dnsmasq config and the group's dhcp-optsdir file netboot renders, served by the
 * real dnsmasq in a network namespace, and received by the initramfs's own DHCP client (busybox udhcpc with
 * netboot's script and options) in another. A node of a group with its own options gets those over the
 * server's; a node of a plain group gets the server's. The script's effects are read back from the client's
 * namespace (MTU, default route) and from the files it writes (resolv.conf, the NTP list).
 */
import * as fs from "fs";
import * as path from "path";
import { Issues } from "../../provider/model/errors";
import { buildNodeGroupModel, buildPxeServerModel, serverInfo } from "../../provider/model/pxe";
import { renderDnsmasq } from "../../provider/render/dnsmasq";
import { renderDhcpHosts, renderDhcpOpts } from "../../provider/render/hosts";
import { renderUdhcpcScript, UDHCPC_OPTS } from "../../provider/render/init";
import { waitFor } from "../../provider/util/wait";
import { requireTool, tmpDir } from "../helpers/env";
import { Lab } from "../helpers/netns";

jest.setTimeout(120_000);

const OWN = { mac: "52:54:00:68:00:01", ip: "10.68.0.11" }; // group "compute": network options of its own
const PLAIN = { mac: "52:54:00:68:00:21", ip: "10.68.0.21" }; // group "login": the server's

describe("DHCP network options reach the node as rendered (dnsmasq -> busybox udhcpc + netboot's script)", () => {
  const lab = new Lab("nbo-");
  const root = tmpDir("dhcp-opts");
  let cli: string;
  let script: string;
  let busybox: string;

  beforeAll(async () => {
    busybox = requireTool("busybox");
    const srv = lab.ns("srv");
    cli = lab.ns("cli");
    lab.link(srv, "nbs0", "10.68.0.1/24", cli, "nbc0", undefined);
    // the server side takes jumbo frames too, as a real switch port would
    lab.run(srv, "ip link set dev nbs0 mtu 9000");
    const issues = new Issues("test");
    const m = buildPxeServerModel("pxe", {
      interface: "nbs0", subnet: "10.68.0.0/24", serverIp: "10.68.0.1", dhcpMode: "static", domain: "cluster.lan",
      gateway: "10.68.0.254", dnsServers: ["10.68.0.2", "10.68.0.3"], ntpServers: ["10.68.0.4", "10.68.0.6"],
      domainSearch: ["cluster.lan", "site.example.org"], mtu: 9000,
    }, { root }, issues)!;
    const own = buildNodeGroupModel("compute", {
      server: serverInfo(m), nodes: [{ name: "c01", macs: [OWN.mac], ip: OWN.ip }], boot: { localDisk: true },
      network: { gateway: "none", dnsServers: ["10.68.0.5"], mtu: 1400 },
    }, issues)!;
    const plain = buildNodeGroupModel("login", { server: serverInfo(m), nodes: [{ name: "login1", macs: [PLAIN.mac], ip: PLAIN.ip }], boot: { localDisk: true } }, issues)!;
    expect(issues.list).toEqual([]);
    const write = (f: { path: string; content: string }) => {
      fs.mkdirSync(path.dirname(path.join(root, f.path)), { recursive: true });
      fs.writeFileSync(path.join(root, f.path), f.content);
    };
    for (const d of [m.paths.tftpRoot, m.paths.runDir, m.paths.hostsDir, m.paths.optsDir]) fs.mkdirSync(path.join(root, d), { recursive: true });
    for (const f of [renderDnsmasq(m), renderDhcpHosts(own), renderDhcpOpts(own)!, renderDhcpHosts(plain)]) write(f);
    expect(renderDhcpOpts(plain)).toBeUndefined();
    lab.start(srv, [requireTool("dnsmasq"), "-k", "-C", path.join(root, m.paths.dnsmasqConf), "--log-facility=-"], path.join(root, "dnsmasq.log"));
    await waitFor("dnsmasq pid file", () => fs.existsSync(path.join(root, m.paths.pidFile)), 5000);
    // netboot's script, with the files it writes on a node moved into the test's folder (this is the host)
    script = path.join(root, "udhcpc.script");
    fs.writeFileSync(
      script,
      renderUdhcpcScript().replace(/\/etc\/resolv\.conf/g, path.join(root, "resolv.conf")).replace(/\/run\/netboot\//g, `${root}/`),
      { mode: 0o755 },
    );
  });
  afterAll(async () => {
    await lab.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** One boot's DHCP, as /init takes it (quit once bound), as the node of that MAC. */
  function boot(mac: string) {
    for (const c of ["ip link set dev nbc0 down", `ip link set dev nbc0 address ${mac}`, "ip link set dev nbc0 mtu 1500", "ip addr flush dev nbc0", "ip link set dev nbc0 up"]) lab.run(cli, c);
    lab.run(cli, `${busybox} udhcpc -i nbc0 -q -n -t 10 -T 2 ${UDHCPC_OPTS} -s ${script}`);
    return {
      ip: fs.readFileSync(path.join(root, "ip"), "utf8").trim(),
      mtu: Number(lab.run(cli, "cat /sys/class/net/nbc0/mtu").out.trim()),
      route: lab.run(cli, "ip -4 route show default").out.trim(),
      resolv: fs.readFileSync(path.join(root, "resolv.conf"), "utf8"),
      ntp: fs.readFileSync(path.join(root, "ntp"), "utf8").trim(),
    };
  }

  test("a node of a plain group gets the server's gateway, name servers, NTP servers, search list and MTU", () => {
    const r = boot(PLAIN.mac);
    expect(r.ip).toBe(PLAIN.ip);
    expect(r.mtu).toBe(9000);
    expect(r.route).toBe("default via 10.68.0.254 dev nbc0");
    // the domain once, then the search list
    expect(r.resolv).toBe("search cluster.lan site.example.org\nnameserver 10.68.0.2\nnameserver 10.68.0.3\n");
    expect(r.ntp).toBe("10.68.0.4 10.68.0.6");
  });

  test("a node of a group with its own options gets those over the server's: no router, its name server, its MTU", () => {
    const r = boot(OWN.mac);
    expect(r.ip).toBe(OWN.ip);
    expect(r.mtu).toBe(1400);
    expect(r.route).toBe("");
    expect(r.resolv).toBe("search cluster.lan site.example.org\nnameserver 10.68.0.5\n");
    // what the group does not set comes from the server
    expect(r.ntp).toBe("10.68.0.4 10.68.0.6");
  });
});
