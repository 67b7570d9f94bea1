/**
 * An OsImage that holds a kernel feeds BootImage's kernelPath and modulesDir, through the real engine: the
 * image (a folder, so no kernel package is downloaded) has /boot/vmlinuz-V and /usr/lib/modules/V, here links to
 * the build host's own kernel and modules; OsImage finds them (kernelVersion, kernelPath, modulesDir), and a
 * BootImage built from those outputs, preview of a fresh stack included, packs that kernel's modules.
 * The Debian build of such an image (`linux-image-amd64` in the package list) reads the same paths.
 */
import * as fs from "fs";
import * as path from "path";
import * as netboot from "../../sdk/nodejs";
import { testStack, TestStack } from "../helpers/engine";
import { tmpDir } from "../helpers/env";
import { KVER } from "../helpers/osImage";

jest.setTimeout(600_000);

const FIX = path.join(__dirname, "..", "build", "fixtures");

describe("OsImage kernel -> BootImage through the real engine", () => {
  const dir = tmpDir("osimage-kernel");
  const image = path.join(dir, "image");
  const target = path.join(dir, "target");
  const volfile = fs.readFileSync(path.join(FIX, "client.vol"), "utf8").replace(/@HOST@/g, "10.89.44.1").replace(/@PORT@/g, "24902").replace(/@BRICK@/g, "/srv/brick");
  let t: TestStack;

  beforeAll(async () => {
    fs.mkdirSync(path.join(image, "sbin"), { recursive: true });
    fs.mkdirSync(path.join(image, "boot"));
    fs.mkdirSync(path.join(image, "usr/lib/modules"), { recursive: true });
    fs.symlinkSync("usr/lib", path.join(image, "lib"));
    fs.writeFileSync(path.join(image, "sbin/init"), "#!/bin/sh\n", { mode: 0o755 });
    fs.symlinkSync(`/boot/vmlinuz-${KVER}`, path.join(image, "boot", `vmlinuz-${KVER}`));
    fs.symlinkSync(`/lib/modules/${KVER}`, path.join(image, "usr/lib/modules", KVER));
    t = await testStack("osimage-kernel", async () => {
      const os = new netboot.OsImage("node", { folder: image });
      const img = new netboot.BootImage("node-boot", {
        server: { host: { root: target }, httpRoot: "/srv/http", httpBaseUrl: "http://10.89.44.1/" } as any,
        imageSource: os.rootPath,
        kernelPath: os.kernelPath,
        modulesDir: os.modulesDir,
        transport: "glusterfs",
        glusterVolfile: volfile,
        compression: "gzip",
        publishImage: false,
      });
      return { kernelVersion: os.kernelVersion, kernelPath: os.kernelPath, modulesDir: os.modulesDir, rootPath: os.rootPath, manifest: img.manifest, kernelUrl: img.kernelUrl };
    });
  });

  afterAll(async () => {
    await t?.destroy().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("preview of a fresh stack passes; up finds the image's kernel and the BootImage packs its modules", async () => {
    const pre = await t.stack.preview();
    expect(pre.changeSummary.create).toBeGreaterThanOrEqual(3);
    const up = await t.stack.up({ onOutput: (s) => t.log.push(s) });
    expect(up.summary.result).toBe("succeeded");
    const o = up.outputs;
    expect([o.kernelVersion.value, o.kernelPath.value, o.modulesDir.value, o.rootPath.value]).toEqual([KVER, path.join(image, "boot", `vmlinuz-${KVER}`), path.join(image, "usr/lib/modules", KVER), image]);
    expect(o.kernelUrl.value).toMatch(new RegExp(`/images/node-boot/vmlinuz-${KVER.replace(/\./g, "\\.")}-[0-9a-f]{12}$`));
    expect(o.manifest.value).toContain(`/netboot/modules/${KVER}/kernel/fs/fuse/fuse.ko\tfile`);
  });
});
