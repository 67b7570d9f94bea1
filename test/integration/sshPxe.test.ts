/**
 * A PxeServer and a NodeGroup on a remote host over real SSH, through the real engine: the files are rendered
 * on the SSH test host (its private /etc/dnsmasq.d and /etc/nginx/conf.d, its base folder), `dnsmasq --test`
 * runs there on the staged file before it goes live, dnsmasq runs in that host's network namespace on the
 * rendered config and answers a PXE client on the bridge, and removing a node sends SIGHUP to that dnsmasq
 * over SSH, after which it no longer knows the node. Destroy removes what up wrote.
 *
 * To see where `dnsmasq --test` runs, the host's `/usr/sbin/dnsmasq` is (in its private mount namespace only) a
 * wrapper that appends its network namespace and arguments to a log, then execs the real dnsmasq.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "../../sdk/nodejs";
import { changed, testStack, TestStack } from "../helpers/engine";
import { REPO, requireTool } from "../helpers/env";
import { pidAlive, waitFor } from "../helpers/gluster";
import { SshHost, SshLab } from "../helpers/sshHosts";

jest.setTimeout(300_000);

const CLIENT = path.join(REPO, "test/helpers/dhcpClient.js");
const SUBNET = "10.91.4";

describe("PxeServer on an SSH host: files, check and dnsmasq there", () => {
  let lab: SshLab;
  let h: SshHost;
  let t: TestStack;
  let client: ReturnType<SshLab["addClient"]>;
  let base = "";
  let etcDnsmasq = "";
  let calls = "";
  let nodes = [
    { name: "c01", macs: ["52:54:00:91:04:01"], ip: `${SUBNET}.11` },
    { name: "c02", macs: ["52:54:00:91:04:02"], ip: `${SUBNET}.12` },
  ];
  const out: string[] = [];
  const log = (s: string) => out.push(s);

  const program = async () => {
    const ssh = h.ssh();
    const host = { ssh: { ...ssh, privateKey: pulumi.secret(ssh.privateKey) } };
    const pxe = new netboot.PxeServer("pxe", {
      host, interface: "nbs0", subnet: `${SUBNET}.0/24`, serverIp: h.ip, dhcpMode: "authoritative",
      dynamicRange: { start: `${SUBNET}.200`, end: `${SUBNET}.250` }, baseDir: base,
    });
    const compute = new netboot.NodeGroup("compute", {
      server: pxe.info, nodes,
      boot: { kernelUrl: pulumi.interpolate`${pxe.httpBaseUrl}images/vmlinuz`, initrdUrl: pulumi.interpolate`${pxe.httpBaseUrl}images/initrd.img`, args: "quiet" },
    });
    return { nodes: compute.nodeTable, dnsmasq: pxe.dnsmasqConfig };
  };

  const netnsOf = (ns: string) => `net:[${fs.statSync(`/run/netns/${ns}`).ino}]`;
  const dhcp = (mac: string, timeout = 2000) => {
    client.run(`ip link set dev nbc0 address ${mac}`);
    return JSON.parse(client.run(`node ${CLIENT} --mac ${mac} --arch 0 --vendor PXEClient --timeout ${timeout}`).out) as any[];
  };
  const pidFile = () => path.join(base, "run/dnsmasq-pxe.pid");

  beforeAll(async () => {
    requireTool("dnsmasq");
    lab = new SshLab("p", SUBNET);
    const dir = path.join(lab.dir, "h41");
    etcDnsmasq = path.join(lab.dir, "h41-etc-dnsmasq.d");
    calls = path.join(lab.dir, "dnsmasq-calls.log");
    const wrapper = path.join(lab.dir, "dnsmasq-wrapper");
    fs.writeFileSync(wrapper, `#!/bin/sh\necho "$(readlink /proc/self/ns/net) $*" >> '${calls}'\nexec '${dir}/dnsmasq.real' "$@"\n`, { mode: 0o755 });
    h = await lab.addHost(41, {
      binds: [[etcDnsmasq, "/etc/dnsmasq.d"], [path.join(lab.dir, "h41-etc-nginx-conf.d"), "/etc/nginx/conf.d"]],
      setup: [
        `touch '${dir}/dnsmasq.real' && mount --bind /usr/sbin/dnsmasq '${dir}/dnsmasq.real'`,
        `mount --bind '${wrapper}' /usr/sbin/dnsmasq`,
      ],
    });
    base = path.join(h.dir, "srv");
    client = lab.addClient(1);
    t = await testStack("ssh-pxe", program);
  }, 120000);

  afterAll(async () => {
    if (t) await t.destroy().catch(() => undefined);
    if (lab) await lab.cleanup();
  }, 120000);

  test("up renders the server's files on the SSH host, after `dnsmasq --test` there accepted the staged config", async () => {
    const up = await t.stack.up({ onOutput: log });
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.dnsmasq.value).toBe("/etc/dnsmasq.d/netboot-pxe.conf");
    // The host's /etc/dnsmasq.d is its own: the file is there, not in this machine's /etc/dnsmasq.d.
    const conf = h.host("cat /etc/dnsmasq.d/netboot-pxe.conf").out;
    expect(conf).toBe(fs.readFileSync(path.join(etcDnsmasq, "netboot-pxe.conf"), "utf8"));
    expect(fs.existsSync("/etc/dnsmasq.d/netboot-pxe.conf")).toBe(false);
    expect(conf).toContain("interface=nbs0");
    expect(conf).toContain(`dhcp-hostsdir=${base}/dhcp-hosts.d`);
    expect(conf).toContain(`pid-file=${base}/run/dnsmasq-pxe.pid`);
    expect(fs.readFileSync(path.join(base, "dhcp-hosts.d/compute"), "utf8")).toContain(`52:54:00:91:04:02,${SUBNET}.12,c02,infinite`);
    expect(fs.readFileSync(path.join(base, "tftp/undionly.kpxe"))).toEqual(fs.readFileSync("/usr/lib/ipxe/undionly.kpxe"));
    // `dnsmasq --test` ran on the host (its network namespace, its wrapper) on a staged temp file next to the target.
    const tests = fs.readFileSync(calls, "utf8").split("\n").filter((l) => l.includes("--test"));
    expect(tests.length).toBeGreaterThanOrEqual(1);
    expect(tests[0]).toMatch(new RegExp(`^${netnsOf(h.ns).replace(/[[\]]/g, "\\$&")} --test -C /etc/dnsmasq.d/\\.netboot-pxe\\.conf\\.netboot-[^ ]+\\.tmp$`));
    expect(fs.readdirSync(etcDnsmasq).filter((f) => f.includes(".netboot-"))).toEqual([]);
  });

  test("preview reports no changes", async () => {
    expect(changed((await t.stack.preview({ expectNoChanges: true })).changeSummary)).toEqual({});
  });

  test("dnsmasq in the host's namespace serves the rendered config to a PXE client on the bridge", async () => {
    const p = h.start(["dnsmasq", "-k", "-C", "/etc/dnsmasq.d/netboot-pxe.conf", "--log-facility=-"], path.join(lab.dir, "dnsmasq.log"));
    await waitFor("dnsmasq pid file", () => fs.existsSync(pidFile()) || !pidAlive(p.pid!), 10000);
    expect(pidAlive(p.pid!)).toBe(true);
    expect(fs.readFileSync(pidFile(), "utf8").trim()).toBe(String(p.pid));
    const ack = dhcp("52:54:00:91:04:02").find((r) => r.type === "ack");
    expect([ack.yiaddr, ack.options["54"], ack.options["12"]]).toEqual([`${SUBNET}.12`, h.ip, "c02"]);
  });

  test("a node removed: the apply sends SIGHUP to the host's dnsmasq over SSH, and dnsmasq forgets it", async () => {
    const pid = fs.readFileSync(pidFile(), "utf8").trim();
    nodes = nodes.filter((n) => n.name !== "c02");
    await t.stack.up({ onOutput: log });
    const state = JSON.parse(JSON.stringify((await t.stack.exportStack()).deployment));
    const leases = state.resources.find((r: any) => r.urn.endsWith("::compute-files"));
    expect(leases.outputs.lastApply.signalled).toBe(`sent SIGHUP to ${pid}`);
    expect(fs.readFileSync(path.join(base, "dhcp-hosts.d/compute"), "utf8")).not.toContain("52:54:00:91:04:02");
    const r = dhcp("52:54:00:91:04:02", 6000).find((x) => x.type === "ack");
    expect(r.yiaddr).not.toBe(`${SUBNET}.12`);
    expect(r.options["12"]).toBeUndefined();
    // the same dnsmasq: reloaded, not restarted (its inotify watch only adds entries, so the forgotten node
    // above is the SIGHUP's doing)
    expect(fs.readFileSync(pidFile(), "utf8").trim()).toBe(pid);
    expect(pidAlive(Number(pid))).toBe(true);
  });

  test("destroy removes the files from the host", async () => {
    await t.destroy();
    t = undefined as any;
    expect(fs.existsSync(path.join(etcDnsmasq, "netboot-pxe.conf"))).toBe(false);
    expect(fs.existsSync(path.join(base, "dhcp-hosts.d/compute"))).toBe(false);
    expect(fs.existsSync(path.join(base, "tftp/undionly.kpxe"))).toBe(false);
  });
});
