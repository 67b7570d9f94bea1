// Pure: fake trees and texts. The same code on this machine's binaries is closure.tool.test.ts.
import { Closure, FsNode, FsView, moduleClosure, parseModulesDep } from "../../provider/build/closure";

/** A fake tree: path -> node (files hold their bytes). */
function fakeFs(tree: Record<string, FsNode | Buffer>): FsView {
  return {
    lstat: (p) => {
      const n = tree[p];
      if (n === undefined) return Object.keys(tree).some((k) => k.startsWith(p + "/")) ? { type: "dir", mode: 0o755 } : undefined;
      return Buffer.isBuffer(n) ? { type: "file", mode: 0o644, size: n.length } : n;
    },
    read: (p) => {
      const n = tree[p];
      if (!Buffer.isBuffer(n)) throw new Error(`not a file: ${p}`);
      return n;
    },
  };
}

describe("closure resolver", () => {
  test("keeps the host layout: folder links, alias links and their targets", () => {
    const c = new Closure(fakeFs({
      "/lib": { type: "symlink", target: "usr/lib" },
      "/usr/lib/gl/xlator/cluster/replicate.so": { type: "symlink", target: "afr.so" },
      "/usr/lib/gl/xlator/cluster/afr.so": Buffer.from("not elf"),
    }), []);
    expect(c.add("/lib/gl/xlator/cluster/replicate.so", "named by the volfile")).toBe("/usr/lib/gl/xlator/cluster/afr.so");
    expect(c.sorted().map((e) => [e.path, e.type, e.type === "symlink" ? e.target : e.reason])).toEqual([
      ["/lib", "symlink", "usr/lib"],
      ["/usr/lib/gl/xlator/cluster/afr.so", "file", "named by the volfile"],
      ["/usr/lib/gl/xlator/cluster/replicate.so", "symlink", "afr.so"],
    ]);
    expect(c.add("/lib/missing.so", "x")).toBeUndefined();
    expect(c.exists("/lib/gl/xlator/cluster/replicate.so")).toBe(true);
    expect(c.exists("/lib/gl/xlator/cluster/nope.so")).toBe(false);
  });

  test("modules.dep closure: dependencies first, builtin modules need nothing, unknown ones reported", () => {
    const dep = parseModulesDep([
      "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko",
      "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko",
      "kernel/net/core/failover.ko:",
      "kernel/fs/fuse/fuse.ko:",
    ].join("\n"));
    const r = moduleClosure(dep, "kernel/drivers/block/virtio_blk.ko\n", [["virtio-net", "NIC"], ["fuse", "FUSE"], ["virtio_blk", "disk"], ["nope", "x"]]);
    expect(r.order).toEqual(["kernel/net/core/failover.ko", "kernel/drivers/net/net_failover.ko", "kernel/drivers/net/virtio_net.ko", "kernel/fs/fuse/fuse.ko"]);
    expect(r.reasons.get("kernel/net/core/failover.ko")).toBe("module dependency of net_failover");
    expect(r.reasons.get("kernel/drivers/net/virtio_net.ko")).toBe("NIC");
    expect(r.builtin).toEqual(["virtio_blk"]);
    expect(r.missing).toEqual(["nope"]);
  });
});
