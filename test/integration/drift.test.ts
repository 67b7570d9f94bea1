/**
 * Drift beyond content and mode, through the real engine on a local target root (a PxeServer, a NodeGroup and a
 * File): a symlinked iPXE scripts folder, a file replaced by a folder, an owner change, a deleted owned folder and
 * a stray file in dnsmasq's hostsdir; owner changes of a node group's leases and iPXE script and of a File; a
 * File replaced by a symlink; folders replaced by symlinks to outside files that a read would otherwise take
 * for netboot's. Each is reported by `pulumi refresh` and repaired by `pulumi up`, nothing is ever written
 * outside the target root, and nothing read from outside it reaches the outputs.
 */
import * as fs from "fs";
import * as path from "path";
import * as netboot from "../../sdk/nodejs";
import { changed, testStack, TestStack } from "../helpers/engine";
import { requireTool, tmpDir } from "../helpers/env";

jest.setTimeout(300_000);

function tree(d: string): string[] {
  if (!fs.existsSync(d)) return [];
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [e.name + "/", ...tree(path.join(d, e.name)).map((n) => `${e.name}/${n}`)] : [e.name])).sort();
}

describe("drift of types, owners, folders and strays through the engine", () => {
  const root = tmpDir("drift-target");
  const outside = tmpDir("drift-outside");
  const ipxe = path.join(root, "srv/netboot/http/ipxe");
  const hostsDir = path.join(root, "srv/netboot/dhcp-hosts.d");
  const motd = path.join(root, "etc/netboot-drift/motd");
  /** in files outside the root that a read through a symlink would find; must never reach the outputs or state */
  const SECRET = "OUTSIDE-SECRET-7f3a";
  const stateText = async () => JSON.stringify((await t.stack.exportStack()).deployment);
  let copied: string[] = [];
  let nodes = [{ name: "c01", macs: ["52:54:00:72:00:01"], ip: "10.72.0.11" }];
  let t: TestStack;
  const out: string[] = [];
  const log = (s: string) => out.push(s);

  /** refresh, and what it changed: every kind of drift here must make at least one resource differ */
  const refreshFinds = async () => {
    const r = await t.stack.refresh({ onOutput: log });
    // what the next up would do, with the drift refresh stored in the outputs
    out.length = 0;
    await t.stack.preview({ diff: true, onOutput: log });
    return changed(r.summary.resourceChanges);
  };
  const upClean = async () => {
    const up = await t.stack.up({ onOutput: log });
    expect(up.summary.result).toBe("succeeded");
    // after the repair, a refresh finds nothing and a preview plans nothing
    await t.stack.refresh({ expectNoChanges: true, onOutput: log });
    expect(changed((await t.stack.preview({ onOutput: log })).changeSummary)).toEqual({});
  };

  beforeAll(async () => {
    requireTool("dnsmasq");
    t = await testStack("drift", async () => {
      const pxe = new netboot.PxeServer("pxe", { host: { root }, interface: "nbd0", subnet: "10.72.0.0/24", serverIp: "10.72.0.1", dhcpMode: "static" });
      const g = new netboot.NodeGroup("compute", { server: pxe.info, nodes, boot: { localDisk: true } });
      new netboot.File("motd", { host: { root }, path: "/etc/netboot-drift/motd", content: "hello\n" });
      return { nodes: g.nodeTable };
    });
    await upClean();
  });
  afterAll(async () => {
    if (t) await t.destroy();
  });

  test("a symlinked iPXE scripts folder: refresh reports it; up writes nothing through it and restores the folder", async () => {
    const scripts = fs.readdirSync(ipxe).sort();
    expect(scripts.length).toBeGreaterThan(0);
    // the folder replaced by a symlink to a copy elsewhere: reading through it finds the same bytes
    for (const n of scripts) fs.copyFileSync(path.join(ipxe, n), path.join(outside, n));
    copied = tree(outside);
    fs.rmSync(ipxe, { recursive: true });
    fs.symlinkSync(outside, ipxe);
    expect(Object.keys(await refreshFinds()).length).toBeGreaterThan(0);
    expect(out.join("")).toContain(`symlink -> ${outside}`);
    // the node group's own files name the folder too (not only the PxeServer, which owns it): its scripts are missing because of it
    const files = (await t.stack.exportStack()).deployment.resources.find((r: any) => r.type === "netboot:index:NodeGroupFiles");
    expect(files.outputs.dirDrift).toEqual({ "/srv/netboot/http/ipxe": `symlink -> ${outside}` });
    // a new node makes up write a new script into that folder
    nodes = [...nodes, { name: "c02", macs: ["52:54:00:72:00:02"], ip: "10.72.0.12" }];
    await upClean();
    expect(fs.readdirSync(outside).sort()).toEqual(scripts);
    expect(fs.lstatSync(ipxe).isDirectory()).toBe(true);
    expect(fs.readdirSync(ipxe).length).toBe(scripts.length + 1);
  });

  // A folder with content in a file's place stops the apply with an error naming it: test/resources/fileCommon.test.ts
  // (a failing `up` of this inline program would leave the PxeServer's registration unfinished when the engine stops).
  test("a file replaced by an empty folder is reported and put back", async () => {
    const script = path.join(ipxe, fs.readdirSync(ipxe).sort()[0]);
    const bytes = fs.readFileSync(script);
    fs.rmSync(script);
    fs.mkdirSync(script);
    expect(Object.keys(await refreshFinds()).length).toBeGreaterThan(0);
    expect(out.join("")).toMatch(/- type\s*: "dir"/);
    await upClean();
    expect(fs.readFileSync(script)).toEqual(bytes);
  });

  test("an owner change is drift: up writes the file again with netboot's owner", async () => {
    // A FileSet's file (the PxeServer's dnsmasq config); a node group's leases file is a test of its own below.
    const leases = path.join(root, "etc/dnsmasq.d/netboot-pxe.conf");
    const before = fs.statSync(leases);
    fs.chownSync(leases, 4242, 4242);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain("4242:4242");
    await upClean();
    const after = fs.statSync(leases);
    expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
  });

  test("a deleted owned folder is reported and made again", async () => {
    const runDir = path.join(root, "srv/netboot/run");
    expect(fs.readdirSync(runDir)).toEqual([]);
    fs.rmdirSync(runDir);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toMatch(/dirDrift: \{\s*- \/srv\/netboot\/run: "missing"/);
    await upClean();
    expect(fs.lstatSync(runDir).isDirectory()).toBe(true);
  });

  test("a stray file in the hostsdir (dnsmasq would serve it) is reported and removed; node groups' files stay", async () => {
    const stray = path.join(hostsDir, "extra");
    fs.writeFileSync(stray, "52:54:00:72:00:99,10.72.0.99,intruder,infinite\n");
    // another stack's node group (a netboot header) and a write in progress are not strays
    const other = path.join(hostsDir, "rack9");
    fs.writeFileSync(other, '# Rendered by netboot for NodeGroup "rack9". Do not edit.\n52:54:00:72:00:51,10.72.0.51,r01,infinite\n');
    const temp = path.join(hostsDir, ".compute.netboot-0a1b2c3d.tmp");
    fs.writeFileSync(temp, "");
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain(`/srv/netboot/dhcp-hosts.d/extra`);
    await upClean();
    expect(fs.readdirSync(hostsDir).sort()).toEqual([".compute.netboot-0a1b2c3d.tmp", "compute", "rack9"]);
    fs.rmSync(other);
    fs.rmSync(temp);
  });

  test("an owner change of a node group's leases file and iPXE script: refresh reports it, up writes them again", async () => {
    const leases = path.join(hostsDir, "compute");
    const script = path.join(ipxe, "group-compute.ipxe"); // the group's own script (boot.ipxe is the PxeServer's)
    const before = [fs.statSync(leases), fs.statSync(script)].map((st) => [st.uid, st.gid]);
    fs.chownSync(leases, 4242, 4242);
    fs.chownSync(script, 4243, 4243);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain("4242:4242");
    expect(out.join("")).toContain("4243:4243");
    await upClean();
    expect([fs.statSync(leases), fs.statSync(script)].map((st) => [st.uid, st.gid])).toEqual(before);
  });

  test("a File's owner change and a symlink in its place: refresh reports each, up writes the file again", async () => {
    const before = fs.statSync(motd);
    fs.chownSync(motd, 4244, 4244);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toContain("4244:4244");
    await upClean();
    expect([fs.statSync(motd).uid, fs.statSync(motd).gid]).toEqual([before.uid, before.gid]);

    const victim = path.join(outside, "motd-target");
    fs.writeFileSync(victim, `${SECRET}\n`);
    fs.rmSync(motd);
    fs.symlinkSync(victim, motd);
    expect(await refreshFinds()).toEqual({ update: 1 });
    expect(out.join("")).toMatch(/type\s*: "symlink"/);
    expect(await stateText()).not.toContain(SECRET);
    await upClean();
    expect(fs.lstatSync(motd).isFile()).toBe(true);
    expect(fs.readFileSync(motd, "utf8")).toBe("hello\n");
    expect(fs.readFileSync(victim, "utf8")).toBe(`${SECRET}\n`);
    fs.rmSync(victim);
  });

  test("reads never go through a symlinked folder: files outside that would match are not taken for netboot's", async () => {
    // The iPXE folder and the File's folder replaced by symlinks to folders holding files of the same names:
    // a secret where a hand edit would be shown, and a copy of the File's own bytes where "no drift" would be.
    const other = tmpDir("drift-outside-read");
    const scripts = fs.readdirSync(ipxe).sort();
    for (const n of scripts) fs.writeFileSync(path.join(other, n), `#!ipxe\necho ${SECRET}\n`);
    fs.mkdirSync(path.join(other, "etc"));
    fs.writeFileSync(path.join(other, "etc/motd"), "hello\n");
    fs.rmSync(ipxe, { recursive: true });
    fs.symlinkSync(other, ipxe);
    const motdDir = path.dirname(motd);
    fs.rmSync(motdDir, { recursive: true });
    fs.symlinkSync(path.join(other, "etc"), motdDir);
    const found = await refreshFinds();
    // nothing behind the links was taken for netboot's files (a hand edit would put it in outputs and state)
    expect(await stateText()).not.toContain(SECRET);
    // the PxeServer (its folder), the NodeGroupFiles (its scripts are missing) and the File (missing, its folder)
    expect(found).toEqual({ update: 3 });
    expect(out.join("")).toContain(`/etc/netboot-drift: "symlink -> ${path.join(other, "etc")}"`);
    expect(out.join("")).not.toContain(SECRET);
    expect(await stateText()).not.toContain(SECRET);
    await upClean();
    expect(fs.lstatSync(ipxe).isDirectory()).toBe(true);
    expect(fs.readdirSync(ipxe).sort()).toEqual(scripts);
    expect(fs.readFileSync(path.join(ipxe, scripts[0]), "utf8")).not.toContain(SECRET);
    expect(fs.lstatSync(motdDir).isDirectory()).toBe(true);
    expect(fs.readFileSync(motd, "utf8")).toBe("hello\n");
    // what the links pointed to is left as it was
    expect(fs.readdirSync(other).sort()).toEqual([...scripts, "etc"].sort());
    expect(fs.readFileSync(path.join(other, scripts[0]), "utf8")).toBe(`#!ipxe\necho ${SECRET}\n`);
  });

  test("nothing was ever written outside the target root", () => {
    expect(copied.length).toBeGreaterThan(0);
    expect(tree(outside)).toEqual(copied);
  });
});
