/**
 * SshTransport against real sshd hosts (network namespaces, Debian openssh-server): atomic put with mode,
 * read back, stat, list, remove, exec without a shell; and every failure with a clear error naming host and path:
 * host key mismatch, authentication failed, host unreachable, permission denied, disk full. No partial file is
 * ever left at a target path, and the private key never stays on disk.
 */
import * as fs from "fs";
import * as path from "path";
import { hostKey } from "../../provider/model/host";
import { readHostsDir } from "../../provider/resources/hostsDir";
import { JournalOwners, journalPath, readEntry } from "../../provider/resources/journal";
import { SshTransport } from "../../provider/transport/ssh";
import { SshHost, SshLab, TEST_USER } from "../helpers/sshHosts";
import { run } from "../helpers/gluster";

jest.setTimeout(120_000);

describe("SshTransport against real sshd", () => {
  let lab: SshLab;
  let h: SshHost;
  let full: SshHost;
  const open: SshTransport[] = [];
  const T = (o: Partial<ReturnType<SshHost["ssh"]>> = {}, host = h) => {
    const t = new SshTransport({ ...host.ssh(), ...o });
    open.push(t);
    return t;
  };

  beforeAll(async () => {
    lab = new SshLab("t", "10.91.1");
    h = await lab.addHost(11);
    full = await lab.addHost(12, { tmpfs: { path: "/srv/nbsfull", sizeKb: 64 } });
  }, 60000);

  afterAll(async () => {
    for (const t of open) await t.close();
    if (lab) await lab.cleanup();
  }, 60000);

  test("put is atomic and keeps the mode; get/stat/list/remove read it back; exec runs argv without a shell", async () => {
    const t = T();
    const dir = `${lab.dir}/h11/files/etc/app`;
    const target = `${dir}/app.conf`;
    const made = await t.put(target, "v1\n", { mode: 0o640 });
    expect(made.createdDirs).toEqual([`${lab.dir}/h11/files`, `${lab.dir}/h11/files/etc`, dir]);
    expect(fs.readFileSync(target, "utf8")).toBe("v1\n");
    expect(fs.statSync(target).mode & 0o777).toBe(0o640);
    expect((await t.stat(dir))!.isDir).toBe(true);
    expect(await t.stat(`${dir}/missing`)).toBeUndefined();
    expect((await t.get(target))!.toString()).toBe("v1\n");
    expect(await t.get(`${dir}/missing`)).toBeUndefined();
    // binary content round-trips byte for byte
    const bin = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7) % 256));
    await t.put(`${dir}/blob.bin`, bin, { mode: 0o600 });
    expect(Buffer.compare((await t.get(`${dir}/blob.bin`))!, bin)).toBe(0);
    expect(await t.list(dir)).toEqual(["app.conf", "blob.bin"]);
    expect(await t.list(`${dir}/nope`)).toBeUndefined();
    expect(await t.stat(target)).toEqual({ type: "file", mode: 0o640, size: 3, isDir: false, uid: 0, gid: 0 });
    const r = await t.exec(["echo", "$HOME;", "`id`", "it's"]);
    expect(r.stdout).toBe("$HOME; `id` it's\n");
    // the command really ran on the host: its network namespace has the host's address
    expect((await t.exec(["ip", "-4", "-o", "addr", "show", "nbs0"])).stdout).toContain(h.ip);
    expect(await t.remove(`${dir}/blob.bin`)).toBe(true);
    expect(await t.remove(`${dir}/blob.bin`)).toBe(false);
    expect(await t.removeDirIfEmpty(dir)).toBe(false);
    // A folder whose parent is already gone (another resource pruned a shared parent first) is nothing to remove.
    expect(await t.removeDirIfEmpty(`${dir}/gone/child`)).toBe(false);
    // So is a file whose folder is gone (removed by hand): deleting what is already gone is a no-op.
    expect(await t.remove(`${dir}/gone/child/file`)).toBe(false);
  });

  test("a check that rejects the staged file leaves the live file as it was, and no temp file", async () => {
    const t = T();
    const target = `${lab.dir}/h11/files/etc/app/app.conf`;
    let staged = "";
    await expect(t.put(target, "v2\n", {
      mode: 0o640,
      validate: async (p) => {
        staged = p;
        expect((await t.exec(["cat", p])).stdout).toBe("v2\n");
        throw new Error("consumer said no");
      },
    })).rejects.toThrow("consumer said no");
    expect(staged).toMatch(/\/\.app\.conf\.netboot-[0-9a-f]+\.tmp$/);
    expect(fs.readFileSync(target, "utf8")).toBe("v1\n");
    expect(fs.readdirSync(`${lab.dir}/h11/files/etc/app`)).toEqual(["app.conf"]);
  });

  test("the private key is on disk only during the handshake; close ends the master connection", async () => {
    const t = T();
    await t.exec(["true"]);
    const dir: string = (t as any).dir;
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    // only the control socket stays: no key, no known_hosts, no log
    expect(fs.readdirSync(dir)).toEqual(["c"]);
    const master = run(["ssh", "-F", "/dev/null", "-o", `ControlPath=${dir}/c`, "-O", "check", "x"], { allowFail: true });
    expect(master.err).toMatch(/Master running \(pid=\d+\)/);
    const pid = Number(/pid=(\d+)/.exec(master.err)![1]);
    await t.close();
    expect(fs.existsSync(dir)).toBe(false);
    // gone (or a zombie waiting for its reaper: the master daemonized, so it is not our child)
    const alive = () => { try { return !/^\d+ \([^)]*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8")); } catch { return false; } };
    for (let i = 0; i < 30 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
    // after close a new operation reconnects
    expect((await t.exec(["echo", "again"])).stdout).toBe("again\n");
  });

  test("a master that died under its socket: the next command never connects unpinned, it reconnects and runs", async () => {
    const t = T();
    await t.exec(["true"]);
    const dir: string = (t as any).dir;
    const master = run(["ssh", "-F", "/dev/null", "-o", `ControlPath=${dir}/c`, "-O", "check", "x"], { allowFail: true });
    const pid = Number(/pid=(\d+)/.exec(master.err)![1]);
    process.kill(pid, "SIGKILL"); // the socket file stays behind, as after a crash
    expect(fs.existsSync(`${dir}/c`)).toBe(true);
    expect((await t.exec(["echo", "still"])).stdout).toBe("still\n");
    const again = run(["ssh", "-F", "/dev/null", "-o", `ControlPath=${dir}/c`, "-O", "check", "x"], { allowFail: true });
    expect(Number(/pid=(\d+)/.exec(again.err)?.[1])).not.toBe(pid);
  });

  test("a host key that is not the pinned one fails with a clear error", async () => {
    const other = run(["sh", "-c", `ssh-keygen -q -t ed25519 -N '' -f ${lab.dir}/other && cat ${lab.dir}/other.pub`]).out.trim();
    const t = T({ hostKey: other });
    const err = await t.stat("/etc/hostname").catch((e) => e);
    expect(String(err.message)).toMatch(new RegExp(`^root@127\\.0\\.0\\.1:${h.port}: connect : host key mismatch: the host offered SHA256:\\S+, but hostKey pins SHA256:`));
  });

  test("a key the host does not accept: authentication failed", async () => {
    const wrong = run(["sh", "-c", `ssh-keygen -q -t ed25519 -N '' -f ${lab.dir}/wrong && cat ${lab.dir}/wrong`]).out;
    const err = await T({ privateKey: wrong }).exec(["true"]).catch((e) => e);
    expect(String(err.message)).toContain(`root@127.0.0.1:${h.port}: connect : authentication failed for user root`);
  });

  test("nothing listening: host unreachable", async () => {
    const err = await T({ port: 1 }).get("/etc/hostname").catch((e) => e);
    expect(String(err.message)).toBe("root@127.0.0.1:1: connect : host unreachable: connection refused on port 1");
  });

  test("an unprivileged user writing to a root-owned folder: permission denied, naming host and path", async () => {
    const t = T({ user: TEST_USER });
    expect((await t.exec(["id", "-un"])).stdout.trim()).toBe(TEST_USER);
    fs.mkdirSync(`${lab.dir}/h11/rootonly`, { mode: 0o755 });
    fs.writeFileSync(`${lab.dir}/h11/rootonly/live.conf`, "old\n");
    const err = await t.put(`${lab.dir}/h11/rootonly/live.conf`, "new\n", { mode: 0o644 }).catch((e) => e);
    expect(err.message).toBe(`${TEST_USER}@127.0.0.1:${h.port}: write ${lab.dir}/h11/rootonly/live.conf: permission denied`);
    const err2 = await t.put(`${lab.dir}/h11/rootonly/sub/x.conf`, "new\n", { mode: 0o644 }).catch((e) => e);
    expect(err2.message).toBe(`${TEST_USER}@127.0.0.1:${h.port}: mkdir ${lab.dir}/h11/rootonly/sub: permission denied`);
    expect(fs.readdirSync(`${lab.dir}/h11/rootonly`)).toEqual(["live.conf"]);
    expect(fs.readFileSync(`${lab.dir}/h11/rootonly/live.conf`, "utf8")).toBe("old\n");
  });

  test("a full disk: the write fails clearly, the live file is untouched, no temp file is left", async () => {
    const t = T({}, full);
    await t.put("/srv/nbsfull/live.conf", "old\n", { mode: 0o644 });
    const err = await t.put("/srv/nbsfull/live.conf", Buffer.alloc(200 * 1024, 0x61), { mode: 0o644 }).catch((e) => e);
    expect(err.message).toBe(`root@127.0.0.1:${full.port}: write /srv/nbsfull/live.conf: no space left on device`);
    expect((await t.get("/srv/nbsfull/live.conf"))!.toString()).toBe("old\n");
    expect(await t.list("/srv/nbsfull")).toEqual(["live.conf"]);
    // the tmpfs is private to the host: the test process sees no /srv/nbsfull mount
    expect(full.host("grep -c nbsfull /proc/self/mounts").out.trim()).toBe("1");
  });

  test("a symlinked folder netboot owns: put, mkdirp, remove, rmdir refuse it by name; the symlink itself can be removed", async () => {
    const t = T();
    const base = `${lab.dir}/h11/links`;
    const outside = `${lab.dir}/h11/outside`;
    fs.mkdirSync(`${base}/http`, { recursive: true });
    fs.mkdirSync(`${outside}/empty`, { recursive: true });
    fs.writeFileSync(`${outside}/victim`, "keep\n");
    fs.symlinkSync(outside, `${base}/http/ipxe`);
    const why = `${base}/http/ipxe is a symlink (to ${outside}); netboot does not follow symlinks in folders it owns`;
    const d = `root@127.0.0.1:${h.port}`;
    await expect(t.put(`${base}/http/ipxe/n.ipxe`, "x\n", { mode: 0o644, within: base })).rejects.toThrow(`${d}: write ${base}/http/ipxe/n.ipxe: ${why}`);
    // without `within`, the folder the file goes into must be a real folder
    await expect(t.put(`${base}/http/ipxe/n.ipxe`, "x\n", { mode: 0o644 })).rejects.toThrow(why);
    await expect(t.put(`${base}/http/ipxe/sub/n.ipxe`, "x\n", { mode: 0o644, within: base })).rejects.toThrow(why);
    await expect(t.mkdirp(`${base}/http/ipxe/sub`, 0o755, { within: base })).rejects.toThrow(`${d}: mkdir ${base}/http/ipxe/sub: ${why}`);
    await expect(t.remove(`${base}/http/ipxe/victim`, { within: base })).rejects.toThrow(`${d}: remove ${base}/http/ipxe/victim: ${why}`);
    await expect(t.removeDirIfEmpty(`${base}/http/ipxe/empty`, { within: base })).rejects.toThrow(why);
    expect(fs.readdirSync(outside).sort()).toEqual(["empty", "victim"]);
    expect(await t.stat(`${base}/http/ipxe`)).toMatchObject({ type: "symlink", target: outside });
    // the last component is never followed: rmdir keeps the link, remove unlinks it (not what it points to)
    expect(await t.removeDirIfEmpty(`${base}/http/ipxe`, { within: base })).toBe(false);
    expect(await t.remove(`${base}/http/ipxe`, { within: base })).toBe(true);
    expect(fs.readFileSync(`${outside}/victim`, "utf8")).toBe("keep\n");
    expect(await t.mkdirp(`${base}/http/ipxe`, 0o755, { within: base })).toEqual([`${base}/http/ipxe`]);
    const res = await t.put(`${base}/http/ipxe/n.ipxe`, "x\n", { mode: 0o644, within: base });
    expect(res.owner).toBe("0:0");
    expect(fs.readFileSync(`${base}/http/ipxe/n.ipxe`, "utf8")).toBe("x\n");
    // a symlink at the file's own path is replaced, not written through
    fs.symlinkSync(`${outside}/victim`, `${base}/http/boot.ipxe`);
    await t.put(`${base}/http/boot.ipxe`, "boot\n", { mode: 0o644, within: base });
    expect(fs.lstatSync(`${base}/http/boot.ipxe`).isFile()).toBe(true);
    expect(fs.readFileSync(`${outside}/victim`, "utf8")).toBe("keep\n");
    // a folder in the way of a file is an error, and the folder stays
    fs.mkdirSync(`${base}/http/dir.conf`);
    await expect(t.put(`${base}/http/dir.conf`, "x\n", { mode: 0o644, within: base })).rejects.toThrow(`${d}: write ${base}/http/dir.conf: `);
    expect(fs.lstatSync(`${base}/http/dir.conf`).isDirectory()).toBe(true);
    // symlinks above `within` are the admin's (an /srv -> /data/srv): followed
    fs.symlinkSync(`${base}/http`, `${lab.dir}/h11/srvlink`);
    await t.put(`${lab.dir}/h11/srvlink/ipxe/m.ipxe`, "m\n", { mode: 0o644, within: `${lab.dir}/h11/srvlink/ipxe` });
    expect(fs.readFileSync(`${base}/http/ipxe/m.ipxe`, "utf8")).toBe("m\n");
    expect(fs.readdirSync(outside).sort()).toEqual(["empty", "victim"]);
  });

  test("the hostsdir claims read over SSH: a hostsdir replaced by a symlink, or a symlink in it, holds no claims", async () => {
    const t = T();
    const hostsDir = `${lab.dir}/h11/claims/dhcp-hosts.d`;
    const outside = `${lab.dir}/h11/claims-outside`;
    fs.mkdirSync(hostsDir, { recursive: true });
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(`${outside}/other`, "52:54:00:aa:00:01,10.9.0.11,other01\n");
    const claim = { kind: "mac" as const, value: "52:54:00:aa:00:01", group: "mine", field: "nodes[0].macs[0]" };
    // a real file is read; the same file behind a symlink in the hostsdir is not
    fs.copyFileSync(`${outside}/other`, `${hostsDir}/real`);
    expect((await readHostsDir(t, hostsDir)).holder(claim, "mine")).toMatchObject({ group: `${hostsDir}/real` });
    fs.rmSync(`${hostsDir}/real`);
    fs.symlinkSync(`${outside}/other`, `${hostsDir}/other`);
    expect((await readHostsDir(t, hostsDir)).holder(claim, "mine")).toBeUndefined();
    // the hostsdir itself a symlink to a folder of leases
    fs.rmSync(hostsDir, { recursive: true });
    fs.symlinkSync(outside, hostsDir);
    expect((await readHostsDir(t, hostsDir)).holder(claim, "mine")).toBeUndefined();
  });

  test("the journal read over SSH: a journal folder replaced by a symlink holds no other stack's claims", async () => {
    const t = T();
    const host = { ssh: h.ssh() };
    // the host's own /var/lib/netboot (SshLab binds one per host) as the root namespace sees it
    const journal = `${lab.dir}/h11/var-lib-netboot/journal`;
    const outside = `${lab.dir}/h11/journal-outside`;
    fs.mkdirSync(outside, { recursive: true });
    const other = "urn:pulumi:prod::site::netboot:index:File::planted";
    const entry = JSON.stringify({ urn: other, state: "done", nonce: "n", paths: ["/etc/planted"] }) + "\n";
    fs.writeFileSync(`${outside}/${path.posix.basename(journalPath(other))}`, entry);
    const claim = [{ host: hostKey(host), path: "/etc/planted", field: "path" }];
    const mine = "urn:pulumi:lab::site::netboot:index:File::mine";
    fs.rmSync(journal, { recursive: true, force: true });
    fs.symlinkSync(outside, journal);
    expect(await new JournalOwners(() => t).foreign(host, mine, claim)).toEqual([]);
    expect(await new JournalOwners(() => t).claimed(host, mine, claim)).toEqual([]);
    // nor does an entry read through it vouch for a resource's state (diff would trust a planted "done")
    expect(await readEntry(t, other)).toBeUndefined();
    // the same entry in a real journal folder is another stack's claim
    fs.rmSync(journal);
    fs.mkdirSync(journal, { recursive: true });
    fs.copyFileSync(`${outside}/${path.posix.basename(journalPath(other))}`, `${journal}/${path.posix.basename(journalPath(other))}`);
    expect((await new JournalOwners(() => t).foreign(host, mine, claim)).map((c) => c.holder)).toEqual([other]);
    expect(await readEntry(t, other)).toMatchObject({ urn: other, state: "done" });
    fs.rmSync(journal, { recursive: true });
  });

  test("a folder swapped for a symlink while the staged file is checked: the rename is refused, nothing lands outside", async () => {
    const t = T();
    const dir = `${lab.dir}/h11/race/ipxe`;
    const outside = `${lab.dir}/h11/race-out`;
    fs.mkdirSync(outside, { recursive: true });
    await t.put(`${dir}/a.ipxe`, "1\n", { mode: 0o644 });
    const err = await t.put(`${dir}/a.ipxe`, "2\n", {
      mode: 0o644,
      validate: async () => {
        fs.renameSync(dir, dir + ".moved");
        fs.symlinkSync(outside, dir);
      },
    }).catch((e) => e);
    expect(String(err.message)).toContain(`${dir} is a symlink (to ${outside})`);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.readFileSync(`${dir}.moved/a.ipxe`, "utf8")).toBe("1\n");
  });
  test("confined reads never go through a symlinked folder (one command each); plain reads still follow symlinks", async () => {
    const t = T();
    const base = `${lab.dir}/h11/rlinks`;
    const outside = `${lab.dir}/h11/routside`;
    fs.mkdirSync(`${base}/http`, { recursive: true });
    fs.mkdirSync(`${outside}/sub`, { recursive: true });
    fs.writeFileSync(`${outside}/n.ipxe`, "OUTSIDE\n");
    fs.writeFileSync(`${outside}/sub/deep.ipxe`, "OUTSIDE\n");
    fs.symlinkSync(outside, `${base}/http/ipxe`);
    const c = { confined: true, within: base };
    expect(await t.get(`${base}/http/ipxe/n.ipxe`, c)).toBeUndefined();
    expect(await t.get(`${base}/http/ipxe/sub/deep.ipxe`, c)).toBeUndefined();
    expect(await t.get(`${base}/http/ipxe/n.ipxe`, { confined: true })).toBeUndefined();
    expect(await t.stat(`${base}/http/ipxe/n.ipxe`, c)).toBeUndefined();
    expect(await t.stat(`${base}/http/ipxe/sub`, c)).toBeUndefined();
    expect(await t.list(`${base}/http/ipxe`, c)).toBeUndefined();
    expect(await t.stat(`${base}/http/ipxe`, c)).toMatchObject({ type: "symlink", target: outside });
    expect(await t.list(`${base}/http`, c)).toEqual(["ipxe"]);
    // the last component is not read through either
    fs.symlinkSync(`${outside}/n.ipxe`, `${base}/http/boot.ipxe`);
    expect(await t.get(`${base}/http/boot.ipxe`, c)).toBeUndefined();
    // real files read as before, bytes exact; a missing one is undefined
    const bin = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 11) % 256));
    fs.writeFileSync(`${base}/http/blob.bin`, bin);
    expect(Buffer.compare((await t.get(`${base}/http/blob.bin`, c))!, bin)).toBe(0);
    expect(await t.stat(`${base}/http/blob.bin`, c)).toMatchObject({ type: "file", size: 70000, uid: 0 });
    expect(await t.get(`${base}/http/missing`, c)).toBeUndefined();
    expect(await t.get(`${base}/nope/missing`, c)).toBeUndefined();
    expect(await t.stat(base, c)).toMatchObject({ type: "dir" });
    expect(await t.list(base, c)).toEqual(["http"]);
    // symlinks above `within` are the admin's: followed; `within` itself is not
    fs.symlinkSync(`${base}/http`, `${lab.dir}/h11/rsrvlink`);
    fs.mkdirSync(`${base}/http/real`);
    fs.writeFileSync(`${base}/http/real/f.txt`, "real\n");
    expect((await t.get(`${lab.dir}/h11/rsrvlink/real/f.txt`, { confined: true, within: `${lab.dir}/h11/rsrvlink/real` }))!.toString()).toBe("real\n");
    expect(await t.list(`${lab.dir}/h11/rsrvlink`, { confined: true, within: `${lab.dir}/h11/rsrvlink` })).toBeUndefined();
    // a plain get (a source file, a log) follows symlinks as the file system does
    expect((await t.get(`${base}/http/ipxe/n.ipxe`))!.toString()).toBe("OUTSIDE\n");
    expect(await t.list(`${lab.dir}/h11/rsrvlink/real`, { confined: true, within: `${lab.dir}/h11/rsrvlink/real` })).toEqual(["f.txt"]);
  });
});
