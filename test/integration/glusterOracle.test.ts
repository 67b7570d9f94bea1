/**
 * Oracle: glusterd (10.3, started by this test in its own namespace and state dir) creates the same volumes
 * with local bricks (`force`), and its client and brick volfiles are compared with ours as graphs: same
 * xlators, same order, same names, same types, same subvolumes, same options, except the intended
 * differences listed in INTENDED below.
 */
import * as fs from "fs";
import * as path from "path";
import { buildGlusterModel, createArgs, GlusterModel } from "../../provider/model/gluster";
import { Issues } from "../../provider/model/errors";
import { brickVolfileName, renderBrickVolfile, renderClientVolfile } from "../../provider/render/volfile";
import { parseVolfile, VolfileGraph } from "../../provider/model/volfileParse";
import { requireRoot, tmpDir } from "../helpers/env";
import { Glusterd, Netns } from "../helpers/gluster";

const IP = "10.88.41.1";
const SUBNET = "10.88.41.0/24";

/**
 * Every intended difference between our standalone volfiles and glusterd's, per xlator type:
 * - `added`: options only we write (what serving without glusterd needs);
 * - `dropped`: options only glusterd writes (random credentials; posix volume-id needs the brick xattr);
 * - `valueDiffers`: options both write with host-specific or random values (compared for presence only).
 */
const INTENDED: Record<string, { added?: string[]; dropped?: RegExp[]; valueDiffers?: string[] }> = {
  "protocol/client": { added: ["remote-port", "transport.socket.ssl-own-cert", "transport.socket.ssl-private-key", "transport.socket.ssl-ca-list"] },
  "cluster/replicate": { valueDiffers: ["volume-id"] },
  "storage/posix": { dropped: [/^volume-id$/], valueDiffers: ["shared-brick-count"] },
  "features/marker": { valueDiffers: ["timestamp-file", "volume-uuid"] },
  "debug/io-stats": { valueDiffers: ["volume-id"] },
  "protocol/server": {
    added: ["transport.socket.listen-port", "transport.socket.ssl-own-cert", "transport.socket.ssl-private-key", "transport.socket.ssl-ca-list"],
    dropped: [/^auth\.login\./],
  },
};

/** Differences between two graphs after the intended ones are taken out; [] when they match. */
export function graphDiff(ours: VolfileGraph, theirs: VolfileGraph): string[] {
  const out: string[] = [];
  const names = (g: VolfileGraph) => g.volumes.map((v) => `${v.name}:${v.type}`);
  if (JSON.stringify(names(ours)) !== JSON.stringify(names(theirs))) {
    out.push(`xlators differ:\n  ours   ${names(ours).join(" ")}\n  theirs ${names(theirs).join(" ")}`);
    return out;
  }
  ours.volumes.forEach((o, i) => {
    const t = theirs.volumes[i];
    if (o.subvolumes.join(" ") !== t.subvolumes.join(" ")) out.push(`${o.name}: subvolumes ${o.subvolumes} vs ${t.subvolumes}`);
    const rule = INTENDED[o.type] ?? {};
    const keys = new Set([...Object.keys(o.options), ...Object.keys(t.options)]);
    for (const k of [...keys].sort()) {
      const inO = k in o.options;
      const inT = k in t.options;
      if (inO && !inT && rule.added?.includes(k)) continue;
      if (!inO && inT && rule.dropped?.some((re) => re.test(k))) continue;
      if (inO && inT && rule.valueDiffers?.includes(k)) continue;
      if (o.options[k] !== t.options[k]) out.push(`${o.name} (${o.type}): option ${k}: ours ${JSON.stringify(o.options[k])} theirs ${JSON.stringify(t.options[k])}`);
    }
  });
  return out;
}

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

interface Case {
  vol: string;
  layout: string;
  bricks: number;
  replica?: number;
  disperse?: number;
  redundancy?: number;
  options?: Record<string, string>;
  tls?: boolean;
}

