/**
 * The end-to-end acceptance test (issue 6): `pulumi up` on examples/stateless-gluster (Automation API, the
 * example folder as workDir, its target root and build folder moved to temp folders) -> `npm run lab`'s script
 * boots one node of each group in parallel in QEMU (TCG) from the network against exactly the rendered
 * dnsmasq, nginx and glusterfsd files -> each console shows the node's host name, its static IP and the image's
 * marker; the hybrid node reads a file that only GlusterFS serves -> the lab leaves no namespace, process, mount
 * or file behind -> `pulumi destroy` leaves the target root empty.
 */
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { REPO, requireRoot, requireTool, sh, tmpDir } from "../helpers/env";
import { LabRun, labEnv, pidsMentioning, runLab as runLabScript, tree } from "../helpers/lab";

jest.setTimeout(600_000);

const EXAMPLE = path.join(REPO, "examples/stateless-gluster");
const STACK = `labtest${process.pid}`;

describe("the lab boots examples/stateless-gluster end to end", () => {
  const state = tmpDir("lab-state");
  const target = tmpDir("lab-target");
  const build = tmpDir("lab-build");
  const out = tmpDir("lab-out");
  let env: Record<string, string>;
  let stack: Stack | undefined;
  let labPid: number | undefined;
  let lab: LabRun | undefined;
  let afterUp: string[] = [];

  /** `npm run lab`'s script on the example; its pid is kept for the cleanup. */
  const runLab = (args: string[], onOut?: (stdout: string, pid: number) => void): Promise<LabRun> =>
    runLabScript(EXAMPLE, STACK, out, env, args, { onStart: (pid) => (labPid = pid), onOut });

  /** Nothing of a lab run is left: its namespace, processes, mounts, and files in the target root. */
  function expectNothingLeft(stdout: string): void {
    const ns = /namespace (nbl[a-z0-9]+)/.exec(stdout)?.[1];
    expect(ns).toBeDefined();
    expect(fs.existsSync(`/run/netns/${ns}`)).toBe(false);
    expect(sh("ip netns list").out).not.toContain(ns!);
    expect(pidsMentioning(target)).toEqual([]);
    expect(pidsMentioning(out)).toEqual([]);
    const mounts = fs.readFileSync("/proc/mounts", "utf8");
    expect(mounts).not.toContain(out);
    expect(mounts).not.toContain(target);
    // the daemons' pid, lease and log files and the brick folders are gone: the target is as `up` left it
    expect(tree(target)).toEqual(afterUp);
    expect(fs.existsSync(path.join(out, "lab.json"))).toBe(false);
  }

  beforeAll(async () => {
    requireRoot("the lab");
    for (const t of ["ip", "ss", "nsenter", "dnsmasq", "nginx", "glusterfsd", "glusterfs", "qemu-system-x86_64", "busybox"]) requireTool(t);
    env = labEnv(state);
    stack = await LocalWorkspace.createOrSelectStack({ stackName: STACK, workDir: EXAMPLE }, { envVars: env });
    await stack.setConfig("targetRoot", { value: target });
    await stack.setConfig("buildDir", { value: build });
  }, 300_000);

  afterAll(async () => {
    // On a failure mid-way: the lab cleans up on SIGTERM (by pid); then destroy and remove everything.
    if (labPid) try { process.kill(labPid, "SIGTERM"); } catch { /* gone */ }
    const until = Date.now() + 20_000;
    while (labPid && Date.now() < until && fs.existsSync(`/proc/${labPid}`)) await new Promise((r) => setTimeout(r, 200));
    if (stack) {
      await stack.destroy().catch(() => undefined);
      await stack.workspace.removeStack(STACK).catch(() => undefined);
    }
    fs.rmSync(path.join(EXAMPLE, `Pulumi.${STACK}.yaml`), { force: true });
    for (const d of [state, target, build, out]) fs.rmSync(d, { recursive: true, force: true });
  }, 300_000);

  test("pulumi up renders the PXE server, the volume, both boot images and both groups; a second preview has no changes", async () => {
    const up = await stack!.up();
    expect(up.summary.result).toBe("succeeded");
    const lab = up.outputs.lab.value;
    expect(lab.targetRoot).toBe(target);
    expect(lab.nodes.map((n: any) => `${n.group}/${n.name}/${n.firmware}`).sort()).toEqual(["hybrid/hyb1/bios", "hybrid/hyb2/efi-x86_64", "ram/ram1/bios", "ram/ram2/efi-x86_64"]);
    expect(lab.volumes[0].bricks.map((b: any) => b.host)).toEqual(["10.90.0.2", "10.90.0.3", "10.90.0.4"]);
    for (const f of [lab.server.dnsmasqConfig, lab.server.nginxMainConfig, lab.volumes[0].clientVolfile]) expect(fs.existsSync(f)).toBe(true);
    // The hybrid group's RAM tarball leaves /usr/share/lab out: on the node that file can only come from GlusterFS.
    const tarList = sh(`tar -tzf ${build}/volume/netboot/images/hybrid/image.tar.gz`).out;
    expect(tarList).toMatch(/\.\/sbin\/init/);
    expect(tarList).not.toMatch(/usr\/share\/lab/);
    expect(fs.existsSync(`${build}/volume/netboot/images/hybrid/root/usr/share/lab/hello.txt`)).toBe(true);
    // The example's image is made deterministically at program time: nothing changes on a second run.
    const pre = await stack!.preview({ expectNoChanges: true });
    expect(pre.changeSummary.create ?? 0).toBe(0);
    afterUp = tree(target);
  });

  test("the lab boots ram1 (RAM) and hyb1 (hybrid) in parallel; each is up with its host name, static IP and the image marker", async () => {
    lab = await runLab(["--nodes", "ram1,hyb1", "--timeout", "240"]);
    if (lab!.code !== 0) console.log(lab!.stdout + lab!.stderr);
    expect(lab!.code).toBe(0);

    const result = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
    expect(result.nodes.map((n: any) => [n.node, n.group, n.ip, n.result])).toEqual([["ram1", "ram", "10.90.0.11", "up"], ["hyb1", "hybrid", "10.90.0.21", "up"]]);
    for (const n of result.nodes) expect(n.secondsToUp).toBeGreaterThan(5);
    console.log(`lab: ${result.nodes.map((n: any) => `${n.node} up after ${n.secondsToUp} s`).join(", ")}; whole lab run ${lab!.seconds.toFixed(0)} s`);
    // The final table: node, group, IP, seconds to up, result
    expect(lab!.stdout).toMatch(/node\s+group\s+IP\s+seconds to up\s+result/);
    expect(lab!.stdout).toMatch(/ram1\s+ram\s+10\.90\.0\.11\s+\d+\.\d\s+up/);
    expect(lab!.stdout).toMatch(/hyb1\s+hybrid\s+10\.90\.0\.21\s+\d+\.\d\s+up/);

    const ram1 = fs.readFileSync(path.join(out, "ram1.console.log"), "utf8");
    const hyb1 = fs.readFileSync(path.join(out, "hyb1.console.log"), "utf8");
    // the whole chain, on the serial console
    for (const con of [ram1, hyb1]) {
      expect(con).toMatch(/iPXE/);
      expect(con).toMatch(/Linux version/);
      expect(con).toMatch(/netboot: mounting glusterfs volume/);
      expect(con).toMatch(/netboot: switching root to the image's \/sbin\/init/);
      expect(con).not.toMatch(/netboot: FAILED/);
    }
    expect(ram1).toMatch(/STATELESS-GLUSTER-UP host=ram1 ip=10\.90\.0\.11 group=ram image=stateless-gluster-v1/);
    expect(hyb1).toMatch(/STATELESS-GLUSTER-UP host=hyb1 ip=10\.90\.0\.21 group=hybrid image=stateless-gluster-v1/);
    expect(ram1).toMatch(/stateless-gluster-v1: pid 1, root on tmpfs, \/usr\/share\/lab on the root/);
    // the node's overlay (docs/overlays.md): fetched by the initramfs, verified, laid over the root; its
    // templated file names the node, and its /etc/hosts resolves the other group's node by name
    for (const con of [ram1, hyb1]) expect(con).toMatch(/netboot: overlay: \d+ entries laid over the root/);
    expect(ram1).toMatch(/OVERLAY-FILE: overlay of ram1 \(group ram, 10\.90\.0\.11\) in lab-rack-1/);
    expect(hyb1).toMatch(/OVERLAY-FILE: overlay of hyb1 \(group hybrid, 10\.90\.0\.21\) in lab-rack-1/);
    expect(ram1).toMatch(/RESOLVES: PING hyb1 \(10\.90\.0\.21\)/);
    expect(hyb1).toMatch(/RESOLVES: PING ram1 \(10\.90\.0\.11\)/);
    // hybrid: /usr/share/lab is the GlusterFS FUSE mount, and the file is read from it
    expect(hyb1).toMatch(/netboot: hybrid: \/usr\/share\/lab stay on glusterfs/);
    expect(hyb1).toMatch(/LAB-FILE \(fuse\.glusterfs\): hello from the GlusterFS volume of the stateless-gluster example/);
    // the DHCP server gave each node its static lease by MAC and name
    const dns = fs.readFileSync(path.join(out, "dnsmasq.log"), "utf8");
    expect(dns).toMatch(/DHCPACK\(nblbr0\) 10\.90\.0\.11 52:54:00:90:00:11 ram1/);
    expect(dns).toMatch(/DHCPACK\(nblbr0\) 10\.90\.0\.21 52:54:00:90:00:21 hyb1/);
  });

  test("the lab left nothing behind: no namespace, process, mount, or file in the target root", () => {
    expect(lab).toBeDefined();
    expectNothingLeft(lab!.stdout);
  });

  test("a failed boot names its step and reason, shows the last console lines, exits 1 and still cleans up", async () => {
    // Take the hybrid initramfs away from the HTTP root: iPXE gets a 404 while loading the kernel and initrd.
    const dir = path.join(target, "srv/netboot/http/images/hybrid");
    const initrd = fs.readdirSync(dir).find((f) => f.startsWith("initrd-"))!;
    const aside = path.join(build, initrd);
    fs.renameSync(path.join(dir, initrd), aside);
    let r;
    try {
      r = await runLab(["--nodes", "hyb1", "--timeout", "120"]);
    } finally {
      fs.renameSync(aside, path.join(dir, initrd));
    }
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`hyb1: failed at kernel: HTTP 404 for /images/hybrid/${initrd}`);
    expect(r.stdout).toMatch(/--- last console lines/);
    expect(r.stdout).toMatch(/hyb1\s+hybrid\s+10\.90\.0\.21\s+-\s+failed at kernel: HTTP 404/);
    expect(r.stdout).not.toMatch(/STATELESS-GLUSTER-UP/);
    expectNothingLeft(r.stdout);
    // the first run's logs were kept, not overwritten
    const kept = fs.readdirSync(path.join(out, "runs")).map((d) => path.join(out, "runs", d, "result.json")).filter((f) => fs.existsSync(f));
    expect(kept.map((f) => JSON.parse(fs.readFileSync(f, "utf8")).nodes.map((n: any) => `${n.node}:${n.result}`).join(","))).toContain("ram1:up,hyb1:up");
  });

  test("a brick killed while a node boots is reported where the nodes are; replica 3 keeps serving and the node comes up", async () => {
    let killed = "";
    const r = await runLab(["--nodes", "ram1", "--timeout", "240"], (stdout) => {
      if (killed || !/ram1 .*DHCP > iPXE/.test(stdout)) return;
      const ledger = JSON.parse(fs.readFileSync(path.join(out, "lab.json"), "utf8"));
      const brick = ledger.procs.find((p: any) => /^brick /.test(p.name));
      killed = brick.name;
      process.kill(brick.pid, "SIGKILL"); // a brick this lab run started (its ledger says so)
    });
    expect(killed).toMatch(/^brick /);
    if (r.code !== 0) console.log(r.stdout + r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`lab: DAEMON EXITED: ${killed}`);
    expect(r.stdout).toContain(`daemon exited during the run: ${killed}`);
    const result = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
    expect(result.nodes.map((n: any) => n.result)).toEqual(["up"]);
    expect(result.daemonsExited.map((d: any) => d.daemon)).toEqual([killed]);
    expectNothingLeft(r.stdout);
  });

  test("a set-up failure exits 3, not 1 like a node failure", async () => {
    const conf = fs.readdirSync(path.join(target, "etc/dnsmasq.d")).map((f) => path.join(target, "etc/dnsmasq.d", f))[0];
    const before = fs.readFileSync(conf);
    fs.appendFileSync(conf, "no-such-dnsmasq-option\n");
    let r;
    try {
      r = await runLab(["--nodes", "ram1", "--timeout", "60"]);
    } finally {
      fs.writeFileSync(conf, before);
    }
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/lab: set-up failed: dnsmasq --test rejects/);
    expectNothingLeft(r.stdout);
  });

  test("Ctrl-C (SIGINT) while a node boots stops every VM and daemon and exits 130", async () => {
    let sent = false;
    const r = await runLab(["--nodes", "ram1"], (stdout, pid) => {
      // interrupt once the node has its lease, i.e. with QEMU, dnsmasq, nginx and the bricks all running
      if (!sent && /ram1 .*DHCP > iPXE/.test(stdout)) {
        sent = true;
        process.kill(pid, "SIGINT");
      }
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain("lab: SIGINT: stopping every VM and daemon");
    expectNothingLeft(r.stdout);
  });

  test("pulumi destroy leaves the target root empty", async () => {
    const d = await stack!.destroy();
    expect(d.summary.result).toBe("succeeded");
    expect(tree(target)).toEqual([]);
    await stack!.workspace.removeStack(STACK);
    stack = undefined;
  });
});
