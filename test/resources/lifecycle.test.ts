import { applyFiles, removeFiles } from "../../provider/resources/lifecycle";
import { MemoryTransport } from "../../provider/transport/memory";
import { diffManifests, formatChanges } from "../../provider/drift/diff";

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
      { "/b": { sha256: "2", mode: "0644" }, "/a": { sha256: "1", mode: "0600" }, "/c": { sha256: "3", mode: "0644" } },
      { "/a": { sha256: "1", mode: "0644" }, "/b": { sha256: "x", mode: "0644" }, "/d": { sha256: "4", mode: "0644" } },
    );
    expect(formatChanges(changes)).toBe(["~ /a (mode 0644 -> 0600)", "~ /b (x -> 2)", "+ /c", "- /d"].join("\n"));
  });
});
