/**
 * netboot:index:FileSet's whole lifecycle over in-memory hosts (the target and the build host the `source`
 * files come from): check, create, diff, read showing drift, update, a failing consumer check, a failed
 * write, the daemon's signal, delete removing only what it owns.
 */
import { sha256 } from "../../provider/drift/digest";
import { fileSetHandler } from "../../provider/resources/fileSet";
import { MemoryTransport } from "../../provider/transport/memory";
import { testContext } from "../helpers/context";

const URN = "urn:pulumi:test::p::netboot:index:FileSet::pxe-dnsmasq";
const CONF = "/etc/dnsmasq.d/netboot.conf";
const LEASES = "/srv/netboot/dhcp-hosts.d/rack1";
const BIN = "/srv/netboot/tftp/undionly.kpxe";

function setup() {
  const host = new MemoryTransport();
  const buildHost = new MemoryTransport();
  buildHost.files.set("/usr/lib/ipxe/undionly.kpxe", { data: Buffer.from([0x55, 0xaa, 0x00]), mode: 0o644 });
  host.files.set("/run/dnsmasq.pid", { data: Buffer.from("4242\n"), mode: 0o644 });
  const { ctx } = testContext({ transports: { "local:/srv/pxe": host, "local:/": buildHost } });
  return { host, buildHost, h: fileSetHandler(ctx) };
}

const args = (conf = "port=0\n") => ({
  host: { root: "/srv/pxe" },
  files: {
    [CONF]: { content: conf, mode: "0644" },
    [LEASES]: { content: "52:54:00:00:00:01,10.0.0.11,n1\n", mode: "0644" },
    [BIN]: { source: "/usr/lib/ipxe/undionly.kpxe", mode: "0644" },
  },
  checks: [{ path: CONF, command: ["dnsmasq", "--test", "-C", "{}"] }],
  signal: { pidFile: "/run/dnsmasq.pid", on: "removal", paths: [LEASES] },
});

test("check reports every bad field at once", async () => {
  const { h } = setup();
  const r = await h.check(URN, {}, {
    host: { root: "/srv/pxe" },
    files: { "etc/x": { content: "x" }, "/etc/y": { content: 1, mode: "abc" } },
    checks: [{ path: "/etc/z", command: [] }],
    signal: { on: "sometimes", signal: "hup" },
  });
  expect(r.failures!.map((f) => f.property).sort()).toEqual([
    "checks[0].command", "checks[0].path", 'files["/etc/y"].content', 'files["/etc/y"].mode', 'files["etc/x"]', "signal.on", "signal.signal",
  ]);
});

