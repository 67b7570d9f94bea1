/**
 * BootImage through the real Pulumi engine (glusterfs transport, published to a local target root):
 * up builds and publishes kernel + initramfs with hashed names; a second preview is empty (unchanged inputs
 * never rebuild); adding an xlator to the volfile shows in preview as that file added to the initramfs;
 * a tampered published initramfs shows on refresh and up repairs it; a volfile naming an xlator the build
 * host lacks is tested on the plan (test/build/plan.tool.test.ts); destroy removes what was published.
 */
import * as fs from "fs";
import * as path from "path";
import { sha256 } from "../../provider/drift/digest";
import * as netboot from "../../sdk/nodejs";
import { changed, testStack, TestStack } from "../helpers/engine";
import { sh, tmpDir } from "../helpers/env";

jest.setTimeout(600_000);

const KVER = fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop()!;
const FIX = path.join(__dirname, "..", "build", "fixtures");

describe("netboot:index:BootImage through the real engine", () => {
  const dir = tmpDir("bootimage-engine");
  const root = path.join(dir, "target");
  const image = path.join(dir, "image");
  const baseVol = fs.readFileSync(path.join(FIX, "client.vol"), "utf8").replace(/@HOST@/g, "10.89.42.1").replace(/@PORT@/g, "24902").replace(/@BRICK@/g, "/srv/brick");
  let volfile = baseVol;
  let overlay: netboot.types.input.NodeOverlayArgs | undefined;
  let t: TestStack;
  const imagesDir = path.join(root, "srv/http/images/img1");

  beforeAll(async () => {
    fs.mkdirSync(path.join(image, "sbin"), { recursive: true });
    fs.writeFileSync(path.join(image, "sbin/init"), "#!/bin/sh\necho hello\n", { mode: 0o755 });
    t = await testStack("bootimage", async () => {
      const img = new netboot.BootImage("img1", {
        server: { host: { root }, httpRoot: "/srv/http", httpBaseUrl: "http://10.89.42.1/" } as any,
        kernelVersion: KVER,
        imageSource: image,
        transport: "glusterfs",
        glusterVolfile: volfile,
        compression: "gzip",
        publishImage: false, // the volume is not reachable here; bootImage.publish.test.ts publishes to a real brick
        ...(overlay ? { overlay } : {}),
      });
      return { initrdUrl: img.initrdUrl, kernelUrl: img.kernelUrl, sha: img.initrdSha256, size: img.initrdSize, args: img.args, manifest: img.manifest, boot: img.boot };
    });
  });

  afterAll(async () => {
    await t?.destroy().catch(() => undefined);
  });

  test("up builds and publishes kernel and initramfs with content-hashed names", async () => {
    const up = await t.stack.up({ onOutput: (s) => t.log.push(s) });
    expect(up.summary.result).toBe("succeeded");
    const o = up.outputs;
    if (!o.initrdUrl) throw new Error(JSON.stringify(o) + t.log.join(""));
    const initrd = path.join(imagesDir, path.basename(o.initrdUrl.value));
    const data = fs.readFileSync(initrd);
    expect(o.sha.value).toBe(sha256(data));
    expect(o.size.value).toBe(data.length);
    expect(path.basename(initrd)).toBe(`initrd-${sha256(data).slice(0, 12)}.img`);
    expect(o.initrdUrl.value).toBe(`http://10.89.42.1/images/img1/${path.basename(initrd)}`);
    expect(fs.readFileSync(path.join(imagesDir, path.basename(o.kernelUrl.value)))).toEqual(fs.readFileSync(`/boot/vmlinuz-${KVER}`));
    // servedBy: the servers that serve the kernel and initramfs (this one; a BootImage with mirrors lists them too)
    expect(o.boot.value).toEqual({ kernelUrl: o.kernelUrl.value, initrdUrl: o.initrdUrl.value, args: o.args.value, servedBy: ["http://10.89.42.1/"] });
    // the manifest names the volfile's xlators with their reason, and the archive holds them
    expect(o.manifest.value).toMatch(/xlator\/performance\/write-behind\.so\tfile\t\S+\t\d+\t[0-9a-f]{64}\tnamed by the volfile/);
    const list = sh(`zcat ${initrd} | cpio -t --quiet`).out;
    expect(list).toMatch(/xlator\/protocol\/client\.so/);
    expect(list).not.toMatch(/xlator\/performance\/io-cache\.so/);
  });

  test("unchanged inputs: preview and refresh report no changes", async () => {
    const pre = await t.stack.preview({ expectNoChanges: true });
    expect(changed(pre.changeSummary)).toEqual({});
    await t.stack.refresh({ expectNoChanges: true });
  });

  test("an xlator added to the volfile shows in preview as an added initramfs file, and up rebuilds", async () => {
    const before = fs.readdirSync(imagesDir).filter((f) => f.startsWith("initrd-"));
    volfile = baseVol.replace("volume nbi\n", "volume nbi-io-cache\n    type performance/io-cache\n    subvolumes nbi-md-cache\nend-volume\n\nvolume nbi\n").replace(/(volume nbi\n[\s\S]*?)subvolumes nbi-md-cache/, "$1subvolumes nbi-io-cache");
    const out: string[] = [];
    const pre = await t.stack.preview({ diff: true, onOutput: (s) => out.push(s) });
    expect(pre.changeSummary.update).toBeGreaterThanOrEqual(1);
    expect(out.join("")).toMatch(/netboot:index:Initramfs/);
    expect(out.join("")).toMatch(/io-cache\.so/);
    expect(out.join("")).not.toMatch(/write-behind\.so/);
    await t.stack.up();
    const after = fs.readdirSync(imagesDir).filter((f) => f.startsWith("initrd-"));
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
    expect(sh(`zcat ${path.join(imagesDir, after[0])} | cpio -t --quiet`).out).toMatch(/xlator\/performance\/io-cache\.so/);
  });

  test("a published initramfs changed by hand shows on refresh and up repairs it", async () => {
    const f = path.join(imagesDir, fs.readdirSync(imagesDir).find((n) => n.startsWith("initrd-"))!);
    const good = fs.readFileSync(f);
    fs.writeFileSync(f, "tampered");
    await expect(t.stack.refresh({ expectNoChanges: true })).rejects.toThrow(/no changes were expected/);
    await t.stack.refresh();
    const out: string[] = [];
    expect((await t.stack.preview({ diff: true, onOutput: (s) => out.push(s) })).changeSummary.update).toBe(1);
    expect(out.join("")).toContain(path.basename(f));
    await t.stack.up();
    expect(fs.readFileSync(f)).toEqual(good);
    expect(changed((await t.stack.preview()).changeSummary)).toEqual({});
  });

  test("an overlay on the image rebuilds nothing: only `boot` changes, and carries the files to the groups", async () => {
    const before = fs.readdirSync(imagesDir).sort();
    overlay = { files: [{ path: "/etc/image-release", content: "img1\n" }] };
    const ops: string[] = [];
    await t.stack.preview({ onEvent: (e) => { const m = e.resourcePreEvent?.metadata; if (m && m.op !== "same") ops.push(`${m.op} ${m.type}`); } });
    expect(ops.filter((o) => !o.endsWith("netboot:index:BootImage"))).toEqual([]);
    const up = await t.stack.up();
    expect(up.outputs.boot.value.overlay).toEqual({ files: [{ path: "/etc/image-release", content: "img1\n" }] });
    expect(fs.readdirSync(imagesDir).sort()).toEqual(before);
  });

  test("destroy removes what was published", async () => {
    await t.destroy();
    expect(fs.existsSync(imagesDir)).toBe(false);
  });
});
