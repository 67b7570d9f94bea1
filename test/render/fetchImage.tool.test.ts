/**
 * The init's image read from a sharded volume (render/init.ts FETCH_FN, model/readSpread.ts fetchPlanOf), run by
 * busybox sh as the initramfs runs it: the bytes come out whole and in order with pieces read at once, never more
 * than the window; a piece that fails twice, or comes back short, stops it with one line naming the piece and
 * leaves no pieces behind; a piece that fails once is read again. The init's own line (from renderInitFiles) then
 * unpacks a tarball through it, and fails the boot when a piece cannot be read although tar took the ones before.
 * A `dd` shell function stands in for the reads that fail; everything else is the real busybox.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { FETCH_FN, InitConfig, renderInitFiles } from "../../provider/render/init";
import { requireTool, sh, tmpDir } from "../helpers/env";

const MIB = 1024 ** 2;

beforeAll(() => {
  requireTool("busybox");
  requireTool("unshare");
});

/** busybox sh with FETCH_FN defined and `pre` before `cmd`; stdout as bytes. */
function run(cmd: string, pre = ""): { code: number; out: Buffer; err: string } {
  const r = spawnSync("busybox", ["sh", "-c", `${FETCH_FN}\n${pre}\n${cmd}`], { maxBuffer: 64 * MIB });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr.toString() };
}

function image(dir: string, bytes: number): string {
  const f = path.join(dir, "image.tar.gz");
  fs.writeFileSync(f, crypto.randomBytes(bytes));
  return f;
}

test("the file comes out whole and in order, its last piece short, and the scratch folder is removed", () => {
  const dir = tmpDir("fetch");
  const f = image(dir, 10 * MIB + 123);
  const r = run(`fetch_image ${f} ${MIB} 3 ${dir}/pieces`);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out.equals(fs.readFileSync(f))).toBe(true);
  expect(fs.existsSync(`${dir}/pieces`)).toBe(false);
});

test("pieces are read at once, never more than the window", () => {
  const dir = tmpDir("fetch");
  const f = image(dir, 8 * MIB);
  fs.mkdirSync(`${dir}/active`);
  // each read marks itself active, notes how many are, and lingers so that the next ones overlap it
  const shim = `dd() { m=$(mktemp ${dir}/active/r.XXXXXX); ls ${dir}/active | wc -l >> ${dir}/seen; usleep 200000; command dd "$@"; rc=$?; rm -f "$m"; return $rc; }`;
  const r = run(`fetch_image ${f} ${MIB} 3 ${dir}/pieces`, shim);
  expect(r.code).toBe(0);
  expect(r.out.equals(fs.readFileSync(f))).toBe(true);
  const seen = fs.readFileSync(`${dir}/seen`, "utf8").trim().split("\n").map(Number);
  expect(seen).toHaveLength(8);
  expect(Math.max(...seen)).toBe(3);
});

test("a piece that fails twice stops it: the pieces before it, one line naming it, nothing left behind", () => {
  const dir = tmpDir("fetch");
  const f = image(dir, 6 * MIB);
  const r = run(`fetch_image ${f} ${MIB} 4 ${dir}/pieces`, `dd() { case "$*" in *" skip=2 "*) return 5 ;; esac; command dd "$@"; }`);
  expect(r.code).toBe(1);
  expect(r.out.equals(fs.readFileSync(f).subarray(0, 2 * MIB))).toBe(true);
  expect(r.err).toBe(`fetch_image: reading piece 2 (${MIB} bytes at ${2 * MIB}) of ${f} failed\n`);
  expect(fs.existsSync(`${dir}/pieces`)).toBe(false);
});

test("a piece that comes back short never passes for the image", () => {
  const dir = tmpDir("fetch");
  const f = image(dir, 3 * MIB);
  // the read "succeeds" with 10 bytes, as a reader cut off at a boundary would
  const r = run(`fetch_image ${f} ${MIB} 2 ${dir}/pieces`, `dd() { case "$*" in *" skip=1 "*) command dd if=/dev/zero of="$_d/1" bs=10 count=1 2>/dev/null; return 0 ;; esac; command dd "$@"; }`);
  expect(r.code).toBe(1);
  expect(r.out.length).toBe(MIB);
  expect(r.err).toContain("fetch_image: reading piece 1");
});

test("a piece that fails once is read again", () => {
  const dir = tmpDir("fetch");
  const f = image(dir, 4 * MIB);
  const r = run(`fetch_image ${f} ${MIB} 2 ${dir}/pieces`, `dd() { case "$*" in *" skip=3 "*) if [ ! -e ${dir}/once ]; then : > ${dir}/once; return 5; fi ;; esac; command dd "$@"; }`);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out.equals(fs.readFileSync(f))).toBe(true);
});