const CASES: Case[] = [
  { vol: "odist", layout: "distribute", bricks: 2 },
  { vol: "orep", layout: "replicate", bricks: 3, replica: 3 },
  { vol: "odrep", layout: "replicate", bricks: 4, replica: 2 },
  { vol: "oarb", layout: "arbiter", bricks: 3 },
  { vol: "odarb", layout: "arbiter", bricks: 6 },
  { vol: "odisp", layout: "disperse", bricks: 3, disperse: 3, redundancy: 1 },
  { vol: "oddisp", layout: "disperse", bricks: 6, disperse: 3, redundancy: 1 },
  {
    vol: "oreopt", layout: "replicate", bricks: 2, replica: 2, tls: true,
    options: {
      "performance.read-ahead": "on", "performance.readdir-ahead": "on", "performance.io-cache": "on", "performance.nl-cache": "on",
      "performance.cache-size": "64MB", "performance.cache-max-file-size": "1MB", "performance.qr-cache-timeout": "3",
      "performance.write-behind-window-size": "4MB", "performance.md-cache-timeout": "5", "performance.io-thread-count": "32",
      "performance.client-io-threads": "on", "network.ping-timeout": "10", "network.frame-timeout": "600",
      "client.event-threads": "4", "server.event-threads": "4", "client.ssl": "on", "server.ssl": "on",
      "auth.allow": "10.88.41.*", "auth.reject": "10.88.42.0/24", "cluster.quorum-type": "auto", "cluster.favorite-child-policy": "mtime",
      "cluster.read-hash-mode": "2", "cluster.min-free-disk": "5%", "cluster.lookup-optimize": "off",
      "diagnostics.client-log-level": "WARNING", "diagnostics.brick-log-level": "ERROR", "features.read-only": "on",
      "storage.owner-uid": "1000", "storage.owner-gid": "1000",
    },
  },
  { vol: "oshard", layout: "replicate", bricks: 6, replica: 3, options: { "features.shard": "on", "features.shard-block-size": "4MB" } },
  { vol: "oshard2", layout: "distribute", bricks: 2, options: { "features.shard": "on" } },
  {
    vol: "odisopt", layout: "disperse", bricks: 3, disperse: 3, redundancy: 1,
    options: { "disperse.read-policy": "round-robin", "performance.write-behind": "off", "performance.open-behind": "off", "performance.quick-read": "off", "performance.stat-prefetch": "off", "performance.client-io-threads": "off" },
  },
];

describe("GlusterVolume volfiles vs glusterd (oracle)", () => {
  let ns: Netns;
  let gd: Glusterd;
  let dir: string;

  beforeAll(async () => {
    requireRoot("the gluster oracle test");
    dir = tmpDir("gluster-oracle");
    ns = new Netns("or", IP).create();
    gd = await new Glusterd(ns, dir).start();
  }, 60000);

  afterAll(async () => {
    if (gd) await gd.stop();
    if (ns) ns.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60000);

  function model(c: Case): GlusterModel {
    const issues = new Issues(`netboot:index:GlusterVolume "${c.vol}"`);
    const bricks = Array.from({ length: c.bricks }, (_, i) => ({ host: IP, path: path.join(dir, "bricks", c.vol, `b${i}`) }));
    const m = buildGlusterModel(c.vol, {
      mode: "standalone", layout: c.layout, bricks, replica: c.replica, disperse: c.disperse, redundancy: c.redundancy,
      options: c.options, clusterSubnet: SUBNET, allowSameHostSets: true, stateDir: path.join(dir, "state"),
      tls: c.tls ? { key: PEM, certificate: PEM, ca: PEM } : undefined,
    }, {}, issues);
    issues.throwIfAny();
    return m!;
  }

  it.each(CASES.map((c) => [c.vol, c] as [string, Case]))("%s: client and brick graphs match glusterd's", (_v, c) => {
    const m = model(c);
    fs.mkdirSync(path.join(dir, "bricks", c.vol), { recursive: true });
    gd.cli(createArgs(m));
    // Our model's options (including the auth.allow default) are what the user would set on glusterd.
    for (const [k, v] of Object.entries(m.options)) gd.cli(["volume", "set", m.name, k, v]);

    const vd = gd.volDir(m.name);
    const theirsClient = parseVolfile(fs.readFileSync(path.join(vd, `${m.name}.tcp-fuse.vol`), "utf8"));
    const oursClient = parseVolfile(renderClientVolfile(m).content);
    expect(graphDiff(oursClient, theirsClient)).toEqual([]);
    // The intended additions are really there (the list above is not dead).
    expect(oursClient.volumes[0].options["remote-port"]).toBe(String(m.bricks[0].port));

    for (const b of m.bricks) {
      const theirs = parseVolfile(fs.readFileSync(path.join(vd, brickVolfileName(m.name, b)), "utf8"));
      const ours = parseVolfile(renderBrickVolfile(m, b).content);
      expect({ brick: b.index, diff: graphDiff(ours, theirs) }).toEqual({ brick: b.index, diff: [] });
      expect(ours.volumes[ours.volumes.length - 1].options["transport.socket.listen-port"]).toBe(String(b.port));
    }
  }, 60000);

  it("the comparison catches a real difference", () => {
    const c = CASES[1];
    const m = model(c);
    const theirs = parseVolfile(fs.readFileSync(path.join(gd.volDir(m.name), `${m.name}.tcp-fuse.vol`), "utf8"));
    const other = model({ ...c, options: { "performance.read-ahead": "on" } });
    expect(graphDiff(parseVolfile(renderClientVolfile(other).content), theirs).join("\n")).toMatch(/xlators differ/);
    const pinged = model({ ...c, options: { "network.ping-timeout": "7" } });
    expect(graphDiff(parseVolfile(renderClientVolfile(pinged).content), theirs).join("\n")).toMatch(/ping-timeout/);
  });
});
