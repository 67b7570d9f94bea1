/**
 * Files on a remote host over real SSH, through the real engine: secrets stay secret (the SSH key and a TLS
 * key never appear in the engine output or the state file; secret files are 0600), drift is seen by re-hashing
 * over SSH, and every fault leaves no partial file at its final path and converges on the next `pulumi up`:
 * host unreachable, permission denied, disk full, and the provider killed mid-upload.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "../../sdk/nodejs";
import { changed, testStack, TestStack } from "../helpers/engine";
import { tmpDir } from "../helpers/env";
import { pidAlive, sleep } from "../helpers/gluster";
import { SshHost, SshLab, TEST_UID, TEST_USER } from "../helpers/sshHosts";

jest.setTimeout(300_000);

// A TLS private key as a user would pass it (generated here, so nothing real is in the repo).
const TLS_KEY = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();

/** Our own descendants (the engine we started and the plugin it started) whose command line matches. */
function descendants(match: RegExp): number[] {
  const parent = new Map<number, number>();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch { /* gone */ }
  }
  const mine = (pid: number): boolean => {
    for (let p = parent.get(pid); p && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  return [...parent.keys()].filter((p) => {
    try {
      return mine(p) && match.test(fs.readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " "));
    } catch {
      return false;
    }
  });
}

