/**
 * The closure resolver and the ELF reader on this machine's own binaries: the glusterfs client, busybox and the
 * installed kernel (apt-get install glusterfs-client busybox-static; a kernel in /boot). Integration project:
 * it needs those installed. The pure cases are in closure.test.ts.
 */
import * as fs from "fs";
import { Closure, parseLdSoConf } from "../../provider/build/closure";
import { elfDeps, bzImageVersion } from "../../provider/build/elf";
import { hostFs } from "../../provider/build/hostFs";
import { requireTool } from "../helpers/env";

describe("closure resolver on the host", () => {
  test("the real glusterfs binary: DT_NEEDED closure with interpreter and reasons, every ELF's needs met", () => {
    requireTool("glusterfs");
    const libDirs = [...parseLdSoConf((p) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : undefined), (d) => (fs.existsSync(d) ? fs.readdirSync(d) : [])), "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"];
    const c = new Closure(hostFs, libDirs);
    c.addElf("/usr/sbin/glusterfs", "the client");
    const files = c.sorted().filter((e) => e.type === "file");
    const names = new Set(c.sorted().map((e) => e.path.split("/").pop()));
    expect(names).toContain("glusterfsd");
    expect(names).toContain("libglusterfs.so.0");
    expect(names).toContain("libc.so.6");
    expect(names).toContain("ld-linux-x86-64.so.2");
    expect(c.entries.get("/usr/sbin/glusterfs")).toMatchObject({ type: "symlink", target: "glusterfsd" });
    // every DT_NEEDED of every copied ELF is present by that name
    for (const f of files) {
      const b = fs.readFileSync(f.path);
      if (b.readUInt32BE(0) !== 0x7f454c46) continue;
      for (const n of elfDeps(b).needed) expect(names).toContain(n);
    }
    expect(files.find((f) => f.path.endsWith("/libc.so.6"))!.reason).toMatch(/^needed by /);
  });

  test("ELF reader: a static binary has no interpreter; the kernel's bzImage carries its release", () => {
    const bb = elfDeps(fs.readFileSync(requireTool("busybox")));
    expect(bb.interp).toBeUndefined();
    expect(bb.needed).toEqual([]);
    const k = fs.readdirSync("/boot").find((f) => f.startsWith("vmlinuz-"))!;
    expect(bzImageVersion(fs.readFileSync(`/boot/${k}`))).toBe(k.slice("vmlinuz-".length));
  });
});
