/**
 * The OS image published from an SSH host: the build host (this test's engine, in the root namespace) cannot
 * reach the storage network; the publish host can. BootImage's `publishHost` is an SSH host in its own network
 * namespace running a standalone brick (glusterfsd -f); up builds locally, streams the image over SSH, and the
 * SSH host mounts the volume with the glusterfs client and writes it. Refresh re-hashes it there; destroy
 * removes it.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "../../sdk/nodejs";
import { changed, testStack, TestStack } from "../helpers/engine";
import { requireTool, tmpDir } from "../helpers/env";
import { makeImage } from "../helpers/osImage";
import { SshHost, SshLab } from "../helpers/sshHosts";

jest.setTimeout(300_000);

const KVER = fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop()!;
const FIX = path.join(__dirname, "..", "build", "fixtures");
const PORT = 24971;

describe("BootImage publishes through an SSH publish host", () => {
  let lab: SshLab;
  let h: SshHost;
  let t: TestStack;
  let brick: string;

  beforeAll(async () => {
    requireTool("glusterfsd");
    lab = new SshLab("p", "10.91.7");
    h = await lab.addHost(71);
    const dir = tmpDir("ssh-publish");
    brick = path.join(dir, "brick");
    fs.mkdirSync(brick);
    const sub = (s: string) => s.replace(/@BRICK@/g, brick).replace(/@PORT@/g, String(PORT)).replace(/@HOST@/g, h.ip);
    fs.writeFileSync(path.join(dir, "brick.vol"), sub(fs.readFileSync(path.join(FIX, "brick.vol"), "utf8")));
    h.start(["glusterfsd", "-N", "-f", path.join(dir, "brick.vol"), "-l", path.join(dir, "brick.log"), "--brick-port", String(PORT)], path.join(dir, "glusterfsd.out"));
    const image = makeImage(dir);
    const volfile = sub(fs.readFileSync(path.join(FIX, "client.vol"), "utf8"));
    const ssh = h.ssh();
    t = await testStack("ssh-publish", async () => {
      const img = new netboot.BootImage("sp", {
        server: { host: { root: path.join(dir, "target") }, httpRoot: "/srv/http", httpBaseUrl: "http://10.91.7.1/" } as any,
        kernelVersion: KVER, imageSource: image, transport: "glusterfs", glusterVolfile: volfile, imagePath: "/images/sp", compression: "gzip",
        publishHost: { ssh: { ...ssh, privateKey: pulumi.secret(ssh.privateKey) } },
      });
      return { imageFile: img.imageFile, args: img.args };
    });
  });

  afterAll(async () => {
    if (t) await t.destroy().catch(() => undefined);
    if (lab) await lab.cleanup();
  }, 180_000);

  test("up publishes on the volume through the SSH host; preview and refresh show no changes; destroy removes it", async () => {
    const up = await t.stack.up({ onOutput: (s) => t.log.push(s) });
    expect(up.summary.result).toBe("succeeded");
    const imageFile = up.outputs.imageFile.value as string;
    expect(imageFile).toMatch(/^image-[0-9a-f]{12}\.tar\.gz$/);
    expect(fs.readdirSync(path.join(brick, "images/sp"))).toEqual([imageFile]);
    expect(up.outputs.args.value).toContain(`netboot.image=${imageFile}`);
    // progress of the long steps shows beside the resources while they run
    const shown = t.log.join("");
    expect(shown).toMatch(/Initramfs sp-initramfs creating \(\d+s\) building the initramfs: \d+ entries, gzip/);
    expect(shown).toMatch(/NetworkImage sp-image creating \(\d+s\) mounting the GlusterFS volume on root@127\.0\.0\.1:\d+/);
    expect(shown).toMatch(/writing \/images\/sp\/image-[0-9a-f]{12}\.tar\.gz \(\d+\.\d MB\)/);
    // the state file on disk holds the private key only as ciphertext
    const stacks = path.join(t.dir, "state/.pulumi/stacks");
    const file = [path.join(stacks, "netboot-ssh-publish/test.json"), path.join(stacks, "test.json")].find((f) => fs.existsSync(f))!;
    const stateText = fs.readFileSync(file, "utf8");
    expect(stateText).toContain("/images/sp/image-");
    expect(stateText).not.toContain("PRIVATE KEY");
    const net = JSON.parse(stateText).checkpoint.latest.resources.find((r: any) => r.urn.endsWith("::sp-image"));
    expect(net.outputs.host.ssh.privateKey).toHaveProperty("ciphertext");
    expect(changed((await t.stack.preview({ expectNoChanges: true })).changeSummary)).toEqual({});
    await t.stack.refresh({ expectNoChanges: true });
    await t.destroy();
    expect(fs.existsSync(path.join(brick, "images/sp"))).toBe(false);
  });
});
