/**
 * Initramfs benchmark: ours (volfile-driven) against "copy every xlator" and against dracut's generic network
 * image, same kernel, same glusterfs, same NIC and fuse drivers, zstd for all. One run each, side by side;
 * results printed as ratios. Usage: see bench/initramfs/README.md.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Issues } from "../../provider/model/errors";
import { buildBootImageModel, DEFAULT_NIC_MODULES } from "../../provider/model/bootImage";
import { planInitramfs } from "../../provider/build/plan";
import { buildInitrd } from "../../provider/build/initramfs";
import { parseCli } from "../../scripts/_cli";

// No flags: the kernel comes from $KVER (else the newest with a /boot/vmlinuz-*); a stray argument is a mistake.
parseCli("bench:initramfs", "usage: [KVER=<kernel version>] npm run bench:initramfs", {});

const KVER = process.env.KVER ?? fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop()!;
const VOL = fs.readFileSync(path.join(__dirname, "../../test/build/fixtures/client.vol"), "utf8").replace(/@HOST@/g, "10.89.44.1").replace(/@PORT@/g, "24904").replace(/@BRICK@/g, "/b");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-bench-"));
process.env.NETBOOT_CACHE_DIR = path.join(work, "cache");
fs.mkdirSync(path.join(work, "image/sbin"), { recursive: true });
fs.writeFileSync(path.join(work, "image/sbin/init"), "#!/bin/sh\n");

function model(extraXlators: string[] = []) {
  const issues = new Issues("bench");
  const m = buildBootImageModel("bench", { kernelVersion: KVER, imageSource: path.join(work, "image"), transport: "glusterfs", glusterVolfile: VOL }, issues);
  if (!m) throw new Error(JSON.stringify(issues.list));
  m.xlators = [...new Set([...m.xlators, ...extraXlators])];
  return m;
}

async function ours(m: ReturnType<typeof model>, cache: boolean) {
  const t0 = process.hrtime.bigint();
  const issues = new Issues("bench");
  const p = planInitramfs(m, issues);
  if (!p) throw new Error(JSON.stringify(issues.list));
  const b = await buildInitrd(p, { noCache: !cache });
  return { size: b.data.length, seconds: Number(process.hrtime.bigint() - t0) / 1e9, cached: b.cached, files: p.files.length };
}

function allXlators(): string[] {
  const base = `/usr/lib/x86_64-linux-gnu/glusterfs`;
  const ver = fs.readdirSync(base).filter((n) => /^[0-9]/.test(n)).sort().pop()!;
  const root = path.join(base, ver);
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const n of fs.readdirSync(dir)) {
      const full = path.join(dir, n);
      if (fs.statSync(full).isDirectory()) walk(full, rel ? `${rel}/${n}` : n);
      else if (n.endsWith(".so")) out.push(`${rel ? rel + "/" : ""}${n.slice(0, -3)}`);
    }
  };
  walk(path.join(root, "xlator"), "");
  // auth and every rpc-transport too ("copy them all"), reached from the xlator folder
  for (const d of ["auth", "rpc-transport"]) for (const n of fs.readdirSync(path.join(root, d))) if (n.endsWith(".so")) out.push(`../${d}/${n.slice(0, -3)}`);
  return out;
}

function dracut() {
  const out = path.join(work, "dracut.img");
  const t0 = process.hrtime.bigint();
  execFileSync("dracut", ["--no-hostonly", "--force", "--quiet", "--zstd", "-m", "base network nfs", "--add-drivers", [...DEFAULT_NIC_MODULES, "fuse"].join(" "), out, KVER], { stdio: "inherit" });
  return { size: fs.statSync(out).size, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

(async () => {
  const mb = (n: number) => (n / 1e6).toFixed(2) + " MB";
  const first = await ours(model(), true);
  const second = await ours(model(), true);
  const all = await ours(model(allXlators()), false);
  const d = dracut();
  console.log(`kernel ${KVER}, glusterfs from the build host, zstd; NIC drivers ${DEFAULT_NIC_MODULES.join(" ")} + fuse\n`);
  console.log(`ours            ${mb(first.size).padStart(10)}  ${first.seconds.toFixed(2)} s  (${first.files} entries)`);
  console.log(`ours, 2nd build ${mb(second.size).padStart(10)}  ${second.seconds.toFixed(2)} s  (cached: ${second.cached}; plan only, no archive or compression)`);
  console.log(`copy every xlator ${mb(all.size).padStart(8)}  ${all.seconds.toFixed(2)} s`);
  console.log(`dracut          ${mb(d.size).padStart(10)}  ${d.seconds.toFixed(2)} s  (--no-hostonly -m "base network nfs")\n`);
  console.log(`size  ours/dracut          ${(first.size / d.size).toFixed(3)}   (aim <= 0.25)`);
  console.log(`size  ours/copy-everything ${(first.size / all.size).toFixed(3)}   (aim <= 0.35)`);
  console.log(`time  ours/dracut          ${(first.seconds / d.seconds).toFixed(3)}   (aim <= 0.25)`);
  console.log(`time  2nd build/1st build  ${(second.seconds / first.seconds).toFixed(3)}   (cached: ${second.cached})`);
  fs.rmSync(work, { recursive: true, force: true });
})();
