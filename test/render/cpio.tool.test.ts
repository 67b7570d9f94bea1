/** GNU cpio reads what the newc writer wrote (apt-get install cpio). The pure cases are in cpio.test.ts. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { writeCpio } from "../../provider/render/cpio";
import { entries } from "../helpers/cpioEntries";
import { requireTool, tmpDir } from "../helpers/env";

describe("newc cpio writer, read by GNU cpio", () => {
  test("GNU cpio lists and extracts what was written: contents, modes, links, parents", () => {
    const cpio = requireTool("cpio");
    const dir = tmpDir("cpio");
    const archive = writeCpio(entries());
    const list = spawnSync(cpio, ["-t", "--quiet"], { input: archive, encoding: "utf8" });
    expect(list.status).toBe(0);
    expect(list.stdout.trim().split("\n")).toEqual(["dev", "dev/console", "etc", "etc/b.conf", "tmp", "usr", "usr/bin", "usr/bin/tool", "usr/lib", "usr/lib/alias.so", "usr/lib/real.so"]);
    // -i without device nodes (mknod is fine as root, but keep the test about files)
    const noDev = writeCpio(entries().filter((e) => e.type !== "chardev"));
    const x = spawnSync(cpio, ["-i", "-d", "--quiet", "--no-absolute-filenames"], { input: noDev, cwd: dir });
    expect(x.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, "usr/bin/tool"), "utf8")).toBe("#!/bin/sh\necho hi\n");
    expect(fs.statSync(path.join(dir, "usr/bin/tool")).mode & 0o777).toBe(0o755);
    expect(fs.readlinkSync(path.join(dir, "usr/lib/alias.so"))).toBe("real.so");
    expect(fs.readFileSync(path.join(dir, "usr/lib/alias.so"))).toEqual(Buffer.alloc(5, 1));
  });
});
