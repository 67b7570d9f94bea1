/**
 * BootImage with transport nfs and with the kexec hand-off, booted under QEMU (TCG, the build host's Debian
 * kernel) in a private network namespace, with one NFS-Ganesha server (FSAL_VFS, NFSv4.1 only on TCP 2049,
 * no rpcbind) exporting <dir>/export as /export:
 * 1. nfs, RAM mode, switch_root: the initramfs mounts the export with NFSv4.1, unpacks
 *    /export/images/nfs/image.tar.gz into a tmpfs and switch_roots; the image's init prints the root's fs type.
 * 2. nfs, RAM mode, kexec: the image holds /vmlinuz (the host kernel) and /initrd.img (static busybox whose
 *    /init prints KEXEC-INIT-OK); the initramfs kexecs into them and the second kernel's initrd prints its marker.
 * The image tarballs are put on the export by the test (publishing to NFS is not the provider's job here).
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { Plan } from "../../provider/build/plan";
import { buildImage, buildInitrd } from "../../provider/build/initramfs";
import { writeCpio } from "../../provider/render/cpio";
import { createLab, Lab } from "../helpers/qemu";
import { Ganesha, startGanesha } from "../helpers/ganesha";
import { HYBRID_PATH, KVER, makeImage, testPlan } from "../helpers/osImage";
import { requireTool, sh, tmpDir } from "../helpers/env";

jest.setTimeout(900_000);


function baseImage(root: string, init: string): void {
  for (const d of ["bin", "sbin", "proc", "sys", "dev", "run", "tmp"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.copyFileSync(requireTool("busybox"), path.join(root, "bin/busybox"));
  fs.chmodSync(path.join(root, "bin/busybox"), 0o755);
  fs.symlinkSync("busybox", path.join(root, "bin/sh"));
  fs.writeFileSync(path.join(root, "sbin/init"), init, { mode: 0o755 });
}

/** A tiny OS image for switch_root: its init reports the root's file system type and powers off. */
function makeSwitchRootImage(root: string): void {
  baseImage(root, `#!/bin/sh
B=/bin/busybox
echo "IMAGE-INIT pid=$$ root=$($B awk '$2=="/"{t=$3} END{print t}' /proc/mounts)"
echo "IMAGE-DONE"
$B poweroff -f
`);
}

/**
 * A tiny OS image for kexec: /vmlinuz (the host kernel) and /initrd.img, a gzip newc archive whose /init is
 * static busybox printing a marker with the running kernel and its command line, then powering off.
 * /sbin/init is there too, as a trap: it prints IMAGE-INIT, which must not appear (kexec never runs it).
 */
