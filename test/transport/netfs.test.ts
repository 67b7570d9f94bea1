/**
 * Unit tests of the network file system mount helper (provider/transport/netfs.ts) on an in-memory host:
 * what it checks before it mounts, and how a mounted volume's paths map to host paths (and, on a local host,
 * that its reads stop following symlinks at the mount point). The real mounts
 * (glusterfs FUSE against a brick) are proven in test/integration/bootImage.publish.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { LocalTransport } from "../../provider/transport/local";
import { MemoryTransport } from "../../provider/transport/memory";
import { PrefixTransport, withNetworkFs } from "../../provider/transport/netfs";
import { tmpDir } from "../helpers/env";

const ok = { code: 0, stdout: "", stderr: "" };
const no = { code: 1, stdout: "", stderr: "" };

test("a host without the glusterfs client fails with the package to install, before anything is made", async () => {
  const host = new MemoryTransport();
  host.execHandler = (argv) => (argv.join(" ").includes("command -v glusterfs") ? no : ok);
  await expect(withNetworkFs(host, { kind: "glusterfs", volfile: "volume v\nend-volume\n" }, async () => 1)).rejects.toThrow(/glusterfs is not installed on this host: run 'apt-get install glusterfs-client'/);
  expect(host.execLog.some((a) => a[0] === "mktemp" || a[0] === "glusterfs")).toBe(false);
});

test("a kernel without an NFSv4 client fails with what to do instead, before anything is mounted", async () => {
  const host = new MemoryTransport();
  host.execHandler = (argv) => (argv.join(" ").includes("/proc/filesystems") ? no : ok);
  const err = await withNetworkFs(host, { kind: "nfs", export: "10.0.0.5:/export" }, async () => 1).catch((e) => e as Error);
  expect(String(err)).toMatch(/10\.0\.0\.5:\/export: the kernel of this host has no NFSv4 client/);
  expect(String(err)).toMatch(/publishHost/);
  expect(String(err)).toMatch(/publishImage: false/);
  expect(host.execLog.some((a) => a[0] === "mktemp" || a[0] === "mount")).toBe(false);
});

test("nfs: mounts with NFSv4.1, hands volume paths below the mount point, unmounts and cleans up after a failed work", async () => {
  const host = new MemoryTransport();
  host.execHandler = (argv) => (argv[0] === "mktemp" ? { code: 0, stdout: "/tmp/netboot-netfs.abc\n", stderr: "" } : ok);
  const err = await withNetworkFs(host, { kind: "nfs", export: "10.0.0.5:/export" }, async (m) => {
    expect(m.hostPath("/images/x")).toBe("/tmp/netboot-netfs.abc/mnt/images/x");
    await m.fs.put("/images/x/a.tar.gz", "data", { mode: 0o644 });
    throw new Error("work failed");
  }).catch((e) => e as Error);
  expect(String(err)).toMatch(/work failed/);
  expect(host.files.get("/tmp/netboot-netfs.abc/mnt/images/x/a.tar.gz")?.data.toString()).toBe("data");
  const cmds = host.execLog.map((a) => a.join(" "));
  expect(cmds).toContain("mount -t nfs4 -o vers=4.1,soft,timeo=100,retrans=2,retry=0 10.0.0.5:/export /tmp/netboot-netfs.abc/mnt");
  expect(cmds).toContain("umount /tmp/netboot-netfs.abc/mnt");
  expect(cmds[cmds.length - 1]).toBe("rm -rf --one-file-system /tmp/netboot-netfs.abc");
});

test("a prefixed transport refuses paths that would leave the volume", async () => {
  const t = new PrefixTransport(new MemoryTransport(), "/mnt/v", "(test)");
  expect(t.fullPath("/a/b")).toBe("/mnt/v/a/b");
  expect(() => t.fullPath("/a/../../etc")).toThrow(/without `\.\.`/);
  expect(() => t.fullPath("relative")).toThrow(/absolute/);
});

test("a batch of reads on a volume is confined at the mount point: nothing through a symlinked folder on it", async () => {
  const mnt = tmpDir("netfs-batch");
  const outside = tmpDir("netfs-batch-out");
  fs.writeFileSync(path.join(outside, "k"), "OUTSIDE\n");
  fs.mkdirSync(path.join(mnt, "boot/real"), { recursive: true });
  fs.writeFileSync(path.join(mnt, "boot/real/k"), "on the volume\n");
  fs.symlinkSync(outside, path.join(mnt, "boot/linked"));
  const t = new PrefixTransport(new LocalTransport(), mnt, "(test)");
  const found = await t.readMany([{ path: "/boot/real/k" }, { path: "/boot/linked/k" }, { path: "/boot/linked" }]);
  expect(found.map((r) => r?.data?.toString())).toEqual(["on the volume\n", undefined, undefined]);
  expect(found.map((r) => r?.stat.type)).toEqual(["file", undefined, "symlink"]);
});
