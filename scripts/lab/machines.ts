/**
 * Real systemd machines: a Debian 12 root of one server role (machineRoot.sh: systemd, sshd and the stock
 * Debian packages of that role, built once and cached), copied to a folder of its own and booted with
 * `systemd-nspawn --boot` in a network namespace the caller made. The one implementation for the lab's
 * servers (scripts/lab/main.ts, machines mode) and the tests' (test/helpers/systemdMachine.ts).
 *
 * What a host without systemd needs, found by trying: nspawn's `--keep-unit --register=no` (the host runs no
 * systemd or D-Bus, and nspawn otherwise asks the host's bus for a scope), and a tmpfs on /run/systemd/nspawn in
 * a private mount namespace (nspawn refuses to clean its propagation folder on a /run that is not a tmpfs:
 * "Attempted to remove disk file system under /run/systemd/nspawn/propagate/..."); the tmpfs exists only for
 * nspawn, through `unshare -m`. nspawn drops CAP_NET_ADMIN and CAP_NET_RAW from a machine that does not get a
 * private network of its own making; dnsmasq's DHCP needs both ("process is missing required capability
 * NET_ADMIN"), so they are given back (the namespace is the caller's). A FUSE mount inside (the glusterfs
 * client of a publish host) needs /dev/fuse bound in.
 *
 * Each copy gets its own SSH host keys (the cached root has the ones its openssh-server postinst made, the same
 * in every copy), the caller's public key for root, and `MaxStartups 50`: the provider opens several sessions at
 * once (a resource's steps in parallel) and sshd's default (10:30:100) drops some of them under load
 * ("kex_exchange_identification: Connection closed").
 *
 * A machine outlives the process that booted it when asked (`detached`): the lab starts its servers with
 * `--up` and stops them with `--down`, two runs apart. `state()` is what such a later run needs; `stop()` ends
 * the machine by nspawn's pid, only when /proc still shows the recorded start time (the same process, never a
 * reused pid): SIGTERM to nspawn powers the booted machine off in order, SIGKILL after a grace period.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pidAlive, run, sleep, startTime, stopPid } from "./procs";

export type MachineProfile = "pxe" | "head" | "storage";
export const MACHINE_PROFILES: MachineProfile[] = ["pxe", "head", "storage"];

// beside this file when run from source (ts-jest), three folders up from dist/scripts/lab when built
const SCRIPT = [path.join(__dirname, "machineRoot.sh"), path.resolve(__dirname, "..", "..", "..", "scripts/lab/machineRoot.sh")].find((p) => fs.existsSync(p)) ?? "scripts/lab/machineRoot.sh";

/** Builds (or takes from the cache) the root of a profile; returns its folder. Minutes the first time. */
export function machineRoot(profile: MachineProfile): string {
  const r = spawnSync("sh", [SCRIPT, profile], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30 * 60_000, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`building the ${profile} machine root failed (${SCRIPT} ${profile}, exit ${r.status}):\n${(r.stderr ?? "").trim().split("\n").slice(-10).join("\n")}`);
  return r.stdout.trim().split("\n").pop()!;
}

/** What a later run needs to reach and stop a machine it did not boot. */
export interface MachineState { name: string; dir: string; ns: string; pid: number; started?: string; hostKey: string }

export interface BootOptions {
  /** host paths bound into the machine at the same path (`/dev/fuse`) */
  binds?: string[];
  /** leave the machine running when this process ends */
  detached?: boolean;
}

export class Machine {
  readonly root: string;
  pid = 0;
  started?: string;
  hostKey = "";

  /** `dir` is the machine's own folder (its root goes to `dir/root`); `ns` a network namespace that exists. */
  constructor(readonly name: string, readonly dir: string, readonly ns: string) {
    this.root = path.join(dir, "root");
  }

  static fromState(s: MachineState): Machine {
    const m = new Machine(s.name, s.dir, s.ns);
    [m.pid, m.started, m.hostKey] = [s.pid, s.started, s.hostKey];
    return m;
  }

  state(): MachineState {
    return { name: this.name, dir: this.dir, ns: this.ns, pid: this.pid, started: this.started, hostKey: this.hostKey };
  }

  /** True while nspawn runs: the recorded pid with the recorded start time. */
  alive(): boolean {
    return this.pid > 0 && pidAlive(this.pid) && (!this.started || startTime(this.pid) === this.started);
  }

