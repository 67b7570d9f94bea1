/**
 * Standalone GlusterVolume bricks as systemd units on a real systemd host (issue 14, point 1): a Debian 12 storage
 * machine booted with `systemd-nspawn --boot` (test/helpers/systemdMachine.ts, Debian's glusterfs-server, sshd),
 * reached over SSH by the real engine, `host: { ssh, systemd: true }`. A replica-3 volume of three bricks on it,
 * each brick the unit `netboot-glusterfsd-<volume>-<index>.service` that `up` placed in /etc/systemd/system,
 * enabled and started; a real FUSE client (glusterfs on this machine, in the machine's boot network) reads and
 * writes through them. Before this, standalone mode refused SSH hosts and only wrote unit files to install by hand.
 *
 * - a missing brick folder is refused before that brick's unit goes live (the unit's ConditionPathIsDirectory
 *   would leave it quietly inactive), and the volume's client volfile waits for it;
 * - a changed volfile restarts the brick units (new pids), an unchanged one leaves them;
 * - destroy stops and disables the units and leaves the machine's /etc and units as before `up`.
 */
import * as fs from "fs";
import * as path from "path";
import { changed, cliProject, CliProject, cliTestStack, TestStack } from "../helpers/engine";
import { REPO, requireTool, tmpDir } from "../helpers/env";
import { isMounted, mountClient, run, unmount, waitFor } from "../helpers/gluster";
import { SystemdMachine } from "../helpers/systemdMachine";

jest.setTimeout(600_000);

const NET = "10.94.1";
const UNITS = [0, 1, 2].map((i) => `netboot-glusterfsd-vol-${i}.service`);

