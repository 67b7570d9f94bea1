import * as fs from "fs";
import * as path from "path";
import { LocalTransport } from "../../provider/transport/local";
import { tmpDir } from "../helpers/env";

describe("LocalTransport", () => {
  test("maps host paths below the root and refuses to leave it", () => {
    const t = new LocalTransport("/srv/target");
    expect(t.fullPath("/etc/x")).toBe("/srv/target/etc/x");
    expect(() => t.fullPath("/etc/../../x")).toThrow(/escapes the host root/);
    expect(() => t.fullPath("etc/x")).toThrow(/absolute/);
  });

  test("put is atomic: mode applied, no temp file left, a failed validation keeps the old file", async () => {
    const root = tmpDir("local");
    const t = new LocalTransport(root);
    await t.put("/etc/app.conf", "v1\n", { mode: 0o600 });
    const full = path.join(root, "etc/app.conf");
    expect(fs.readFileSync(full, "utf8")).toBe("v1\n");
    expect(fs.statSync(full).mode & 0o777).toBe(0o600);
    let staged = "";
    await expect(
      t.put("/etc/app.conf", "v2\n", {
        mode: 0o600,
        validate: async (p) => {
          staged = p;
          expect(fs.readFileSync(p, "utf8")).toBe("v2\n");
          throw new Error("consumer said no");
        },
      }),
    ).rejects.toThrow("consumer said no");
    expect(path.dirname(staged)).toBe(path.dirname(full));
    expect(fs.readFileSync(full, "utf8")).toBe("v1\n");
    expect(fs.readdirSync(path.dirname(full))).toEqual(["app.conf"]);
  });

  test("exec runs argv without a shell", async () => {
    const t = new LocalTransport();
    const r = await t.exec(["echo", "$HOME;", "`id`"]);
    expect(r.stdout).toBe("$HOME; `id`\n");
  });
});

/**
 * The symlink rule (transport.ts): below a target root nothing is followed; on a host without root, nothing at
 * or below `within` and never the folder the entry is in. Each case plants the symlink the way an attacker (or
 * a careless admin) would, and checks that nothing appeared outside.
 */