  /**
   * Copies the profile's root to `dir/root`, gives it its own host keys, `authorizedKey` for root and the sshd
   * settings above. Returns the host key (`ssh-ed25519 AAAA...`) the provider's `hostKey` pins.
   */
  prepare(profile: MachineProfile, authorizedKey: string, hostname?: string): string {
    const cached = machineRoot(profile);
    fs.mkdirSync(this.dir, { recursive: true });
    run(["cp", "-a", "--reflink=auto", cached, this.root], { timeoutMs: 600_000 });
    fs.rmSync(path.join(this.root, ".complete"), { force: true });
    for (const f of fs.readdirSync(path.join(this.root, "etc/ssh"))) if (f.startsWith("ssh_host_")) fs.rmSync(path.join(this.root, "etc/ssh", f));
    run(["ssh-keygen", "-A", "-f", this.root]);
    fs.mkdirSync(path.join(this.root, "root/.ssh"), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(this.root, "root/.ssh/authorized_keys"), authorizedKey.trim() + "\n", { mode: 0o600 });
    fs.mkdirSync(path.join(this.root, "etc/ssh/sshd_config.d"), { recursive: true });
    fs.writeFileSync(path.join(this.root, "etc/ssh/sshd_config.d/netboot-machine.conf"), "MaxStartups 50\n");
    if (hostname) fs.writeFileSync(path.join(this.root, "etc/hostname"), hostname + "\n");
    this.hostKey = fs.readFileSync(path.join(this.root, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    return this.hostKey;
  }

  /** Boots the prepared root in the namespace; nspawn's output goes to `dir/nspawn.log`. */
  boot(opts: BootOptions = {}): void {
    const log = fs.openSync(path.join(this.dir, "nspawn.log"), "a");
    const binds = (opts.binds ?? []).map((b) => `--bind=${b}`).join(" ");
    const script = [
      "mkdir -p /run/systemd/nspawn && mount -t tmpfs nbm-nspawn /run/systemd/nspawn",
      `exec systemd-nspawn --boot --keep-unit --register=no --machine=${this.ns} --directory='${this.root}' --network-namespace-path=/run/netns/${this.ns} --capability=CAP_NET_ADMIN,CAP_NET_RAW ${binds} --console=passive`,
    ].join(" && ");
    // unshare execs sh, which execs nspawn: the child's pid is nspawn's. Its own process group when detached, so
    // the lab's Ctrl-C does not reach a machine meant to outlive it.
    const child = spawn("unshare", ["-m", "--propagation", "private", "sh", "-c", script], { stdio: ["ignore", log, log], detached: !!opts.detached });
    fs.closeSync(log);
    if (!child.pid) throw new Error(`could not start systemd-nspawn for machine ${this.name}`);
    if (opts.detached) child.unref();
    this.pid = child.pid;
    this.started = startTime(child.pid);
  }

  /** Waits until sshd listens and systemd has finished booting (running, or degraded: a unit the lab does not use). */
  async waitBooted(timeoutMs = 180_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    const gone = () => !this.alive();
    const failed = () => new Error(`machine ${this.name}: systemd-nspawn exited:\n${fs.readFileSync(path.join(this.dir, "nspawn.log"), "utf8").split("\n").slice(-15).join("\n")}`);
    while (!/:22\b/.test(run(["nsenter", `--net=/run/netns/${this.ns}`, "ss", "-Hltn"], { allowFail: true }).out)) {
      if (gone()) throw failed();
      if (Date.now() > until) throw new Error(`machine ${this.name}: sshd did not listen within ${timeoutMs / 1000} s`);
      await sleep(250);
    }
    for (;;) {
      const state = this.exec("systemctl is-system-running", true).out.trim();
      if (/^(running|degraded)/.test(state)) return;
      if (gone()) throw failed();
      if (Date.now() > until) throw new Error(`machine ${this.name}: systemd is still "${state}" after ${timeoutMs / 1000} s`);
      await sleep(500);
    }
  }

  /** The machine's init (nspawn's child): its namespaces are the machine's. */
  leader(): number {
    const kids = run(["pgrep", "-P", String(this.pid)], { allowFail: true }).out.trim().split("\n").filter(Boolean);
    if (!kids.length) throw new Error(`machine ${this.name} has no init process`);
    return Number(kids[0]);
  }

  /** A shell command inside the machine (its mounts, network, pid namespace). */
  exec(cmd: string, allowFail = false, timeoutMs = 60_000): { code: number; out: string } {
    return run(["nsenter", "-t", String(this.leader()), "-m", "-u", "-i", "-n", "-p", "sh", "-c", cmd], { allowFail, timeoutMs });
  }

  /**
   * What the distribution's configuration and units are: every file, link and folder below the machine's /etc
   * with its type, mode and a hash (links: their target), every unit file with its enablement, and the running
   * services. Destroy must leave both as it found them.
   */
  snapshot(): { etc: string; units: string } {
    const etc = run(["sh", "-c", `cd '${this.root}' && find etc \\( -type f -o -type d -o -type l \\) -printf '%y %m %p %l\\n' | sort && find etc -type f -exec sha256sum {} + | sort -k2`]).out;
    const units = this.exec("systemctl list-unit-files --no-legend --no-pager | sort; systemctl list-units --type=service --state=active --no-legend --no-pager --plain | awk '{print $1}' | sort").out;
    return { etc, units };
  }

  /** Powers the machine off (see the header); then removes its folder when `removeDir`. Idempotent. */
  async stop(removeDir = true): Promise<void> {
    if (this.alive()) await stopPid(this.pid, 60_000);
    this.pid = 0;
    if (removeDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A line-oriented diff of two snapshots' texts, for a report: lines only before (-) and only after (+). */
export function snapshotDiff(before: string, after: string): string[] {
  const a = new Set(before.split("\n"));
  const b = new Set(after.split("\n"));
  return [...[...a].filter((l) => l && !b.has(l)).map((l) => `- ${l}`), ...[...b].filter((l) => l && !a.has(l)).map((l) => `+ ${l}`)].sort((x, y) => x.slice(2).localeCompare(y.slice(2)));
}
