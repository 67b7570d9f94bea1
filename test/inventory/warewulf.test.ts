/**
 * Warewulf import on a realistic nodes.conf + warewulf.conf (4.5/4.6 style: profiles with overlays and kernel
 * arg lists, IPMI, a secondary InfiniBand interface, a discoverable node without MAC, an image override, a
 * `primary network` other than `default`, a bad host name, a node outside the boot network).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { importWarewulf, netmaskBits, WarewulfImportError } from "../../provider/inventory/warewulf";
import { compareKernelVersions, scanImageKernels, selectKernel } from "../../provider/inventory/warewulfKernel";
import { parseInventory } from "../../provider/inventory/parse";
import { REPO, tmpDir } from "../helpers/env";

const FIX = path.join(__dirname, "fixtures/warewulf");
const nodesConf = fs.readFileSync(path.join(FIX, "nodes.conf"), "utf8");
const wwConf = fs.readFileSync(path.join(FIX, "warewulf.conf"), "utf8");

describe("importWarewulf", () => {
  const { inventory, report } = importWarewulf(nodesConf, wwConf, { interface: "eth1" });
  const where = (kind: string) => report.filter((r) => r.kind === kind).map((r) => r.where);

  test("the server comes from warewulf.conf: address, /22 subnet, DHCP range", () => {
    expect(inventory.servers).toEqual({
      warewulf: { interface: "eth1", subnet: "10.72.0.0/22", serverIp: "10.72.0.1", dhcpMode: "authoritative", dynamicRange: { start: "10.72.3.100", end: "10.72.3.200" } },
    });
  });

  test("profiles become groups; a node overriding the image gets a group of its own", () => {
    const groups = Object.fromEntries(Object.entries(inventory.groups!).map(([k, g]) => [k, [g.image, g.nodes.map((n) => n.name)]]));
    expect(groups).toEqual({
      compute: ["rockylinux-9", ["n0001", "n0002", "n0003"]],
      "compute-rockylinux-9-debug": ["rockylinux-9-debug", ["n0005"]],
      gpu: ["rockylinux-9-nvidia", ["g01", "g02"]],
    });
  });

  test("primary device gives MAC and address; kernel args merge profile then node", () => {
    const all = Object.values(inventory.groups!).flatMap((g) => g.nodes);
    const byName = Object.fromEntries(all.map((n) => [n.name, n]));
    expect(byName.g01).toEqual({ name: "g01", mac: "52:54:00:72:01:01", ip: "10.72.1.1", kernelArgs: "quiet crashkernel=no rd.driver.blacklist=nouveau" });
    expect(byName.n0002.kernelArgs).toBe("quiet crashkernel=no net.naming-scheme=v238");
    expect(byName.n0003.kernelArgs).toBe("quiet crashkernel=no console=ttyS0,115200");
  });

  test("images are built from Warewulf's chroots; without reading them the kernel is assumed inside the image, never the build host's", () => {
    const root = "/var/lib/warewulf/chroots/rockylinux-9-nvidia/rootfs";
    expect(inventory.images!["rockylinux-9-nvidia"]).toEqual({
      imageSource: root, transport: "http", mode: "ram",
      kernelPath: `${root}/boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64`, modulesDir: `${root}/lib/modules/5.14.0-427.13.1.el9_4.x86_64`,
    });
    expect(inventory.images!["rockylinux-9"].kernelPath).toBe("/var/lib/warewulf/chroots/rockylinux-9/rootfs/boot/vmlinuz");
    for (const img of Object.values(inventory.images!)) expect(img.kernelVersion).toBeUndefined(); // BootImage reads a bare kernelVersion on the build host
    expect(report.find((r) => r.where === "image rockylinux-9")!.message).toContain("the image was not read");
  });

  test("the report names every node left out and everything dropped", () => {
    expect(where("skipped").sort()).toEqual(["nodes.Login_1", "nodes.login2.network devices.default.ipaddr", "nodes.n0004.network devices.default"]);
    expect(where("not mapped")).toEqual(expect.arrayContaining([
      "nodes.n0001.ipmi", "nodes.n0002.network devices.ib", "nodes.g01.filesystems", "nodes.n0004.discoverable",
      "nodeprofiles.default.runtime overlay", "nodeprofiles.default.system overlay", "nodeprofiles.compute.tags",
      "nodeprofiles.default.network devices.default.gateway", "warewulf.conf.tftp.ipxe", "warewulf.conf.nfs",
    ]));
    // The profile's device template (no MAC, no address) is not reported as a second interface of g01.
    expect(where("not mapped").filter((w) => w.startsWith("nodes.g01.network"))).toEqual([]);
    expect(where("review").filter((w) => w.startsWith("image "))).toHaveLength(3);
  });

  test("the result passes the inventory schema and its cross-references", () => {
    const r = parseInventory(stringify(inventory), "imported.yaml");
    expect(r.ok ? "valid" : r.issues).toBe("valid");
  });

  test("without warewulf.conf the server address must be given", () => {
    expect(() => importWarewulf(nodesConf, undefined)).toThrow(WarewulfImportError);
    const r = importWarewulf(nodesConf, undefined, { serverIp: "10.72.0.1", subnet: "10.72.0.0/22" });
    expect(r.inventory.servers!.warewulf.dhcpMode).toBe("static");
    expect(r.report.map((x) => x.message)).toContainEqual(expect.stringContaining("`eth0` assumed"));
  });

  test("netmasks", () => {
    expect([netmaskBits("255.255.252.0"), netmaskBits("255.255.255.255"), netmaskBits("0.0.0.0"), netmaskBits("255.0.255.0")]).toEqual([22, 32, 0, undefined]);
  });
});

describe("scripts/import-warewulf (compiled CLI)", () => {
  test("writes an inventory the schema accepts and a report file", () => {
    const cli = path.join(REPO, "dist/scripts/import-warewulf.js");
    if (!fs.existsSync(cli)) throw new Error("run 'npm run build' first (npm test does it)");
    const d = tmpDir("ww-import");
    const r = spawnSync("node", [cli, path.join(FIX, "nodes.conf"), "--warewulf-conf", path.join(FIX, "warewulf.conf"), "--interface", "eth1", "--root", "./target", "--out", `${d}/cluster.yaml`, "--report", `${d}/report.txt`], { encoding: "utf8" });
    expect(r.stderr).toContain("imported 6 node(s) in 3 group(s), 3 image(s)");
    expect(r.status).toBe(0);
    const text = fs.readFileSync(`${d}/cluster.yaml`, "utf8");
    expect(parseInventory(text, "cluster.yaml").ok).toBe(true);
    expect(text).toContain("root: ./target");
    expect(fs.readFileSync(`${d}/report.txt`, "utf8")).toMatch(/^skipped \(3\):\n {2}- nodes.Login_1: /);
    const bad = spawnSync("node", [cli, path.join(FIX, "nodes.conf")], { encoding: "utf8" });
    expect([bad.status, bad.stderr.trim()]).toEqual([1, "import-warewulf: the server address and subnet are unknown: give warewulf.conf (ipaddr, netmask) or --server-ip and --subnet"]);
    fs.rmSync(d, { recursive: true, force: true });
  });
});

/** A fake Warewulf chroots folder: two images with kernels and modules, laid out as Rocky 9 has them. */
function fakeChroots(): string {
  const d = tmpDir("ww-chroots");
  const put = (p: string, text = "") => {
    fs.mkdirSync(path.dirname(path.join(d, p)), { recursive: true });
    fs.writeFileSync(path.join(d, p), text);
  };
  for (const [img, versions] of [["rockylinux-9", ["5.14.0-362.8.1.el9_3.x86_64", "5.14.0-427.13.1.el9_4.x86_64"]], ["rockylinux-9-nvidia", ["5.14.0-427.13.1.el9_4.x86_64", "5.14.0-503.14.1.el9_5.x86_64"]]] as const) {
    const root = `${img}/rootfs`;
    for (const v of versions) {
      put(`${root}/boot/vmlinuz-${v}`, "kernel");
      put(`${root}/boot/.vmlinuz-${v}.hmac`, "sum");
      put(`${root}/usr/lib/modules/${v}/vmlinuz`, "kernel");
      put(`${root}/usr/lib/modules/${v}/modules.dep`, "");
    }
    put(`${root}/boot/vmlinuz-0-rescue-0123456789abcdef`, "rescue");
    fs.symlinkSync("usr/lib", path.join(d, root, "lib")); // merged /usr
  }
  return d;
}

