/**
 * Drift beyond content and mode on a host reached over real SSH, through the real engine (a FileSet with owned
 * and exclusive folders, the way PxeServer and NodeGroup use them; a NodeGroup's files for a server given as
 * plain info; a File): a symlinked iPXE scripts folder, a file replaced by a folder, an owner change, a deleted
 * owned folder and a stray file in the hostsdir; owner changes of a node group's leases and of a File; a File
 * replaced by a symlink; folders replaced by symlinks to outside files that a read would otherwise take for
 * netboot's. Refresh reports each; up repairs it, writes nothing through the symlink, and nothing read from
 * outside reaches the outputs.
 */
import * as fs from "fs";
import * as path from "path";
import * as netboot from "../../sdk/nodejs";
import { changed, testStack, TestStack } from "../helpers/engine";
import { tmpDir } from "../helpers/env";
import { SshHost, SshLab } from "../helpers/sshHosts";

jest.setTimeout(300_000);

describe("drift of types, owners, folders and strays over SSH", () => {
  let lab: SshLab;
  let h: SshHost;
  let t: TestStack;
  let base = "";
  const outside = tmpDir("ssh-drift-outside");
  let scripts = ["a.ipxe"];
  const out: string[] = [];
  const log = (s: string) => out.push(s);
  const ipxe = () => `${base}/srv/netboot/http/ipxe`;
  const hostsDir = () => `${base}/srv/netboot/dhcp-hosts.d`;
  const ng = () => `${base}/ng`;
  const motd = () => `${base}/etc/app/motd`;
  /** in files outside that a read through a symlink would find; must never reach the outputs or state */
  const SECRET = "OUTSIDE-SECRET-91d2";
  const stateText = async () => JSON.stringify((await t.stack.exportStack()).deployment);

  const program = async () => {
    const files: Record<string, any> = { [`${hostsDir()}/g1`]: { content: "52:54:00:73:00:01,10.73.0.11,n1,infinite\n", mode: "0644" } };
    for (const s of scripts) files[`${ipxe()}/${s}`] = { content: `#!ipxe\necho ${s}\n`, mode: "0644" };
    const set = new netboot.FileSet("srv", {
      host: { ssh: h.ssh() }, files,
      dirs: [`${base}/srv/netboot`, ipxe(), `${base}/srv/netboot/run`],
      exclusiveDirs: [hostsDir()],
    });
    // A node group's files for a server given as plain info (no PxeServer: its files are not under test here).
    const server = {
      name: "pxe", host: { ssh: h.ssh() }, subnet: "10.91.3.0/24", serverIp: "10.91.3.1", dhcpMode: "static",
      hostsDir: `${ng()}/dhcp-hosts.d`, httpRoot: `${ng()}/http`, httpBaseUrl: "http://10.91.3.1/", pidFile: `${ng()}/run/dnsmasq.pid`, firmwares: ["bios"],
    };
    new netboot.NodeGroup("rack", { server, nodes: [{ name: "r01", macs: ["52:54:00:73:01:01"], ip: "10.91.3.21" }], boot: { localDisk: true } });
    new netboot.File("motd", { host: { ssh: h.ssh() }, path: motd(), content: "hello\n" });
    return { manifest: set.manifest };
  };

  const refreshFinds = async () => {
    const r = await t.stack.refresh({ onOutput: log });
    out.length = 0;
    await t.stack.preview({ diff: true, onOutput: log });
    return changed(r.summary.resourceChanges);
  };
  const upClean = async () => {
    expect((await t.stack.up({ onOutput: log })).summary.result).toBe("succeeded");
    await t.stack.refresh({ expectNoChanges: true, onOutput: log });
    expect(changed((await t.stack.preview({ onOutput: log })).changeSummary)).toEqual({});
  };

  beforeAll(async () => {
    lab = new SshLab("d", "10.91.3");
    h = await lab.addHost(31);
    base = path.join(h.dir, "root");
    t = await testStack("ssh-drift", program);
    await upClean();
  }, 180000);

  afterAll(async () => {
    if (t) await t.destroy().catch(() => undefined);
    if (lab) await lab.cleanup();
  }, 120000);

  test("a symlinked iPXE scripts folder: refresh reports it; up writes nothing through it and restores the folder", async () => {
    fs.copyFileSync(`${ipxe()}/a.ipxe`, `${outside}/a.ipxe`);
    fs.rmSync(ipxe(), { recursive: true });
    fs.symlinkSync(outside, ipxe());
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain(`${ipxe()}: "symlink -> ${outside}"`);
    scripts = ["a.ipxe", "b.ipxe"];
    await upClean();
    expect(fs.readdirSync(outside)).toEqual(["a.ipxe"]);
    expect(fs.lstatSync(ipxe()).isDirectory()).toBe(true);
    expect(fs.readdirSync(ipxe()).sort()).toEqual(["a.ipxe", "b.ipxe"]);
  });

  test("a file replaced by an empty folder is reported and put back", async () => {
    fs.rmSync(`${ipxe()}/b.ipxe`);
    fs.mkdirSync(`${ipxe()}/b.ipxe`);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain(`${ipxe()}/b.ipxe`);
    await upClean();
    expect(fs.readFileSync(`${ipxe()}/b.ipxe`, "utf8")).toBe("#!ipxe\necho b.ipxe\n");
  });

  test("an owner change is drift: up writes the file again as root", async () => {
    fs.chownSync(`${hostsDir()}/g1`, 4242, 4242);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain("4242:4242");
    await upClean();
    const st = fs.statSync(`${hostsDir()}/g1`);
    expect([st.uid, st.gid]).toEqual([0, 0]);
  });

  test("a deleted owned folder is reported and made again", async () => {
    fs.rmdirSync(`${base}/srv/netboot/run`);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain(`${base}/srv/netboot/run: "missing"`);
    await upClean();
    expect(fs.lstatSync(`${base}/srv/netboot/run`).isDirectory()).toBe(true);
  });

  test("a stray file and a stray symlink in the hostsdir are reported and removed (the link's target is kept)", async () => {
    fs.writeFileSync(`${hostsDir()}/extra`, "52:54:00:73:00:99,10.73.0.99,intruder,infinite\n");
    fs.writeFileSync(`${outside}/leases`, "52:54:00:73:00:98,10.73.0.98,other,infinite\n");
    fs.symlinkSync(`${outside}/leases`, `${hostsDir()}/linked`);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain(`${hostsDir()}/extra`);
    expect(out.join("")).toContain(`${hostsDir()}/linked`);
    await upClean();
    expect(fs.readdirSync(hostsDir())).toEqual(["g1"]);
    expect(fs.readdirSync(outside).sort()).toEqual(["a.ipxe", "leases"]);
  });
  test("an owner change of a node group's leases file: refresh reports it, up writes it again as root", async () => {
    const leases = `${ng()}/dhcp-hosts.d/rack`;
    fs.chownSync(leases, 4242, 4242);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain("4242:4242");
    await upClean();
    const st = fs.statSync(leases);
    expect([st.uid, st.gid]).toEqual([0, 0]);
  });

  test("a File's owner change and a symlink in its place: refresh reports each, up writes the file again", async () => {
    fs.chownSync(motd(), 4244, 4244);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain("4244:4244");
    await upClean();
    expect([fs.statSync(motd()).uid, fs.statSync(motd()).gid]).toEqual([0, 0]);

    fs.writeFileSync(`${outside}/motd-target`, `${SECRET}\n`);
    fs.rmSync(motd());
    fs.symlinkSync(`${outside}/motd-target`, motd());
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toMatch(/type\s*: "symlink"/);
    expect(await stateText()).not.toContain(SECRET);
    await upClean();
    expect(fs.lstatSync(motd()).isFile()).toBe(true);
    expect(fs.readFileSync(motd(), "utf8")).toBe("hello\n");
    expect(fs.readFileSync(`${outside}/motd-target`, "utf8")).toBe(`${SECRET}\n`);
    fs.rmSync(`${outside}/motd-target`);
  });

  test("reads never go through a symlinked folder: files outside that would match are not taken for netboot's", async () => {
    const other = tmpDir("ssh-drift-outside-read");
    const ipxeDir = `${ng()}/http/ipxe`;
    const scripts = fs.readdirSync(ipxeDir).sort();
    expect(scripts.length).toBeGreaterThan(0);
    for (const n of scripts) fs.writeFileSync(`${other}/${n}`, `#!ipxe\necho ${SECRET}\n`);
    fs.mkdirSync(`${other}/etc`);
    fs.writeFileSync(`${other}/etc/motd`, `${SECRET}\n`);
    fs.rmSync(ipxeDir, { recursive: true });
    fs.symlinkSync(other, ipxeDir);
    fs.rmSync(path.dirname(motd()), { recursive: true });
    fs.symlinkSync(`${other}/etc`, path.dirname(motd()));
    const found = await refreshFinds();
    // nothing behind the links was taken for netboot's files (a hand edit would put it in outputs and state)
    expect(await stateText()).not.toContain(SECRET);
    // the NodeGroupFiles (its scripts are missing) and the File (missing, its folder)
    expect(found).toEqual({ update: 2 });
    expect(out.join("")).toContain(`${path.dirname(motd())}: "symlink -> ${other}/etc"`);
    expect(out.join("")).not.toContain(SECRET);
    expect(await stateText()).not.toContain(SECRET);
    await upClean();
    expect(fs.lstatSync(ipxeDir).isDirectory()).toBe(true);
    expect(fs.readdirSync(ipxeDir).sort()).toEqual(scripts);
    expect(fs.readFileSync(motd(), "utf8")).toBe("hello\n");
    // what the links pointed to is left as it was
    expect(fs.readdirSync(other).sort()).toEqual([...scripts, "etc"].sort());
    expect(fs.readFileSync(`${other}/etc/motd`, "utf8")).toBe(`${SECRET}\n`);
  });
});
