/**
 * The production-like lab (issue 14, point 2): `npm run lab -- examples/cluster-systemd --up` starts four real
 * systemd machines (systemd-nspawn --boot, Debian 12 with sshd and the stock dnsmasq, nginx-light, glusterd), then
 * the example's `pulumi up` sets them up over SSH as it would a site's servers: a glusterd-managed replica-3
 * volume across the three storage machines, a PxeServer with systemd activation on the head machine, a
 * BootImage that publishes the Debian OS image onto the volume through the head machine. Then one VM boots
 * Debian from them to `running` and passes the checks over SSH. The lab starts no daemon and copies no file:
 * what serves the node is the machines' own units. `--down` runs `pulumi destroy`, finds every machine's /etc
 * and units as they were before `up`, and stops the machines. Between the two, the storage fault of point 3: a
 * storage machine powered off while the node boots (the node still comes up on the other two replicas), a
 * later `--up` with the machine back converges, and the head's dnsmasq restarted during a boot. Then point 5, two
 * head nodes: `--two-heads` makes the fifth machine the group's mirror, and with the first head powered off before
 * the boot the node boots from the second.
 */
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { Machine, MachineState } from "../../scripts/lab/machines";
import { REPO, requireRoot, requireTool, tmpDir } from "../helpers/env";
import { LabRun, labEnv, runLab } from "../helpers/lab";

jest.setTimeout(1_500_000);

const EXAMPLE = path.join(REPO, "examples/cluster-systemd");
const STACK = `labprod${process.pid}`;

