/**
 * netboot:index:GlusterManagedVolume's whole lifecycle over an in-memory host whose `gluster` CLI is a small
 * fake glusterd (one volume: bricks, status, options): check, create, diff, read showing an option set by
 * hand, update, glusterd refusing a value (the consumer's check), a lost host, delete. The real glusterd is
 * proven by test/integration/glusterManaged.test.ts.
 */
import { glusterManagedHandler } from "../../provider/resources/glusterManaged";
import { beginApply, journalPath, readEntry } from "../../provider/resources/journal";
import { customResources } from "../../provider/registry";
import { ExecResult } from "../../provider/transport";
import { MemoryTransport } from "../../provider/transport/memory";
import { testContext } from "../helpers/context";

const URN = "urn:pulumi:test::p::netboot:index:GlusterManagedVolume::gv0-volume";
const VOLFILE = "volume gv0-client-0\n    type protocol/client\n    option remote-host 127.0.0.1\n    option remote-subvolume /data/b0\nend-volume\n\nvolume gv0\n    type cluster/replicate\n    subvolumes gv0-client-0\nend-volume\n";

/** glusterd as the CLI shows it, for one host. `refuse` makes `volume set KEY` fail like a bad value does. */
class FakeGlusterd {
  volume: { bricks: string[]; status: number; options: Record<string, string> } | undefined;
  refuse: string | undefined;
  readonly calls: string[] = [];

  exec(argv: string[]): ExecResult {
    const words = argv.filter((a, i) => i > 0 && !a.startsWith("--"));
    this.calls.push(words.join(" "));
    const ok = (stdout = "") => ({ code: 0, stdout, stderr: "" });
    const fail = (stderr: string) => ({ code: 1, stdout: "", stderr });
    const [a, b, name, ...rest] = words;
    const v = this.volume;
    if (a === "peer" && b === "probe") return ok("peer probe: success. Probe on localhost not needed");
    if (a === "peer" && b === "status") return ok("<cliOutput><peerStatus/></cliOutput>");
    if (a === "system::" && b === "getspec") return v ? ok(VOLFILE) : fail("getspec failed");
    if (a !== "volume") return fail(`unknown command ${words.join(" ")}`);
    switch (b) {
      case "info":
        if (!v) return ok("<cliOutput><opRet>-1</opRet></cliOutput>");
        return ok(`<cliOutput><opRet>0</opRet><volInfo><volumes><volume><name>${name}</name><status>${v.status}</status><bricks>${v.bricks
          .map((x) => `<brick uuid="u">${x}<name>${x}</name></brick>`).join("")}</bricks><options>${Object.entries(v.options)
          .map(([k, x]) => `<option><name>${k}</name><value>${x}</value></option>`).join("")}</options></volume></volumes></volInfo></cliOutput>`);
      case "create":
        if (v) return fail(`volume create: ${name}: failed: Volume ${name} already exists`);
        this.volume = { bricks: rest.filter((x) => x.includes(":/")), status: 0, options: { "nfs.disable": "on" } };
        return ok();
      case "set":
        if (rest[0] === this.refuse) return fail(`volume set: failed: option ${rest[0]} ${rest[1]}: invalid value`);
        v!.options[rest[0]] = rest[1];
        return ok();
      case "reset":
        delete v!.options[rest[0]];
        return ok();
      case "start":
        v!.status = 1;
        return ok();
      case "stop":
        v!.status = 2;
        return ok();
      case "delete":
        this.volume = undefined;
        return ok();
      default:
        return fail(`unknown command ${words.join(" ")}`);
    }
  }
}

function setup() {
  const host = new MemoryTransport();
  const gd = new FakeGlusterd();
  host.execHandler = (argv) => gd.exec(argv);
  const { ctx } = testContext({ transports: { "local:/": host } });
  // `journaled`: the handler as the provider serves it (registry.ts), through the intent journal
  return { host, gd, h: glusterManagedHandler(ctx), journaled: customResources(ctx)["netboot:index:GlusterManagedVolume"] };
}

const args = (options: Record<string, string> = { "network.ping-timeout": "10" }) => ({
  host: {}, volumeName: "gv0", layout: "replicate", replica: 2, clusterSubnet: "10.88.1.0/24", allowSameHostSets: true,
  bricks: [{ host: "127.0.0.1", path: "/data/b0" }, { host: "127.0.0.1", path: "/data/b1" }], options,
});

test("check reports every bad field at once", async () => {
  const { h } = setup();
  const r = await h.check(URN, {}, { ...args({ "no.such.option": "1" }), replica: 0, bricks: [{ host: "127.0.0.1", path: "data" }] });
  expect(r.failures!.length).toBeGreaterThanOrEqual(3);
  for (const f of ['options["no.such.option"]', "replica"]) expect(r.failures!.map((x) => x.property)).toContain(f);
  expect(r.failures!.some((x) => x.property.startsWith("bricks[0]"))).toBe(true);
});

