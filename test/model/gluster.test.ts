import { buildGlusterModel, createArgs, GlusterArgsLike } from "../../provider/model/gluster";
import { Issues } from "../../provider/model/errors";

function build(a: GlusterArgsLike) {
  const issues = new Issues('netboot:index:GlusterVolume "v"');
  const m = buildGlusterModel("v", a, {}, issues);
  return { m, issues: issues.list };
}
const base = { mode: "standalone", clusterSubnet: "10.88.1.0/24" };
const bricks = (n: number, hosts = n) => Array.from({ length: n }, (_, i) => ({ host: `10.88.1.${(i % hosts) + 1}`, path: `/data/b${i}` }));

describe("buildGlusterModel", () => {
  it("builds sets, arbiter bricks, ports and the auth.allow default", () => {
    const { m, issues } = build({ ...base, layout: "arbiter", bricks: bricks(6, 3) });
    expect(issues).toEqual([]);
    expect(m!.sets).toBe(2);
    expect(m!.bricks.map((b) => b.arbiter)).toEqual([false, false, true, false, false, true]);
    expect(m!.bricks.map((b) => b.set)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(m!.bricks.map((b) => b.port)).toEqual([49152, 49153, 49154, 49155, 49156, 49157]);
    expect(m!.options["auth.allow"]).toBe("10.88.1.0/24");
    expect(createArgs(m!)).toEqual(["volume", "create", "v", "replica", "3", "arbiter", "1", "transport", "tcp", ...bricks(6, 3).map((b) => `${b.host}:${b.path}`)]);
  });

  it("is deterministic (stable volume id)", () => {
    expect(build({ ...base, layout: "replicate", replica: 2, bricks: bricks(2) }).m!.volumeId).toBe(build({ ...base, layout: "replicate", replica: 2, bricks: bricks(2) }).m!.volumeId);
  });

  it("reports every problem at once, with field and value", () => {
    const { m, issues } = build({
      mode: "cloud", layout: "disperse", disperse: 4, redundancy: 2, clusterSubnet: "10.88.1.0/33",
      bricks: [{ host: "10.88.1.1", path: "/d/a" }, { host: "10.88.1.1", path: "/d/a" }, { host: "10.88.1.2", path: "rel" }, { host: "h`id`", path: "/d/c" }, { host: "10.88.1.3", path: "/d/e" }],
      options: { "performance.cache-size": "lots", "bogus.key": "1", "auth.allow": "10.88.1.1\n", "network.ping-timeout": "`reboot`" },
    });
    expect(m).toBeUndefined();
    const fields = issues.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining([
      "mode", "clusterSubnet", "bricks[1]", "bricks[2].path", "bricks[3].host", "redundancy", "bricks",
      'options["performance.cache-size"]', 'options["bogus.key"]', 'options["auth.allow"]', 'options["network.ping-timeout"]',
    ]));
    expect(issues.find((i) => i.field === "bricks")!.message).toMatch(/not a multiple of the set size 4/);
    expect(issues.find((i) => i.field === "redundancy")!.message).toMatch(/less than half/);
    expect(issues.find((i) => i.field === 'options["network.ping-timeout"]')!.message).toMatch(/backtick/);
    expect(issues.find((i) => i.field === 'options["auth.allow"]')!.message).toMatch(/newline/);
    expect(issues.find((i) => i.field === 'options["bogus.key"]')!.message).toMatch(/unknown option key/);
  });

  it("refuses two bricks of one set on one host unless allowSameHostSets", () => {
    const a = { ...base, layout: "replicate", replica: 2, bricks: [{ host: "s1", path: "/a" }, { host: "s1", path: "/b" }] };
    const { issues } = build(a);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ field: "bricks[1].host", value: "s1" });
    expect(issues[0].message).toMatch(/allowSameHostSets/);
    expect(build({ ...a, allowSameHostSets: true }).issues).toEqual([]);
    // Distribute has no sets: same host is fine.
    expect(build({ ...base, layout: "distribute", bricks: [{ host: "s1", path: "/a" }, { host: "s1", path: "/b" }] }).issues).toEqual([]);
  });

  it("refuses auth.allow *, TLS without material, a quote in a value, bad disperse redundancy", () => {
    const { issues } = build({ ...base, layout: "disperse", disperse: 3, redundancy: 0, bricks: bricks(3), options: { "auth.allow": "*", "client.ssl": "on", "cluster.min-free-disk": "5\"%" } });
    const msgs = issues.map((i) => `${i.field}: ${i.message}`).join("\n");
    expect(msgs).toMatch(/auth.allow.*every address/);
    expect(msgs).toMatch(/client.ssl.*tls/);
    expect(msgs).toMatch(/min-free-disk.*double quote/);
    expect(msgs).toMatch(/redundancy: must be at least 1/);
  });

  it("checks option values", () => {
    const ok = build({ ...base, layout: "distribute", bricks: bricks(1), options: { "performance.read-ahead": "on", "auth.allow": "10.88.1.*,10.88.2.0/24,node1", "cluster.min-free-disk": "5%", "diagnostics.client-log-level": "WARNING" } });
    expect(ok.issues).toEqual([]);
    const bad = build({ ...base, layout: "distribute", bricks: bricks(1), options: { "performance.read-ahead": "maybe", "auth.allow": "10.88.1.300", "diagnostics.client-log-level": "LOUD", "network.ping-timeout": "5000" } });
    expect(bad.issues.map((i) => i.field).sort()).toEqual(['options["auth.allow"]', 'options["diagnostics.client-log-level"]', 'options["network.ping-timeout"]', 'options["performance.read-ahead"]']);
  });
});

