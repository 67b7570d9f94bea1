import * as fs from "fs";
import { applyFiles, removeFiles } from "../../provider/resources/lifecycle";
import { LocalTransport } from "../../provider/transport/local";
import { tmpDir } from "../helpers/env";
import { MemoryTransport } from "../../provider/transport/memory";
import { PutOptions, Transport } from "../../provider/transport/transport";
import { diffManifests, folderDrift, formatChanges, isNetbootTemp, strays } from "../../provider/drift/diff";

describe("applyFiles", () => {
  test("writes only what differs and reports it", async () => {
    const t = new MemoryTransport();
    const a = { path: "/etc/a", content: "A\n", mode: 0o644, secret: false };
    const b = { path: "/etc/b", content: "B\n", mode: 0o600, secret: false };
    const r1 = await applyFiles(t, [a, b], []);
    expect(r1.written).toEqual(["/etc/a", "/etc/b"]);
    expect(r1.createdDirs).toEqual(["/etc"]);
    const r2 = await applyFiles(t, [a, { ...b, content: "B2\n" }], ["/etc/a", "/etc/b"]);
    expect(r2.written).toEqual(["/etc/b"]);
    expect(r2.changed).toEqual(["/etc/b"]);
    expect(r2.unchanged).toEqual(["/etc/a"]);
    expect(t.files.get("/etc/b")!.mode).toBe(0o600);
  });

  test("a failing check leaves the live file as it was and stops before other files", async () => {
    const t = new MemoryTransport();
    await applyFiles(t, [{ path: "/etc/d.conf", content: "good\n", mode: 0o644, secret: false }], []);
    t.execHandler = (argv) => (argv.includes("/etc/d.conf.staged") ? { code: 1, stdout: "", stderr: "bad option at line 1" } : { code: 0, stdout: "", stderr: "" });
    await expect(
      applyFiles(
        t,
        [
          { path: "/etc/d.conf", content: "bad\n", mode: 0o644, secret: false },
          { path: "/etc/other", content: "x\n", mode: 0o644, secret: false },
        ],
        ["/etc/d.conf"],
        [{ path: "/etc/d.conf", command: ["dnsmasq", "--test", "-C", "{}"] }],
      ),
    ).rejects.toThrow(/rejected the new file.*live file is unchanged[\s\S]*bad option at line 1/);
    expect(t.files.get("/etc/d.conf")!.data.toString()).toBe("good\n");
    expect(t.files.has("/etc/other")).toBe(false);
  });

  test("a batch's renames are made durable once per folder, after every write and before any removal", async () => {
    const mem = new MemoryTransport();
    await applyFiles(mem, [{ path: "/srv/old", content: "o", mode: 0o644, secret: false }], []);
    const events: string[] = [];
    // the memory transport, with each call recorded
    const t: Transport = Object.assign(Object.create(mem) as MemoryTransport, {
      put: async (p: string, d: Buffer | string, o: PutOptions) => (events.push(`put ${p} syncDir=${o.syncDir}`), mem.put(p, d, o)),
      remove: async (p: string) => (events.push(`remove ${p}`), mem.remove(p)),
      syncDirs: async (dirs: string[]) => void events.push(`sync ${dirs.join(",")}`),
    });
    const files = ["/srv/o/a/1", "/srv/o/a/2", "/srv/o/b/1"].map((path) => ({ path, content: path, mode: 0o644, secret: false }));
    await applyFiles(t, files, ["/srv/old"]);
    expect(events.slice(0, 3).sort()).toEqual(["put /srv/o/a/1 syncDir=false", "put /srv/o/a/2 syncDir=false", "put /srv/o/b/1 syncDir=false"]);
    expect(events.slice(3)).toEqual(["sync /srv/o/a", "sync /srv/o/b", "remove /srv/old"]);
  });

  test("LocalTransport.syncDirs syncs folders that exist and skips one that does not", async () => {
    const root = tmpDir("syncdirs");
    const t = new LocalTransport(root);
    await t.put("/a/f", "x", { mode: 0o644, syncDir: false });
    await expect(t.syncDirs(["/a", "/missing"])).resolves.toBeUndefined();
    expect(fs.readFileSync(`${root}/a/f`, "utf8")).toBe("x");
  });

  test("removals signal the daemon through its pid file; additions alone do not", async () => {
    const t = new MemoryTransport();
    t.files.set("/run/d.pid", { data: Buffer.from("4242\n"), mode: 0o644 });
    const signal = { pidFile: "/run/d.pid", on: "removal" as const };
    const add = await applyFiles(t, [{ path: "/h/g1", content: "x\n", mode: 0o644, secret: false }], [], [], signal);
    expect(add.signalled).toBe("not needed");
    const rm = await applyFiles(t, [], ["/h/g1"], [], signal);
    expect(rm.removed).toEqual(["/h/g1"]);
    expect(rm.signalled).toBe("sent SIGHUP to 4242");
    expect(t.execLog).toContainEqual(["kill", "-s", "HUP", "4242"]);
  });

  test("removeFiles removes only its own files and its own empty folders", async () => {
    const t = new MemoryTransport();
    const r = await applyFiles(t, [{ path: "/srv/x/y/f", content: "1", mode: 0o644, secret: false }], []);
    t.files.set("/srv/keep", { data: Buffer.from("k"), mode: 0o644 });
    await removeFiles(t, ["/srv/x/y/f"], r.createdDirs);
    expect([...t.files.keys()]).toEqual(["/srv/keep"]);
    expect(t.dirs.has("/srv/x")).toBe(false);
    expect(t.dirs.has("/srv")).toBe(true);
  });
});

