/**
 * PxeServer activation on a real systemd host: a Debian 12 machine booted with `systemd-nspawn --boot`
 * (test/helpers/systemdMachine.ts) with the stock dnsmasq, nginx and sshd packages and their units, reached
 * over SSH by the real engine, `host: { ssh, systemd: true }`. Two PxeServers on two boot networks of the one
 * machine, a node group on the first.
 *
 * The regressions of issue 14 ("Real servers", point 1), each a test below that failed on the code before it:
 * - `pid-file=` in /etc/dnsmasq.d overrode the `-x` of Debian's dnsmasq.service, and systemd waited for a pid
 *   file that never came: here each server's own dnsmasq@ instance is active, with the unit's pid file;
 * - two PxeServers wrote `port=0` twice into /etc/dnsmasq.d, which dnsmasq refuses: here both serve DHCP and
 *   the distribution's dnsmasq.service and /etc/dnsmasq.d are as they were;
 * - nginx was reloaded without `nginx -t`: here a configuration nginx refuses is not loaded, the old server
 *   block is back in place and nginx serves on;
 * - nothing started or enabled the daemons: here `up` leaves them enabled and active, and `destroy` leaves the
 *   machine's units and /etc as they were before `up`.
 */
import * as fs from "fs";
import * as path from "path";
import { changed, cliProject, CliProject, cliTestStack, TestStack } from "../helpers/engine";
import { REPO } from "../helpers/env";
import { SystemdMachine } from "../helpers/systemdMachine";

jest.setTimeout(600_000);

const CLIENT = path.join(REPO, "test/helpers/dhcpClient.js");
const NET = ["10.93.1", "10.93.2"];
const NODE_MAC = "52:54:00:93:01:11";