function makeKexecImage(root: string): void {
  baseImage(root, "#!/bin/sh\necho 'IMAGE-INIT (not expected: kexec boots /vmlinuz)'\n/bin/busybox poweroff -f\n");
  fs.copyFileSync(`/boot/vmlinuz-${KVER}`, path.join(root, "vmlinuz"));
  const init = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "KEXEC-INIT-OK kernel=$(/bin/busybox uname -r) cmdline=$(/bin/busybox cat /proc/cmdline)"
/bin/busybox poweroff -f
`;
  const cpio = writeCpio([
    { path: "/bin/busybox", type: "file", mode: 0o755, data: fs.readFileSync(requireTool("busybox")) },
    { path: "/init", type: "file", mode: 0o755, data: Buffer.from(init) },
    { path: "/proc", type: "dir", mode: 0o755 },
    { path: "/dev", type: "dir", mode: 0o755 },
    { path: "/dev/console", type: "chardev", mode: 0o600, major: 5, minor: 1 },
  ], 0);
  fs.writeFileSync(path.join(root, "initrd.img"), zlib.gzipSync(cpio, { level: 9 }));
}

const plan = testPlan;

describe("BootImage nfs transport and kexec hand-off boot under QEMU", () => {
  let lab: Lab;
  let dir: string;
  let exportDir: string;
  let nfs: Ganesha;

  beforeAll(async () => {
    // a missing ganesha.nfsd / nfs-ganesha-vfs fails here with the package to install; a missing kexec fails
    // the kexec test through the plan ("kexec is missing on the build host ...: run 'apt-get install kexec-tools'")
    requireTool("ganesha.nfsd");
    dir = tmpDir("bootimage-nfs");
    exportDir = path.join(dir, "export");
    fs.mkdirSync(exportDir);
    lab = createLab(43);
    nfs = await startGanesha(lab, path.join(dir, "ganesha"), [{ path: exportDir, pseudo: "/export" }]);
  });

  afterAll(async () => {
    await lab?.close();
  });

  /** Builds image and initrd, puts the tarball at <export>/<imagePath>/image.tar.gz, boots, returns the log. */
  async function bootNfs(name: string, imageRoot: string, handoff: "switch_root" | "kexec", mac: string, until: RegExp): Promise<{ p: Plan; log: string; seconds: number }> {
    const imagePath = `/images/${name}`;
    const p = plan(name, { imageSource: imageRoot, transport: "nfs", nfsExport: nfs.nfsExport, imagePath, mode: "ram", handoff, onFailure: "reboot" });
    const onNfs = path.join(exportDir, imagePath);
    fs.mkdirSync(onNfs, { recursive: true });
    fs.writeFileSync(path.join(onNfs, "image.tar.gz"), (await buildImage(p.image)).data);
    const initrd = await buildInitrd(p);
    const initrdPath = path.join(dir, `${name}-${initrd.fileName}`);
    fs.writeFileSync(initrdPath, initrd.data);
    const t0 = Date.now();
    const log = await lab.boot({
      name, kernel: p.kernelPath, initrd: initrdPath, mac, until, timeoutMs: 300_000,
      append: `console=ttyS0 panic=-1 BOOTIF=01-${mac.replace(/:/g, "-")} netboot.node=${name}`,
    });
    const seconds = (Date.now() - t0) / 1000;
    fs.writeFileSync(path.join(dir, `${name}.result.log`), log);
    console.log(`${name}: booted in ${seconds.toFixed(1)} s (console log ${path.join(dir, `${name}.result.log`)})`);
    return { p, log, seconds };
  }

  test("nfs ram switch_root: mounts the Ganesha export with NFSv4.1, root in RAM, image init runs", async () => {
    const root = path.join(dir, "image-nfs");
    makeSwitchRootImage(root);
    const { p, log } = await bootNfs("nfsram", root, "switch_root", "52:54:00:89:43:10", /IMAGE-DONE|FAILED/);
    // the initramfs carries the NFSv4 client and its modules.dep closure
    for (const m of ["sunrpc", "nfs", "nfsv4"]) expect(p.init.modules.some((x) => x.endsWith(`/${m}.ko`) || x.endsWith(`/${m}.ko.xz`))).toBe(true);
    expect(log).toMatch(/netboot: mounting nfs/);
    expect(log).not.toMatch(/netboot: FAILED/);
    expect(log).toMatch(/netboot: unpacking the OS image into RAM/);
    expect(log).toMatch(/netboot: switching root/);
    expect(log).toMatch(/IMAGE-INIT pid=1 root=tmpfs/);
    expect(log).toMatch(/IMAGE-DONE/);
    // the only listeners in the lab: Ganesha on TCP 2049 and dnsmasq's DHCP (no rpcbind, mountd, NLM, RQUOTA)
    const listeners = sh(`ip netns exec ${lab.ns} ss -Htulnp`).out.trim().split("\n");
    const others = listeners.filter((l) => !/"dnsmasq"/.test(l)).map((l) => l.split(/\s+/));
    expect(others.map((f) => `${f[0]} ${f[4].replace(/^\[::ffff:(.*)\]/, "$1")}`)).toEqual([`tcp ${lab.serverIp}:2049`]);
  });

  test("nfs hybrid: the hybrid path stays on the NFS export (bind mount), the rest in RAM", async () => {
    const root = makeImage(path.join(dir, "hybrid-src"), "only-on-nfs");
    const p = plan("nfshyb", { imageSource: root, transport: "nfs", nfsExport: nfs.nfsExport, imagePath: "/images/nfshyb", mode: "hybrid", hybridPaths: [HYBRID_PATH], onFailure: "reboot" });
    // laid out as NetworkImage publishes it, under the default names the init reads without netboot.image=/root=
    const onNfs = path.join(exportDir, "images/nfshyb");
    fs.mkdirSync(path.join(onNfs, "root", path.dirname(HYBRID_PATH)), { recursive: true });
    fs.writeFileSync(path.join(onNfs, "image.tar.gz"), (await buildImage(p.image)).data);
    sh(`cp -a ${root}${HYBRID_PATH} ${onNfs}/root${path.dirname(HYBRID_PATH)}/`);
    const initrd = await buildInitrd(p);
    const initrdPath = path.join(dir, `nfshyb-${initrd.fileName}`);
    fs.writeFileSync(initrdPath, initrd.data);
    const log = await lab.boot({
      name: "nfshyb", kernel: p.kernelPath, initrd: initrdPath, mac: "52:54:00:89:43:13", until: /IMAGE-DONE|FAILED/, timeoutMs: 300_000,
      append: "console=ttyS0 panic=-1 BOOTIF=01-52-54-00-89-43-13",
    });
    fs.writeFileSync(path.join(dir, "nfshyb.result.log"), log);
    expect(log).not.toMatch(/netboot: FAILED/);
    expect(log).toMatch(/netboot: hybrid: \/usr\/share\/netboot-test stay on nfs/);
    expect(log).toMatch(/IMAGE-INIT pid=1 root=tmpfs/);
    expect(log).toMatch(/HYBRID-FILE: only-on-nfs/);
    expect(log).toMatch(/HYBRID-MOUNT: nfs4/);
  });

  test("a missing image folder on the export: one FAILED line naming it, then the node reboots (onFailure reboot)", async () => {
    const root = path.join(dir, "image-missing");
    makeSwitchRootImage(root);
    const p = plan("missing", { imageSource: root, transport: "nfs", nfsExport: nfs.nfsExport, imagePath: "/images/not-published", mode: "ram", onFailure: "reboot" });
    const initrd = await buildInitrd(p);
    const initrdPath = path.join(dir, `missing-${initrd.fileName}`);
    fs.writeFileSync(initrdPath, initrd.data);
    // runs until QEMU exits: the init's `reboot -f` ends it (-no-reboot)
    const log = await lab.boot({
      name: "missing", kernel: p.kernelPath, initrd: initrdPath, mac: "52:54:00:89:43:12", until: /reboot: Restarting system/, timeoutMs: 180_000,
      append: "console=ttyS0 panic=-1 BOOTIF=01-52-54-00-89-43-12",
    });
    fs.writeFileSync(path.join(dir, "missing.result.log"), log);
    const failed = log.split("\n").filter((l) => l.includes("netboot: FAILED"));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/imagePath \/images\/not-published: .*not-published is not a folder on the nfs export/);
    expect(log).toMatch(/netboot: rebooting in 10 seconds/);
    expect(log).toMatch(/reboot: Restarting system/);
    expect(log).not.toMatch(/IMAGE-INIT/);
  });

  test("nfs ram kexec: kexecs into the image's /vmlinuz with its /initrd.img", async () => {
    const root = path.join(dir, "image-kexec");
    makeKexecImage(root);
    const { p, log } = await bootNfs("kexec", root, "kexec", "52:54:00:89:43:11", /KEXEC-INIT-OK.*\n|FAILED/);
    expect(p.files.some((f) => /\/kexec$/.test(f.path) && f.type === "file")).toBe(true);
    expect(log).toMatch(/netboot: mounting nfs/);
    expect(log).not.toMatch(/netboot: FAILED/);
    expect(log).toMatch(/netboot: kexec into the image's kernel/);
    expect(log).not.toMatch(/IMAGE-INIT/);
    // a second kernel started, with the first one's command line, and ran the image's initrd
    expect(log.match(/Linux version /g)?.length).toBe(2);
    expect(log).toMatch(new RegExp(`KEXEC-INIT-OK kernel=${KVER.replace(/\./g, "\\.")} cmdline=.*netboot\\.node=kexec`));
  });
});