describe("standalone GlusterVolume bricks as systemd units on a systemd machine (nspawn)", () => {
  let m: SystemdMachine;
  let t: TestStack;
  let project: CliProject;
  let before: { etc: string; units: string };
  let threads = "";
  const work = tmpDir("systemd-gluster");
  const mnt = path.join(work, "mnt");
  let clientPid: number | undefined;
  const out: string[] = [];
  const log = (s: string) => out.push(s);

  const program = `import * as pulumi from "@pulumi/pulumi";
import * as netboot from ${JSON.stringify(path.join(REPO, "sdk/nodejs"))};
const c = new pulumi.Config();
const host = { ssh: { ...c.requireObject<any>("ssh"), privateKey: c.requireSecret("privateKey") }, systemd: true };
const threads = c.get("threads");
const vol = new netboot.GlusterVolume("vol", {
  host, mode: "standalone", layout: "replicate", replica: 3, allowSameHostSets: true, clusterSubnet: "${NET}.0/24",
  bricks: [0, 1, 2].map((i) => ({ host: "${NET}.1", path: \`/srv/bricks/b\${i}\` })),
  options: threads ? { "performance.io-thread-count": threads } : {},
});
export const clientVolfilePath = vol.clientVolfilePath;
export const bricks = vol.bricks;
`;
  const sync = async () => {
    const { privateKey, ...ssh } = m.ssh();
    await t.stack.setAllConfig({ ssh: { value: JSON.stringify(ssh) }, privateKey: { value: privateKey, secret: true } });
    if (threads) await t.stack.setConfig("threads", { value: threads });
    else await t.stack.removeConfig("threads").catch(() => undefined);
  };
  const up = async () => (await sync(), t.stack.up({ onOutput: log }));
  const unit = (u: string) => m.exec(`echo $(systemctl is-enabled ${u} 2>/dev/null) $(systemctl is-active ${u})`, true).out.trim();
  const mainPid = (u: string) => m.exec(`systemctl show -p MainPID --value ${u}`).out.trim();
  const brickDir = (i: number) => path.join(m.root, `srv/bricks/b${i}`);
  // the client runs on this machine in the machine's boot network (nsenter: this mount namespace, that network)
  const client = { exec: (argv: string[], opts = {}) => run(["nsenter", `--net=/run/netns/${m.clientNs[0]}`, ...argv], opts) };

  beforeAll(async () => {
    requireTool("glusterfs");
    m = await new SystemdMachine("glus", [`${NET}.1`], "storage").start();
    before = m.snapshot();
    m.client(0, `ip addr add ${NET}.99/24 dev nbc0`);
    project = cliProject("systemd-gluster", program);
    t = await cliTestStack(project, out);
  }, 900_000);

  afterAll(async () => {
    await unmount(mnt, clientPid).catch(() => undefined);
    if (t) await t.destroy().catch(() => undefined);
    project?.remove();
    if (m) await m.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }, 180_000);

  test("a brick folder that does not exist is refused before its unit goes live; the client volfile waits for it", async () => {
    for (const i of [0, 1]) fs.mkdirSync(brickDir(i), { recursive: true });
    await expect(up()).rejects.toThrow(/brick folder \/srv\/bricks\/b2 does not exist on this host/);
    expect(fs.existsSync(path.join(m.root, "etc/systemd/system", UNITS[2]))).toBe(false);
    expect(unit(UNITS[2])).toBe("inactive");
    // the volume's own files come after every brick: no client could have read a volfile yet
    expect(fs.existsSync(path.join(m.root, "etc/netboot/gluster/vol/vol.tcp-fuse.vol"))).toBe(false);
  });

  test("with the folder there, up places every brick as a unit in /etc/systemd/system, enabled and active, each listening on its port", async () => {
    fs.mkdirSync(brickDir(2), { recursive: true });
    const r = await up();
    expect(r.summary.result).toBe("succeeded");
    expect(r.outputs.clientVolfilePath.value).toBe("/etc/netboot/gluster/vol/vol.tcp-fuse.vol");
    for (const u of UNITS) {
      expect(unit(u)).toBe("enabled active");
      expect(fs.readFileSync(path.join(m.root, "etc/systemd/system", u), "utf8")).toMatch(/^ExecStart=\/usr\/sbin\/glusterfsd -N -f \/etc\/netboot\/gluster\/vol\/vol\.10\.94\.1\.1\.srv-bricks-b\d\.vol /m);
    }
    const listening = () => m.exec("ss -lntp").out;
    for (const port of [49152, 49153, 49154]) await waitFor(`a glusterfsd listening on ${port}`, () => new RegExp(`:${port} .*glusterfsd`).test(listening()), 30_000);
  });

  test("a FUSE client with the client volfile writes through the units: the file lands on all three bricks", async () => {
    const volfile = path.join(work, "client.vol");
    fs.copyFileSync(path.join(m.root, "etc/netboot/gluster/vol/vol.tcp-fuse.vol"), volfile);
    clientPid = await mountClient(client, volfile, mnt, work, "sg");
    expect(isMounted(mnt)).toBe(true);
    fs.writeFileSync(path.join(mnt, "hello.txt"), "served by systemd units\n");
    expect(fs.readFileSync(path.join(mnt, "hello.txt"), "utf8")).toBe("served by systemd units\n");
    for (const i of [0, 1, 2]) await waitFor(`hello.txt on brick ${i}`, () => fs.existsSync(path.join(brickDir(i), "hello.txt")) && fs.readFileSync(path.join(brickDir(i), "hello.txt"), "utf8") === "served by systemd units\n", 30_000);
  });

  test("preview after up reports no changes; an unchanged up leaves the units' pids", async () => {
    const pids = UNITS.map(mainPid);
    await sync();
    expect(changed((await t.stack.preview({ expectNoChanges: true })).changeSummary)).toEqual({});
    await up();
    expect(UNITS.map(mainPid)).toEqual(pids);
  });

  test("a changed brick volfile (an option) restarts the brick units: new pids, still enabled and active", async () => {
    const pids = UNITS.map(mainPid);
    threads = "8";
    await up();
    for (const [i, u] of UNITS.entries()) {
      expect(unit(u)).toBe("enabled active");
      expect(mainPid(u)).not.toBe(pids[i]);
    }
    expect(fs.readFileSync(path.join(m.root, "etc/netboot/gluster/vol/vol.10.94.1.1.srv-bricks-b0.vol"), "utf8")).toMatch(/option thread-count 8/);
  });

  test("destroy stops and disables the units and leaves the machine's /etc and units as before up (the brick data stays)", async () => {
    await unmount(mnt, clientPid);
    clientPid = undefined;
    await t.destroy();
    t = undefined as any;
    // stopped cleanly (glusterfsd's exit on SIGTERM is a success), and no unit file left to be enabled
    for (const u of UNITS) expect(unit(u)).toBe("inactive");
    for (const u of UNITS) expect(fs.existsSync(path.join(m.root, "etc/systemd/system", u))).toBe(false);
    const after = m.snapshot();
    expect(after.etc).toBe(before.etc);
    expect(after.units).toBe(before.units);
    // as with glusterd's `volume delete`: the data on the bricks is the admin's
    expect(fs.existsSync(path.join(brickDir(0), "hello.txt"))).toBe(true);
  });
});

