/**
 * Managed GlusterVolume against a real glusterd (started by this test in its own namespace and state dir):
 * up creates and starts the volume with our options; an option changed by hand shows in refresh and up sets it
 * back; destroy deletes the volume.
 */
import * as fs from "fs";
import * as path from "path";
import * as netboot from "../../sdk/nodejs";
import { parseVolumeInfoXml } from "../../provider/resources/glusterManaged";
import { changed, testStack, TestStack } from "../helpers/engine";
import { requireRoot, tmpDir } from "../helpers/env";
import { Glusterd, Netns } from "../helpers/gluster";

jest.setTimeout(300_000);

const IP = "10.88.43.1";

describe("GlusterVolume managed: glusterd through the real engine", () => {
  const dir = tmpDir("gluster-managed");
  let ns: Netns;
  let gd: Glusterd;
  let t: TestStack;
  const vol = "mgrep";
  const opts = () => parseVolumeInfoXml(gd.cli(["volume", "info", vol, "--xml"]).out)!.options;

  beforeAll(async () => {
    requireRoot("the managed gluster test");
    ns = new Netns("mg", IP).create();
    gd = await new Glusterd(ns, dir).start();
    fs.mkdirSync(path.join(dir, "bricks"), { recursive: true });
    t = await testStack("gluster-managed", async () => {
      const g = new netboot.GlusterVolume(vol, {
        host: {}, mode: "managed", layout: "replicate", replica: 2, clusterSubnet: "10.88.43.0/24", allowSameHostSets: true,
        glusterdSocket: gd.sock,
        bricks: [0, 1].map((i) => ({ host: IP, path: path.join(dir, "bricks", `b${i}`) })),
        options: { "network.ping-timeout": "10" },
      } as any);
      return { volfile: g.clientVolfile, xlators: g.xlators, mountSource: g.mountSource };
    });
  }, 120000);

  afterAll(async () => {
    if (t) await t.destroy().catch(() => undefined);
    if (gd) await gd.stop();
    if (ns) ns.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120000);

  test("up creates and starts the volume with our options; the client volfile comes from glusterd", async () => {
    const up = await t.stack.up({ onOutput: (s) => t.log.push(s) });
    expect(up.summary.result).toBe("succeeded");
    const vi = parseVolumeInfoXml(gd.cli(["volume", "info", vol, "--xml"]).out)!;
    expect(vi.status).toBe(1);
    expect(vi.options["network.ping-timeout"]).toBe("10");
    expect(vi.options["auth.allow"]).toBe("10.88.43.0/24");
    expect(Object.keys(up.outputs).sort()).toEqual(["mountSource", "volfile", "xlators"]);
    expect(up.outputs.volfile.value).toBe(gd.cli(["system::", "getspec", vol]).out.replace(/\n?$/, "\n"));
    expect(up.outputs.xlators.value).toContain("cluster/replicate");
    expect(up.outputs.mountSource.value).toBe(`${IP}:/${vol}`);
  });

  test("preview and refresh show no changes", async () => {
    expect(changed((await t.stack.preview({ expectNoChanges: true })).changeSummary)).toEqual({});
    await t.stack.refresh({ expectNoChanges: true });
  });

  test("an option changed by hand shows in refresh; up sets it back and resets a key set by hand", async () => {
    gd.cli(["volume", "set", vol, "network.ping-timeout", "20"]);
    gd.cli(["volume", "set", vol, "performance.read-ahead", "on"]);
    const out: string[] = [];
    await expect(t.stack.refresh({ expectNoChanges: true, onOutput: (s) => out.push(s) })).rejects.toThrow(/no changes were expected/);
    await t.stack.refresh();
    const pre = await t.stack.preview({ diff: true, onOutput: (s) => out.push(s) });
    expect(pre.changeSummary.update).toBe(1);
    expect(out.join("")).toMatch(/ping-timeout/);
    await t.stack.up();
    expect(opts()["network.ping-timeout"]).toBe("10");
    expect(opts()["performance.read-ahead"]).toBeUndefined();
    expect(changed((await t.stack.preview()).changeSummary)).toEqual({});
  });

  test("destroy stops and deletes the volume", async () => {
    await t.destroy();
    t = undefined as any;
    expect(gd.cli(["volume", "info", vol], { allowFail: true }).code).not.toBe(0);
  });
});
