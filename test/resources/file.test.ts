/**
 * netboot:index:File's whole lifecycle over an in-memory host: check (every error at once), create, diff,
 * read showing a hand edit, update, a failed write, delete removing only what it owns.
 * (File has no consumer check; FileSet's test covers a failing one.)
 */
import { sha256 } from "../../provider/drift/digest";
import { fileHandler } from "../../provider/resources/file";
import { MemoryTransport } from "../../provider/transport/memory";
import { testContext } from "../helpers/context";

const URN = "urn:pulumi:test::p::netboot:index:File::motd";

function setup() {
  const host = new MemoryTransport();
  const { ctx } = testContext({ transports: { "local:/srv": host } });
  return { host, h: fileHandler(ctx) };
}

test("check reports every bad field at once, with resource, field and value", async () => {
  const { h } = setup();
  const r = await h.check(URN, {}, { host: { root: "" }, path: "etc/motd", content: 42, mode: "999" });
  expect(r.failures!.map((f) => f.property).sort()).toEqual(["content", "host.root", "mode", "path"]);
  expect(r.failures!.find((f) => f.property === "mode")!.reason).toBe('netboot:index:File "motd": mode = "999": must be octal permission bits such as "0644"');
});

test("a bad mode is reported by check (\"0999\", \"rwx\"), and one that skipped check is never written as 0644", async () => {
  const { host, h } = setup();
  for (const mode of ["0999", "rwx"]) {
    const r = await h.check(URN, {}, { host: { root: "/srv" }, path: "/etc/motd", content: "x", mode });
    expect(r.failures).toEqual([{ property: "mode", reason: `netboot:index:File "motd": mode = "${mode}": must be octal permission bits such as "0644"` }]);
  }
  await expect(h.create(URN, { host: { root: "/srv" }, path: "/etc/motd", content: "x", mode: "rwx" } as never)).rejects.toThrow(/internal: mode "rwx" reached past check/);
  expect(host.files.has("/etc/motd")).toBe(false);
});

test("create, diff, read a hand edit, update, a failed write, delete", async () => {
  const { host, h } = setup();
  const inputs = (await h.check(URN, {}, { host: { root: "/srv" }, path: "/etc/motd", content: "hello\n", mode: "0640" })).inputs;
  const created = await h.create(URN, inputs);
  expect(host.files.get("/etc/motd")).toEqual({ data: Buffer.from("hello\n"), mode: 0o640 });
  expect(created.outs).toMatchObject({ path: "/etc/motd", fullPath: "/srv/etc/motd", content: "hello\n", mode: "0640", sha256: sha256("hello\n"), createdDirs: ["/etc"] });

  // unchanged inputs: no change
  expect((await h.diff(created.id, URN, created.outs, inputs)).changes).toBe(false);

  // a hand edit: read shows what is there, diff wants it back
  host.files.set("/etc/motd", { data: Buffer.from("edited\n"), mode: 0o644 });
  const read = await h.read(created.id, URN, created.outs);
  expect(read.props).toMatchObject({ content: "edited\n", mode: "0644", sha256: sha256("edited\n") });
  const d = await h.diff(created.id, URN, read.props, inputs);
  expect(d).toMatchObject({ changes: true, replaces: [], detailedDiff: { content: { kind: "update" }, mode: { kind: "update" } } });

  // another path is another file
  const moved = await h.diff(created.id, URN, read.props, { ...inputs, path: "/etc/issue" });
  expect(moved.replaces).toEqual(["path"]);

  // a write that fails (a full disk) leaves the hand edit in place and fails the update with the host's words
  host.failOn = { op: "write", path: "/etc/motd", error: "No space left on device" };
  await expect(h.update(created.id, URN, read.props, inputs)).rejects.toThrow(/write \/etc\/motd: No space left on device/);
  expect(host.files.get("/etc/motd")!.data.toString()).toBe("edited\n");
  host.failOn = undefined;

  const updated = await h.update(created.id, URN, read.props, inputs);
  expect(host.files.get("/etc/motd")).toEqual({ data: Buffer.from("hello\n"), mode: 0o640 });
  expect(updated.outs).toMatchObject({ content: "hello\n", sha256: sha256("hello\n") });

  // a file gone by hand reads as missing, and diff adds it again
  host.files.delete("/etc/motd");
  const gone = await h.read(created.id, URN, updated.outs!);
  expect(gone.props).toMatchObject({ sha256: "", content: "" });
  expect((await h.diff(created.id, URN, gone.props, inputs)).detailedDiff).toMatchObject({ content: { kind: "add" } });
  await h.update(created.id, URN, gone.props, inputs);

  // delete removes the file and the folder it made, not a neighbour it did not write
  host.files.set("/etc/hostname", { data: Buffer.from("n1\n"), mode: 0o644 });
  await h.delete(created.id, URN, updated.outs!);
  expect([...host.files.keys()]).toEqual(["/etc/hostname"]);
  expect(host.dirs.has("/etc")).toBe(true);
  host.files.delete("/etc/hostname");
  // deleting again is a no-op for the file, and the folder it made goes once it is empty
  await h.delete(created.id, URN, updated.outs!);
  expect(host.dirs.has("/etc")).toBe(false);
});