test("create, diff, read a hand-set option, update, a refused value, a lost host, delete", async () => {
  const { host, gd, h } = setup();
  const inputs = (await h.check(URN, {}, args())).inputs;
  const created = await h.create(URN, inputs);
  expect(gd.volume).toEqual({ bricks: ["127.0.0.1:/data/b0", "127.0.0.1:/data/b1"], status: 1, options: { "nfs.disable": "on", "network.ping-timeout": "10", "auth.allow": "10.88.1.0/24" } });
  expect(created.outs).toMatchObject({ volumeName: "gv0", started: true, clientVolfile: VOLFILE, options: { "auth.allow": "10.88.1.0/24", "network.ping-timeout": "10" } });
  expect((await h.diff(created.id, URN, created.outs, inputs)).changes).toBe(false);

  // set by hand: refresh reads it, diff wants it back (glusterd's own defaults such as nfs.disable are no drift)
  gd.volume!.options["network.ping-timeout"] = "42";
  gd.volume!.options["performance.io-cache"] = "on";
  const read = await h.read(created.id, URN, created.outs);
  expect(read.props.options).toEqual({ "auth.allow": "10.88.1.0/24", "network.ping-timeout": "42", "performance.io-cache": "on" });
  const d = await h.diff(created.id, URN, read.props, inputs);
  expect(d.detailedDiff).toEqual({ 'options["network.ping-timeout"]': { kind: "update" }, 'options["performance.io-cache"]': { kind: "delete" } });
  expect(d.replaces).toEqual([]);

  // glusterd refuses the new value: the update fails with its words, the volume keeps what it had
  gd.refuse = "network.ping-timeout";
  await expect(h.update(created.id, URN, read.props, inputs)).rejects.toThrow(/volume set gv0 network.ping-timeout 10 failed \(1\): volume set: failed: option network.ping-timeout 10: invalid value/);
  expect(gd.volume!.options["network.ping-timeout"]).toBe("42");
  gd.refuse = undefined;

  // the host is lost mid-update
  host.execHandler = () => {
    throw new Error("memory: exec gluster: connection lost");
  };
  await expect(h.update(created.id, URN, read.props, inputs)).rejects.toThrow(/connection lost/);
  host.execHandler = (argv) => gd.exec(argv);

  const updated = await h.update(created.id, URN, read.props, inputs);
  expect(updated.outs.options).toEqual({ "auth.allow": "10.88.1.0/24", "network.ping-timeout": "10" });
  expect(gd.volume!.options["performance.io-cache"]).toBeUndefined();

  // other bricks replace the volume (deleted first: a volume name is unique)
  const moved = await h.diff(created.id, URN, updated.outs, { ...inputs, bricks: [{ host: "127.0.0.1", path: "/data/c0" }, { host: "127.0.0.1", path: "/data/c1" }] });
  expect(moved).toMatchObject({ replaces: ["bricks"], deleteBeforeReplace: true });

  // a volume deleted by hand reads as gone; delete stops and deletes it, and is a no-op once it is gone
  await h.delete(created.id, URN, updated.outs);
  expect(gd.volume).toBeUndefined();
  expect(gd.calls.slice(-2)).toEqual(["volume stop gv0 force", "volume delete gv0"]);
  expect((await h.read(created.id, URN, updated.outs)).id).toBe("");
  await h.delete(created.id, URN, updated.outs);
});

test("create adopts nothing that is not its own: a volume of that name with other bricks is refused", async () => {
  const { gd, h } = setup();
  gd.volume = { bricks: ["10.0.0.9:/other"], status: 1, options: {} };
  const inputs = (await h.check(URN, {}, args())).inputs;
  await expect(h.create(URN, inputs)).rejects.toThrow(/volume gv0 already exists on memory with other bricks \(10.0.0.9:\/other\); refusing to adopt it/);
  expect(gd.volume.bricks).toEqual(["10.0.0.9:/other"]);
});

describe("through the intent journal (issue 18): the host running the gluster CLI keeps the entry", () => {
  test("a clean create is trusted; an apply cut short (entry left `applying`) makes diff report `journal`, and up converges", async () => {
    const { host, gd, journaled: h } = setup();
    const inputs = (await h.check(URN, {}, args())).inputs;
    const created = await h.create(URN, inputs);
    expect(await readEntry(host, URN)).toMatchObject({ state: "done", nonce: created.outs.journal });
    expect(await h.diff(created.id, URN, created.outs, inputs)).toMatchObject({ changes: false });

    // the engine was killed inside an apply that had stopped the volume
    await beginApply(host, URN, "0123456789abcdef01234567");
    gd.volume!.status = 2;
    const d = await h.diff(created.id, URN, created.outs, inputs);
    expect(d).toMatchObject({ changes: true, replaces: [] });
    expect(d.detailedDiff).toEqual({ journal: { kind: "update" } });
    const redone = await h.update(created.id, URN, created.outs, inputs);
    expect(gd.volume!.status).toBe(1);
    expect(await h.diff(created.id, URN, redone.outs, inputs)).toMatchObject({ changes: false });
  });

  test("a delete cut short after `volume delete` is reported, up creates the volume again; a finished delete removes the entry", async () => {
    const { host, gd, journaled: h } = setup();
    const inputs = (await h.check(URN, {}, args())).inputs;
    const created = await h.create(URN, inputs);
    host.failOn = { op: "remove", path: journalPath(URN), error: "connection lost" };
    await expect(h.delete(created.id, URN, created.outs)).rejects.toThrow(/connection lost/);
    host.failOn = undefined;
    expect(gd.volume).toBeUndefined();
    expect(await readEntry(host, URN)).toMatchObject({ state: "deleting" });
    expect((await h.diff(created.id, URN, created.outs, inputs)).detailedDiff).toEqual({ journal: { kind: "update" } });
    const back = await h.update(created.id, URN, created.outs, inputs);
    expect(gd.volume).toMatchObject({ bricks: ["127.0.0.1:/data/b0", "127.0.0.1:/data/b1"], status: 1, options: { "network.ping-timeout": "10" } });
    expect(await h.diff(created.id, URN, back.outs, inputs)).toMatchObject({ changes: false });

    await h.delete(created.id, URN, back.outs);
    expect(gd.volume).toBeUndefined();
    expect(host.files.has(journalPath(URN))).toBe(false);
  });
});
