/**
 * A BootImage (glusterfs) built on an SSH build host (`buildHost`), through the real engine. The SSH host is a network
 * namespace with its own sshd on this machine's file system, so the same inputs must give a byte-identical
 * initramfs whether built from this machine or through the host's mirror. The mirror is checked on every run:
 * a kernel that changes on the build host shows in preview and up publishes it.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "../../sdk/nodejs";
import { buildInitrd } from "../../provider/build/initramfs";
import { sha256 } from "../../provider/drift/digest";
import { changed, testStack, TestStack } from "../helpers/engine";
import { tmpDir } from "../helpers/env";
import { KVER, makeImage, testPlan } from "../helpers/osImage";
import { SshHost, SshLab } from "../helpers/sshHosts";

jest.setTimeout(300_000);

describe("BootImage built on an SSH build host", () => {
  let lab: SshLab;
  let h: SshHost;
  let t: TestStack;
  let dir: string;
  let kernel: string;
  let image: string;
  let volfile: string;

  beforeAll(async () => {
    lab = new SshLab("b", "10.91.8");
    h = await lab.addHost(81);
    dir = tmpDir("ssh-build");
    image = makeImage(dir);
    volfile = fs.readFileSync(path.join(__dirname, "..", "build", "fixtures", "client.vol"), "utf8").replace(/@HOST@/g, "10.91.8.81").replace(/@PORT@/g, "24981").replace(/@BRICK@/g, "/b");
    // the kernel as a file of its own, so the test can "upgrade" it on the build host
    kernel = path.join(dir, "vmlinuz");
    fs.copyFileSync(`/boot/vmlinuz-${KVER}`, kernel);
    process.env.NETBOOT_CACHE_DIR = path.join(dir, "cache-test");
    const ssh = h.ssh();
    t = await testStack("ssh-build", async () => {
      const img = new netboot.BootImage("rb", {
        server: { host: { root: path.join(dir, "target") }, httpRoot: "/srv/http", httpBaseUrl: "http://10.91.8.1/" } as any,
        kernelVersion: KVER, kernelPath: kernel, imageSource: image, transport: "glusterfs", glusterVolfile: volfile, publishImage: false, compression: "gzip",
        buildHost: { ssh: { ...ssh, privateKey: pulumi.secret(ssh.privateKey) } },
      });
      return { sha: img.initrdSha256, kernelUrl: img.kernelUrl };
    });
  });

  afterAll(async () => {
    if (t) await t.destroy().catch(() => undefined);
    if (lab) await lab.cleanup();
  }, 180_000);

  test("the initramfs built through the SSH host is byte-identical to a local build; preview then shows no changes", async () => {
    const up = await t.stack.up({ onOutput: (s) => t.log.push(s) });
    expect(up.summary.result).toBe("succeeded");
    // glusterfs: the ELF closure (libraries through /lib -> usr/lib, ld.so.conf.d), the xlator folder, modules
    const local = await buildInitrd(testPlan("rb", { kernelPath: kernel, imageSource: image, transport: "glusterfs", glusterVolfile: volfile, compression: "gzip" }), { noCache: true });
    expect(up.outputs.sha.value).toBe(local.sha256);
    expect(changed((await t.stack.preview({ expectNoChanges: true })).changeSummary)).toEqual({});
  });

  test("a kernel changed on the build host is seen: preview shows it, up publishes the new bytes", async () => {
    fs.appendFileSync(kernel, Buffer.from([0]));
    const out: string[] = [];
    const pre = await t.stack.preview({ diff: true, onOutput: (s) => out.push(s) });
    expect(pre.changeSummary.update).toBe(1);
    expect(out.join("")).toMatch(/kernelSha256/);
    const up = await t.stack.up();
    const published = path.join(dir, "target/srv/http", new URL(up.outputs.kernelUrl.value).pathname);
    const want = sha256(fs.readFileSync(kernel));
    expect(sha256(fs.readFileSync(published))).toBe(want);
    expect(path.basename(published)).toContain(want.slice(0, 12));
  });
});
