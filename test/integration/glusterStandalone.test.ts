/**
 * Standalone GlusterVolume through the real engine, then real I/O: bricks run from our rendered volfiles
 * (`glusterfsd -f`) in a network namespace, a FUSE client mounts our client volfile, writes files, and the test
 * checks where the data landed (replicate, arbiter, disperse) and that a replica 3 volume still reads with one
 * brick killed. Then the engine cycle: preview and refresh show no changes, a hand edit is drift, up repairs,
 * destroy removes what was written.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { sha256 } from "../../provider/drift/digest";
import * as netboot from "../../sdk/nodejs";
import { changed, testStack, TestStack } from "../helpers/engine";
import { requireRoot, tmpDir } from "../helpers/env";
import { killPid, mountClient, Netns, startBrick, unmount } from "../helpers/gluster";

jest.setTimeout(300_000);

const IP = "10.88.42.1";
const SUBNET = "10.88.42.0/24";

describe("GlusterVolume standalone: engine and real I/O", () => {
  const root = tmpDir("gluster-sa-target");
  const data = tmpDir("gluster-sa-bricks");
  const work = tmpDir("gluster-sa-run");
  const brick = (vol: string, i: number) => path.join(data, vol, `b${i}`);
  let ns: Netns;
  let t: TestStack;
  const outputs: Record<string, any> = {};
  const brickPids: Record<string, number[]> = {};
  const mounts: Array<[string, number]> = [];

  const vols: Array<{ vol: string; layout: netboot.types.enums.GlusterLayout; replica?: number; disperse?: number; redundancy?: number; base: number }> = [
    { vol: "sarep", layout: "replicate", replica: 3, base: 49300 },
    { vol: "saarb", layout: "arbiter", base: 49310 },
    { vol: "sadisp", layout: "disperse", disperse: 3, redundancy: 1, base: 49320 },
  ];

  beforeAll(async () => {
    requireRoot("the standalone gluster test");
    ns = new Netns("sa", IP).create();
    for (const v of vols) for (let i = 0; i < 3; i++) fs.mkdirSync(path.join(brick(v.vol, i), ".glusterfs"), { recursive: true }); // as the brick unit's ExecStartPre does
    t = await testStack("gluster-standalone", async () => {
      const out: Record<string, any> = {};
      for (const v of vols) {
        const g = new netboot.GlusterVolume(v.vol, {
          host: { root }, mode: "standalone", layout: v.layout, replica: v.replica, disperse: v.disperse, redundancy: v.redundancy,
          clusterSubnet: SUBNET, allowSameHostSets: true,
          bricks: [0, 1, 2].map((i) => ({ host: IP, path: brick(v.vol, i), port: v.base + i })),
          options: { "network.ping-timeout": "5" },
        });
        out[v.vol] = { client: g.clientVolfilePath, bricks: g.bricks, xlators: g.xlators, sha: g.clientVolfileSha256 };
      }
      return out;
    });
  }, 120000);

  afterAll(async () => {
    for (const [mnt, pid] of mounts) await unmount(mnt, pid);
    for (const pids of Object.values(brickPids)) for (const p of pids) await killPid(p);
    if (t) await t.destroy().catch(() => undefined);
    if (ns) ns.destroy();
    for (const d of [root, data, work]) fs.rmSync(d, { recursive: true, force: true });
  }, 120000);

  test("up renders every volfile below the target root", async () => {
    const up = await t.stack.up({ onOutput: (s) => t.log.push(s) });
    expect(up.summary.result).toBe("succeeded");
    for (const v of vols) {
      const o = up.outputs[v.vol].value;
      outputs[v.vol] = o;
      expect(o.client).toBe(path.join(root, `etc/netboot/gluster/${v.vol}/${v.vol}.tcp-fuse.vol`));
      expect(sha256(fs.readFileSync(o.client))).toBe(o.sha);
      for (const b of o.bricks) expect(fs.existsSync(b.volfile)).toBe(true);
      expect(o.xlators).toContain(v.layout === "disperse" ? "cluster/disperse" : "cluster/replicate");
    }
  });

  async function serve(vol: string): Promise<string> {
    brickPids[vol] = [];
    for (const b of outputs[vol].bricks) brickPids[vol].push(await startBrick(ns, b.volfile, work, `${vol}-${b.port}`));
    const mnt = path.join(work, `mnt-${vol}`);
    const pid = await mountClient(ns, outputs[vol].client, mnt, work, vol);
    mounts.push([mnt, pid]);
    return mnt;
  }

  test("replicate 3: a file lands whole on every brick; reads survive one brick killed", async () => {
    const mnt = await serve("sarep");
    const content = crypto.randomBytes(200_000);
    fs.writeFileSync(path.join(mnt, "f1"), content);
    fs.mkdirSync(path.join(mnt, "d"));
    fs.writeFileSync(path.join(mnt, "d/f2"), "hello\n");
    for (let i = 0; i < 3; i++) {
      expect(fs.readFileSync(path.join(brick("sarep", i), "f1")).equals(content)).toBe(true);
      expect(fs.readFileSync(path.join(brick("sarep", i), "d/f2"), "utf8")).toBe("hello\n");
    }
    await killPid(brickPids.sarep[0]);
    // Drop caches of this mount's files by reading through a fresh open; AFR serves from the other two.
    expect(fs.readFileSync(path.join(mnt, "f1")).equals(content)).toBe(true);
    fs.writeFileSync(path.join(mnt, "f3"), "written with one brick down\n");
    expect(fs.readFileSync(path.join(brick("sarep", 1), "f3"), "utf8")).toBe("written with one brick down\n");
    expect(fs.existsSync(path.join(brick("sarep", 0), "f3"))).toBe(false);
  });

  test("arbiter: data on the two data bricks, only metadata (0 bytes) on the arbiter", async () => {
    const mnt = await serve("saarb");
    const content = crypto.randomBytes(100_000);
    fs.writeFileSync(path.join(mnt, "f"), content);
    expect(fs.readFileSync(path.join(brick("saarb", 0), "f")).equals(content)).toBe(true);
    expect(fs.readFileSync(path.join(brick("saarb", 1), "f")).equals(content)).toBe(true);
    expect(fs.existsSync(path.join(brick("saarb", 2), "f"))).toBe(true);
    expect(fs.statSync(path.join(brick("saarb", 2), "f")).size).toBe(0);
  });

  test("disperse 3 redundancy 1: each brick holds a fragment (half the data), none the whole file", async () => {
    const mnt = await serve("sadisp");
    const content = crypto.randomBytes(1 << 20);
    fs.writeFileSync(path.join(mnt, "f"), content);
    expect(fs.readFileSync(path.join(mnt, "f")).equals(content)).toBe(true);
    for (let i = 0; i < 3; i++) {
      const frag = fs.readFileSync(path.join(brick("sadisp", i), "f"));
      expect(frag.length).toBe(content.length / 2);
      expect(frag.equals(content.subarray(0, frag.length))).toBe(false);
    }
  });

  test("preview and refresh show no changes", async () => {
    const pre = await t.stack.preview({ expectNoChanges: true });
    expect(changed(pre.changeSummary)).toEqual({});
    const ref = await t.stack.refresh({ expectNoChanges: true });
    expect(ref.summary.result).toBe("succeeded");
  });

  test("a hand edit of a brick volfile is drift; up repairs it", async () => {
    const f = outputs.sarep.bricks[1].volfile;
    const good = fs.readFileSync(f, "utf8");
    fs.writeFileSync(f, good.replace(`allow ${SUBNET}`, "allow *"));
    const out: string[] = [];
    await t.stack.refresh({ onOutput: (s) => out.push(s) });
    const pre = await t.stack.preview({ diff: true, onOutput: (s) => out.push(s) });
    expect(pre.changeSummary.update).toBe(1);
    expect(out.join("")).toMatch(/allow \*/);
    await t.stack.up();
    expect(fs.readFileSync(f, "utf8")).toBe(good);
  });

  test("destroy removes the rendered files", async () => {
    for (const [mnt, pid] of mounts.splice(0)) await unmount(mnt, pid);
    await t.destroy();
    expect(fs.existsSync(path.join(root, "etc/netboot/gluster/sarep"))).toBe(false);
    t = undefined as any;
  });
});
