import { CpioEntry } from "../../provider/render/cpio";

/** One entry of each kind the writer knows, shared by cpio.test.ts (pure) and cpio.tool.test.ts (GNU cpio). */
export const entries = (): CpioEntry[] => [
  { path: "/usr/bin/tool", type: "file", mode: 0o755, data: Buffer.from("#!/bin/sh\necho hi\n") },
  { path: "/etc/b.conf", type: "file", mode: 0o644, data: Buffer.from("abc") },
  { path: "/usr/lib/alias.so", type: "symlink", target: "real.so" },
  { path: "/usr/lib/real.so", type: "file", mode: 0o644, data: Buffer.alloc(5, 1) },
  { path: "/tmp", type: "dir", mode: 0o1777 },
  { path: "/dev/console", type: "chardev", mode: 0o600, major: 5, minor: 1 },
];
