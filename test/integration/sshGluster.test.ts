/**
 * Managed GlusterFS across three SSH hosts (network namespaces, each with sshd and its own glusterd), through
 * the real engine. The `gluster` commands run on the first host over SSH. A brick host that is down during an
 * apply fails it quickly with that host named, both when its glusterd is stopped (refused) and when the host is
 * off the network (link down, its ARP entry still cached: the probe is bounded, not the CLI's 120 s); the next
 * `pulumi up` probes it and creates a distributed-replicated volume whose replica sets each span two hosts,
 * known to all three glusterds; an option changed by hand on another host is drift and is set back.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "../../sdk/nodejs";
import { parseVolumeInfoXml } from "../../provider/resources/glusterManaged";
import { changed, settleOutputs, testStack, TestStack } from "../helpers/engine";
import { sh } from "../helpers/env";
import { SshHost, SshLab } from "../helpers/sshHosts";

jest.setTimeout(300_000);

describe("GlusterVolume managed across three SSH hosts", () => {
  let lab: SshLab;
  let a: SshHost, b: SshHost, c: SshHost;
  let t: TestStack;
  const vol = "nbsdr";
  let expectFailure = false;
  const out: string[] = [];
  const log = (s: string) => out.push(s);
  const info = () => parseVolumeInfoXml(a.glusterd!.cli(["volume", "info", vol, "--xml"]).out)!;

  beforeAll(async () => {
    lab = new SshLab("g", "10.91.3");
    [a, b, c] = [await lab.addHost(31, { glusterd: true }), await lab.addHost(32, { glusterd: true }), await lab.addHost(33, { glusterd: true })];
    const brick = (h: SshHost, n: number) => ({ host: h.ip, path: path.join(h.dir, `brick${n}`) });
    t = await testStack("ssh-gluster", async () => {
      const ssh = a.ssh();
      const g = new netboot.GlusterVolume(vol, {
        host: { ssh: { ...ssh, privateKey: pulumi.secret(ssh.privateKey) } },
        mode: "managed", layout: "replicate", replica: 2, clusterSubnet: "10.91.3.0/24",
        glusterdSocket: a.glusterd!.sock, force: true, // bricks on the root file system need `force`
        // two replica sets, each on two different hosts: (a, b) and (c, a)
        bricks: [brick(a, 1), brick(b, 1), brick(c, 1), brick(a, 2)],
        options: { "network.ping-timeout": "10", "performance.read-ahead": "off" },
      } as any);
      settleOutputs(g);
      // Stack outputs derived from a failing component reject too: only export them once the apply can succeed.
      return expectFailure ? {} : { xlators: g.xlators, mountSource: g.mountSource };
    });
  }, 180000);

  afterAll(async () => {
    if (t) await t.destroy().catch(() => undefined);
    if (lab) await lab.cleanup();
  }, 180000);

  /** A `pulumi up` expected to fail: its error text and how long it took. */
  const failingUp = async (): Promise<{ err: string; seconds: number }> => {
    expectFailure = true;
    const started = Date.now();
    try {
      const err = await t.stack.up({ onOutput: log }).then(() => "up succeeded", (e) => String(e));
      return { err, seconds: (Date.now() - started) / 1000 };
    } finally {
      expectFailure = false;
    }
  };
  const downMessage = () => `root@127.0.0.1:${a.port}: brick host ${c.ip} is unreachable from glusterd on root@127.0.0.1:${a.port}`;

  test("a brick host whose glusterd is down: up fails quickly naming it, and creates nothing", async () => {
    await c.stopGlusterd();
    const { err, seconds } = await failingUp();
    console.log(`up with glusterd down on ${c.ip} failed after ${seconds.toFixed(1)} s: ${err.split("\n").find((l) => l.includes("error: root@"))}`);
    expect(err).toContain(downMessage());
    expect(err).toContain("(peer probe: failed: Probe returned with Transport endpoint is not connected)");
    expect(seconds).toBeLessThan(30);
    expect(a.glusterd!.cli(["volume", "info", vol], { allowFail: true }).code).not.toBe(0);
  });

  test("a brick host that is off the network: up fails quickly naming it", async () => {
    sh(`ip -n ${c.ns} link set nbs0 down`);
    try {
      const { err, seconds } = await failingUp();
      console.log(`up with ${c.ip} off the network failed after ${seconds.toFixed(1)} s: ${err.split("\n").find((l) => l.includes("error: root@"))}`);
      expect(err).toContain(downMessage());
      // With the host's ARP entry still cached, glusterd's connect would retry SYNs for over a minute; the
      // probe is bounded by PROBE_TIMEOUT_S (20 s) instead of the CLI's 120 s.
      expect(err).toMatch(/\(peer probe: (no answer within 20 s|failed: Probe returned with .*)\)/);
      expect(seconds).toBeLessThan(45);
      expect(a.glusterd!.cli(["volume", "info", vol], { allowFail: true }).code).not.toBe(0);
    } finally {
      sh(`ip -n ${c.ns} link set nbs0 up`);
    }
  });

  test("after the host is back, the next up probes it and creates the distributed-replicated volume", async () => {
    await c.startGlusterd();
    const up = await t.stack.up({ onOutput: log });
    expect(up.summary.result).toBe("succeeded");
    const vi = info();
    expect(vi.status).toBe(1);
    expect(vi.bricks).toEqual([`${a.ip}:${a.dir}/brick1`, `${b.ip}:${b.dir}/brick1`, `${c.ip}:${c.dir}/brick1`, `${a.ip}:${a.dir}/brick2`]);
    expect(vi.options["network.ping-timeout"]).toBe("10");
    expect(vi.options["auth.allow"]).toBe("10.91.3.0/24");
    expect(up.outputs.xlators.value).toEqual(expect.arrayContaining(["cluster/replicate", "cluster/distribute"]));
    expect(up.outputs.mountSource.value).toBe(`${a.ip}:/${vol}`);
    // every host's glusterd knows the volume: a real three-host pool
    for (const h of [b, c]) expect(parseVolumeInfoXml(h.glusterd!.cli(["volume", "info", vol, "--xml"]).out)!.bricks).toEqual(vi.bricks);
    expect(a.glusterd!.cli(["pool", "list"]).out.split("\n").filter((l) => /Connected/.test(l)).length).toBe(3);
  });

  test("preview and refresh show no changes", async () => {
    expect(changed((await t.stack.preview({ expectNoChanges: true })).changeSummary)).toEqual({});
    await t.stack.refresh({ expectNoChanges: true });
  });

  test("an option changed by hand on another host is drift; up sets it back", async () => {
    b.glusterd!.cli(["volume", "set", vol, "network.ping-timeout", "33"]);
    const lines: string[] = [];
    await t.stack.refresh({ onOutput: (s) => lines.push(s) });
    const pre = await t.stack.preview({ diff: true, onOutput: (s) => lines.push(s) });
    expect(pre.changeSummary.update).toBe(1);
    expect(lines.join("")).toMatch(/ping-timeout/);
    await t.stack.up();
    expect(info().options["network.ping-timeout"]).toBe("10");
    expect(changed((await t.stack.preview()).changeSummary)).toEqual({});
  });

  test("the SSH key is not in the engine output", () => {
    const text = out.join("") + t.log.join("");
    for (const line of lab.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"))) expect(text).not.toContain(line);
  });

  test("destroy stops and deletes the volume on all hosts", async () => {
    await t.destroy();
    t = undefined as any;
    for (const h of [a, b, c]) expect(h.glusterd!.cli(["volume", "info", vol], { allowFail: true }).code).not.toBe(0);
  });
});