describe("standalone bricks as systemd units (brick `target`, host `systemd`)", () => {
  const ssh = (host: string, systemd?: boolean) => ({ ssh: { host, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOx0c2V0dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVzdGsx", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n" }, ...(systemd === undefined ? {} : { systemd }) });
  const withHost = (a: GlusterArgsLike, host: object) => {
    const issues = new Issues('netboot:index:GlusterVolume "v"');
    const m = buildGlusterModel("v", a, host, issues);
    return { m, issues: issues.list };
  };

  test("a local target folder keeps its bricks with the volume's files, as before (no unit of their own)", () => {
    const { m, issues } = withHost({ ...base, layout: "replicate", replica: 3, bricks: bricks(3) }, { root: "/tmp/x" });
    expect(issues).toEqual([]);
    expect(m!.bricks.map((b) => b.systemdUnit)).toEqual([false, false, false]);
  });

  test("an SSH host with systemd: every brick without a target is a unit there", () => {
    const { m, issues } = withHost({ ...base, layout: "replicate", replica: 3, bricks: bricks(3) }, ssh("10.88.1.1", true));
    expect(issues).toEqual([]);
    expect(m!.bricks.map((b) => [b.systemdUnit, b.target])).toEqual([[true, undefined], [true, undefined], [true, undefined]]);
  });

  test("each brick on its own SSH host (target), the volume's files on a local folder", () => {
    const { m, issues } = withHost({ ...base, layout: "replicate", replica: 3, bricks: bricks(3).map((b, i) => ({ ...b, target: ssh(`10.88.1.${i + 1}`, true) })) }, { root: "/tmp/x" });
    expect(issues).toEqual([]);
    expect(m!.bricks.map((b) => [b.systemdUnit, b.target?.ssh?.host])).toEqual([[true, "10.88.1.1"], [true, "10.88.1.2"], [true, "10.88.1.3"]]);
  });

  test("refused, every one at once: an SSH host without systemd, a local target apart from the volume, a target in managed mode, TLS with unit bricks", () => {
    const noSystemd = withHost({ ...base, layout: "distribute", bricks: [{ ...bricks(1)[0] }, { ...bricks(2)[1], target: ssh("10.88.1.2") }, { host: "10.88.1.3", path: "/data/b2", target: { root: "/tmp/elsewhere" } }] }, ssh("10.88.1.1"));
    expect(noSystemd.issues.map((i) => `${i.field}: ${i.message}`)).toEqual([
      "host: standalone bricks on an SSH host run as systemd units: give the host `systemd: true`",
      "bricks[1].target: standalone bricks on an SSH host run as systemd units: give the host `systemd: true`",
      "bricks[2].target: a brick placed apart from the volume's files runs as a systemd unit: give its target `systemd: true`, or leave target out",
    ]);
    const managed = withHost({ ...base, mode: "managed", layout: "distribute", bricks: [{ ...bricks(1)[0], target: ssh("10.88.1.1", true) }] }, ssh("10.88.1.1"));
    expect(managed.issues.map((i) => i.field)).toEqual(["bricks[0].target"]);
    const pem = (k: string) => `-----BEGIN ${k}-----\nx\n-----END ${k}-----\n`;
    const tls = withHost({ ...base, layout: "distribute", bricks: bricks(1), tls: { key: pem("PRIVATE KEY"), certificate: pem("CERTIFICATE"), ca: pem("CERTIFICATE") } }, ssh("10.88.1.1", true));
    expect(tls.issues.map((i) => i.field)).toEqual(["tls"]);
  });
});

test("features.shard and its block size: glusterd's bounds (4MB to 4TB)", () => {
  const opts = (o: Record<string, string>) => build({ ...base, layout: "distribute", bricks: bricks(2), options: o });
  expect(opts({ "features.shard": "on", "features.shard-block-size": "4MB" }).issues).toEqual([]);
  expect(opts({ "features.shard-block-size": "4TB" }).issues).toEqual([]);
  expect(opts({ "features.shard": "maybe", "features.shard-block-size": "1MB" }).issues.map((i) => `${i.field}: ${i.message}`)).toEqual([
    'options["features.shard"]: must be on/off (or true/false, yes/no, enable/disable)',
    'options["features.shard-block-size"]: must be a size from 4MB to 4TB (glusterd\'s bounds), such as 64MB',
  ]);
  expect(opts({ "features.shard-block-size": "5TB" }).issues).toHaveLength(1);
});