describe("PxeServer on a systemd machine (nspawn), Debian's units", () => {
  let m: SystemdMachine;
  let t: TestStack;
  let before: { etc: string; units: string };
  let portB = 80;
  let domainA: string | undefined;
  let nodes = [{ name: "n1", macs: [NODE_MAC], ip: `${NET[0]}.11` }, { name: "n2", macs: ["52:54:00:93:01:12"], ip: `${NET[0]}.12` }];
  const out: string[] = [];
  const log = (s: string) => out.push(s);

  // The program runs in its own process (a Pulumi.yaml project, through the CLI and the language host), as a
  // user's does: one up is refused on purpose (nginx -t), and an inline program's refused registrations would
  // reach jest as unhandled rejections. Its variables travel as stack config (sync()).
  const program = `import * as pulumi from "@pulumi/pulumi";
import * as netboot from ${JSON.stringify(path.join(REPO, "sdk/nodejs"))};
const c = new pulumi.Config();
const host = { ssh: { ...c.requireObject<any>("ssh"), privateKey: c.requireSecret("privateKey") }, systemd: true };
const a = new netboot.PxeServer("pxe-a", {
  host, interface: "nbs0", subnet: "${NET[0]}.0/24", serverIp: "${NET[0]}.1", dhcpMode: "authoritative",
  dynamicRange: { start: "${NET[0]}.200", end: "${NET[0]}.250" }, baseDir: "/srv/netboot/a", domain: c.get("domainA"),
});
const b = new netboot.PxeServer("pxe-b", {
  host, interface: "nbs1", subnet: "${NET[1]}.0/24", serverIp: "${NET[1]}.1", dhcpMode: "authoritative",
  dynamicRange: { start: "${NET[1]}.200", end: "${NET[1]}.250" }, baseDir: "/srv/netboot/b", httpPort: c.requireNumber("portB"),
});
new netboot.NodeGroup("rack", {
  server: a.info, nodes: c.requireObject<any[]>("nodes"),
  boot: { kernelUrl: pulumi.interpolate\`\${a.httpBaseUrl}images/vmlinuz\`, initrdUrl: pulumi.interpolate\`\${a.httpBaseUrl}images/initrd.img\` },
});
export const confA = a.dnsmasqConfig;
export const confB = b.dnsmasqConfig;
`;
  let project: CliProject;
  const sync = async () => {
    const { privateKey, ...ssh } = m.ssh();
    await t.stack.setAllConfig({
      ssh: { value: JSON.stringify(ssh) }, privateKey: { value: privateKey, secret: true },
      portB: { value: String(portB) }, nodes: { value: JSON.stringify(nodes) },
    });
    if (domainA === undefined) await t.stack.removeConfig("domainA").catch(() => undefined);
    else await t.stack.setConfig("domainA", { value: domainA });
  };
  const up = async () => (await sync(), t.stack.up({ onOutput: log }));

  const unit = (u: string) => m.exec(`echo $(systemctl is-enabled ${u}) $(systemctl is-active ${u})`, true).out.trim();
  const mainPid = (u: string) => m.exec(`systemctl show -p MainPID --value ${u}`).out.trim();
  const dhcp = (i: number, mac: string) => {
    m.client(i, `ip link set dev nbc0 address ${mac}`);
    return JSON.parse(m.client(i, `node ${CLIENT} --mac ${mac} --arch 0 --vendor PXEClient --timeout 4000`).out) as any[];
  };
  /** GET from the client namespace of network i (which gets a static address for it). */
  const http = (i: number, url: string) => {
    m.client(i, `ip addr replace ${NET[i]}.99/24 dev nbc0`);
    const js = `require("http").get(process.argv[1], (r) => { let b = ""; r.on("data", (c) => (b += c)); r.on("end", () => console.log(JSON.stringify({ status: r.statusCode, body: b }))); }).on("error", (e) => console.log(JSON.stringify({ error: String(e) })))`;
    return JSON.parse(m.client(i, `node -e '${js}' '${url}'`).out) as { status?: number; body?: string; error?: string };
  };

  beforeAll(async () => {
    m = await new SystemdMachine("pxe", NET.map((n) => `${n}.1`)).start();
    before = m.snapshot();
    project = cliProject("systemd-pxe", program);
    t = await cliTestStack(project, out);
  }, 900_000);

  afterAll(async () => {
    if (t) await t.destroy().catch(() => undefined);
    project?.remove();
    if (m) await m.stop();
  }, 180_000);

  test("up enables and starts each server's own dnsmasq@ instance (the unit's pid file, no pid-file= line) and leaves nginx serving", async () => {
    const up1 = await up();
    expect(up1.summary.result).toBe("succeeded");
    expect([up1.outputs.confA.value, up1.outputs.confB.value]).toEqual(["/etc/netboot/dnsmasq/netboot-pxe-a.conf", "/etc/netboot/dnsmasq/netboot-pxe-b.conf"]);
    for (const s of ["pxe-a", "pxe-b"]) {
      expect(unit(`dnsmasq@netboot-${s}`)).toBe("enabled active");
      // systemd found the pid file the helper's -x names: the config did not move it.
      expect(m.exec(`cat /run/dnsmasq/dnsmasq.netboot-${s}.pid`).out.trim()).toBe(mainPid(`dnsmasq@netboot-${s}`));
      expect(fs.readFileSync(path.join(m.root, `etc/netboot/dnsmasq/netboot-${s}.conf`), "utf8")).not.toMatch(/^pid-file=/m);
    }
    expect(unit("nginx")).toBe("enabled active");
    const ss = m.exec("ss -lnup; ss -lntp").out;
    expect(ss).toMatch(/0\.0\.0\.0%nbs0:67 .*dnsmasq/);
    expect(ss).toMatch(/0\.0\.0\.0%nbs1:67 .*dnsmasq/);
  });

  test("two servers on one machine: both answer DHCP on their own network; the distribution's dnsmasq and /etc/dnsmasq.d are untouched", () => {
    const ack = dhcp(0, NODE_MAC).find((r) => r.type === "ack");
    expect([ack.yiaddr, ack.options["54"], ack.options["12"]]).toEqual([`${NET[0]}.11`, `${NET[0]}.1`, "n1"]);
    const offerB = dhcp(1, "52:54:00:93:02:77").find((r) => r.type === "offer");
    expect(offerB.options["54"]).toBe(`${NET[1]}.1`);
    expect(offerB.yiaddr).toMatch(new RegExp(`^${NET[1].replace(/\./g, "\\.")}\\.(2[0-4]\\d|250)$`));
    expect(unit("dnsmasq")).toBe("enabled active");
    expect(fs.readdirSync(path.join(m.root, "etc/dnsmasq.d"))).toEqual(["README"]);
  });

  test("nginx serves each server's HTTP root", () => {
    for (const i of [0, 1]) {
      const r = http(i, `http://${NET[i]}.1/ipxe/boot.ipxe`);
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/^#!ipxe/);
    }
  });

  test("preview after up reports no changes", async () => {
    await sync();
    expect(changed((await t.stack.preview({ expectNoChanges: true })).changeSummary)).toEqual({});
  });

  test("a changed dnsmasq config restarts that server's dnsmasq only; nginx, whose file did not change, is not reloaded", async () => {
    const pids = { a: mainPid("dnsmasq@netboot-pxe-a"), b: mainPid("dnsmasq@netboot-pxe-b"), nginx: mainPid("nginx") };
    const workers = () => m.exec(`ps -o pid= --ppid ${mainPid("nginx")} | sort`).out;
    const nginxWorkers = workers();
    domainA = "cluster.test";
    await up();
    expect(mainPid("dnsmasq@netboot-pxe-a")).not.toBe(pids.a);
    expect(unit("dnsmasq@netboot-pxe-a")).toBe("enabled active");
    expect(mainPid("dnsmasq@netboot-pxe-b")).toBe(pids.b);
    expect(mainPid("nginx")).toBe(pids.nginx);
    // a reload replaces nginx's workers: the same workers mean no reload
    expect(workers()).toBe(nginxWorkers);
  });

  test("a node removed: the group reloads that server's dnsmasq@ instance through systemd (SIGHUP, same pid), which forgets it", async () => {
    const pid = mainPid("dnsmasq@netboot-pxe-a");
    expect(dhcp(0, "52:54:00:93:01:12").find((r) => r.type === "ack").yiaddr).toBe(`${NET[0]}.12`);
    nodes = nodes.filter((n) => n.name !== "n2");
    await up();
    const state = (await t.stack.exportStack()).deployment;
    const files = state.resources.find((r: any) => r.urn.endsWith("::rack-files"));
    expect(files.outputs.lastApply.signalled).toBe("systemctl reload-or-restart dnsmasq@netboot-pxe-a");
    expect(mainPid("dnsmasq@netboot-pxe-a")).toBe(pid);
    expect(dhcp(0, "52:54:00:93:01:12").find((r) => r.type === "ack").yiaddr).not.toBe(`${NET[0]}.12`);
  });

  test("a configuration nginx refuses (nginx -t on everything it loads) is not loaded: the old server block is back and nginx serves on", async () => {
    const conf = path.join(m.root, "etc/nginx/conf.d/netboot-pxe-b.conf");
    const old = fs.readFileSync(conf, "utf8");
    const nginxPid = mainPid("nginx");
    // An admin's broken file next to netboot's: nginx -t checks the whole configuration, so it is refused too.
    fs.writeFileSync(path.join(m.root, "etc/nginx/conf.d/zz-broken.conf"), "this is not nginx;\n");
    portB = 8080;
    await expect(up()).rejects.toThrow(/nginx -t/);
    expect(fs.readFileSync(conf, "utf8")).toBe(old);
    expect(fs.readdirSync(path.dirname(conf)).filter((f) => f.includes(".netboot-"))).toEqual([]);
    expect(mainPid("nginx")).toBe(nginxPid);
    expect(http(1, `http://${NET[1]}.1/ipxe/boot.ipxe`).status).toBe(200);
    // With the admin's file gone, the same program goes through and nginx serves on the new port.
    fs.rmSync(path.join(m.root, "etc/nginx/conf.d/zz-broken.conf"));
    await up();
    expect(http(1, `http://${NET[1]}.1:8080/ipxe/boot.ipxe`).status).toBe(200);
    // port 80 is Debian's default site again (nginx.conf's sites-enabled/default), which has no boot script
    expect(http(1, `http://${NET[1]}.1/ipxe/boot.ipxe`).status).toBe(404);
  });

  test("destroy stops and disables what up started and leaves the machine's units and /etc as before up", async () => {
    await t.destroy();
    t = undefined as any;
    for (const s of ["pxe-a", "pxe-b"]) expect(unit(`dnsmasq@netboot-${s}`)).toMatch(/^disabled (inactive|failed)$|^ inactive$/);
    expect(unit("nginx")).toBe("enabled active");
    expect(unit("dnsmasq")).toBe("enabled active");
    const after = m.snapshot();
    expect(after.etc).toBe(before.etc);
    expect(after.units).toBe(before.units);
  });
});
