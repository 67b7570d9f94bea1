import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CpioEntry, readCpio, writeCpio } from "../../provider/render/cpio";

const entries = (): CpioEntry[] => [
  { path: "/usr/bin/tool", type: "file", mode: 0o755, data: Buffer.from("#!/bin/sh\necho hi\n") },
  { path: "/etc/b.conf", type: "file", mode: 0o644, data: Buffer.from("abc") },
  { path: "/usr/lib/alias.so", type: "symlink", target: "real.so" },
  { path: "/usr/lib/real.so", type: "file", mode: 0o644, data: Buffer.alloc(5, 1) },
  { path: "/tmp", type: "dir", mode: 0o1777 },
  { path: "/dev/console", type: "chardev", mode: 0o600, major: 5, minor: 1 },
];

describe("newc cpio writer", () => {
  test("GNU cpio lists and extracts what was written: contents, modes, links, parents", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-cpio-"));
    const archive = writeCpio(entries());
    const list = spawnSync("cpio", ["-t", "--quiet"], { input: archive, encoding: "utf8" });
    expect(list.status).toBe(0);
    expect(list.stdout.trim().split("\n")).toEqual(["dev", "dev/console", "etc", "etc/b.conf", "tmp", "usr", "usr/bin", "usr/bin/tool", "usr/lib", "usr/lib/alias.so", "usr/lib/real.so"]);
    // -i without device nodes (mknod is fine as root, but keep the test about files)
    const noDev = writeCpio(entries().filter((e) => e.type !== "chardev"));
    const x = spawnSync("cpio", ["-i", "-d", "--quiet", "--no-absolute-filenames"], { input: noDev, cwd: dir });
    expect(x.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, "usr/bin/tool"), "utf8")).toBe("#!/bin/sh\necho hi\n");
    expect(fs.statSync(path.join(dir, "usr/bin/tool")).mode & 0o777).toBe(0o755);
    expect(fs.readlinkSync(path.join(dir, "usr/lib/alias.so"))).toBe("real.so");
    expect(fs.readFileSync(path.join(dir, "usr/lib/alias.so"))).toEqual(Buffer.alloc(5, 1));
  });

  test("byte-identical for the same entries in any order; uid/gid 0, fixed mtime, inodes in order", () => {
    const a = writeCpio(entries(), 1700000000);
    const b = writeCpio([...entries()].reverse(), 1700000000);
    expect(a.equals(b)).toBe(true);
    const read = readCpio(a);
    expect(read.map((e) => e.ino)).toEqual(read.map((_, i) => i + 1));
    expect(new Set(read.map((e) => `${e.uid}:${e.gid}:${e.mtime}`))).toEqual(new Set(["0:0:1700000000"]));
    expect(read.find((e) => e.name === "usr/bin")!.mode).toBe(0o040755);
    expect(read.find((e) => e.name === "dev/console")!.mode).toBe(0o020600);
    expect(a.length % 4).toBe(0);
    expect(writeCpio(entries(), 1).equals(a)).toBe(false);
  });

  test("rejects duplicates, .. and a file used as a folder", () => {
    expect(() => writeCpio([{ path: "/a", type: "dir", mode: 0o755 }, { path: "a", type: "dir", mode: 0o755 }])).toThrow(/twice/);
    expect(() => writeCpio([{ path: "/a/../b", type: "dir", mode: 0o755 }])).toThrow(/\.\./);
    expect(() => writeCpio([{ path: "/a", type: "file", mode: 0o644, data: Buffer.alloc(0) }, { path: "/a/b", type: "dir", mode: 0o755 }])).toThrow(/is a file/);
  });
});