describe("drift diff", () => {
  test("is a sorted list of add/delete/update/mode changes", () => {
    const changes = diffManifests(
      { "/b": { sha256: "2", mode: 0o644 }, "/a": { sha256: "1", mode: 0o600 }, "/c": { sha256: "3", mode: 0o644 } },
      { "/a": { sha256: "1", mode: 0o644 }, "/b": { sha256: "x", mode: 0o644 }, "/d": { sha256: "4", mode: 0o644 } },
    );
    expect(formatChanges(changes)).toBe(["~ /a (mode 0644 -> 0600)", "~ /b (x -> 2)", "+ /c", "- /d"].join("\n"));
  });
});

describe("drift of types, owners, folders and strays (pure)", () => {
  test("a type change comes before content; an owner counts only when both sides know it", () => {
    const changes = diffManifests(
      { "/a": { sha256: "1", mode: 0o644 }, "/b": { sha256: "2", mode: 0o644, owner: "0:0" }, "/c": { sha256: "3", mode: 0o644, owner: "0:0" } },
      { "/a": { sha256: "", mode: 0o755, type: "dir" }, "/b": { sha256: "2", mode: 0o644, owner: "4242:4242" }, "/c": { sha256: "3", mode: 0o644 } },
    );
    expect(formatChanges(changes)).toBe(["~ /a (dir -> file)", "~ /b (owner 4242:4242 -> 0:0)"].join("\n"));
  });

  test("folderDrift keeps what is not a folder, and a missing folder only when it is owned", () => {
    expect(folderDrift({ "/srv/b": "missing", "/srv/a": "symlink -> /tmp/x", "/srv": "dir", "/srv/c": "missing", "/srv/d": "file" }, new Set(["/srv/c"])))
      .toEqual({ "/srv/a": "symlink -> /tmp/x", "/srv/c": "missing", "/srv/d": "file" });
  });

  test("strays: not ours, not another netboot resource's, not a write in progress", () => {
    expect(isNetbootTemp(".g1.netboot-0a1b2c3d.tmp")).toBe(true);
    expect(isNetbootTemp(".g1.netboot-x.tmp")).toBe(false);
    expect(strays(["z", "g1", ".g1.netboot-0a1b2c3d.tmp", "rack9", "a"], new Set(["g1"]), (n) => n === "rack9")).toEqual(["a", "z"]);
  });
});