describe("files on an SSH host through the engine: secrets and faults", () => {
  let lab: SshLab;
  let h: SshHost;
  let t: TestStack;
  let base = "";
  const big = path.join(tmpDir("ssh-big"), "big.bin");
  // The program reads these; tests change them between runs.
  let appConf = "listen = 10.91.2.21\n";
  let withBig = false;
  let fullContent = "small\n";
  const out: string[] = [];
  const log = (s: string) => out.push(s);

  const program = async () => {
    const ssh = h.ssh();
    const host = { ssh: { ...ssh, privateKey: pulumi.secret(ssh.privateKey) } };
    const files: Record<string, any> = {
      [`${base}/etc/app/app.conf`]: { content: appConf, mode: "0644" },
      [`${base}/etc/app/tls/server.key`]: pulumi.secret({ content: TLS_KEY, mode: "0600" }),
    };
    if (withBig) files[`${base}/srv/big.bin`] = { source: big, mode: "0644" };
    const set = new netboot.FileSet("app", { host, files } as any);
    // The key passed as a plain string: the provider still keeps it secret in state.
    const plain = new netboot.File("plainkey", { host: { ssh }, path: `${base}/etc/motd`, content: "hello\n", mode: "0644" });
    // An unprivileged user writing into a folder it cannot write (until the admin fixes it).
    const denied = new netboot.File("denied", { host: { ssh: { ...h.ssh(TEST_USER), privateKey: pulumi.secret(ssh.privateKey) } }, path: `${base}/locked/user.conf`, content: "mine\n", mode: "0644" });
    // A file on a tiny tmpfs.
    const full = new netboot.File("full", { host, path: "/srv/nbsfull/data.conf", content: fullContent, mode: "0644" });
    return { manifest: (set as any).manifest, plain: plain.sha256, denied: denied.sha256, full: full.sha256 };
  };

  const stateText = () => {
    const dir = path.join(t.dir, "state");
    const files: string[] = [];
    const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
    walk(dir);
    return files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
  };
  const keyBody = (pem: string) => pem.split("\n").filter((l) => l && !l.startsWith("-----"));
  const tmpLeft = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.includes(".netboot-")) : []);

  beforeAll(async () => {
    lab = new SshLab("f", "10.91.2");
    h = await lab.addHost(21, { tmpfs: { path: "/srv/nbsfull", sizeKb: 64 } });
    base = path.join(h.dir, "root");
    fs.mkdirSync(path.join(base, "locked"), { recursive: true, mode: 0o755 });
    t = await testStack("ssh-files", program);
  }, 120000);

  afterAll(async () => {
    if (t) await t.destroy().catch(() => undefined);
    if (lab) await lab.cleanup();
  }, 120000);

  test("up writes over SSH; the unprivileged write fails with permission denied, naming host and path", async () => {
    const err = await t.stack.up({ onOutput: log }).catch((e) => e);
    expect(String(err)).toContain(`${TEST_USER}@127.0.0.1:${h.port}: write ${base}/locked/user.conf: permission denied`);
    expect(fs.readFileSync(`${base}/etc/app/app.conf`, "utf8")).toBe(appConf);
    expect(fs.statSync(`${base}/etc/app/tls/server.key`).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(`${base}/etc/app/tls/server.key`, "utf8")).toBe(TLS_KEY);
    expect(fs.readdirSync(`${base}/locked`)).toEqual([]);
  });

  test("after the admin fixes the folder, up converges", async () => {
    fs.chownSync(`${base}/locked`, TEST_UID, TEST_UID);
    const up = await t.stack.up({ onOutput: log });
    expect(up.summary.result).toBe("succeeded");
    expect(fs.readFileSync(`${base}/locked/user.conf`, "utf8")).toBe("mine\n");
    expect(fs.statSync(`${base}/locked/user.conf`).uid).toBe(TEST_UID);
    expect(changed((await t.stack.preview({ expectNoChanges: true, onOutput: log })).changeSummary)).toEqual({});
  });

  test("the SSH key and the TLS key are nowhere in the engine output or the state file; they are stored as secrets", async () => {
    await t.stack.preview({ diff: true, onOutput: log });
    await t.stack.refresh({ onOutput: log });
    const engine = out.join("") + t.log.join("");
    const state = stateText();
    expect(state).toContain(`${base}/etc/app/app.conf`); // the state really is here
    for (const line of [...keyBody(lab.privateKey), ...keyBody(TLS_KEY)]) {
      expect(engine).not.toContain(line);
      expect(state).not.toContain(line);
    }
    // In the state file itself, both are ciphertext.
    const stacks = path.join(t.dir, "state/.pulumi/stacks");
    const file = [path.join(stacks, "netboot-ssh-files/test.json"), path.join(stacks, "test.json")].find((f) => fs.existsSync(f))!;
    const stored = JSON.parse(fs.readFileSync(file, "utf8")).checkpoint.latest;
    const plain = stored.resources.find((r: any) => r.urn.endsWith("::plainkey"));
    expect(plain.outputs.host.ssh.privateKey).toHaveProperty("ciphertext");
    const set = stored.resources.find((r: any) => r.urn.endsWith("::app"));
    // Outputs keep only hashes of files that did not drift; the inputs hold the content, the key as ciphertext.
    const tls = `${base}/etc/app/tls/server.key`;
    expect(set.outputs.files[tls].content).toBeUndefined();
    expect(set.outputs.files[tls].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(set.inputs.files[tls].content ?? set.inputs.files[tls]).toHaveProperty("ciphertext");
    expect(set.inputs.files[`${base}/etc/app/app.conf`].content).toBe(appConf);
  });

  test("a hand edit on the host is drift: refresh names the file, up restores it", async () => {
    fs.appendFileSync(`${base}/etc/app/app.conf`, "debug = true\n");
    const lines: string[] = [];
    await t.stack.refresh({ onOutput: (s) => lines.push(s) });
    const pre = await t.stack.preview({ diff: true, onOutput: (s) => lines.push(s) });
    expect(pre.changeSummary.update).toBe(1);
    expect(lines.join("")).toContain(`${base}/etc/app/app.conf`);
    expect(lines.join("")).toMatch(/-\s+debug = true/);
    await t.stack.up();
    expect(fs.readFileSync(`${base}/etc/app/app.conf`, "utf8")).toBe(appConf);
  });

  test("host unreachable: up fails clearly, nothing changes; once reachable, up converges", async () => {
    appConf = "listen = 10.91.2.22\n";
    await h.unreachable();
    // the host comes back even when an expectation fails, so the tests after this one start from a reachable host
    const err = await t.stack.up({ onOutput: log }).catch((e) => e).finally(() => h.reachable());
    // whichever of the stack's resources on that host reaches it first (root's or the other user's) names it
    expect(String(err)).toMatch(new RegExp(`(root|${TEST_USER})@127\\.0\\.0\\.1:${h.port}: connect : host unreachable: connection refused on port ${h.port}`));
    expect(fs.readFileSync(`${base}/etc/app/app.conf`, "utf8")).toBe("listen = 10.91.2.21\n");
    expect((await t.stack.up()).summary.result).toBe("succeeded");
    expect(fs.readFileSync(`${base}/etc/app/app.conf`, "utf8")).toBe(appConf);
    expect(changed((await t.stack.preview()).changeSummary)).toEqual({});
  });

  test("disk full: up fails with no space left, the live file is untouched; after space is freed up converges", async () => {
    fullContent = "x".repeat(40 * 1024);
    h.host("head -c 50000 /dev/zero > /srv/nbsfull/filler");
    const err = await t.stack.up({ onOutput: log }).catch((e) => e);
    expect(String(err)).toContain(`root@127.0.0.1:${h.port}: write /srv/nbsfull/data.conf: no space left on device`);
    expect(h.host("cat /srv/nbsfull/data.conf").out).toBe("small\n");
    expect(h.host("ls -A /srv/nbsfull").out.split("\n").filter(Boolean).sort()).toEqual(["data.conf", "filler"]);
    h.host("rm /srv/nbsfull/filler");
    expect((await t.stack.up()).summary.result).toBe("succeeded");
    expect(h.host("cat /srv/nbsfull/data.conf").out).toBe(fullContent);
  });

  test("the provider killed mid-upload: no partial file at the final path; the next up converges", async () => {
    fs.writeFileSync(big, crypto.randomBytes(48 * 1024 * 1024));
    fs.mkdirSync(`${base}/srv`, { recursive: true });
    fs.writeFileSync(`${base}/srv/big.bin`, "old\n");
    withBig = true;
    const running = t.stack.up({ onOutput: log }).then(() => "succeeded", (e) => String(e));
    // Wait for the upload's temp file to appear beside the target, then kill the provider plugin (our descendant).
    let killed = 0;
    for (let i = 0; i < 3000 && !killed; i++) {
      if (tmpLeft(`${base}/srv`).length) {
        for (const pid of descendants(/dist\/provider\/index\.js/)) {
          process.kill(pid, "SIGKILL");
          killed = pid;
        }
      } else await sleep(5);
    }
    expect(killed).toBeGreaterThan(0);
    expect(await running).not.toBe("succeeded");
    expect(pidAlive(killed)).toBe(false);
    // The cut-short upload was not renamed into place (the host checks size and hash first).
    for (let i = 0; i < 50 && tmpLeft(`${base}/srv`).length; i++) await sleep(100);
    expect(fs.readFileSync(`${base}/srv/big.bin`, "utf8")).toBe("old\n");
    expect(tmpLeft(`${base}/srv`)).toEqual([]);
    const up = await t.stack.up({ onOutput: log });
    expect(up.summary.result).toBe("succeeded");
    expect(Buffer.compare(fs.readFileSync(`${base}/srv/big.bin`), fs.readFileSync(big))).toBe(0);
    expect(changed((await t.stack.preview({ expectNoChanges: true })).changeSummary)).toEqual({});
    withBig = false;
  });

  test("destroy removes what was written over SSH", async () => {
    await t.destroy();
    t = undefined as any;
    expect(fs.existsSync(`${base}/etc/app`)).toBe(false);
    expect(fs.existsSync(`${base}/locked/user.conf`)).toBe(false);
    expect(h.host("ls -A /srv/nbsfull").out.trim()).toBe("");
  });
});
