/**
 * Real-OS boot benchmark (issue 12), one run, side by side:
 *   - time from VM start to `multi-user.target` (the image's report of `systemctl is-system-running`) under TCG,
 *     Debian 12 (examples/stateless-debian) in RAM and hybrid mode (all of /usr on GlusterFS), against the
 *     busybox image (examples/stateless-gluster: ram1, hyb1) to its own marker;
 *   - memory: `MemAvailable` on the node after boot, RAM against hybrid, same image and VM size (1024 MB);
 *   - the image's size: the root, the RAM tarball, the hybrid RAM tarball.
 * Each example runs through `scripts/lab.sh --up --destroy` on a stack of its own in a temp backend, with its
 * target root and build folder in temp folders. Run as root. Usage: npm run bench:realos
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseCli } from "../../scripts/_cli";

parseCli("bench:realos", "usage: npm run bench:realos", {});

const REPO = path.resolve(__dirname, "..", "..");

interface Node { node: string; group: string; secondsToUp: number | null; secondsToUpAfterReboot?: number | null; result: string; marker: string | null }

function sh(argv: string[], env: NodeJS.ProcessEnv, cwd = REPO): string {
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}):\n${(r.stdout ?? "") + (r.stderr ?? "")}`.slice(-4000));
  return r.stdout;
}

/** One example through the lab on a fresh stack; returns its result.json nodes and the folders it used. */
function labRun(example: string, args: string[], work: string): { nodes: Node[]; build: string; seconds: number } {
  const name = path.basename(example);
  const dir = path.join(work, name);
  const [state, target, build, out] = ["state", "target", "build", "out"].map((d) => path.join(dir, d));
  for (const d of [state, target, build, out]) fs.mkdirSync(d, { recursive: true });
  const stack = `bench${process.pid}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: "netboot-bench-only", PULUMI_HOME: path.join(state, ".home") };
  const bin = sh(["bash", "-c", "bash scripts/toolchain.sh | tail -1"], env).trim();
  env.PATH = `${bin}:${path.join(REPO, "bin")}:${process.env.PATH}`;
  const ex = path.join(REPO, example);
  sh(["pulumi", "stack", "init", stack], env, ex);
  try {
    sh(["pulumi", "config", "set", "targetRoot", target, "-s", stack], env, ex);
    sh(["pulumi", "config", "set", "buildDir", build, "-s", stack], env, ex);
    const t0 = Date.now();
    console.log(`bench:realos: ${example}: pulumi up, boot ${args.join(" ") || "every node"}, destroy`);
    spawnSync("bash", [path.join(REPO, "scripts/lab.sh"), ex, "--stack", stack, "--out", out, "--up", "--destroy", "--timeout", "1200", ...args], { cwd: REPO, env, stdio: ["ignore", "inherit", "inherit"] });
    const result = JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8"));
    return { nodes: result.nodes, build, seconds: (Date.now() - t0) / 1000 };
  } finally {
    spawnSync("pulumi", ["stack", "rm", "--yes", "--force", stack], { cwd: ex, env });
    fs.rmSync(path.join(ex, `Pulumi.${stack}.yaml`), { force: true });
  }
}

const mem = (n: Node) => Number(/memAvailableKb=(\d+)/.exec(n.marker ?? "")?.[1] ?? NaN) / 1024;
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const du = (p: string) => Number(spawnSync("du", ["-sb", p], { encoding: "utf8" }).stdout.split("\t")[0]);

function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-bench-realos-"));
  // dnsmasq and nginx drop privileges: they must reach the target root below it
  fs.chmodSync(work, 0o755);
  try {
    const deb = labRun("examples/stateless-debian", [], work);
    const bb = labRun("examples/stateless-gluster", ["--nodes", "ram1,hyb1"], work);
    const by = (r: { nodes: Node[] }, n: string) => {
      const x = r.nodes.find((y) => y.node === n);
      if (!x || x.result !== "up") throw new Error(`${n} did not come up: ${x?.result ?? "not in result.json"}`);
      return x;
    };
    const [dr, dh, br, bh] = [by(deb, "deb-ram1"), by(deb, "deb-hyb1"), by(bb, "ram1"), by(bb, "hyb1")];
    const vol = path.join(deb.build, "volume/netboot/images");
    const ramTar = fs.statSync(path.join(vol, "debian-ram/image.tar.gz")).size;
    const hybTar = fs.statSync(path.join(vol, "debian-hybrid/image.tar.gz")).size;
    const usr = du(path.join(vol, "debian-hybrid/root/usr"));

    console.log("\n## Time from VM start to up (TCG, 1 vCPU; the Debian nodes boot in parallel, then the busybox ones)\n");
    console.log("| image | mode | seconds to up | / busybox, same mode |");
    console.log("| --- | --- | --- | --- |");
    console.log(`| busybox (stateless-gluster) | RAM | ${br.secondsToUp} | 1.00 |`);
    console.log(`| busybox (stateless-gluster) | hybrid (/usr/share/lab) | ${bh.secondsToUp} | 1.00 |`);
    console.log(`| Debian 12, multi-user.target | RAM | ${dr.secondsToUp} | ${(dr.secondsToUp! / br.secondsToUp!).toFixed(2)} |`);
    console.log(`| Debian 12, multi-user.target | hybrid (/usr) | ${dh.secondsToUp} | ${(dh.secondsToUp! / bh.secondsToUp!).toFixed(2)} |`);
    console.log(`| Debian 12, after \`systemctl reboot\` | hybrid (/usr) | ${dh.secondsToUpAfterReboot} | ${(dh.secondsToUpAfterReboot! / bh.secondsToUp!).toFixed(2)} |`);
    console.log("\n## Memory after boot (MemAvailable, 1024 MB VM, same image)\n");
    console.log("| mode | MemAvailable MB | / RAM mode |");
    console.log("| --- | --- | --- |");
    console.log(`| RAM | ${mem(dr).toFixed(0)} | 1.00 |`);
    console.log(`| hybrid (/usr on GlusterFS) | ${mem(dh).toFixed(0)} | ${(mem(dh) / mem(dr)).toFixed(2)} |`);
    console.log("\n## Image size\n");
    console.log("| what | MB | |");
    console.log("| --- | --- | --- |");
    console.log(`| /usr on the volume (the hybrid tree, unpacked) | ${mb(usr)} | |`);
    console.log(`| RAM tarball (the whole image, gzip) | ${mb(ramTar)} | 1.00 |`);
    console.log(`| hybrid RAM tarball (the root without /usr, gzip) | ${mb(hybTar)} | ${(hybTar / ramTar).toFixed(3)} |`);
    console.log(`\nlab runs: stateless-debian ${deb.seconds.toFixed(0)} s, stateless-gluster ${bb.seconds.toFixed(0)} s`);
    fs.rmSync(work, { recursive: true, force: true });
  } catch (e) {
    // the consoles and daemon logs say why a node did not come up
    console.error(`bench:realos: failed; the lab's logs are kept in ${work}/*/out`);
    throw e;
  }
}

main();