test("a missing file is one line, not an empty image", () => {
  const dir = tmpDir("fetch");
  const r = run(`fetch_image ${dir}/nothing ${MIB} 2 ${dir}/pieces`);
  expect(r.code).toBe(1);
  expect(r.out.length).toBe(0);
  expect(r.err).toContain(`fetch_image: cannot stat ${dir}/nothing`);
});

describe("the init's unpack line", () => {
  const cfg: InitConfig = {
    name: "rack2", transport: "glusterfs", mode: "ram", hybridPaths: [], handoff: "switch_root", onFailure: "reboot", modules: [],
    volfile: "/etc/netboot/client.vol", fetch: { piece: MIB, window: 4 }, imagePath: "/images/rack2", imageCompression: "z",
  };
  const init = renderInitFiles(cfg).find((x) => x.path === "/init")!.content;
  const line = init.split("\n").find((l) => l.startsWith("fetch_image "))!;

  /**
   * The line as the init runs it: pipefail, a tmpfs /run with the image where the mount would put it; only the
   * root it unpacks into is a test folder instead of /newroot.
   */
  function unpack(tarball: string, root: string, pre = ""): { code: number; out: string } {
    const script = `set -o pipefail
mount -t tmpfs tmpfs /run && mkdir -p /run/netboot/net/images/rack2 && cp ${tarball} /run/netboot/net/images/rack2/image.tar.gz || exit 7
fail() { echo "netboot: FAILED: $*"; exit 1; }
IMAGE_FILE=image.tar.gz
${FETCH_FN}
${pre}
${line.replace("-C /newroot", `-C ${root}`)}
echo unpacked`;
    const r = spawnSync("unshare", ["-m", "--propagation", "private", "busybox", "sh", "-c", script], { encoding: "utf8" });
    return { code: r.status ?? 1, out: r.stdout + r.stderr };
  }

  /** A gzip'd tarball of a 5 MiB incompressible file and a small one: about five pieces of 1 MiB. */
  function tarball(dir: string): string {
    fs.mkdirSync(`${dir}/src/sbin`, { recursive: true });
    fs.writeFileSync(`${dir}/src/payload.bin`, crypto.randomBytes(5 * MIB));
    fs.writeFileSync(`${dir}/src/sbin/init`, "#!/bin/sh\n");
    sh(`tar -C ${dir}/src -czf ${dir}/image.tar.gz .`);
    return `${dir}/image.tar.gz`;
  }

  test("renders fetch_image into tar, with the plan's piece and window", () => {
    expect(line).toBe(`fetch_image '/run/netboot/net/images/rack2'"/$IMAGE_FILE" ${MIB} 4 /run/netboot/fetch | tar -xzf - -C /newroot || fail "fetch or unpack of /run/netboot/net/images/rack2/$IMAGE_FILE"`);
    expect(init).toContain(`step "image in 1 MB pieces, 4 at a time"`);
    // unsharded: one stream, as before
    const plain = renderInitFiles({ ...cfg, fetch: undefined }).find((x) => x.path === "/init")!.content;
    expect(plain).not.toContain("fetch_image");
    expect(plain).toContain(`tar -xzf '/run/netboot/net/images/rack2'"/$IMAGE_FILE" -C /newroot`);
  });

  test("unpacks the image through the pieces", () => {
    const dir = tmpDir("fetch");
    const root = tmpDir("fetch-root");
    const r = unpack(tarball(dir), root);
    expect(r.out).toContain("unpacked");
    expect(r.code).toBe(0);
    expect(fs.readFileSync(`${root}/payload.bin`).equals(fs.readFileSync(`${dir}/src/payload.bin`))).toBe(true);
    expect(fs.readFileSync(`${root}/sbin/init`, "utf8")).toBe("#!/bin/sh\n");
  });

  test("fails the boot when a piece cannot be read, although tar took the pieces before it", () => {
    const dir = tmpDir("fetch");
    const root = tmpDir("fetch-root");
    // the last piece: tar has unpacked most of the payload by then
    const last = Math.ceil(fs.statSync(tarball(dir)).size / MIB) - 1;
    const r = unpack(`${dir}/image.tar.gz`, root, `dd() { case "$*" in *" skip=${last} "*) return 5 ;; esac; command dd "$@"; }`);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`fetch_image: reading piece ${last}`);
    expect(r.out).toContain("netboot: FAILED: fetch or unpack of /run/netboot/net/images/rack2/image.tar.gz");
    expect(r.out).not.toContain("unpacked");
  });
});