test("create, diff, read drift, update, a failing check, a failed write, signal, delete", async () => {
  const { host, h } = setup();
  const inputs = (await h.check(URN, {}, args())).inputs;
  host.execHandler = () => ({ code: 0, stdout: "", stderr: "" });
  const created = await h.create(URN, inputs);
  expect(host.files.get(CONF)!.data.toString()).toBe("port=0\n");
  expect(host.files.get(BIN)!.data).toEqual(Buffer.from([0x55, 0xaa, 0x00]));
  // the consumer checked the staged file, not the live one
  expect(host.execLog).toContainEqual(["dnsmasq", "--test", "-C", `${CONF}.staged`]);
  expect(created.outs.manifest).toEqual({ [CONF]: sha256("port=0\n"), [LEASES]: sha256("52:54:00:00:00:01,10.0.0.11,n1\n"), [BIN]: sha256(Buffer.from([0x55, 0xaa, 0x00])) });
  expect(created.outs.lastApply).toMatchObject({ written: "3", signalled: "not needed" });

  expect((await h.diff(created.id, URN, created.outs, inputs)).changes).toBe(false);

  // a hand edit: read keeps the found content (for the line diff), diff names the file
  host.files.set(CONF, { data: Buffer.from("port=53\n"), mode: 0o644 });
  const read = await h.read(created.id, URN, created.outs);
  expect(read.props.files[CONF]).toMatchObject({ content: "port=53\n", sha256: sha256("port=53\n") });
  expect(read.props.files[LEASES].content).toBeUndefined(); // not drifted: hashes only
  const d = await h.diff(created.id, URN, read.props, inputs);
  expect(d.detailedDiff).toEqual({ [`files["${CONF}"]`]: { kind: "update", inputDiff: false } });

  // changed arguments show as their own properties
  const newChecks = (await h.diff(created.id, URN, read.props, { ...inputs, checks: [] })).detailedDiff!;
  expect(newChecks.checks).toEqual({ kind: "update" });

  // the consumer rejects the new config: the live file stays as it was and nothing else is written
  host.execHandler = (argv) => (argv[0] === "dnsmasq" ? { code: 1, stdout: "", stderr: "bad option at line 1" } : { code: 0, stdout: "", stderr: "" });
  const next = (await h.check(URN, read.props, { ...args("bogus\n"), files: { ...args("bogus\n").files, [LEASES]: { content: "", mode: "0644" } } })).inputs;
  await expect(h.update(created.id, URN, read.props, next)).rejects.toThrow(/rejected the new file.*live file is unchanged[\s\S]*bad option at line 1/);
  expect(host.files.get(CONF)!.data.toString()).toBe("port=53\n");
  expect(host.files.get(LEASES)!.data.toString()).toBe("52:54:00:00:00:01,10.0.0.11,n1\n");
  host.execHandler = () => ({ code: 0, stdout: "", stderr: "" });

  // a failed write (the host went away) fails the update; the files are as they were
  host.failOn = { op: "write", error: "Connection reset by peer" };
  await expect(h.update(created.id, URN, read.props, inputs)).rejects.toThrow(/Connection reset by peer/);
  expect(host.files.get(CONF)!.data.toString()).toBe("port=53\n");
  host.failOn = undefined;

  // the next apply converges, writing only what differs
  const updated = await h.update(created.id, URN, read.props, inputs);
  expect(host.files.get(CONF)!.data.toString()).toBe("port=0\n");
  expect(updated.outs!.lastApply).toMatchObject({ written: "1", unchanged: "2", removed: "0" });

  // a file dropped from the set is removed, and dnsmasq is told (its leases file went)
  const fewer = { ...args(), files: { [CONF]: args().files[CONF], [BIN]: args().files[BIN] } };
  const shrunk = await h.update(created.id, URN, updated.outs, (await h.check(URN, updated.outs, fewer)).inputs);
  expect(host.files.has(LEASES)).toBe(false);
  expect(shrunk.outs!.lastApply).toMatchObject({ removed: "1", signalled: "sent SIGHUP to 4242" });
  expect(host.execLog).toContainEqual(["kill", "-s", "HUP", "4242"]);

  // delete removes its own files and folders only
  host.files.set("/etc/dnsmasq.d/other.conf", { data: Buffer.from("# not ours\n"), mode: 0o644 });
  await h.delete(created.id, URN, shrunk.outs!);
  expect([...host.files.keys()].sort()).toEqual(["/etc/dnsmasq.d/other.conf", "/run/dnsmasq.pid"]);
  expect(host.dirs.has("/etc/dnsmasq.d")).toBe(true);
  expect(host.dirs.has("/srv/netboot/tftp")).toBe(false);
});

test("every missing source file on the build host is named at once", async () => {
  const { h } = setup();
  const a = args();
  const inputs = (await h.check(URN, {}, { ...a, files: { ...a.files, "/srv/netboot/tftp/ipxe.efi": { source: "/usr/lib/ipxe/ipxe.efi" }, "/srv/netboot/tftp/snp.efi": { source: "/usr/lib/ipxe/snp.efi" } } })).inputs;
  await expect(h.create(URN, inputs)).rejects.toThrow(/ipxe\.efi does not exist on the build host\n.*snp\.efi does not exist on the build host/);
});
