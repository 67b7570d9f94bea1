/**
 * Drift beyond content and mode, through the real engine on a local target root (a PxeServer and a NodeGroup):
 * a symlinked iPXE scripts folder, a file replaced by a folder, an owner change, a deleted owned folder and a
 * stray file in dnsmasq's hostsdir. Each is reported by `pulumi refresh` and repaired by `pulumi up`, and
 * nothing is ever written outside the target root.
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
    // A FileSet's file (the PxeServer's dnsmasq config). NodeGroupFiles (the leases) does not keep owners yet.
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

  test("nothing was ever written outside the target root", () => {
    expect(copied.length).toBeGreaterThan(0);
    expect(tree(outside)).toEqual(copied);
  });
});
