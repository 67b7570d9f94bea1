/**
 * `npm run quickstart` on a Debian 12 machine that has none of the tests' packages: a fresh root built with
 * mmdebstrap (apt, systemd, nothing else), the checkout and the toolchain laid over it read-write as overlays (so
 * neither changes on this machine), Node.js bound in from this machine. The quickstart must install only what
 * rendering needs (`deps.sh quickstart`: dnsmasq, ipxe), leave nothing it installed enabled at boot, and render.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO, requireRoot, requireTool, tmpDir, toolchainBin } from "../helpers/env";

jest.setTimeout(900_000);

const CACHE = path.join(process.env.HOME ?? "/root", ".cache", "netboot");

function mmdebstrap(root: string): void {
  // .deb files are shared with the lab's roots (scripts/lab/machineRoot.sh) through the same cache folder.
  const archives = path.join(CACHE, "apt-archives");
  fs.mkdirSync(archives, { recursive: true });
  const r = spawnSync(
    "mmdebstrap",
    [
      "--variant=apt", "--include=systemd-sysv,ca-certificates", "--skip=download/empty", "--skip=essential/unlink",
      "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
      `--setup-hook=sync-in ${archives} /var/cache/apt/archives/`,
      `--customize-hook=sync-out /var/cache/apt/archives ${archives}`,
      "--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb",
      "bookworm", root, "http://deb.debian.org/debian",
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  if (r.status !== 0) throw new Error(`mmdebstrap failed (${r.status}):\n${r.stderr.slice(-3000)}`);
}

const installed = (root: string, pkg: string) =>
  spawnSync("chroot", [root, "dpkg-query", "-W", "-f=${Status}", pkg], { encoding: "utf8" }).stdout.includes("install ok installed");

test("npm run quickstart on a bare Debian 12: installs dnsmasq and ipxe only, enables nothing at boot, renders", () => {
  requireRoot("systemd-nspawn");
  requireTool("mmdebstrap");
  requireTool("systemd-nspawn");
  const toolchain = path.dirname(toolchainBin()); // built on this machine; the machine under test reuses it
  const base = tmpDir("qs-fresh");
  const root = path.join(base, "root");
  try {
    mmdebstrap(root);
    expect(installed(root, "dnsmasq")).toBe(false);
    // Mount points, and npm as Debian's nodejs package links it (npm resolves its own files from its real path).
    for (const d of ["repo", toolchain.slice(1), "usr/lib/node_modules", "usr/local/go"]) fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.symlinkSync(fs.readlinkSync("/usr/bin/npm"), path.join(root, "usr/bin/npm"));
    const upper = (n: string) => { const d = path.join(base, n); fs.mkdirSync(d); return d; };
    // As the lab's machines run (scripts/lab/machines.ts): nspawn in a mount namespace of its own with a private
    // /run/systemd/nspawn, --keep-unit and --register=no, so it needs no system bus.
    const nspawn = "mkdir -p /run/systemd/nspawn && mount -t tmpfs nbq-nspawn /run/systemd/nspawn && exec systemd-nspawn \"$@\"";
    const r = spawnSync(
      "unshare",
      [
        "-m", "--propagation", "private", "sh", "-c", nspawn, "sh",
        "--quiet", "--keep-unit", "--register=no", "-D", root, "--setenv=HOME=/root", "--setenv=PATH=/usr/local/go/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--setenv=NETBOOT_TARGET_ROOT=/var/tmp/target", "--setenv=PULUMI_BACKEND_URL=file:///var/tmp/state",
        `--setenv=NETBOOT_TOOLCHAIN_DIR=${toolchain}`,
        // Node.js and Go from this machine; the checkout (with its node_modules) and the toolchain as overlays.
        "--bind-ro=/usr/bin/node", "--bind-ro=/usr/lib/node_modules", "--bind-ro=/usr/local/go",
        `--overlay=${REPO}:${upper("repo-upper")}:/repo`, `--overlay=${toolchain}:${upper("toolchain-upper")}:${toolchain}`,
        "--chdir=/repo", "bash", "-c", "mkdir -p /var/tmp/state && npm run quickstart",
      ],
      { encoding: "utf8" },
    );
    const out = r.stdout + r.stderr;
    if (r.status !== 0) throw new Error(`quickstart in the bare machine failed (${r.status}):\n${out.slice(-4000)}`);
    expect(r.stdout).toContain("== netboot quickstart: done");
    expect(fs.readFileSync(path.join(root, "var/tmp/target/etc/dnsmasq.d/netboot-pxe.conf"), "utf8")).toContain("interface=nb0");
    expect(fs.existsSync(path.join(root, "var/tmp/target/srv/netboot/tftp/undionly.kpxe"))).toBe(true);

    // What rendering needs, and nothing of the tests'.
    const listed = spawnSync("bash", [path.join(REPO, "scripts/deps.sh"), "--list", "quickstart"], { encoding: "utf8" }).stdout.trim().split("\n");
    expect(listed).toEqual(["dnsmasq", "ipxe"]);
    for (const p of listed) expect(installed(root, p)).toBe(true);
    for (const p of ["qemu-system-x86", "glusterfs-server", "nfs-ganesha", "nginx-light", "openssh-server", "linux-image-amd64", "dracut-core"]) {
      expect([p, installed(root, p)]).toEqual([p, false]);
    }
    // dnsmasq's package enables dnsmasq.service; deps.sh says so and takes it back.
    expect(out).toMatch(/leaving disabled at boot what the packages enabled: .*dnsmasq\.service/);
    const links = spawnSync("find", [path.join(root, "etc/systemd/system"), "-type", "l", "-name", "dnsmasq*"], { encoding: "utf8" }).stdout.trim();
    expect(links).toBe("");
    const enabled = spawnSync("systemctl", [`--root=${root}`, "is-enabled", "dnsmasq.service"], { encoding: "utf8" }).stdout.trim();
    expect(enabled).toBe("disabled");
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
