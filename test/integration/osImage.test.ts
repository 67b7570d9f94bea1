/**
 * netboot:index:OsImage through the real engine and the real mmdebstrap (Debian bookworm, minbase plus
 * systemd-sysv: the smallest root a BootImage accepts, it has /sbin/init). The downloaded packages are kept in
 * ~/.cache/netboot/apt-archives (outside the work tree) so a second run downloads nothing; the images go to a
 * temp cache of this test (NETBOOT_OSIMAGE_CACHE).
 *
 * - up builds the root: stateless (no SSH host keys, hostname localhost, empty resolv.conf, empty machine-id),
 *   and the same OsImage feeds a BootImage (`imageSource: os.rootPath`), preview of a fresh stack included;
 * - unchanged inputs: preview and up build nothing;
 * - the image cache cleared: refresh sees the root gone, up builds again and gets the same digest;
 * - a package added: preview names `debian.packages`, up names the added package (packageChanges and the log).
 * Three mmdebstrap runs of ~30 s each.
 */
import * as fs from "fs";
import * as path from "path";
import * as netboot from "../../sdk/nodejs";
import { changed, testStack, TestStack } from "../helpers/engine";
import { requireRoot, requireTool, tmpDir } from "../helpers/env";
import { KVER } from "../helpers/osImage";

jest.setTimeout(900_000);

const FIX = path.join(__dirname, "..", "build", "fixtures");

describe("netboot:index:OsImage with mmdebstrap through the real engine", () => {
  const dir = tmpDir("osimage-engine");
  const cache = path.join(dir, "osimages");
  const target = path.join(dir, "target");
  const volfile = fs.readFileSync(path.join(FIX, "client.vol"), "utf8").replace(/@HOST@/g, "10.89.43.1").replace(/@PORT@/g, "24902").replace(/@BRICK@/g, "/srv/brick");
  let packages = ["systemd-sysv"];
  let t: TestStack;
  let first: Record<string, any>;

  beforeAll(async () => {
    requireRoot("OsImage builds");
    requireTool("mmdebstrap");
    process.env.NETBOOT_OSIMAGE_CACHE = cache; // the engine starts the provider with this environment
    t = await testStack("osimage", async () => {
      const os = new netboot.OsImage("node", { debian: { suite: netboot.DebianSuite.Bookworm, packages } });
      const img = new netboot.BootImage("node-boot", {
        server: { host: { root: target }, httpRoot: "/srv/http", httpBaseUrl: "http://10.89.43.1/" } as any,
        kernelVersion: KVER,
        imageSource: os.rootPath,
        transport: "glusterfs",
        glusterVolfile: volfile,
        compression: "gzip",
        publishImage: false,
      });
      return { digest: os.digest, inputDigest: os.inputDigest, rootPath: os.rootPath, packages: os.packages, packageChanges: os.packageChanges, lastBuild: os.lastBuild, size: os.size, initrdUrl: img.initrdUrl };
    });
  });

  afterAll(async () => {
    await t?.destroy().catch(() => undefined);
    delete process.env.NETBOOT_OSIMAGE_CACHE;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const outputs = async () => Object.fromEntries(Object.entries(await t.stack.outputs()).map(([k, v]) => [k, v.value]));

  test("a fresh stack's preview passes (the root path is not known yet), and up builds a stateless root a BootImage takes", async () => {
    const pre = await t.stack.preview();
    expect(pre.changeSummary.create).toBeGreaterThanOrEqual(3);
    const up = await t.stack.up({ onOutput: (s) => t.log.push(s) });
    expect(up.summary.result).toBe("succeeded");
    first = await outputs();
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.rootPath).toBe(path.join(cache, first.inputDigest.slice(7, 19), "root"));
    expect(first.lastBuild).toEqual({ cached: "false", ms: expect.stringMatching(/^\d+$/) });
    expect(first.packages["systemd-sysv"]).toMatch(/^252\./);
    expect(first.packageChanges).toEqual([]);
    const root = first.rootPath as string;
    expect(fs.lstatSync(path.join(root, "sbin/init")).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(path.join(root, "etc/hostname"), "utf8")).toBe("localhost\n");
    expect(fs.readFileSync(path.join(root, "etc/resolv.conf"), "utf8")).toBe("");
    expect(fs.readFileSync(path.join(root, "etc/machine-id"), "utf8")).toBe("");
    expect(fs.readdirSync(path.join(root, "var/cache/apt/archives")).filter((n) => n.endsWith(".deb"))).toEqual([]);
    expect(fs.existsSync(path.join(root, "usr/share/doc/systemd"))).toBe(false);
    expect(first.initrdUrl).toMatch(/^http:\/\/10\.89\.43\.1\/images\/node-boot\/initrd-[0-9a-f]{12}\.img$/);
  });

  test("unchanged inputs: preview shows no change, and up serves the cache", async () => {
    const pre = await t.stack.preview({ expectNoChanges: true });
    expect(changed(pre.changeSummary)).toEqual({});
    await t.stack.refresh({ expectNoChanges: true });
  });

  test("the image cache cleared: refresh sees the root gone, up builds it again with the same digest", async () => {
    fs.rmSync(cache, { recursive: true, force: true });
    // the OsImage alone: the BootImage's Initramfs re-reads its image source on refresh and fails while it is gone
    await t.stack.refresh({ target: ["urn:pulumi:test::netboot-osimage::netboot:index:OsImage::node"] });
    const out: string[] = [];
    const pre = await t.stack.preview({ onOutput: (s) => out.push(s) });
    // the OsImage, and the BootImage's children that read its rootPath (unknown in a preview until it is rebuilt)
    expect(pre.changeSummary.update).toBeGreaterThanOrEqual(1);
    expect(out.join("")).toMatch(/netboot:index:OsImage node[^\n]*\[diff: ~digest\]/);
    await t.stack.up();
    const again = await outputs();
    expect(again.lastBuild.cached).toBe("false");
    expect(again.rootPath).toBe(first.rootPath);
    expect(again.digest).toBe(first.digest);
    expect(again.packages).toEqual(first.packages);
  });

  test("a package added: preview names debian.packages, up names the added package", async () => {
    packages = ["systemd-sysv", "netbase"];
    const out: string[] = [];
    const pre = await t.stack.preview({ diff: true, onOutput: (s) => out.push(s) });
    expect(pre.changeSummary.update).toBeGreaterThanOrEqual(1);
    expect(out.join("")).toMatch(/debian.*packages/s);
    const log: string[] = [];
    const up = await t.stack.up({ onOutput: (s) => log.push(s) });
    expect(up.summary.result).toBe("succeeded");
    const o = await outputs();
    expect(o.digest).not.toBe(first.digest);
    expect(o.packageChanges).toEqual([{ name: "netbase", before: "", after: o.packages.netbase }]);
    expect(log.join("")).toContain(`+ netbase ${o.packages.netbase}`);
  });
});
