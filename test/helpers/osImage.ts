/**
 * A tiny OS image for boot tests: static busybox and an /sbin/init that reports what it sees (the root's file
 * system type, a file that lives only under the hybrid path) and powers off.
 */
import * as fs from "fs";
import * as path from "path";
import { Issues } from "../../provider/model/errors";
import { buildBootImageModel } from "../../provider/model/bootImage";
import { Plan, planInitramfs } from "../../provider/build/plan";
import { requireTool } from "./env";

export const HYBRID_PATH = "/usr/share/netboot-test";

export function makeImage(dir: string, hybridText = "only-on-the-volume"): string {
  const root = path.join(dir, "image");
  fs.mkdirSync(path.join(root, "bin"), { recursive: true });
  fs.mkdirSync(path.join(root, "sbin"), { recursive: true });
  fs.mkdirSync(path.join(root, HYBRID_PATH), { recursive: true });
  for (const d of ["proc", "sys", "dev", "run", "tmp"]) fs.mkdirSync(path.join(root, d));
  fs.copyFileSync(requireTool("busybox"), path.join(root, "bin/busybox"));
  fs.chmodSync(path.join(root, "bin/busybox"), 0o755);
  fs.symlinkSync("busybox", path.join(root, "bin/sh"));
  fs.writeFileSync(path.join(root, "sbin/init"), `#!/bin/sh
B=/bin/busybox
echo "IMAGE-INIT pid=$$ root=$($B awk '$2=="/"{t=$3} END{print t}' /proc/mounts)"
if [ -f ${HYBRID_PATH}/hybrid.txt ]; then echo "HYBRID-FILE: $($B cat ${HYBRID_PATH}/hybrid.txt)"; else echo "HYBRID-FILE: none"; fi
echo "HYBRID-MOUNT: $($B awk '$2=="${HYBRID_PATH}"{print $3}' /proc/mounts)"
echo "IMAGE-DONE"
$B poweroff -f
`, { mode: 0o755 });
  fs.writeFileSync(path.join(root, HYBRID_PATH, "hybrid.txt"), `${hybridText}\n`);
  return root;
}

/** The newest kernel release of the build host that has both /boot/vmlinuz-<release> and its modules. */
export const KVER = fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop()!;

/** The build plan of a BootImage (as the Initramfs resource computes it), or an error naming every issue. */
export function testPlan(name: string, args: any): Plan {
  const issues = new Issues(`BootImage "${name}"`);
  const m = buildBootImageModel(name, { kernelVersion: KVER, ...args }, issues);
  const p = m && planInitramfs(m, issues);
  if (!p) throw new Error(issues.list.map((i) => `${i.field}: ${i.message}`).join("\n"));
  return p;
}