describe("LocalTransport never writes, renames or deletes through a symlink it owns", () => {
  const setup = () => {
    const root = tmpDir("local-links");
    const outside = tmpDir("local-outside");
    fs.mkdirSync(path.join(root, "srv/netboot/http"), { recursive: true });
    fs.symlinkSync(outside, path.join(root, "srv/netboot/http/ipxe"));
    return { root, outside, t: new LocalTransport(root) };
  };

  test("put, mkdirp, remove and removeDirIfEmpty below the root refuse a symlinked folder, naming it", async () => {
    const { root, outside, t } = setup();
    fs.writeFileSync(path.join(outside, "victim"), "keep\n");
    fs.mkdirSync(path.join(outside, "empty"));
    const why = `${"/srv/netboot/http/ipxe"} is a symlink (to ${outside}); netboot does not follow symlinks in folders it owns`;
    await expect(t.put("/srv/netboot/http/ipxe/node.ipxe", "#!ipxe\n", { mode: 0o644 })).rejects.toThrow(`local:${root}: write /srv/netboot/http/ipxe/node.ipxe: ${why}`);
    await expect(t.put("/srv/netboot/http/ipxe/sub/deeper.ipxe", "#!ipxe\n", { mode: 0o644 })).rejects.toThrow(why);
    await expect(t.mkdirp("/srv/netboot/http/ipxe/sub")).rejects.toThrow(`mkdir /srv/netboot/http/ipxe/sub: ${why}`);
    await expect(t.remove("/srv/netboot/http/ipxe/victim")).rejects.toThrow(`remove /srv/netboot/http/ipxe/victim: ${why}`);
    await expect(t.removeDirIfEmpty("/srv/netboot/http/ipxe/empty")).rejects.toThrow(why);
    expect(fs.readdirSync(outside).sort()).toEqual(["empty", "victim"]);
    expect(fs.readFileSync(path.join(outside, "victim"), "utf8")).toBe("keep\n");
  });

  test("the last component is never followed: remove unlinks the symlink, put replaces it, removeDirIfEmpty keeps it", async () => {
    const { root, outside, t } = setup();
    fs.writeFileSync(path.join(outside, "victim"), "keep\n");
    fs.symlinkSync(path.join(outside, "victim"), path.join(root, "srv/netboot/http/boot.ipxe"));
    await t.put("/srv/netboot/http/boot.ipxe", "#!ipxe\n", { mode: 0o644 });
    expect(fs.lstatSync(path.join(root, "srv/netboot/http/boot.ipxe")).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(outside, "victim"), "utf8")).toBe("keep\n");
    expect(await t.removeDirIfEmpty("/srv/netboot/http/ipxe")).toBe(false);
    expect(await t.remove("/srv/netboot/http/ipxe")).toBe(true);
    expect(fs.existsSync(path.join(root, "srv/netboot/http/ipxe"))).toBe(false);
    expect(fs.readFileSync(path.join(outside, "victim"), "utf8")).toBe("keep\n");
    // repaired as netboot repairs it (fileCommon.ts): the folder is made again and the write goes into it
    expect(await t.mkdirp("/srv/netboot/http/ipxe")).toEqual(["/srv/netboot/http/ipxe"]);
    await t.put("/srv/netboot/http/ipxe/node.ipxe", "#!ipxe\n", { mode: 0o644 });
    expect(fs.readFileSync(path.join(root, "srv/netboot/http/ipxe/node.ipxe"), "utf8")).toBe("#!ipxe\n");
  });

  test("a symlinked folder above the target, or the root itself being a symlink, is the user's choice", async () => {
    const real = tmpDir("local-realroot");
    const link = path.join(tmpDir("local-rootlink"), "root");
    fs.symlinkSync(real, link);
    const t = new LocalTransport(link);
    await t.put("/etc/a.conf", "a\n", { mode: 0o644 });
    expect(fs.readFileSync(path.join(real, "etc/a.conf"), "utf8")).toBe("a\n");
  });

  test("without a root: symlinks above `within` are followed, at or below it (or in the file's folder) refused", async () => {
    const base = tmpDir("local-noroot");
    const data = tmpDir("local-data");
    const outside = tmpDir("local-outside2");
    fs.symlinkSync(data, path.join(base, "srv")); // an admin's /srv -> /data/srv
    fs.mkdirSync(path.join(data, "netboot/http"), { recursive: true });
    fs.symlinkSync(outside, path.join(data, "netboot/http/ipxe"));
    const t = new LocalTransport();
    await t.put(`${base}/srv/netboot/boot.ipxe`, "ok\n", { mode: 0o644, within: `${base}/srv/netboot` });
    expect(fs.readFileSync(path.join(data, "netboot/boot.ipxe"), "utf8")).toBe("ok\n");
    await expect(t.put(`${base}/srv/netboot/http/ipxe/n.ipxe`, "x\n", { mode: 0o644, within: `${base}/srv/netboot` })).rejects.toThrow(`${base}/srv/netboot/http/ipxe is a symlink (to ${outside})`);
    // without `within` the folder the file goes into must be a real folder
    await expect(t.put(`${base}/srv/netboot/http/ipxe/n.ipxe`, "x\n", { mode: 0o644 })).rejects.toThrow("is a symlink");
    // and `within` itself is not followed
    await expect(t.put(`${base}/srv/a`, "x\n", { mode: 0o644, within: `${base}/srv` })).rejects.toThrow(`${base}/srv is a symlink (to ${data})`);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  test("a folder swapped for a symlink while the staged file is checked: the rename still lands in the folder that was checked", async () => {
    const root = tmpDir("local-race");
    const outside = tmpDir("local-race-out");
    const t = new LocalTransport(root);
    const ipxe = path.join(root, "srv/ipxe");
    await t.put("/srv/ipxe/a.ipxe", "1\n", { mode: 0o644 });
    await t.put("/srv/ipxe/a.ipxe", "2\n", {
      mode: 0o644,
      validate: async () => {
        fs.renameSync(ipxe, ipxe + ".moved");
        fs.symlinkSync(outside, ipxe);
      },
    });
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.readFileSync(ipxe + ".moved/a.ipxe", "utf8")).toBe("2\n");
  });

  test("a folder in the way of a file is an error naming the path, and the folder is kept", async () => {
    const root = tmpDir("local-isdir");
    const t = new LocalTransport(root);
    fs.mkdirSync(path.join(root, "etc/app.conf"), { recursive: true });
    await expect(t.put("/etc/app.conf", "x\n", { mode: 0o644 })).rejects.toThrow(`local:${root}: write /etc/app.conf: a folder is in the way`);
    expect(fs.readdirSync(path.join(root, "etc"))).toEqual(["app.conf"]);
  });

  test("stat tells files, folders and symlinks apart and gives the owner; put returns the owner it wrote", async () => {
    const root = tmpDir("local-stat");
    const t = new LocalTransport(root);
    const res = await t.put("/etc/a.conf", "a\n", { mode: 0o640 });
    expect(res.owner).toBe(`${process.getuid!()}:${process.getgid!()}`);
    fs.symlinkSync("/etc/passwd", path.join(root, "etc/link"));
    expect(await t.stat("/etc/a.conf")).toEqual({ type: "file", mode: 0o640, size: 2, isDir: false, uid: process.getuid!(), gid: process.getgid!() });
    expect(await t.stat("/etc")).toMatchObject({ type: "dir", isDir: true });
    expect(await t.stat("/etc/link")).toMatchObject({ type: "symlink", target: "/etc/passwd", isDir: false });
    fs.chownSync(path.join(root, "etc/a.conf"), 4242, 4243);
    expect(await t.stat("/etc/a.conf")).toMatchObject({ uid: 4242, gid: 4243 });
    expect(await t.stat("/etc/a.conf/x")).toBeUndefined();
  });
});

