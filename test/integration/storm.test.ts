/**
 * A small boot storm (issue 15): 10 simulated nodes boot at once (bench/storm/storm.ts: a network namespace per
 * node running the node's data path with the real clients) against the real dnsmasq and nginx as netboot renders
 * them, then three GlusterFS volumes of standalone bricks rendered by netboot (replica 3 on three servers, disperse
 * 4+2 on six, a sharded 2 x 3 on six), each brick's link shaped with tc. Every node must get its lease, walk the
 * iPXE chain, fetch the kernel and initramfs, and copy the whole image off its own glusterfs FUSE mount (with the
 * init's read spread, model/readSpread.ts) with the published sha256; from the sharded volume it reads as the init
 * does, with the init's own fetch_image (pieces of one shard, several at once). Then the spread itself, from the
 * bricks' interface counters: on replica 3 each node reads from its own replica (10 consecutive addresses: 4, 3
 * and 3 nodes per brick), and on a disperse 4+2 volume of six bricks every brick serves, the two glusterd's
 * default leaves idle included. How fast is measured by bench/storm.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { kernelVersion, makeImage, makeInitrd } from "../../bench/storm/bench";
import { requireTools, StormLab, StormResult, Variant } from "../../bench/storm/storm";
import { FetchPlan } from "../../provider/model/readSpread";

jest.setTimeout(600_000);

describe("boot storm: 10 nodes at once from GlusterFS, replica 3, disperse 4+2 and a sharded 2 x 3", () => {
  let lab: StormLab | undefined;
  let work = "";
  const r: Record<string, StormResult> = {};
  const plans: Record<string, FetchPlan | undefined> = {};

  beforeAll(async () => {
    requireTools();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-storm-test-"));
    fs.chmodSync(work, 0o755);
    const kver = kernelVersion();
    // 16 MB: four shards of 4 MB for the sharded volume
    const image = makeImage(work, 16);
    const initrd = await makeInitrd(work, kver);
    lab = new StormLab({ work, maxNodes: 10, maxServers: 6, mbit: 200, kernel: `/boot/vmlinuz-${kver}`, initrd, image, log: () => undefined });
    await lab.up();
    const variants: Variant[] = [
      { name: "storm-r3", transport: "glusterfs", servers: 3, gluster: { layout: "replicate", replica: 3 } },
      { name: "storm-ec42", transport: "glusterfs", servers: 6, gluster: { layout: "disperse", disperse: 6, redundancy: 2 } },
      { name: "storm-2x3-shard", transport: "glusterfs", servers: 6, gluster: { layout: "replicate", replica: 3, options: { "features.shard": "on", "features.shard-block-size": "4MB" } } },
    ];
    for (const v of variants) {
      const h = await lab.startVariant(v);
      plans[v.name] = h.plan;
      try {
        r[v.name] = await lab.storm(v, 10, h.fetch, 300);
      } finally {
        await h.stop();
      }
    }
  });

  afterAll(async () => {
    await lab?.down();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("every node gets its lease, its scripts, its kernel and initramfs and the whole image with the right sha256", () => {
    for (const x of Object.values(r)) {
      const failed = x.results.filter((y) => !y.ok).map((y) => `${x.variant} ${y.node}: ${y.error}`);
      expect(failed).toEqual([]);
      expect(x.results).toHaveLength(10);
      for (const y of x.results) {
        expect(y.lease).toBeGreaterThanOrEqual(0);
        expect(y.image!).toBeGreaterThanOrEqual(y.kernel!);
      }
    }
  });

  it("replica 3: each brick serves the nodes whose replica it is (4, 3 and 3 images, not 10 from one)", () => {
    const x = r["storm-r3"];
    const images = x.bytesPerServer.map((b) => b / x.imageBytes);
    expect(images.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10);
    // each brick sent at least its nodes' images and at most one more image's worth (protocol overhead, lookups)
    expect([...images].sort((a, b) => a - b).map((n) => Math.floor(n))).toEqual([3, 3, 4]);
  });

  it("disperse 4+2: all six bricks serve, each near a sixth of the reads", () => {
    const x = r["storm-ec42"];
    const total = x.bytesPerServer.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(10 * x.imageBytes);
    for (const b of x.bytesPerServer) expect(b / total).toBeGreaterThan(0.1);
  });

  it("sharded 2 x 3: every node reads the image as the init does, eight 4 MB pieces at once, and gets it whole", () => {
    expect(plans["storm-2x3-shard"]).toEqual({ piece: 4 * 1024 ** 2, window: 8 });
    expect(plans["storm-r3"]).toBeUndefined();
    expect(plans["storm-ec42"]).toEqual({ piece: 4 * 1024 ** 2, window: 8 });
    const x = r["storm-2x3-shard"];
    expect(x.results.filter((y) => y.ok)).toHaveLength(10);
    expect(x.bytesPerServer.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10 * x.imageBytes);
  });
});