test("drift beyond content and mode: an owner change, a type change, a symlinked folder, a deleted folder it made", async () => {
  const { host, h } = setup();
  const inputs = (await h.check(URN, {}, { host: { root: "/srv" }, path: "/etc/app/motd", content: "hello\n", mode: "0644" })).inputs;
  const created = await h.create(URN, inputs);
  expect(created.outs).toMatchObject({ owner: "0:0", owners: { "/etc/app/motd": "0:0" }, dirDrift: {}, createdDirs: ["/etc", "/etc/app"] });
  const clean = await h.read(created.id, URN, created.outs);
  expect((await h.diff(created.id, URN, clean.props, inputs)).changes).toBe(false);

  // an owner change: refresh reports it on `owner`; up writes the file again (with netboot's owner)
  host.owners.set("/etc/app/motd", "4242:4242");
  const chowned = await h.read(created.id, URN, created.outs);
  expect(chowned.props).toMatchObject({ owner: "4242:4242", owners: { "/etc/app/motd": "0:0" }, sha256: sha256("hello\n") });
  expect((await h.diff(created.id, URN, chowned.props, inputs)).detailedDiff).toEqual({ owner: { kind: "update" } });
  const fixed = await h.update(created.id, URN, chowned.props, inputs);
  expect(fixed.outs).toMatchObject({ owner: "0:0" });
  expect(host.owners.has("/etc/app/motd")).toBe(false);

  // a symlink where the file goes: a type change, replaced by the file (never written through)
  host.files.delete("/etc/app/motd");
  host.symlinks.set("/etc/app/motd", "/etc/shadow");
  const linked = await h.read(created.id, URN, fixed.outs);
  expect(linked.props).toMatchObject({ type: "symlink", sha256: "", content: "" });
  expect((await h.diff(created.id, URN, linked.props, inputs)).detailedDiff).toEqual({ type: { kind: "update" } });
  const back = await h.update(created.id, URN, linked.props, inputs);
  expect(host.symlinks.has("/etc/app/motd")).toBe(false);
  expect(host.files.get("/etc/app/motd")!.data.toString()).toBe("hello\n");
  expect(back.outs.type).toBeUndefined();

  // the folder it made replaced by a symlink to a folder holding a file of that name: never read from there
  host.files.delete("/etc/app/motd");
  host.dirs.delete("/etc/app");
  host.symlinks.set("/etc/app", "/elsewhere");
  host.files.set("/etc/app/motd", { data: Buffer.from("OUTSIDE\n"), mode: 0o644 }); // what a read through the link would find
  const through = await h.read(created.id, URN, back.outs);
  expect(JSON.stringify(through.props)).not.toContain("OUTSIDE");
  expect(through.props).toMatchObject({ sha256: "", dirDrift: { "/etc/app": "symlink -> /elsewhere" } });
  expect((await h.diff(created.id, URN, through.props, inputs)).detailedDiff).toEqual({ content: { kind: "add" }, mode: { kind: "update" }, 'dirDrift["/etc/app"]': { kind: "update" } });
  host.files.delete("/etc/app/motd");
  const repaired = await h.update(created.id, URN, through.props, inputs);
  expect(host.symlinks.has("/etc/app")).toBe(false);
  expect(host.files.get("/etc/app/motd")!.data.toString()).toBe("hello\n");
  expect(repaired.outs.dirDrift).toEqual({});

  // a folder it made, deleted with the file: reported missing, made again by up
  host.files.delete("/etc/app/motd");
  host.dirs.delete("/etc/app");
  const gone = await h.read(created.id, URN, repaired.outs);
  expect(gone.props.dirDrift).toEqual({ "/etc/app": "missing" });
  await h.update(created.id, URN, gone.props, inputs);
  expect(host.dirs.has("/etc/app")).toBe(true);
  const after = await h.read(created.id, URN, repaired.outs);
  expect((await h.diff(created.id, URN, after.props, inputs)).changes).toBe(false);
});
