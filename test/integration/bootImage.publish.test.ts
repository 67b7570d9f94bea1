/**
 * `pulumi up` publishes the OS image onto a GlusterFS volume, and a node boots from what it published.
 *
 * A standalone brick (glusterfsd -f) serves a volume inside a private network namespace; the Pulumi engine and
 * the netboot provider run inside that namespace too (`ip netns exec ... pulumi`), as they would on a build host
 * that reaches the storage network. One program, one BootImage (glusterfs, hybrid):
 * 1. up builds kernel + initramfs (local target root) and mounts the volume to publish
 *    `image-<sha12>.tar.gz` and `root-<sha12>/usr/share/netboot-test`; QEMU (TCG) boots the published kernel
 *    and initramfs with the published args: root in RAM, the hybrid file read from the volume.
 * 2. preview and refresh with unchanged inputs: no changes.
 * 3. drift: the tarball removed on the volume shows on refresh; up puts it back.
 * 4. a changed hybrid file: preview shows the NetworkImage update, up publishes a new tree and keeps the
 *    previous one (nodes running it keep their mounts); a second change removes the oldest.
 * 5. destroy removes what was published.
 */
import * as fs from "fs";
import * as path from "path";
import { cliProject, CliProject } from "../helpers/engine";
import { REPO, requireTool, sh, tmpDir } from "../helpers/env";
import { localTreeDigest } from "../../provider/build/tree";
import { createLab, Lab } from "../helpers/qemu";
import { HYBRID_PATH, makeImage } from "../helpers/osImage";

jest.setTimeout(900_000);

const KVER = fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop()!;
const FIX = path.join(__dirname, "..", "build", "fixtures");
const PORT = 24945;
const SUBNET = 45;