/**
 * Reads follow the same rule (transport.ts): below a root always, elsewhere when confined. A file outside that
 * would match what the read looks for is planted behind each symlink: it must never come back.
 */
describe("LocalTransport never reads through a symlink it owns", () => {
  test("below the root: get, stat and list find nothing through a symlinked folder; stat of the folder names the link", async () => {
    const root = tmpDir("local-rlinks");
    const outside = tmpDir("local-routside");
    fs.writeFileSync(path.join(outside, "node.ipxe"), "OUTSIDE\n");
    fs.mkdirSync(path.join(outside, "sub"));
    fs.writeFileSync(path.join(outside, "sub/deeper.ipxe"), "OUTSIDE\n");
    fs.mkdirSync(path.join(root, "srv/netboot/http"), { recursive: true });
    fs.symlinkSync(outside, path.join(root, "srv/netboot/http/ipxe"));
    const t = new LocalTransport(root);
    expect(await t.get("/srv/netboot/http/ipxe/node.ipxe")).toBeUndefined();
    expect(await t.get("/srv/netboot/http/ipxe/sub/deeper.ipxe")).toBeUndefined();
    expect(await t.stat("/srv/netboot/http/ipxe/node.ipxe")).toBeUndefined();
    expect(await t.stat("/srv/netboot/http/ipxe/sub")).toBeUndefined();
    expect(await t.list("/srv/netboot/http/ipxe")).toBeUndefined();
    expect(await t.list("/srv/netboot/http/ipxe/sub")).toBeUndefined();
    expect(await t.stat("/srv/netboot/http/ipxe")).toMatchObject({ type: "symlink", target: outside });
    expect(await t.list("/srv/netboot/http")).toEqual(["ipxe"]);
    // the last component is not followed by get either: a symlinked file reads as nothing
    fs.symlinkSync(path.join(outside, "node.ipxe"), path.join(root, "srv/netboot/http/boot.ipxe"));
    expect(await t.get("/srv/netboot/http/boot.ipxe")).toBeUndefined();
    // real files and folders read as before
    fs.writeFileSync(path.join(root, "srv/netboot/http/a.txt"), "inside\n");
    expect((await t.get("/srv/netboot/http/a.txt"))!.toString()).toBe("inside\n");
    expect(await t.stat("/srv/netboot/http/a.txt")).toMatchObject({ type: "file", size: 7 });
    expect(await t.get("/srv/netboot/http/missing")).toBeUndefined();
    await expect(t.get("/srv/netboot/http")).rejects.toThrow("read /srv/netboot/http");
  });

  test("without a root: plain reads follow symlinks (build-host sources); confined ones stop at `within`, admin links above it followed", async () => {
    const base = tmpDir("local-rnoroot");
    const data = tmpDir("local-rdata");
    const outside = tmpDir("local-routside2");
    fs.symlinkSync(data, path.join(base, "srv")); // an admin's /srv -> /data/srv
    fs.mkdirSync(path.join(data, "netboot/http"), { recursive: true });
    fs.writeFileSync(path.join(data, "netboot/boot.ipxe"), "ok\n");
    fs.writeFileSync(path.join(outside, "n.ipxe"), "OUTSIDE\n");
    fs.symlinkSync(outside, path.join(data, "netboot/http/ipxe"));
    const t = new LocalTransport();
    const within = `${base}/srv/netboot`;
    expect((await t.get(`${base}/srv/netboot/http/ipxe/n.ipxe`))!.toString()).toBe("OUTSIDE\n");
    expect(await t.get(`${base}/srv/netboot/http/ipxe/n.ipxe`, { confined: true, within })).toBeUndefined();
    expect(await t.get(`${base}/srv/netboot/http/ipxe/n.ipxe`, { confined: true })).toBeUndefined();
    expect(await t.stat(`${base}/srv/netboot/http/ipxe/n.ipxe`, { confined: true, within })).toBeUndefined();
    expect(await t.list(`${base}/srv/netboot/http/ipxe`, { confined: true, within })).toBeUndefined();
    expect(await t.stat(`${base}/srv/netboot/http/ipxe`, { confined: true, within })).toMatchObject({ type: "symlink", target: outside });
    expect((await t.get(`${base}/srv/netboot/boot.ipxe`, { confined: true, within }))!.toString()).toBe("ok\n");
    expect(await t.stat(within, { confined: true, within })).toMatchObject({ type: "dir" });
    expect(await t.list(within, { confined: true, within })).toEqual(["boot.ipxe", "http"]);
    // `within` itself is not followed: the admin's /srv as the outermost owned folder reads as a symlink
    expect(await t.stat(`${base}/srv`, { confined: true, within: `${base}/srv` })).toMatchObject({ type: "symlink" });
    expect(await t.list(`${base}/srv`, { confined: true, within: `${base}/srv` })).toBeUndefined();
  });

  test("a folder replaced by a symlink after a read: the next read walks again and finds nothing", async () => {
    const root = tmpDir("local-rrace");
    const outside = tmpDir("local-rrace-out");
    fs.mkdirSync(path.join(root, "srv/ipxe"), { recursive: true });
    fs.writeFileSync(path.join(root, "srv/ipxe/a.ipxe"), "inside\n");
    fs.writeFileSync(path.join(outside, "a.ipxe"), "OUTSIDE\n");
    const t = new LocalTransport(root);
    expect((await t.get("/srv/ipxe/a.ipxe"))!.toString()).toBe("inside\n");
    fs.renameSync(path.join(root, "srv/ipxe"), path.join(root, "srv/ipxe.moved"));
    fs.symlinkSync(outside, path.join(root, "srv/ipxe"));
    expect(await t.get("/srv/ipxe/a.ipxe")).toBeUndefined();
  });
});

