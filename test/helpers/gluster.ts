/**
 * GlusterFS test helpers: a network namespace with a private address, a glusterd with its own working,
 * run and socket paths, standalone bricks (glusterfsd -f) and FUSE clients. Everything is started by pid and
 * stopped by pid; namespaces are named `nbg*`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pidAlive, sleep, waitFor } from "../../provider/util/wait";
import { requireTool, sh } from "./env";

export function run(argv: string[], opts: { allowFail?: boolean; input?: string; timeoutMs?: number } = {}): { code: number; out: string; err: string } {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", input: opts.input, timeout: opts.timeoutMs ?? 120000 });
  const code = r.status ?? 1;
  if (code !== 0 && !opts.allowFail) throw new Error(`command failed (${code}): ${argv.join(" ")}\n${r.stderr}${r.stdout}`);
  return { code, out: r.stdout ?? "", err: r.stderr ?? "" };
}


export function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Kills one pid we started (TERM, then KILL after a grace period) and waits for it to go. */
export async function killPid(pid: number | undefined, graceMs = 3000): Promise<void> {
  if (!pid || !pidAlive(pid)) return;
  try { process.kill(pid, "SIGTERM"); } catch { return; }
  const until = Date.now() + graceMs;
  while (Date.now() < until && pidAlive(pid)) await sleep(100);
  if (pidAlive(pid)) try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
  const until2 = Date.now() + 2000;
  while (Date.now() < until2 && pidAlive(pid)) await sleep(50);
}

// The one waiting helper (provider/util/wait.ts), re-exported for the helpers and tests that import it from here.
export { pidAlive, sleep, waitFor } from "../../provider/util/wait";

/** A network namespace with lo up and a veth pair inside it; `ip` is on the first end. */
export class Netns {
  readonly name: string;
  constructor(suffix: string, readonly ip: string) {
    this.name = `nbg${suffix}${process.pid % 10000}`.slice(0, 15);
  }
  create(): this {
    requireTool("ip");
    run(["ip", "netns", "del", this.name], { allowFail: true });
    run(["ip", "netns", "add", this.name]);
    this.exec(["ip", "link", "set", "lo", "up"]);
    // glusterd only treats addresses of real interfaces as local (not lo); no dummy module here, so a veth pair.
    this.exec(["ip", "link", "add", "nbv0", "type", "veth", "peer", "name", "nbv1"]);
    this.exec(["ip", "addr", "add", `${this.ip}/24`, "dev", "nbv0"]);
    this.exec(["ip", "link", "set", "nbv0", "up"]);
    this.exec(["ip", "link", "set", "nbv1", "up"]);
    return this;
  }
  /**
   * argv run in the namespace's network only. Not `ip netns exec`: that also unshares the mount namespace,
   * so a FUSE mount made under it would be invisible to the test.
   */
  argv(argv: string[]): string[] {
    return ["nsenter", `--net=/run/netns/${this.name}`, ...argv];
  }
  exec(argv: string[], opts: { allowFail?: boolean; input?: string; timeoutMs?: number } = {}) {
    return run(this.argv(argv), opts);
  }
  destroy(): void {
    run(["ip", "netns", "del", this.name], { allowFail: true });
  }
}

/** A glusterd of our own inside a namespace, with its own state (working dir, run dir, CLI socket). */
/**
 * A glusterd's own folder, as one machine has: `wd` (working directory, with the packaged `groups` and `hooks`
 * that `volume set group ...` and hooks look for), `run`, `log`, the CLI socket `glusterd.sock`, and the
 * `glusterd.vol` that names them (returned). Shared by the Glusterd helper and bench/storm's managed volume.
 */
