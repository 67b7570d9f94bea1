/**
 * The initramfs's overlay step (render/init.ts OVERLAY_FNS) run by busybox sh against a real HTTP server on
 * the loopback: a good archive is laid over the root with its owners and modes and then deleted; a wrong hash,
 * a refused download and a file below a hybrid path each stop with one `netboot: FAILED: overlay` line and lay
 * nothing. Runs in its own mount namespace with a tmpfs on /run (the step keeps the archive in /run/netboot).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";
import { OVERLAY_FNS, renderUdhcpcScript } from "../../provider/render/init";
import { renderOverlayArchive } from "../../provider/render/overlay";
import { requireTool, tmpDir } from "../helpers/env";

const archive = renderOverlayArchive([
  { path: "/etc/hostname", mode: 0o644, uid: 0, gid: 0, content: "n1\n", secret: false },
  { path: "/etc/munge/munge.key", mode: 0o400, uid: 105, gid: 107, content: "key", secret: true },
  { path: "/root/.ssh/authorized_keys", mode: 0o600, uid: 0, gid: 0, content: "ssh-ed25519 AAAA a@b\n", secret: false },
]);
const withResolver = renderOverlayArchive([{ path: "/etc/resolv.conf", mode: 0o644, uid: 0, gid: 0, content: "nameserver 10.0.0.53\n", secret: false }]);
const shared = renderOverlayArchive([{ path: "/usr/share/x", mode: 0o644, uid: 0, gid: 0, content: "x", secret: false }]);

let server: http.Server;
let base = "";

beforeAll(async () => {
  requireTool("busybox");
  requireTool("unshare");
  server = http.createServer((req, res) => {
    if (req.url === "/a.cpio") res.end(archive.bytes);
    else if (req.url === "/shared.cpio") res.end(shared.bytes);
    else if (req.url === "/resolver.cpio") res.end(withResolver.bytes);
    else {
      res.statusCode = 403;
      res.end("forbidden");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/**
 * Runs fetch + apply as the init does, in a fresh mount namespace; returns exit code and output. `after` runs
 * next in the same mount namespace.
 */
function run(root: string, url: string, sha: string, hybrid: string[] = [], after = ""): Promise<{ code: number; out: string }> {
  const script = `mount -t tmpfs tmpfs /run && mkdir -p /run/netboot
step() { echo "netboot: $*"; }
fail() { echo "netboot: FAILED: $*"; exit 1; }
${OVERLAY_FNS}
OVERLAY_URL='${url}'; OVERLAY_SHA='${sha}'
overlay_fetch
overlay_apply '${root}' ${hybrid.join(" ")}
[ -e /run/netboot/overlay.cpio ] && echo "archive left behind"
${after}
exit 0`;
  return new Promise((resolve) => {
    const p = spawn("unshare", ["-m", "--propagation", "private", "busybox", "sh", "-c", script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

const list = (d: string): string[] =>
  fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(d, e.name);
    const st = fs.statSync(p);
    const line = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${e.name}`;
    return e.isDirectory() ? [line + "/", ...list(p).map((l) => l.replace(/ (\S+)$/, ` ${e.name}/$1`))] : [line];
  });

test("a verified overlay is laid over the root with owners and modes, and its archive is removed", async () => {
  const root = tmpDir("ov-root");
  fs.mkdirSync(path.join(root, "etc"));
  fs.writeFileSync(path.join(root, "etc/hostname"), "image\n");
  const r = await run(root, `${base}/a.cpio`, archive.sha256);
  expect(r.out).not.toContain("FAILED");
  expect(r.out).not.toContain("left behind");
  expect(r.out).toContain("netboot: overlay: 7 entries laid over the root");
  expect(r.code).toBe(0);
  expect(fs.readFileSync(path.join(root, "etc/hostname"), "utf8")).toBe("n1\n");
  expect(list(root).sort()).toEqual(
    ["755 0:0 etc/", "644 0:0 etc/hostname", "755 0:0 etc/munge/", "400 105:107 etc/munge/munge.key", "700 0:0 root/", "700 0:0 root/.ssh/", "600 0:0 root/.ssh/authorized_keys"].sort(),
  );
});

test("a wrong hash stops with one FAILED line and lays nothing", async () => {
  const root = tmpDir("ov-root");
  const r = await run(root, `${base}/a.cpio`, "0".repeat(64));
  expect(r.code).not.toBe(0);
  expect(r.out).toContain(`netboot: FAILED: overlay ${base}/a.cpio: sha256 ${archive.sha256} is not the ${"0".repeat(64)} its boot script pins`);
  expect(fs.readdirSync(root)).toEqual([]);
});

test("a refused download (403) stops with one FAILED line", async () => {
  const root = tmpDir("ov-root");
  const r = await run(root, `${base}/other-node.cpio`, archive.sha256);
  expect(r.code).not.toBe(0);
  expect(r.out).toContain(`netboot: FAILED: overlay ${base}/other-node.cpio: download failed`);
  expect(fs.readdirSync(root)).toEqual([]);
});

test("an overlay with files below a hybrid path is refused (the tree is every node's)", async () => {
  const root = tmpDir("ov-root");
  const r = await run(root, `${base}/shared.cpio`, shared.sha256, ["/usr"]);
  expect(r.code).not.toBe(0);
  expect(r.out).toContain("netboot: FAILED: overlay");
  expect(r.out).toContain("below the hybrid path /usr");
  expect(fs.readdirSync(root)).toEqual([]);
});

/**
 * The DHCP keeper renewing the lease on the booted node, whose /etc is the new root's (a tmpfs stands in for it),
 * in a network namespace of its own: the script's `ip` commands touch none of this machine's interfaces.
 */
const renew = (root: string) => {
  const script = path.join(tmpDir("ov-udhcpc"), "udhcpc.script");
  fs.writeFileSync(script, renderUdhcpcScript(), { mode: 0o755 });
  return `mount -t tmpfs tmpfs /etc && cp '${root}/etc/resolv.conf' /etc/resolv.conf
interface=nbt0 ip=10.0.0.11 mask=24 dns=10.0.0.1 domain=dhcp.example NETBOOT_KEEP=1 unshare -n busybox sh '${script}' renew >/dev/null 2>&1
echo "resolv: $(cat /etc/resolv.conf | tr '\\n' ' ')"`;
};

test("an overlay's resolv.conf is the admin's: the DHCP keeper's renewal leaves it; without one it writes DHCP's", async () => {
  const root = tmpDir("ov-root");
  const r = await run(root, `${base}/resolver.cpio`, withResolver.sha256, [], renew(root));
  expect(r.out).not.toContain("FAILED");
  expect(r.out).toContain("resolv: nameserver 10.0.0.53 ");

  const plain = tmpDir("ov-root");
  fs.mkdirSync(path.join(plain, "etc"));
  fs.writeFileSync(path.join(plain, "etc/resolv.conf"), "nameserver 10.0.0.53\n");
  const r2 = await run(plain, `${base}/a.cpio`, archive.sha256, [], renew(plain));
  expect(r2.out).not.toContain("FAILED");
  expect(r2.out).toContain("resolv: search dhcp.example nameserver 10.0.0.1 ");
});