describe("the kernel comes from the imported image (Warewulf 4.6: /boot/vmlinuz-<version> in the image)", () => {
  const chroots = fakeChroots();
  afterAll(() => fs.rmSync(chroots, { recursive: true, force: true }));
  const wwConfPaths = `${wwConf}paths:\n  wwchrootdir: ${chroots}/\n`;
  const { inventory, report } = importWarewulf(nodesConf, wwConfPaths, { interface: "eth1", imageKernels: scanImageKernels });

  test("scanImageKernels lists /boot and modules-folder kernels with their modules trees; no rescue kernel, no .hmac", () => {
    const ks = scanImageKernels(path.join(chroots, "rockylinux-9/rootfs"))!;
    expect(ks.map((k) => [k.path, k.modulesDir])).toEqual([
      ["/boot/vmlinuz-5.14.0-362.8.1.el9_3.x86_64", "/usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64"],
      ["/boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64", "/usr/lib/modules/5.14.0-427.13.1.el9_4.x86_64"],
      ["/usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/vmlinuz", "/usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64"],
      ["/usr/lib/modules/5.14.0-427.13.1.el9_4.x86_64/vmlinuz", "/usr/lib/modules/5.14.0-427.13.1.el9_4.x86_64"],
    ]);
    expect(scanImageKernels(path.join(chroots, "missing/rootfs"))).toBeUndefined();
  });

  test("selectKernel: newest release without a version, a /boot file first; a release, a prefix at a separator, a path in the image", () => {
    const ks = scanImageKernels(path.join(chroots, "rockylinux-9-nvidia/rootfs"))!;
    expect(selectKernel(ks)!.path).toBe("/boot/vmlinuz-5.14.0-503.14.1.el9_5.x86_64");
    expect(selectKernel(ks, "5.14.0-427.13.1.el9_4.x86_64")!.path).toBe("/boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64");
    expect(selectKernel(ks, "5.14.0-427.13.1")!.path).toBe("/boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64");
    expect(selectKernel(ks, "5.14.0-427.13")!.version).toBe("5.14.0-427.13.1.el9_4.x86_64");
    expect(selectKernel(ks, "5.14.0-42")).toBeUndefined();
    expect(selectKernel(ks, "/lib/modules/5.14.0-503.14.1.el9_5.x86_64/vmlinuz")!.path).toBe("/usr/lib/modules/5.14.0-503.14.1.el9_5.x86_64/vmlinuz");
    expect(compareKernelVersions("5.14.0-503.14.1", "5.14.0-427.13.1")).toBeGreaterThan(0);
    expect(compareKernelVersions("6.1.0-9-amd64", "6.1.0-56-amd64")).toBeLessThan(0);
  });

  test("images get kernelPath, modulesDir and kernelVersion inside warewulf.conf's wwchrootdir", () => {
    const r9 = path.join(chroots, "rockylinux-9/rootfs");
    expect(inventory.images!["rockylinux-9"]).toEqual({
      imageSource: r9, transport: "http", mode: "ram", // no kernel version in the profile: the newest in the image
      kernelPath: `${r9}/boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64`, modulesDir: `${r9}/usr/lib/modules/5.14.0-427.13.1.el9_4.x86_64`, kernelVersion: "5.14.0-427.13.1.el9_4.x86_64",
    });
    const nv = path.join(chroots, "rockylinux-9-nvidia/rootfs");
    expect(inventory.images!["rockylinux-9-nvidia"]).toMatchObject({ // the gpu profile's kernel version, not the newest
      kernelPath: `${nv}/boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64`, modulesDir: `${nv}/usr/lib/modules/5.14.0-427.13.1.el9_4.x86_64`, kernelVersion: "5.14.0-427.13.1.el9_4.x86_64",
    });
    expect(report.find((r) => r.where === "image rockylinux-9-nvidia")!.message).toContain("the image also holds 5.14.0-503.14.1.el9_5.x86_64");
    // n0005's image has no chroot here: assumed inside the image and reported.
    expect(inventory.images!["rockylinux-9-debug"].kernelPath).toBe(path.join(chroots, "rockylinux-9-debug/rootfs/boot/vmlinuz"));
    expect(report.find((r) => r.where === "image rockylinux-9-debug")!.message).toContain("is not on this machine");
    expect(parseInventory(stringify(inventory), "imported.yaml").ok).toBe(true);
  });

  test("a kernel version the image does not hold is reported, with what it holds", () => {
    const r = importWarewulf(nodesConf.replace("version: 5.14.0-427.13.1.el9_4.x86_64", "version: 6.9.0"), wwConfPaths, { interface: "eth1", imageKernels: scanImageKernels });
    const nv = path.join(chroots, "rockylinux-9-nvidia/rootfs");
    expect(r.inventory.images!["rockylinux-9-nvidia"]).toMatchObject({ kernelPath: `${nv}/boot/vmlinuz-6.9.0`, modulesDir: `${nv}/lib/modules/6.9.0` });
    expect(r.report.find((x) => x.where === "image rockylinux-9-nvidia")!.message).toMatch(/kernel version `6\.9\.0`, and no kernel of the image matches \(it holds \/boot\/vmlinuz-5\.14\.0-427/);
  });

  test("the CLI reads the chroots (--chroot-dir overrides warewulf.conf)", () => {
    const cli = path.join(REPO, "dist/scripts/import-warewulf.js");
    if (!fs.existsSync(cli)) throw new Error("run 'npm run build' first (npm test does it)");
    const r = spawnSync("node", [cli, path.join(FIX, "nodes.conf"), "--warewulf-conf", path.join(FIX, "warewulf.conf"), "--interface", "eth1", "--chroot-dir", chroots], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`kernelPath: ${chroots}/rockylinux-9/rootfs/boot/vmlinuz-5.14.0-427.13.1.el9_4.x86_64`);
    expect(r.stdout).toContain(`modulesDir: ${chroots}/rockylinux-9/rootfs/usr/lib/modules/5.14.0-427.13.1.el9_4.x86_64`);
  });
});