/** The folders this process has open, by the path each handle is bound to now. */
function openFolders(): string[] {
  const out: string[] = [];
  for (const n of fs.readdirSync("/proc/self/fd")) {
    try {
      out.push(fs.readlinkSync(`/proc/self/fd/${n}`));
    } catch {
      // closed between the listing and the readlink
    }
  }
  return out;
}
const fdCount = () => fs.readdirSync("/proc/self/fd").length;

describe("LocalTransport.readMany: a batch of confined reads, each folder opened once", () => {
  test("finds what a confined stat then get of each path finds: nothing through a symlinked folder, a symlinked file as its link", async () => {
    const root = tmpDir("local-batch");
    const outside = tmpDir("local-batch-out");
    fs.writeFileSync(path.join(outside, "n.ipxe"), "OUTSIDE\n");
    fs.mkdirSync(path.join(outside, "sub"));
    fs.writeFileSync(path.join(outside, "sub/n.ipxe"), "OUTSIDE\n");
    fs.mkdirSync(path.join(root, "srv/netboot/http/real"), { recursive: true });
    fs.writeFileSync(path.join(root, "srv/netboot/http/real/a.ipxe"), "inside a\n", { mode: 0o640 });
    fs.writeFileSync(path.join(root, "srv/netboot/http/real/b.ipxe"), "inside b\n");
    fs.symlinkSync(outside, path.join(root, "srv/netboot/http/ipxe"));
    fs.symlinkSync(path.join(outside, "n.ipxe"), path.join(root, "srv/netboot/http/real/link.ipxe"));
    fs.writeFileSync(path.join(root, "srv/netboot/http/plain"), "a file, not a folder\n");
    const paths = [
      "/srv/netboot/http/real/a.ipxe", "/srv/netboot/http/ipxe/n.ipxe", "/srv/netboot/http/ipxe/sub/n.ipxe",
      "/srv/netboot/http/real/link.ipxe", "/srv/netboot/http/real/b.ipxe", "/srv/netboot/http/ipxe",
      "/srv/netboot/http/real", "/srv/netboot/http/real/missing", "/srv/netboot/http/plain/x", "/srv/gone/x",
      "/srv/netboot/http/real/a.ipxe",
    ];
    const single = async (t: LocalTransport, p: string, within?: string) => {
      const stat = await t.stat(p, { confined: true, within });
      if (!stat || stat.type !== "file") return stat && { stat };
      const data = await t.get(p, { confined: true, within });
      return data && { stat, data };
    };
    const t = new LocalTransport(root);
    const batch = await t.readMany(paths.map((p) => ({ path: p })));
    expect(batch).toEqual(await Promise.all(paths.map((p) => single(t, p))));
    expect(batch.map((r) => r?.data?.toString())).toEqual(["inside a\n", undefined, undefined, undefined, "inside b\n", undefined, undefined, undefined, undefined, undefined, "inside a\n"]);
    expect(batch.map((r) => r?.stat.type)).toEqual(["file", undefined, undefined, "symlink", "file", "symlink", "dir", undefined, undefined, undefined, "file"]);
    expect(batch[0]!.stat.mode).toBe(0o640);
    expect(batch[3]!.stat.target).toBe(path.join(outside, "n.ipxe"));
    expect(batch.some((r) => r?.data?.toString().includes("OUTSIDE"))).toBe(false);

    // Without a root: the same line at `within` (admin links above it followed), reads with different `within` in one batch.
    const noRoot = new LocalTransport();
    const reads = [
      { path: `${root}/srv/netboot/http/ipxe/n.ipxe`, within: `${root}/srv/netboot` },
      { path: `${root}/srv/netboot/http/ipxe/n.ipxe` }, // no `within`: the file's folder itself is refused
      { path: `${root}/srv/netboot/http/real/a.ipxe`, within: `${root}/srv/netboot` },
      { path: `${root}/srv/netboot/http/real/link.ipxe`, within: `${root}/srv/netboot` },
      { path: `${root}/srv/netboot`, within: `${root}/srv/netboot` },
    ];
    const nb = await noRoot.readMany(reads);
    expect(nb).toEqual(await Promise.all(reads.map((r) => single(noRoot, r.path, r.within))));
    expect(nb.map((r) => r?.stat.type)).toEqual([undefined, undefined, "file", "symlink", "dir"]);
    // a plain (unconfined) read would have followed the link
    expect((await noRoot.get(`${root}/srv/netboot/http/ipxe/n.ipxe`))!.toString()).toBe("OUTSIDE\n");
  });

  test("a folder swapped for a symlink after the batch opened it: no read returns what is behind the link", async () => {
    const root = tmpDir("local-batch-race");
    const outside = tmpDir("local-batch-race-out");
    const dir = path.join(root, "srv/ipxe");
    fs.mkdirSync(dir, { recursive: true });
    const names = Array.from({ length: 3000 }, (_, i) => `n${String(i).padStart(4, "0")}.ipxe`);
    for (const n of names) {
      fs.writeFileSync(path.join(dir, n), `inside ${n}\n`);
      fs.writeFileSync(path.join(outside, n), `OUTSIDE ${n}\n`);
    }
    const t = new LocalTransport(root);
    const batch = t.readMany(names.map((n) => ({ path: `/srv/ipxe/${n}` })));
    // As soon as the batch holds the folder open, rename it away and put a symlink to `outside` in its place
    // (synchronously: no read of the batch runs in between).
    let swapped = false;
    let settled = false;
    void batch.finally(() => (settled = true));
    while (!settled && !swapped) {
      if (openFolders().includes(dir)) {
        fs.renameSync(dir, path.join(root, "srv/ipxe.moved"));
        fs.symlinkSync(outside, dir);
        swapped = true;
      } else await new Promise((r) => setImmediate(r));
    }
    const found = await batch;
    expect(swapped).toBe(true);
    // Every read went to the folder that was walked (now srv/ipxe.moved), never through the link.
    for (const [i, n] of names.entries()) expect(found[i]?.data?.toString()).toBe(`inside ${n}\n`);
    // A later batch walks again: the symlinked folder is not gone through.
    expect(await t.readMany([{ path: `/srv/ipxe/${names[0]}` }])).toEqual([undefined]);
  });

  test("closes every folder and file it opened, also when a read fails; what is open at once does not grow with the batch", async () => {
    const root = tmpDir("local-batch-fds");
    const paths: string[] = [];
    for (let g = 0; g < 100; g++) {
      fs.mkdirSync(path.join(root, `srv/netboot/g${g}/nodes`), { recursive: true });
      for (let i = 0; i < 30; i++) {
        fs.writeFileSync(path.join(root, `srv/netboot/g${g}/nodes/n${i}.ipxe`), `#!ipxe ${g} ${i}\n`);
        paths.push(`/srv/netboot/g${g}/nodes/n${i}.ipxe`);
      }
    }
    const t = new LocalTransport(root);
    const before = fdCount();
    let most = before;
    let settled = false;
    const batch = t.readMany(paths.map((p) => ({ path: p })));
    void batch.finally(() => (settled = true));
    while (!settled) {
      most = Math.max(most, fdCount());
      await new Promise((r) => setImmediate(r));
    }
    const found = await batch;
    expect(found.filter((r) => r?.data)).toHaveLength(3000);
    expect(found[1234]!.data!.toString()).toBe("#!ipxe 41 4\n");
    expect(fdCount()).toBe(before);
    // 16 reads at a time, each holding its file and its folders (the root and four below it) at most; not the
    // batch's 203 folders
    expect(most - before).toBeLessThan(16 * 6);
    expect(most - before).toBeGreaterThan(0);

    // A read that fails (EIO reading /proc/self/mem) rejects the batch, the reads not yet started are not, and
    // nothing is left open (the folders they would have used were opened by the reads already running).
    const local = new LocalTransport();
    const reads = [{ path: "/proc/self/mem", within: "/proc/self/mem" }, ...paths.map((p) => ({ path: root + p, within: root + "/srv" }))];
    await expect(local.readMany(reads)).rejects.toThrow("read /proc/self/mem");
    expect(fdCount()).toBe(before);
  });
});
