// Pure: bytes in, bytes out. GNU cpio reading the same archives is cpio.tool.test.ts.
import { readCpio, writeCpio } from "../../provider/render/cpio";
import { entries } from "../helpers/cpioEntries";

describe("newc cpio writer", () => {
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