export function prepareGlusterdDir(dir: string): string {
  for (const d of ["wd", "run", "log"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
  for (const sub of ["groups", "hooks"]) if (fs.existsSync(`/var/lib/glusterd/${sub}`)) sh(`cp -r /var/lib/glusterd/${sub} '${path.join(dir, "wd")}/'`);
  const vol = path.join(dir, "glusterd.vol");
  fs.writeFileSync(vol, [
    "volume management",
    "    type mgmt/glusterd",
    `    option working-directory ${path.join(dir, "wd")}`,
    `    option run-directory ${path.join(dir, "run")}`,
    `    option glusterd-sockfile ${path.join(dir, "glusterd.sock")}`,
    "    option transport-type socket",
    "    option transport.socket.listen-port 24007",
    "    option ping-timeout 0",
    "    option event-threads 1",
    "    option max-port 60999",
    // As Debian's /etc/glusterfs/glusterd.vol: glusterfs 10.3 cannot connect to a peer without these
    // (glusterd_transport_inet_options_build returns the last lookup's -ENOENT: "connect returned -2").
    "    option transport.socket.keepalive-time 10",
    "    option transport.socket.keepalive-interval 2",
    "end-volume",
    "",
  ].join("\n"));
  return vol;
}

export class Glusterd {
  readonly wd: string;
  readonly runDir: string;
  readonly sock: string;
  readonly pidFile: string;
  readonly logDir: string;
  pid?: number;
  constructor(readonly ns: Netns, readonly dir: string) {
    this.wd = path.join(dir, "wd");
    this.runDir = path.join(dir, "run");
    this.sock = path.join(dir, "glusterd.sock");
    this.pidFile = path.join(dir, "glusterd.pid");
    this.logDir = path.join(dir, "log");
  }
  async start(): Promise<this> {
    requireTool("glusterd");
    requireTool("gluster");
    const vol = prepareGlusterdDir(this.dir);
    this.ns.exec(["glusterd", "-f", vol, "-p", this.pidFile, "-l", path.join(this.logDir, "glusterd.log")]);
    await waitFor("glusterd pid file", () => readPid(this.pidFile) !== undefined && fs.existsSync(this.sock));
    this.pid = readPid(this.pidFile);
    await waitFor("glusterd answering", () => this.cli(["volume", "list"], { allowFail: true }).code === 0);
    return this;
  }
  /** argv prefix to run the CLI against this glusterd. */
  cliArgv(args: string[]): string[] {
    return this.ns.argv(["gluster", `--glusterd-sock=${this.sock}`, `--log-file=${path.join(this.logDir, "cli.log")}`, "--mode=script", ...args]);
  }
  cli(args: string[], opts: { allowFail?: boolean } = {}) {
    return run(this.cliArgv(args), opts);
  }
  volDir(vol: string): string {
    return path.join(this.wd, "vols", vol);
  }
  /** Stops glusterd and every daemon it spawned (bricks, self-heal), each by the pid file it wrote below our dirs. */
  async stop(): Promise<void> {
    const pids: number[] = [];
    const walk = (d: string) => {
      if (!fs.existsSync(d)) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith(".pid")) {
          const pid = readPid(p);
          // Only processes whose command line names our folder: a stale pid file must not kill a stranger.
          if (pid && pid !== this.pid && ownedBy(pid, this.dir)) pids.push(pid);
        }
      }
    };
    walk(this.runDir);
    walk(this.wd);
    await killPid(this.pid);
    for (const p of pids) await killPid(p);
  }
}

/** True when /proc/PID/cmdline mentions `dir` (so we only kill our own daemons). */
export function ownedBy(pid: number, dir: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
  } catch {
    return false;
  }
}

/** A standalone brick: `glusterfsd -f VOLFILE` in a namespace. */
export async function startBrick(ns: Netns, volfile: string, dir: string, id: string): Promise<number> {
  requireTool("glusterfsd");
  const pidFile = path.join(dir, `brick-${id}.pid`);
  ns.exec(["glusterfsd", "-f", volfile, "-l", path.join(dir, `brick-${id}.log`), "-p", pidFile]);
  await waitFor(`brick ${id} pid`, () => readPid(pidFile) !== undefined);
  return readPid(pidFile)!;
}

/** A FUSE client mounted from a volfile; returns its pid (glusterfs writes it). */
export async function mountClient(ns: Pick<Netns, "exec">, volfile: string, mnt: string, dir: string, id: string): Promise<number> {
  requireTool("glusterfs");
  fs.mkdirSync(mnt, { recursive: true });
  const pidFile = path.join(dir, `client-${id}.pid`);
  ns.exec(["glusterfs", "-f", volfile, "-l", path.join(dir, `client-${id}.log`), "-p", pidFile, mnt]);
  await waitFor(`mount ${mnt}`, () => isMounted(mnt));
  return readPid(pidFile)!;
}

export function isMounted(mnt: string): boolean {
  return fs.readFileSync("/proc/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === mnt && l.includes("fuse.glusterfs"));
}

export async function unmount(mnt: string, pid?: number): Promise<void> {
  if (isMounted(mnt)) run(["umount", "-l", mnt], { allowFail: true });
  await killPid(pid);
}
