/**
 * The real-OS acceptance test (issue 12): `pulumi up` on examples/stateless-debian builds a Debian 12 image
 * with systemd, udev and sshd (OsImage, real mmdebstrap), then the lab boots it in QEMU (TCG) from the real
 * dnsmasq, nginx and glusterfsd: deb-ram1 with the whole image in RAM, deb-hyb1 with all of /usr on GlusterFS.
 * Both must reach `systemctl is-system-running` = running (reported on the console, then checked over SSH from
 * the servers' network); the hybrid node reads a file the server wrote on the volume, maps /usr through FUSE,
 * runs `dpkg --verify` on it, and comes back up after a `systemctl reboot` from inside.
 */
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { REPO, requireRoot, requireTool, tmpDir } from "../helpers/env";
import { LabRun, labEnv, pidsMentioning, runLab } from "../helpers/lab";

jest.setTimeout(1_800_000);

const EXAMPLE = path.join(REPO, "examples/stateless-debian");
const STACK = `labdeb${process.pid}`;

describe("the lab boots a real Debian (examples/stateless-debian) in RAM and hybrid mode", () => {
  const state = tmpDir("labdeb-state");
  const target = tmpDir("labdeb-target");
  const build = tmpDir("labdeb-build");
  const out = tmpDir("labdeb-out");
  let env: Record<string, string>;
  let stack: Stack | undefined;
  let labPid: number | undefined;
  let lab: LabRun | undefined;

  beforeAll(async () => {
    requireRoot("the lab");
    for (const t of ["ip", "ss", "nsenter", "dnsmasq", "nginx", "glusterfsd", "glusterfs", "qemu-system-x86_64", "mmdebstrap", "ssh", "ssh-keygen"]) requireTool(t);
    env = labEnv(state);
    stack = await LocalWorkspace.createOrSelectStack({ stackName: STACK, workDir: EXAMPLE }, { envVars: env });
    await stack.setConfig("targetRoot", { value: target });
    await stack.setConfig("buildDir", { value: build });
  }, 300_000);

  afterAll(async () => {
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

  test("pulumi up builds the Debian image (OsImage) and renders both boot images from it", async () => {
    const up = await stack!.up({ onOutput: (o) => { if (/error|OsImage/.test(o)) process.stdout.write(o); } });
    expect(up.summary.result).toBe("succeeded");
    const image = up.outputs.image.value;
    expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.packages).toBeGreaterThan(100);
    // the hybrid image's RAM part is the root without /usr; its tree holds /usr and the server's file
    const hybrid = path.join(build, "volume/netboot/images/debian-hybrid");
    expect(fs.statSync(path.join(hybrid, "root/usr/lib/systemd/systemd")).isFile()).toBe(true);
    expect(fs.existsSync(path.join(hybrid, "root/usr/share/netboot-lab/hello.txt"))).toBe(true);
    const ramSize = fs.statSync(path.join(build, "volume/netboot/images/debian-ram/image.tar.gz")).size;
    const hybSize = fs.statSync(path.join(hybrid, "image.tar.gz")).size;
    console.log(`stateless-debian: image ${(image.size / 1e6).toFixed(0)} MB, ${image.packages} packages; RAM tarball ${(ramSize / 1e6).toFixed(1)} MB, hybrid RAM tarball ${(hybSize / 1e6).toFixed(2)} MB`);
    expect(hybSize * 10).toBeLessThan(ramSize);
    const pre = await stack!.preview({ expectNoChanges: true });
    expect(pre.changeSummary.create ?? 0).toBe(0);
  });

  test("both nodes reach systemctl is-system-running = running; the checks over SSH pass; the hybrid node reboots and is up again", async () => {
    lab = await runLab(EXAMPLE, STACK, out, env, ["--timeout", "1200"], { onStart: (pid) => (labPid = pid) });
    if (lab.code !== 0) console.log(lab.stdout + lab.stderr);
    expect(lab.code).toBe(0);
    const result = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
    expect(result.nodes.map((n: any) => [n.node, n.result])).toEqual([["deb-ram1", "up"], ["deb-hyb1", "up"]]);
    const [ram, hyb] = result.nodes;
    for (const n of result.nodes) {
      expect(n.marker).toMatch(new RegExp(`host=${n.node} ip=${n.ip.replace(/\./g, "\\.")} state=running failed=none`));
      expect(n.checks.every((c: any) => c.ok)).toBe(true);
    }
    const key = "the host key is the one in state (ssh-keyscan)";
    const common = ["systemd is running", "the hostname is the node's", "the image's overlay file", "the other group's node by name"];
    expect(ram.checks.map((c: any) => c.name)).toEqual([key, ...common, "the DHCP keeper runs"]);
    expect(hyb.checks.map((c: any) => c.name)).toEqual([key, ...common, "the DHCP keeper runs", "glusterfs is a root storage daemon",
      "a file the server wrote on the volume", "mmap of /usr through FUSE", "dpkg --verify on the hybrid /usr", "the host key is the same after the reboot (ssh-keyscan)"]);
    // each node presented its own key, the one its overlay carries and the stack's node table shows
    const table = (await stack!.outputs()).lab.value.nodes as Array<{ name: string; hostKey: string }>;
    for (const n of result.nodes) {
      const inState = table.find((t) => t.name === n.node)!.hostKey.split(" ")[1];
      expect(n.checks[0].out.split(" ")[2]).toBe(inState);
    }
    expect(table[0].hostKey).not.toBe(table[1].hostKey);
    expect(ram.marker).toMatch(/usr=root/);
    expect(hyb.marker).toMatch(/usr=fuse\.glusterfs/);
    expect(hyb.secondsToUpAfterReboot).toBeGreaterThan(5);
    expect(ram.secondsToUpAfterReboot).toBeNull();

    const con = fs.readFileSync(path.join(out, "deb-hyb1.console.log"), "utf8");
    // two boots on one console: the reboot went through systemd's shutdown (with /usr still served) and PXE again
    expect(con.match(/netboot: switching root to the image's \/sbin\/init/g)?.length).toBe(2);
    expect(con.match(/STATELESS-DEBIAN-UP host=deb-hyb1/g)?.length).toBe(2);
    expect(con).toMatch(/reboot: Restarting system|Rebooting\./);
    const mem = (m: string) => Number(/memAvailableKb=(\d+)/.exec(m)![1]);
    console.log(`stateless-debian: MemAvailable after boot: RAM ${(mem(ram.marker) / 1024).toFixed(0)} MB, hybrid ${(mem(hyb.marker) / 1024).toFixed(0)} MB (of 1024); up after ${ram.secondsToUp} s (RAM), ${hyb.secondsToUp} s (hybrid), hybrid again after the reboot ${hyb.secondsToUpAfterReboot} s; lab ${lab.seconds.toFixed(0)} s`);
    expect(mem(hyb.marker)).toBeGreaterThan(mem(ram.marker));
  });

  test("the lab left nothing behind: no namespace and no process of its run", () => {
    expect(lab).toBeDefined();
    const ns = /namespace (nbl[a-z0-9]+)/.exec(lab!.stdout)?.[1];
    expect(ns).toBeDefined();
    expect(fs.existsSync(`/run/netns/${ns}`)).toBe(false);
    expect(pidsMentioning(target)).toEqual([]);
    expect(pidsMentioning(out)).toEqual([]);
    expect(fs.readFileSync("/proc/mounts", "utf8")).not.toContain(out);
  });
});