describe("applyFiles repairs what is in the way", () => {
  const f = (p: string) => ({ path: p, content: "x\n", mode: 0o644, secret: false });

  test("a symlink in place of a folder is replaced by a folder; nothing is written through it", async () => {
    const t = new MemoryTransport();
    t.dirs.add("/srv");
    t.symlinks.set("/srv/ipxe", "/elsewhere");
    const r = await applyFiles(t, [f("/srv/ipxe/n.ipxe")], [], [], undefined, false, { owned: ["/srv"] });
    expect(r.repaired).toEqual(["/srv/ipxe"]);
    expect(t.symlinks.size).toBe(0);
    expect(t.files.get("/srv/ipxe/n.ipxe")!.data.toString()).toBe("x\n");
  });

  test("an empty folder where a file goes is removed; one with content stops the apply before any write", async () => {
    const t = new MemoryTransport();
    t.dirs.add("/etc").add("/etc/a.conf");
    const r = await applyFiles(t, [f("/etc/a.conf")], []);
    expect(r.repaired).toEqual(["/etc/a.conf"]);
    expect(t.files.has("/etc/a.conf")).toBe(true);
    const u = new MemoryTransport();
    u.dirs.add("/etc").add("/etc/a.conf");
    u.files.set("/etc/a.conf/keep", { data: Buffer.from("k"), mode: 0o644 });
    await expect(applyFiles(u, [f("/etc/a.conf"), f("/etc/b.conf")], [])).rejects.toThrow("memory: write /etc/a.conf: a folder with content is where netboot's file goes; netboot does not remove it: move it away, then run `pulumi up` again");
    expect(u.files.has("/etc/b.conf")).toBe(false);
  });

  test("a file found with another owner than the last apply wrote is written again", async () => {
    const t = new MemoryTransport();
    const r1 = await applyFiles(t, [f("/etc/a.conf")], []);
    expect(r1.owners).toEqual({ "/etc/a.conf": "0:0" });
    t.owners.set("/etc/a.conf", "4242:4242");
    const r2 = await applyFiles(t, [f("/etc/a.conf")], ["/etc/a.conf"], [], undefined, false, { owners: r1.owners });
    expect(r2.written).toEqual(["/etc/a.conf"]);
    expect((await t.stat("/etc/a.conf"))!.uid).toBe(0);
    const r3 = await applyFiles(t, [f("/etc/a.conf")], ["/etc/a.conf"], [], undefined, false, { owners: r2.owners });
    expect(r3.unchanged).toEqual(["/etc/a.conf"]);
  });
});

describe("removeFiles and a symlinked folder", () => {
  test("what is below a symlink planted in place of a folder is left alone, and delete does not fail", async () => {
    const root = tmpDir("rm-links");
    const outside = tmpDir("rm-outside");
    const t = new LocalTransport(root);
    const r = await applyFiles(t, [{ path: "/srv/ipxe/n.ipxe", content: "x", mode: 0o644, secret: false }, { path: "/srv/boot.ipxe", content: "b", mode: 0o644, secret: false }], []);
    fs.rmSync(`${root}/srv/ipxe`, { recursive: true });
    fs.writeFileSync(`${outside}/n.ipxe`, "theirs");
    fs.symlinkSync(outside, `${root}/srv/ipxe`);
    expect(await removeFiles(t, ["/srv/ipxe/n.ipxe", "/srv/boot.ipxe"], r.createdDirs)).toEqual(["/srv/boot.ipxe"]);
    expect(fs.readFileSync(`${outside}/n.ipxe`, "utf8")).toBe("theirs");
    expect(fs.readlinkSync(`${root}/srv/ipxe`)).toBe(outside);
  });
});
