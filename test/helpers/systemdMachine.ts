/**
 * A real systemd machine for tests: a Debian 12 root (systemdRoot.sh: systemd-sysv and the stock dnsmasq, nginx
 * and sshd, built once and cached) copied to a temp folder and booted with `systemd-nspawn --boot` in a network
 * namespace the test creates (`nbm<tag>`, private addresses only). Each boot network is an interface `nbs<i>` of the
 * machine on a veth pair whose other end `nbc0` is in a client namespace of its own (`nbm<tag>c<i>`, no address,
 * default route through it: a DHCP client's broadcasts leave by it). The provider reaches its sshd the way SshLab reaches its hosts: a forwarder inside
 * the namespace on a unix socket, and a listener on 127.0.0.1 in the test process.
 *
 * Two things this machine's host needs, found by trying: nspawn's `--keep-unit --register=no` (the host runs
 * no systemd or D-Bus, and nspawn otherwise asks the host's bus for a scope), and a tmpfs on
 * /run/systemd/nspawn in a private mount namespace (nspawn refuses to clean its propagation folder on a /run that
 * is not a tmpfs: "Attempted to remove disk file system under /run/systemd/nspawn/propagate/..."); the tmpfs
 * exists only for nspawn, through `unshare -m`. nspawn drops CAP_NET_ADMIN and CAP_NET_RAW from a machine that
 * does not get a private network of its own making; dnsmasq's DHCP needs both ("process is missing required
 * capability NET_ADMIN"), so they are given back (the namespace is the test's).
 *
 * The machine's files are a plain folder (`dir`): the test reads /etc there directly. `stop()` powers the
 * machine off by nspawn's pid (SIGTERM: an orderly shutdown), then removes the namespaces and the folder.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { REPO, requireRoot, requireTool, sh, tmpDir } from "./env";
import { killPid, pidAlive, run, waitFor } from "./gluster";

export class SystemdMachine {
  readonly dir: string;
  readonly root: string;
  readonly ns: string;
  readonly clientNs: string[];
  privateKey = "";
  hostKey = "";
  port = 0;
  private nspawn?: ChildProcess;
  private fwd?: ChildProcess;
  private server?: net.Server;
  private sockets = new Set<net.Socket>();

  /** `tag` keeps names unique per test file; the machine has `ips[i]`/24 on `nbs<i>`. */
  constructor(readonly tag: string, readonly ips: string[]) {
    requireRoot("a systemd-nspawn machine");
    for (const t of ["systemd-nspawn", "unshare", "nsenter", "ip", "ssh-keygen", "mmdebstrap"]) requireTool(t);
    this.dir = tmpDir(`machine-${tag}`);
    this.root = path.join(this.dir, "root");
    this.ns = `nbm${tag}`.slice(0, 15);
    this.clientNs = ips.map((_, i) => `nbm${tag}c${i}`.slice(0, 15));
  }

  /** Builds (or takes from the cache) the root, copies it, sets up SSH and the network, boots, waits for sshd. */
  async start(): Promise<this> {
    const built = run(["sh", path.join(REPO, "test/helpers/systemdRoot.sh")], { timeoutMs: 900_000 });
    const cached = built.out.trim().split("\n").pop()!;
    run(["cp", "-a", "--reflink=auto", cached, this.root]);
    const key = path.join(this.dir, "client_ed25519");
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "netboot-machine-test", "-f", key]);
    this.privateKey = fs.readFileSync(key, "utf8");
    fs.mkdirSync(path.join(this.root, "root/.ssh"), { recursive: true, mode: 0o700 });
    fs.copyFileSync(key + ".pub", path.join(this.root, "root/.ssh/authorized_keys"));
    // the provider opens several sessions at once (a resource's steps in parallel): sshd's default MaxStartups
    // (10:30:100) drops some of them under load ("kex_exchange_identification: Connection closed"), as SshLab's hosts
    fs.mkdirSync(path.join(this.root, "etc/ssh/sshd_config.d"), { recursive: true });
    fs.writeFileSync(path.join(this.root, "etc/ssh/sshd_config.d/netboot-test.conf"), "MaxStartups 50\n");
    this.hostKey = fs.readFileSync(path.join(this.root, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");

    for (const n of [this.ns, ...this.clientNs]) sh(`ip netns del ${n} 2>/dev/null; ip netns add ${n} && ip -n ${n} link set lo up`);
    this.ips.forEach((ip, i) => {
      const c = this.clientNs[i];
      sh(`ip link add nbs${i} netns ${this.ns} type veth peer name nbc0 netns ${c}`);
      sh(`ip -n ${this.ns} addr add ${ip}/24 dev nbs${i} && ip -n ${this.ns} link set nbs${i} up`);
      sh(`ip -n ${c} link set nbc0 up && ip -n ${c} route add default dev nbc0`);
    });

    const log = fs.openSync(path.join(this.dir, "nspawn.log"), "a");
    const boot = [
      "mkdir -p /run/systemd/nspawn && mount -t tmpfs nbm-nspawn /run/systemd/nspawn",
      `exec systemd-nspawn --boot --keep-unit --register=no --machine=${this.ns} --directory='${this.root}' --network-namespace-path=/run/netns/${this.ns} --capability=CAP_NET_ADMIN,CAP_NET_RAW --console=passive`,
    ].join(" && ");
    // unshare execs sh, which execs nspawn: the child's pid is nspawn's.
    this.nspawn = spawn("unshare", ["-m", "--propagation", "private", "sh", "-c", boot], { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    await waitFor(`sshd in machine ${this.ns}`, () => {
      const r = run(["nsenter", `--net=/run/netns/${this.ns}`, "ss", "-ltn"], { allowFail: true });
      return /:22\b/.test(r.out) || !pidAlive(this.nspawn!.pid!);
    }, 120_000);
    if (!pidAlive(this.nspawn.pid!)) throw new Error(`systemd-nspawn exited: ${fs.readFileSync(path.join(this.dir, "nspawn.log"), "utf8")}`);
    await waitFor(`machine ${this.ns} booted`, () => /^(running|degraded)/.test(this.exec("systemctl is-system-running", true).out), 120_000);

    const sock = path.join(this.dir, "fwd.sock");
    const fwdLog = fs.openSync(path.join(this.dir, "fwd.log"), "a");
    this.fwd = spawn("nsenter", [`--net=/run/netns/${this.ns}`, process.execPath, path.join(REPO, "test/helpers/tcpForward.js"), `unix:${sock}`, `tcp:${this.ips[0]}:22`], { stdio: ["ignore", fwdLog, fwdLog] });
    fs.closeSync(fwdLog);
    await waitFor(`forwarder for ${this.ns}`, () => fs.existsSync(sock), 10_000);
    this.server = net.createServer((c) => {
      const u = net.connect({ path: sock });
      this.sockets.add(c);
      c.pipe(u).pipe(c);
      const end = () => {
        c.destroy();
        u.destroy();
        this.sockets.delete(c);
      };
      for (const s of [c, u]) s.on("error", end).on("close", end);
    });
    await new Promise<void>((resolve, reject) => this.server!.once("error", reject).listen({ host: "127.0.0.1", port: 0 }, () => resolve()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** `host.ssh` for netboot resources (the private key as a plain string: wrap it as you need). */
  ssh(): { host: string; port: number; user: string; privateKey: string; hostKey: string } {
    return { host: "127.0.0.1", port: this.port, user: "root", privateKey: this.privateKey, hostKey: this.hostKey };
  }

  /** The machine's init (nspawn's child): its namespaces are the machine's. */
  private leader(): number {
    const kids = run(["pgrep", "-P", String(this.nspawn!.pid)], { allowFail: true }).out.trim().split("\n").filter(Boolean);
    if (!kids.length) throw new Error(`machine ${this.ns} has no init process`);
    return Number(kids[0]);
  }

  /** A shell command inside the machine (its mounts, network, pid namespace). */
  exec(cmd: string, allowFail = false): { code: number; out: string; err: string } {
    return run(["nsenter", "-t", String(this.leader()), "-m", "-u", "-i", "-n", "-p", "sh", "-c", cmd], { allowFail });
  }

  /** A shell command in the client namespace of boot network `i` (no address unless the command adds one). */
  client(i: number, cmd: string, allowFail = false): { code: number; out: string; err: string } {
    return sh(`ip netns exec ${this.clientNs[i]} ${cmd}`, { allowFail });
  }

  /**
   * What the distribution's configuration and units are: every file, link and folder below the machine's /etc
   * with its type, mode and a hash (links: their target), every unit file with its enablement, and the running
   * services.
   * Destroy must leave both as it found them.
   */
  snapshot(): { etc: string; units: string } {
    const etc = run(["sh", "-c", `cd '${this.root}' && find etc \\( -type f -o -type d -o -type l \\) -printf '%y %m %p %l\\n' | sort && find etc -type f -exec sha256sum {} + | sort -k2`]).out;
    const units = this.exec("systemctl list-unit-files --no-legend --no-pager | sort; systemctl list-units --type=service --state=active --no-legend --no-pager --plain | awk '{print $1}' | sort").out;
    return { etc, units };
  }

  async stop(): Promise<void> {
    if (this.server) {
      for (const s of this.sockets) s.destroy();
      await new Promise((r) => this.server!.close(() => r(undefined)));
    }
    if (this.fwd?.pid) await killPid(this.fwd.pid);
    // SIGTERM to nspawn powers the booted machine off in order; killPid waits, then kills what is left.
    if (this.nspawn?.pid) await killPid(this.nspawn.pid, 60_000);
    for (const n of [...this.clientNs, this.ns]) sh(`ip netns del ${n}`, { allowFail: true });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
