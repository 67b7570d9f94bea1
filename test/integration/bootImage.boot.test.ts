/**
 * BootImage boots under QEMU (TCG, the Debian kernel of the build host), in a private network namespace:
 * 1. glusterfs, hybrid mode: the initramfs mounts a standalone GlusterFS brick (glusterfsd -f) with the
 *    volfile baked into it (sharded: the init reads the image in pieces), unpacks the OS image into a tmpfs, bind-mounts /usr/share/netboot-test from the
 *    volume (a file that is only on the volume, not in the RAM tarball), switch_roots, and the image's init
 *    prints a marker line with the root's file system type and the hybrid file.
 * 2. http, RAM mode: the image tarball streams from busybox httpd (netboot.image= on the command line).
 * Two boots only: each takes ~30-60 s under TCG.
 */
import * as fs from "fs";
import * as path from "path";
import { buildImage, buildInitrd } from "../../provider/build/initramfs";
import { createLab, Lab } from "../helpers/qemu";
import { requireTool, sh, tmpDir } from "../helpers/env";
import { makeImage, testPlan } from "../helpers/osImage";

jest.setTimeout(600_000);

const FIX = path.join(__dirname, "..", "build", "fixtures");
const PORT = 24901;

const plan = testPlan;

describe("BootImage initramfs boots under QEMU", () => {
  let lab: Lab;
  let dir: string;
  let image: string;

  beforeAll(() => {
    requireTool("glusterfsd");
    dir = tmpDir("bootimage-boot");
    image = makeImage(dir);
    lab = createLab(41);
  });

  afterAll(async () => {
    await lab?.close();
  });

  test("glusterfs hybrid: mounts the brick, root in RAM, /usr/share/netboot-test from the volume, image init runs", async () => {
    const brick = path.join(dir, "brick");
    fs.mkdirSync(brick);
    const sub = (t: string) => t.replace(/@BRICK@/g, brick).replace(/@PORT@/g, String(PORT)).replace(/@HOST@/g, lab.serverIp);
    // sharded, as a boot volume of several sets should be (docs/gluster.md): the init reads the image in pieces
    // (fetch_image) through the real initramfs's busybox and the shard xlator it bakes in
    const volfile = sub(fs.readFileSync(path.join(FIX, "client.vol"), "utf8")).replace(
      "volume nbi-utime\n    type features/utime\n    option noatime on\n    subvolumes nbi-dht\n",
      "volume nbi-shard\n    type features/shard\n    option shard-block-size 4MB\n    subvolumes nbi-dht\nend-volume\n\n" +
      "volume nbi-utime\n    type features/utime\n    option noatime on\n    subvolumes nbi-shard\n");
    expect(volfile).toContain("subvolumes nbi-shard");
    const p = plan("gl", { imageSource: image, transport: "glusterfs", glusterVolfile: volfile, mode: "hybrid", hybridPaths: ["/usr/share/netboot-test"], imagePath: "/images/gl" });
    // The image as the volume must hold it: the RAM tarball (without the hybrid path) and the tree.
    const img = await buildImage(p.image);
    const onVol = path.join(brick, "images/gl");
    fs.mkdirSync(onVol, { recursive: true });
    fs.writeFileSync(path.join(onVol, "image.tar.gz"), img.data);
    sh(`cp -a ${image} ${onVol}/root`);
    const tarList = sh(`tar -tzf ${onVol}/image.tar.gz`).out;
    expect(tarList).toMatch(/\.\/sbin\/init/);
    expect(tarList).not.toMatch(/hybrid\.txt/);

    fs.writeFileSync(path.join(dir, "brick.vol"), sub(fs.readFileSync(path.join(FIX, "brick.vol"), "utf8")));
    lab.start("glusterfsd", ["glusterfsd", "-N", "-f", path.join(dir, "brick.vol"), "-l", path.join(dir, "brick.log"), "--brick-port", String(PORT)]);

    const initrd = await buildInitrd(p);
    const initrdPath = path.join(dir, initrd.fileName);
    fs.writeFileSync(initrdPath, initrd.data);
    const log = await lab.boot({
      name: "gluster", kernel: p.kernelPath, initrd: initrdPath, mac: "52:54:00:89:41:10", until: /IMAGE-DONE|FAILED/,
      append: "console=ttyS0 panic=-1 BOOTIF=01-52-54-00-89-41-10 netboot.node=n1 netboot.group=g",
    });
    fs.writeFileSync(path.join(dir, "gluster.result.log"), log);
    expect(log).toMatch(/netboot: mounting glusterfs volume/);
    expect(log).toMatch(/netboot: image in 4 MB pieces, 8 at a time/);
    expect(log).not.toMatch(/netboot: FAILED/);
    expect(log).toMatch(/netboot: hybrid: \/usr\/share\/netboot-test stay on glusterfs/);
    expect(log).toMatch(/IMAGE-INIT pid=1 root=tmpfs/);
    expect(log).toMatch(/HYBRID-FILE: only-on-the-volume/);
    expect(log).toMatch(/HYBRID-MOUNT: fuse/);
  });

  test("http ram: streams the image tarball from an HTTP server into RAM", async () => {
    const www = path.join(dir, "www");
    fs.mkdirSync(www);
    const p = plan("web", { imageSource: image, transport: "http", compression: "gzip" });
    fs.writeFileSync(path.join(www, p.image.fileName), (await buildImage(p.image)).data);
    lab.start("httpd", ["busybox", "httpd", "-f", "-p", `${lab.serverIp}:8089`, "-h", www]);
    const initrd = await buildInitrd(p);
    const initrdPath = path.join(dir, initrd.fileName);
    fs.writeFileSync(initrdPath, initrd.data);
    const log = await lab.boot({
      name: "http", kernel: p.kernelPath, initrd: initrdPath, mac: "52:54:00:89:41:11", until: /IMAGE-DONE|FAILED/,
      append: `console=ttyS0 panic=-1 BOOTIF=01-52-54-00-89-41-11 netboot.image=http://${lab.serverIp}:8089/${p.image.fileName}`,
    });
    fs.writeFileSync(path.join(dir, "http.result.log"), log);
    expect(log).toMatch(/netboot: image over http/);
    expect(log).not.toMatch(/netboot: FAILED/);
    expect(log).toMatch(/IMAGE-INIT pid=1 root=tmpfs/);
    // the RAM image carries the whole tree, hybrid file included
    expect(log).toMatch(/HYBRID-FILE: only-on-the-volume/);
  });
});