describe("the production-like lab: systemd machines set up by pulumi up over SSH (examples/cluster-systemd)", () => {
  const state = tmpDir("labprod-state");
  const out = tmpDir("labprod-out");
  let env: Record<string, string>;
  let labPid: number | undefined;
  let up: LabRun | undefined;
  const ledger = () => JSON.parse(fs.readFileSync(path.join(out, "machines.json"), "utf8")) as { ns: string; machines: MachineState[] };
  const machine = (name: string) => Machine.fromState(ledger().machines.find((m) => m.name === name)!);

  beforeAll(() => {
    requireRoot("the lab");
    for (const t of ["ip", "ss", "nsenter", "unshare", "systemd-nspawn", "qemu-system-x86_64", "mmdebstrap", "ssh", "ssh-keygen"]) requireTool(t);
    env = labEnv(state);
  });

  afterAll(async () => {
    if (labPid) try { process.kill(labPid, "SIGTERM"); } catch { /* gone */ }
    const until = Date.now() + 20_000;
    while (labPid && Date.now() < until && fs.existsSync(`/proc/${labPid}`)) await new Promise((r) => setTimeout(r, 200));
    // a failed test leaves the machines running: --down destroys and stops them
    if (fs.existsSync(path.join(out, "machines.json"))) await runLab(EXAMPLE, STACK, out, env, ["--down"]);
    const ws = await LocalWorkspace.create({ workDir: EXAMPLE, envVars: env }).catch(() => undefined);
    await ws?.removeStack(STACK).catch(() => undefined);
    fs.rmSync(path.join(EXAMPLE, `Pulumi.${STACK}.yaml`), { force: true });
    for (const d of [state, out]) fs.rmSync(d, { recursive: true, force: true });
  }, 600_000);

  test("--up: the machines boot, pulumi up sets them up over SSH, the node boots Debian from them and passes its checks", async () => {
    up = await runLab(EXAMPLE, STACK, out, env, ["--up", "--timeout", "900"], { onStart: (pid) => (labPid = pid) });
    if (up.code !== 0) console.log(up.stdout + up.stderr);
    expect(up.code).toBe(0);
    for (const m of ["head", "stor1", "stor2", "stor3", "head2"]) expect(up.stdout).toMatch(new RegExp(`lab: machine ${m}: booted \\(systemd (running|degraded)\\), sshd on 10\\.97\\.0\\.\\d:22`));
    const result = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
    const node = result.nodes.find((n: { node: string }) => n.node === "node1");
    expect(node.result).toBe("up");
    expect(node.marker).toMatch(/host=node1 ip=10\.97\.0\.11 state=running failed=none/);
    // the host key of its overlay (in state), then the example's three checks over SSH with the overlay's login key
    expect(node.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
      ["the host key is the one in state (ssh-keyscan)", true], ["systemd is running", true], ["the hostname is the node's", true], ["the root is in RAM", true],
    ]);
    const timing = up.stdout.match(/Duration: (\S+)/)?.[1];
    console.log(`labProd: the whole --up ${up.seconds.toFixed(0)} s (pulumi up ${timing}), node1 up after ${node.secondsToUp} s`);
  });

  test("what served the node is the machines' own units: dnsmasq@netboot-pxe and nginx on the head, glusterd's volume with the image published through the head", () => {
    const head = machine("head");
    expect(head.exec("systemctl is-active dnsmasq@netboot-pxe nginx").out.split("\n").filter(Boolean)).toEqual(["active", "active"]);
    // the lease and the fetches came from those daemons (their journal and access log), not from anything the lab ran
    expect(head.exec("journalctl -u dnsmasq@netboot-pxe -o cat --no-pager").out).toMatch(/DHCPACK\(nb0\) 10\.97\.0\.11 52:54:00:97:00:11 node1/);
    expect(fs.readFileSync(path.join(head.root, "srv/netboot/run/nginx-pxe.access.log"), "utf8")).toMatch(/^10\.97\.0\.11 .*"GET \/images\/debian\/initrd-[0-9a-f]{12}\.img/m);
    const info = machine("stor1").exec("gluster volume info images").out;
    expect(info).toMatch(/Type: Replicate/);
    expect(info).toMatch(/Status: Started/);
    expect(info).toMatch(/Number of Bricks: 1 x 3 = 3/);
    // every replica holds the published image (written by the head's FUSE mount during pulumi up)
    for (const s of ["stor1", "stor2", "stor3"]) {
      const dir = path.join(machine(s).root, "srv/brick-images/netboot/images/debian");
      expect(fs.readdirSync(dir).filter((f) => /^image-[0-9a-f]{12}\.tar\.gz$/.test(f))).toHaveLength(1);
    }
    // the lab ran no daemon of its own: its ledger of processes is gone, and it kept no dnsmasq/nginx/brick logs of its own
    expect(fs.existsSync(path.join(out, "lab.json"))).toBe(false);
    expect(fs.readdirSync(out).filter((f) => /^(brick-|client-|nginx\.log)/.test(f))).toEqual([]);
  });

  test("a storage machine powered off while the node boots (--poweroff stor3): replica 3 keeps serving and the node comes up", async () => {
    const run = await runLab(EXAMPLE, STACK, out, env, ["--poweroff", "stor3", "--timeout", "900"], { onStart: (pid) => (labPid = pid) });
    if (run.code !== 0) console.log(run.stdout + run.stderr);
    expect(run.code).toBe(0);
    const result = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
    expect(result.faults).toEqual([expect.objectContaining({ machine: "stor3", node: "node1" })]);
    expect(result.nodes[0].result).toBe("up");
    expect(result.nodes[0].marker).toMatch(/host=node1 ip=10\.97\.0\.11 state=running/);
    expect(machine("stor3").alive()).toBe(false);
    // the volume ran on two of its three bricks
    expect(machine("stor1").exec("gluster volume status images").out.split("\n").filter((l) => /^Brick .* Y\s+\d+\s*$/.test(l)).length).toBe(2);
    console.log(`labProd: node1 up after ${result.nodes[0].secondsToUp} s with stor3 powered off ${result.faults[0].afterS} s into the boot`);
  });

  test("a later --up with the machine back converges: stor3 boots on its own root, pulumi up succeeds, all three bricks serve, no changes left", async () => {
    const run = await runLab(EXAMPLE, STACK, out, env, ["--up", "--timeout", "900"], { onStart: (pid) => (labPid = pid) });
    if (run.code !== 0) console.log(run.stdout + run.stderr);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/lab: machine stor3: powered on again/);
    expect(machine("stor3").alive()).toBe(true);
    expect(machine("stor1").exec("gluster volume status images").out.split("\n").filter((l) => /^Brick .* Y\s+\d+\s*$/.test(l)).length).toBe(3);
    const stack = await LocalWorkspace.selectStack({ stackName: STACK, workDir: EXAMPLE }, { envVars: env });
    const pre = await stack.preview({ expectNoChanges: true });
    expect(Object.entries(pre.changeSummary).filter(([k, n]) => k !== "same" && n)).toEqual([]);
  });

  test("the head's dnsmasq restarted during a boot (--restart-dnsmasq): the new process serves the node's DHCP and the node comes up", async () => {
    const run = await runLab(EXAMPLE, STACK, out, env, ["--restart-dnsmasq", "--timeout", "900"], { onStart: (pid) => (labPid = pid) });
    if (run.code !== 0) console.log(run.stdout + run.stderr);
    expect(run.code).toBe(0);
    const result = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
    expect(result.faults).toEqual([expect.objectContaining({ action: "restart", machine: "head", unit: "dnsmasq@netboot-pxe", node: "node1" })]);
    const [before, after] = result.faults[0].pids as string[];
    expect(before).toMatch(/^[1-9]\d*$/);
    expect(after).toMatch(/^[1-9]\d*$/);
    expect(after).not.toBe(before); // a new process, not a reload
    expect(result.nodes[0].result).toBe("up");
    expect(result.nodes[0].marker).toMatch(/host=node1 ip=10\.97\.0\.11 state=running/);
    // the node asked before the restart and was answered by the process that started after it
    const journal = machine("head").exec("journalctl -u dnsmasq@netboot-pxe -o cat --no-pager").out.split("\n");
    const started = journal.map((l, i) => (/started, version/.test(l) ? i : -1)).filter((i) => i >= 0).pop()!;
    expect(journal.slice(0, started).some((l) => /DHCPDISCOVER\(nb0\) 52:54:00:97:00:11/.test(l))).toBe(true);
    expect(journal.slice(started).some((l) => /DHCPACK\(nb0\) 10\.97\.0\.11 52:54:00:97:00:11 node1/.test(l))).toBe(true);
    console.log(`labProd: node1 up after ${result.nodes[0].secondsToUp} s with dnsmasq restarted ${result.faults[0].afterS} s into the boot`);
  });

  test("two head nodes (--up --two-heads --poweroff head@start): up adds pxe2 on head2 as the group's mirror; with head off before the boot, node1 boots from head2", async () => {
    const run = await runLab(EXAMPLE, STACK, out, env, ["--up", "--two-heads", "--poweroff", "head@start", "--timeout", "900"], { onStart: (pid) => (labPid = pid) });
    if (run.code !== 0) console.log(run.stdout + run.stderr);
    expect(run.code).toBe(0);
    const result = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
    expect(result.faults).toEqual([expect.objectContaining({ action: "poweroff", machine: "head", afterS: 0 })]);
    expect(machine("head").alive()).toBe(false);
    expect(result.nodes[0].result).toBe("up");
    expect(result.nodes[0].marker).toMatch(/host=node1 ip=10\.97\.0\.11 state=running/);
    // the same host key as from head: head2's overlay carries the first server's keys
    expect(result.nodes[0].checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
      ["the host key is the one in state (ssh-keyscan)", true], ["systemd is running", true], ["the hostname is the node's", true], ["the root is in RAM", true],
    ]);
    // everything came from head2's own units: the lease, the scripts, the kernel and initramfs it was given
    const head2 = machine("head2");
    expect(head2.exec("systemctl is-active dnsmasq@netboot-pxe2 nginx").out.split("\n").filter(Boolean)).toEqual(["active", "active"]);
    expect(head2.exec("journalctl -u dnsmasq@netboot-pxe2 -o cat --no-pager").out).toMatch(/DHCPACK\(nb0\) 10\.97\.0\.11 52:54:00:97:00:11 node1/);
    const access = fs.readFileSync(path.join(head2.root, "srv/netboot/run/nginx-pxe2.access.log"), "utf8");
    expect(access).toMatch(/^10\.97\.0\.11 .*"GET \/ipxe\/group-compute\.ipxe/m);
    expect(access).toMatch(/^10\.97\.0\.11 .*"GET \/images\/debian\/initrd-[0-9a-f]{12}\.img/m);
    expect(access).toMatch(/^10\.97\.0\.11 .*"GET \/overlays\/compute\/node1-[0-9a-f]{12}\.cpio HTTP\/1\.1" 200 /m);
    // the group's script on head2 names head2's URLs only
    const script = fs.readFileSync(path.join(head2.root, "srv/netboot/http/ipxe/group-compute.ipxe"), "utf8");
    expect(script).toContain("http://10.97.0.5/images/debian/");
    expect(script).not.toContain("http://10.97.0.1/");
    console.log(`labProd: node1 up after ${result.nodes[0].secondsToUp} s from head2 with head powered off`);
  });

  test("--down: pulumi destroy leaves every machine's /etc and units as before up; then the machines are stopped", async () => {
    const { ns, machines } = ledger();
    const down = await runLab(EXAMPLE, STACK, out, env, ["--down"], { onStart: (pid) => (labPid = pid) });
    if (down.code !== 0) console.log(down.stdout + down.stderr);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/- [1-3][0-9] deleted/);
    expect(down.stdout).toContain("every machine's /etc and units are as they were before up (head, stor1, stor2, stor3, head2)");
    expect(JSON.parse(fs.readFileSync(path.join(out, "machines-diff.json"), "utf8"))).toEqual({ head: [], stor1: [], stor2: [], stor3: [], head2: [] });
    for (const m of machines) {
      expect(Machine.fromState(m).alive()).toBe(false);
      expect(fs.existsSync(`/run/netns/${m.ns}`)).toBe(false);
    }
    expect(fs.existsSync(`/run/netns/${ns}`)).toBe(false);
    expect(fs.existsSync(path.join(out, "machines"))).toBe(false);
    expect(fs.existsSync(path.join(out, "machines.json"))).toBe(false);
  });
});
