/**
 * Golden files for the volfile renderer: test/golden/volfile/<case>/input.json plus every rendered file, by
 * its path below the state dir. `UPDATE_GOLDEN=1 npx jest test/render/volfile.test.ts` rewrites them.
 */
import * as fs from "fs";
import * as path from "path";
import { buildGlusterModel } from "../../provider/model/gluster";
import { Issues } from "../../provider/model/errors";
import { clientGraph, renderBrickFiles, renderStandalone } from "../../provider/render/volfile";
import { parseVolfile, xlatorTypes } from "../../provider/model/volfileParse";

const ROOT = path.join(__dirname, "..", "golden", "volfile");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

function model(input: { name: string; args: Record<string, unknown> }) {
  const issues = new Issues(`netboot:index:GlusterVolume "${input.name}"`);
  const m = buildGlusterModel(input.name, input.args, {}, issues);
  issues.throwIfAny();
  return m!;
}

describe("volfile goldens", () => {
  const cases = fs.readdirSync(ROOT).filter((d) => fs.existsSync(path.join(ROOT, d, "input.json")));
  it("has cases", () => expect(cases.length).toBeGreaterThanOrEqual(3));
  it.each(cases)("%s", (c) => {
    const input = JSON.parse(fs.readFileSync(path.join(ROOT, c, "input.json"), "utf8"));
    const m = model(input);
    const files = renderStandalone(m);
    const expectedDir = path.join(ROOT, c, "expected");
    if (UPDATE) {
      fs.rmSync(expectedDir, { recursive: true, force: true });
      for (const f of files) {
        const p = path.join(expectedDir, path.relative(m.stateDir, f.path));
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, f.content);
      }
    }
    const listed: string[] = [];
    const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { if (e.isDirectory()) walk(path.join(d, e.name)); else listed.push(path.relative(expectedDir, path.join(d, e.name))); } };
    walk(expectedDir);
    expect(files.map((f) => path.relative(m.stateDir, f.path)).sort()).toEqual(listed.sort());
    for (const f of files) {
      expect({ file: f.path, content: f.content }).toEqual({ file: f.path, content: fs.readFileSync(path.join(expectedDir, path.relative(m.stateDir, f.path)), "utf8") });
      if (f.path.endsWith(".vol")) {
        expect(f.content).not.toMatch(/`/);
        parseVolfile(f.content); // well-formed
      }
    }
  });
});

describe("volfile renderer", () => {
  const input = JSON.parse(fs.readFileSync(path.join(ROOT, "replica3", "input.json"), "utf8"));
  it("client graph: clients, one replicate set, dht, utime, perf xlators, io-stats on top; no io-threads on replicate", () => {
    const g = clientGraph(model(input));
    expect(g.map((x) => x.name)).toEqual(["gv0-client-0", "gv0-client-1", "gv0-client-2", "gv0-replicate-0", "gv0-dht", "gv0-utime", "gv0-write-behind", "gv0-open-behind", "gv0-quick-read", "gv0-md-cache", "gv0"]);
    expect(g[2].options).toContainEqual(["remote-port", "50000"]);
  });
  it("lists xlator types through the parser", () => {
    const m = model(input);
    const text = renderStandalone(m)[0].content;
    expect(xlatorTypes(parseVolfile(text))).toEqual(["protocol/client", "cluster/replicate", "cluster/distribute", "features/utime", "performance/write-behind", "performance/open-behind", "performance/quick-read", "performance/md-cache", "debug/io-stats"]);
  });
  it("renders TLS files 0600 only with TLS", () => {
    const tlsInput = JSON.parse(fs.readFileSync(path.join(ROOT, "arbiter-tls-options", "input.json"), "utf8"));
    const tls = renderStandalone(model(tlsInput)).filter((f) => f.path.includes("/tls/"));
    expect(tls.map((f) => f.mode)).toEqual([0o600, 0o600, 0o600]);
    expect(renderStandalone(model(input)).filter((f) => f.path.includes("/tls/"))).toEqual([]);
  });
  it("a brick on a systemd host: its volfile and a unit in /etc/systemd/system go to its own set, not the volume's", () => {
    const issues = new Issues('netboot:index:GlusterVolume "v"');
    const ssh = { host: "10.88.1.1", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOx0c2V0dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVzdGsx", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n" };
    const m = buildGlusterModel("v", { mode: "standalone", clusterSubnet: "10.88.1.0/24", layout: "distribute", bricks: [{ host: "10.88.1.1", path: "/srv/b0", target: { ssh, systemd: true } }, { host: "10.88.1.2", path: "/srv/b1" }] }, { root: "/tmp/v" }, issues)!;
    expect(issues.list).toEqual([]);
    expect(renderStandalone(m).map((f) => f.path)).toEqual([
      "/etc/netboot/gluster/v/v.tcp-fuse.vol", "/etc/netboot/gluster/v/v.10.88.1.2.srv-b1.vol", "/etc/netboot/gluster/v/systemd/netboot-glusterfsd-v-1.service",
    ]);
    const [vol, unit] = renderBrickFiles(m, m.bricks[0]);
    expect([vol.path, unit.path]).toEqual(["/etc/netboot/gluster/v/v.10.88.1.1.srv-b0.vol", "/etc/systemd/system/netboot-glusterfsd-v-0.service"]);
    expect(unit.content).toContain("ExecStart=/usr/sbin/glusterfsd -N -f /etc/netboot/gluster/v/v.10.88.1.1.srv-b0.vol ");
    expect(unit.content).toContain("ConditionPathIsDirectory=/srv/b0");
  });
});

test("features.shard: a shard xlator right above distribute, below utime; none without it", () => {
  const issues = new Issues('netboot:index:GlusterVolume "v"');
  const args = { mode: "standalone", clusterSubnet: "10.88.1.0/24", layout: "replicate", replica: 3, bricks: [1, 2, 3, 4, 5, 6].map((i) => ({ host: `10.88.1.${i}`, path: "/b" })) };
  const g = clientGraph(buildGlusterModel("v", { ...args, options: { "features.shard": "on", "features.shard-block-size": "4MB" } }, {}, issues)!);
  expect(issues.list).toEqual([]);
  const shard = g.find((x) => x.type === "features/shard")!;
  expect(shard).toEqual({ name: "v-shard", type: "features/shard", options: [["shard-block-size", "4MB"]], subvolumes: ["v-dht"] });
  expect(g.find((x) => x.type === "features/utime")!.subvolumes).toEqual(["v-shard"]);
  expect(clientGraph(buildGlusterModel("v", args, {}, issues)!).some((x) => x.type === "features/shard")).toBe(false);
});
