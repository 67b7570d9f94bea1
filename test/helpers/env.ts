/**
 * Test prerequisites. A missing tool fails the test with the command that installs it: never a skip.
 */
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { debianPackage } from "../../provider/util/debian";

export const REPO = path.resolve(__dirname, "..", "..");

/** The toolchain bin folder (pulumi, pulumi-language-nodejs), building it if needed. */
export function toolchainBin(): string {
  const out = execFileSync("bash", [path.join(REPO, "scripts/toolchain.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return out.trim().split("\n").pop()!;
}

/** Fails with an install hint when a command is missing. */
export function requireTool(cmd: string): string {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    const p = path.join(dir, cmd);
    if (fs.existsSync(p)) return p;
  }
  const pkg = debianPackage(cmd);
  throw new Error(`${cmd} is not installed: run 'apt-get install -y ${pkg}' (or 'bash scripts/deps.sh', which installs everything the tests use)`);
}

export function requireRoot(what: string): void {
  if (process.getuid && process.getuid() !== 0) throw new Error(`${what} needs root (network namespaces, FUSE, daemons): run the tests as root`);
}

export function tmpDir(prefix: string): string {
  // 0755: daemons under test drop privileges (dnsmasq runs as its own user) and must read below it.
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `netboot-${prefix}-`));
  fs.chmodSync(d, 0o755);
  return d;
}

export function sh(cmd: string, opts: { input?: string; allowFail?: boolean } = {}): { code: number; out: string; err: string } {
  const r = spawnSync("bash", ["-c", cmd], { encoding: "utf8", input: opts.input });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`command failed (${r.status}): ${cmd}\n${r.stderr}${r.stdout}`);
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

/** One sha256 over every name and byte below `d` (a change anywhere changes it); a missing folder hashes as empty. */
export function hashTree(d: string): string {
  const h = createHash("sha256");
  const walk = (x: string) => {
    for (const e of fs.readdirSync(x, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(x, e.name);
      h.update(path.relative(d, p) + "\0");
      if (e.isDirectory()) walk(p);
      else h.update(fs.readFileSync(p));
    }
  };
  if (fs.existsSync(d)) walk(d);
  return h.digest("hex");
}