describe("BootImage publishes its OS image onto a GlusterFS volume (real engine, real brick, QEMU boot)", () => {
  let lab: Lab;
  let dir: string;
  let brick: string;
  let image: string;
  let root: string;
  let p: CliProject;
  const onVolume = () => path.join(brick, "images/gl");
  const listVolume = () => (fs.existsSync(onVolume()) ? fs.readdirSync(onVolume()).filter((n) => !n.startsWith(".")).sort() : []);
  const run = (...args: string[]) => {
    const r = p.run(args);
    fs.appendFileSync(path.join(dir, "pulumi.log"), `$ pulumi ${args.join(" ")}\n${r.out}\n`);
    return r;
  };
  const ok = (...args: string[]) => {
    const r = run(...args);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed:\n${r.out}`);
    return r.out;
  };
  const outputs = () => JSON.parse(ok("stack", "output", "--json", "--show-secrets"));

  beforeAll(() => {
    requireTool("glusterfsd");
    requireTool("glusterfs");
    dir = tmpDir("bootimage-publish");
    image = makeImage(dir);
    root = path.join(dir, "target");
    brick = path.join(dir, "brick");
    fs.mkdirSync(brick);
    lab = createLab(SUBNET);
    const sub = (t: string) => t.replace(/@BRICK@/g, brick).replace(/@PORT@/g, String(PORT)).replace(/@HOST@/g, lab.serverIp);
    fs.writeFileSync(path.join(dir, "brick.vol"), sub(fs.readFileSync(path.join(FIX, "brick.vol"), "utf8")));
    lab.start("glusterfsd", ["glusterfsd", "-N", "-f", path.join(dir, "brick.vol"), "-l", path.join(dir, "brick.log"), "--brick-port", String(PORT)]);
    const cfg = { root, image, kver: KVER, volfile: sub(fs.readFileSync(path.join(FIX, "client.vol"), "utf8")), httpBaseUrl: `http://${lab.serverIp}:8089/` };
    fs.writeFileSync(path.join(dir, "client.vol"), cfg.volfile);
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(cfg));
    p = cliProject("bootimage-publish", `
import * as fs from "fs";
import * as netboot from "${REPO}/sdk/nodejs";
const cfg = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, "config.json"))}, "utf8"));
const img = new netboot.BootImage("gl", {
  server: { host: { root: cfg.root }, httpRoot: "/srv/http", httpBaseUrl: cfg.httpBaseUrl } as any,
  kernelVersion: cfg.kver,
  imageSource: cfg.image,
  transport: "glusterfs",
  glusterVolfile: cfg.volfile,
  imagePath: "/images/gl",
  mode: "hybrid",
  hybridPaths: ["${HYBRID_PATH}"],
  compression: "gzip",
});
export const boot = img.boot;
export const imageFile = img.imageFile;
export const rootDir = img.rootDir;
`, { netns: lab.ns });
  });

  afterAll(async () => {
    if (p) {
      run("destroy", "--yes");
      p.remove();
    }
    await lab?.close();
  });

  test("up publishes image and hybrid tree on the volume; a node boots from them", async () => {
    ok("up", "--yes", "--skip-preview");
    const o = outputs();
    expect(o.imageFile).toMatch(/^image-[0-9a-f]{12}\.tar\.gz$/);
    expect(o.rootDir).toMatch(/^root-[0-9a-f]{12}$/);
    expect(listVolume()).toEqual([o.imageFile, o.rootDir].sort());
    expect(fs.readFileSync(path.join(onVolume(), o.rootDir, HYBRID_PATH, "hybrid.txt"), "utf8")).toBe("only-on-the-volume\n");
    expect(o.boot.args).toContain(`netboot.image=${o.imageFile} netboot.root=${o.rootDir}`);

    const local = (u: string) => path.join(root, "srv/http", u.slice(o.boot.kernelUrl.indexOf("/images/")));
    const log = await lab.boot({
      name: "published", kernel: local(o.boot.kernelUrl), initrd: local(o.boot.initrdUrl), mac: "52:54:00:89:45:10", until: /IMAGE-DONE|FAILED/,
      append: `${o.boot.args} panic=-1 BOOTIF=01-52-54-00-89-45-10`,
    });
    fs.writeFileSync(path.join(dir, "boot.result.log"), log);
    expect(log).not.toMatch(/netboot: FAILED/);
    expect(log).toMatch(/IMAGE-INIT pid=1 root=tmpfs/);
    expect(log).toMatch(/HYBRID-FILE: only-on-the-volume/);
    expect(log).toMatch(/HYBRID-MOUNT: fuse/);
  });

  test("unchanged inputs: preview and refresh show no changes", () => {
    ok("preview", "--expect-no-changes");
    ok("refresh", "--yes", "--expect-no-changes");
  });

  test("a tarball removed on the volume shows on refresh; up puts it back", () => {
    const { imageFile } = outputs();
    const file = path.join(onVolume(), imageFile);
    const good = fs.readFileSync(file);
    fs.rmSync(file);
    const r = run("refresh", "--yes", "--expect-no-changes");
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/netboot:index:NetworkImage/);
    ok("up", "--yes", "--skip-preview");
    expect(fs.readFileSync(file)).toEqual(good);
    ok("preview", "--expect-no-changes");
  });

  test("a changed hybrid file publishes a new tree (over what an interrupted apply left), keeps one previous generation, removes older ones", async () => {
    const first = outputs();
    fs.writeFileSync(path.join(image, HYBRID_PATH, "hybrid.txt"), "second\n");
    fs.writeFileSync(path.join(image, HYBRID_PATH, "static.txt"), "unchanged from here on\n");
    // an apply interrupted while it wrote this generation left its temp tree behind (written through a FUSE mount)
    const next = `root-${(await localTreeDigest(image, [HYBRID_PATH])).slice(0, 12)}`;
    const mnt = path.join(dir, "mnt");
    fs.mkdirSync(mnt, { recursive: true });
    sh(`ip netns exec ${lab.ns} sh -c 'glusterfs --volfile=${dir}/client.vol -l ${dir}/fuse.log ${mnt} && for i in $(seq 40); do [ "$(stat -c %i ${mnt})" = 1 ] && ls ${mnt} >/dev/null 2>&1 && break; sleep 0.5; done && mkdir -p ${mnt}/images/gl/.${next}.tmp${HYBRID_PATH} && echo partial > ${mnt}/images/gl/.${next}.tmp${HYBRID_PATH}/hybrid.txt && echo junk > ${mnt}/images/gl/.${next}.tmp/junk; umount ${mnt}'`);
    expect(fs.existsSync(path.join(onVolume(), `.${next}.tmp/junk`))).toBe(true);
    const pre = ok("preview", "--diff");
    expect(pre).toMatch(/netboot:index:NetworkImage/);
    expect(pre).toMatch(/rootDigest/);
    ok("up", "--yes", "--skip-preview");
    const second = outputs();
    expect(second.rootDir).not.toBe(first.rootDir);
    expect(second.imageFile).toBe(first.imageFile); // the RAM part did not change
    expect(second.rootDir).toBe(next);
    expect(listVolume()).toEqual([first.imageFile, first.rootDir, second.rootDir].sort());
    expect(fs.readdirSync(onVolume()).filter((n) => n.startsWith("."))).toEqual([]); // the leftover is gone
    expect(fs.existsSync(path.join(onVolume(), second.rootDir, "junk"))).toBe(false);
    expect(fs.readFileSync(path.join(onVolume(), second.rootDir, HYBRID_PATH, "hybrid.txt"), "utf8")).toBe("second\n");

    fs.writeFileSync(path.join(image, HYBRID_PATH, "hybrid.txt"), "third\n");
    ok("up", "--yes", "--skip-preview");
    const third = outputs();
    expect(listVolume()).toEqual([first.imageFile, second.rootDir, third.rootDir].sort());
    // the new generation shares unchanged files with the previous one (hard links on the volume) and got a new
    // inode for the changed one, so a node still running the previous generation reads its old content
    const onGen = (g: string, f: string) => path.join(onVolume(), g, HYBRID_PATH, f);
    expect(fs.statSync(onGen(third.rootDir, "static.txt")).ino).toBe(fs.statSync(onGen(second.rootDir, "static.txt")).ino);
    expect(fs.statSync(onGen(third.rootDir, "hybrid.txt")).ino).not.toBe(fs.statSync(onGen(second.rootDir, "hybrid.txt")).ino);
    expect(fs.readFileSync(onGen(second.rootDir, "hybrid.txt"), "utf8")).toBe("second\n");
    expect(fs.readFileSync(onGen(third.rootDir, "hybrid.txt"), "utf8")).toBe("third\n");
  });

  test("with the image source gone from the build host, destroy still removes what was published", () => {
    fs.renameSync(image, `${image}.moved`);
    // the program is invalid now (preview and refresh run it and name the missing source) ...
    const r = run("preview");
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/imageSource = ".*image": does not exist on the build host/);
    // ... but destroy needs only the state: it mounts the volume and removes both generations
    ok("destroy", "--yes");
    fs.renameSync(`${image}.moved`, image);
    expect(fs.existsSync(onVolume())).toBe(false);
  });
});

