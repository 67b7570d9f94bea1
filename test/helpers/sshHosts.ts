/**
 * Test hosts reached over real SSH: one network namespace per host (prefix `nbs`), all on a bridge in their own
 * namespace (10.91.0.0/24 by default), each running Debian's sshd with its own config and host key in a temp
 * folder and, for storage hosts, a glusterd with its own working folder, socket and bricks.
 *
 * sshd runs under `ip netns exec`, which also gives it a private mount namespace: per-host bind mounts (a
 * private /etc/dnsmasq.d, a small tmpfs for disk-full tests, an /etc/passwd with an unprivileged test user)
 * exist only for what runs in its sessions, and go away with sshd. glusterd runs under `nsenter --net=` so its
 * mounts and files are the test's own.
 *
 * The provider runs in the root network namespace, which has no address on the test subnet (addresses only
 * inside namespaces). Each host's sshd is reached through a forwarder: inside the namespace, a small node
 * process listens on a unix socket and connects to HOST_IP:22; in the test process, a listener on 127.0.0.1
 * pipes to that socket. Stopping a host's forwarder makes it unreachable (connection refused).
 *
 * Everything is stopped by pid and removed in `cleanup()`.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { REPO, requireRoot, requireTool, sh, tmpDir } from "./env";
import { Glusterd, killPid, pidAlive, readPid, run, sleep, waitFor } from "./gluster";

export const TEST_USER = "nbsuser";
export const TEST_UID = 4242;

export interface HostOptions {
  /** start a glusterd (own working dir, socket, run dir) */
  glusterd?: boolean;
  /** [source in the root namespace, target path] bind mounts private to the host's sshd sessions */
  binds?: Array<[string, string]>;
  /** a tmpfs of this many KiB at `path`, private to the host's sessions */
  tmpfs?: { path: string; sizeKb: number };
  /** more shell commands run (as root, `set -e`) in the host's private mount namespace before sshd starts */
  setup?: string[];
}

export class SshHost {
  sshdPid?: number;
  port = 0;
  hostKey = "";
  glusterd?: Glusterd;
  fwdProc?: ChildProcess;
  server?: net.Server;
  sockets = new Set<net.Socket>();
  /** daemons started by `start()`, stopped by pid in `SshLab.cleanup()` */
  procs: ChildProcess[] = [];
  constructor(readonly lab: SshLab, readonly name: string, readonly ns: string, readonly ip: string, readonly dir: string) {}

  /** `host` for netboot resources: `{ssh: {...}}` with the lab's key, as a plain string (wrap it as you need). */
  ssh(user = "root"): { host: string; port: number; user: string; privateKey: string; hostKey: string } {
    return { host: "127.0.0.1", port: this.port, user, privateKey: this.lab.privateKey, hostKey: this.hostKey };
  }

  /** argv in the host's network namespace (root mount namespace). */
  netArgv(argv: string[]): string[] {
    return ["nsenter", `--net=/run/netns/${this.ns}`, ...argv];
  }

  /** argv as a session on this host sees the system: its network and its sshd's mount namespace. */
  hostArgv(argv: string[]): string[] {
    return ["nsenter", `--net=/run/netns/${this.ns}`, `--mount=/proc/${this.sshdPid}/ns/mnt`, ...argv];
  }

  host(cmd: string, allowFail = false) {
    return run(this.hostArgv(["sh", "-c", cmd]), { allowFail });
  }

  /** Starts a long-running process as the host sees the system (see `hostArgv`); output to `log`. */
  start(argv: string[], log: string): ChildProcess {
    const fd = fs.openSync(log, "a");
    // nsenter without --fork execs argv: the child's pid is the daemon's (if it stays in the foreground).
    const p = spawn(this.hostArgv(argv)[0], this.hostArgv(argv).slice(1), { stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    this.procs.push(p);
    return p;
  }

  /**
   * A Netns-like object for the Glusterd helper. Before glusterd starts, its glusterd.vol gets the keepalive
   * options of Debian's /etc/glusterfs/glusterd.vol (see `withKeepalive`): without them glusterd cannot probe a peer.
   */
  private netns(): any {
    return {
      name: this.ns, ip: this.ip, argv: (a: string[]) => this.netArgv(a),
      exec: (a: string[], o: any) => {
        if (a[0] === "glusterd" && a[1] === "-f") withKeepalive(a[2]);
        return run(this.netArgv(a), o);
      },
    };
  }

  async startGlusterd(): Promise<Glusterd> {
    this.glusterd = await new Glusterd(this.netns(), path.join(this.dir, "gd")).start();
    return this.glusterd;
  }

  async stopGlusterd(): Promise<void> {
    if (this.glusterd) await this.glusterd.stop();
  }

  /** Makes the host unreachable over SSH (new connections are refused); `reachable()` undoes it. */
  async unreachable(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server!.close(() => r(undefined)));
  }

  async reachable(): Promise<void> {
    await this.listen(this.port);
  }

  async listen(port: number): Promise<void> {
    const sock = path.join(this.dir, "fwd.sock");
    this.server = net.createServer((c) => {
      const u = net.connect({ path: sock });
      this.sockets.add(c);
      c.pipe(u).pipe(c);
      const end = () => {
        c.destroy();
        u.destroy();
        this.sockets.delete(c);
      };
      c.on("error", end);
      u.on("error", end);
      c.on("close", end);
      u.on("close", end);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen({ host: "127.0.0.1", port }, () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }
}

/**
 * Adds `transport.socket.keepalive-time/-interval` (Debian's packaged values) to a glusterd.vol that has neither.
 *
 * glusterfs 10.3, glusterd-handler.c `glusterd_transport_inet_options_build()`: it reads keepalive-interval,
 * keepalive-time and tcp-user-timeout from its own options and keeps the return code of the last lookup; when
 * none is set that is -ENOENT, so `glusterd_friend_rpc_create()` gives up before it opens a socket. The probing
 * glusterd logs `glusterd_friend_add: connect returned -2` and `rpc actor ... failed`, never answers the CLI
 * (`gluster peer probe` hangs until the CLI's own timeout), and the probed glusterd sees nothing. A single
 * glusterd never needs a peer connection, which is why the one-host tests do not see it.
 */
export function withKeepalive(volfile: string): void {
  const text = fs.readFileSync(volfile, "utf8");
  if (/keepalive-(time|interval)/.test(text)) return;
  fs.writeFileSync(volfile, text.replace(/^(\s*type mgmt\/glusterd\n)/m, "$1    option transport.socket.keepalive-time 10\n    option transport.socket.keepalive-interval 2\n"));
}

export class SshLab {
  readonly dir: string;
  readonly bridgeNs: string;
  readonly hosts: SshHost[] = [];
  privateKey = "";
  publicKey = "";
  private namespaces: string[] = [];

  /** `tag` keeps namespace names unique per test file (names are `nbs<tag><n>`, at most 15 characters). */
  constructor(readonly tag: string, readonly subnet = "10.91.0") {
    requireRoot("SSH test hosts");
    for (const t of ["ip", "sshd", "nsenter", "ssh", "ssh-keygen"]) requireTool(t);
    this.dir = tmpDir(`ssh-${tag}`);
    this.bridgeNs = this.nsName("br");
    const key = path.join(this.dir, "client_ed25519");
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "netboot-test", "-f", key]);
    this.privateKey = fs.readFileSync(key, "utf8");
    this.publicKey = fs.readFileSync(key + ".pub", "utf8").trim();
    fs.rmSync(key);
    fs.writeFileSync(path.join(this.dir, "authorized_keys"), this.publicKey + "\n", { mode: 0o644 });
    // An /etc/passwd (shadow, group) with one unprivileged user, bind-mounted only for the sshd sessions.
    fs.writeFileSync(path.join(this.dir, "passwd"), fs.readFileSync("/etc/passwd", "utf8") + `${TEST_USER}:x:${TEST_UID}:${TEST_UID}::${this.dir}:/bin/sh\n`);
    fs.writeFileSync(path.join(this.dir, "group"), fs.readFileSync("/etc/group", "utf8") + `${TEST_USER}:x:${TEST_UID}:\n`);
    fs.writeFileSync(path.join(this.dir, "shadow"), fs.readFileSync("/etc/shadow", "utf8") + `${TEST_USER}:*:19000:0:99999:7:::\n`, { mode: 0o640 });
    this.ns(this.bridgeNs);
    sh(`ip -n ${this.bridgeNs} link add br0 type bridge && ip -n ${this.bridgeNs} link set br0 up`);
  }

  private nsName(suffix: string): string {
    return `nbs${this.tag}${suffix}`.slice(0, 15);
  }

  private ns(name: string): void {
    sh(`ip netns del ${name} 2>/dev/null; ip netns add ${name} && ip -n ${name} link set lo up`);
    this.namespaces.push(name);
  }

  /** A host `n` (1..254) at SUBNET.n with sshd listening on port 22, reachable from the test at 127.0.0.1:host.port. */
  async addHost(n: number, opts: HostOptions = {}): Promise<SshHost> {
    const ns = this.nsName(`h${n}`);
    const ip = `${this.subnet}.${n}`;
    const dir = path.join(this.dir, `h${n}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    this.ns(ns);
    const leg = `nbsl${this.tag}${n}`.slice(0, 15);
    sh(`ip link add ${leg} netns ${this.bridgeNs} type veth peer name nbs0 netns ${ns}`);
    sh(`ip -n ${this.bridgeNs} link set ${leg} master br0 && ip -n ${this.bridgeNs} link set ${leg} up`);
    sh(`ip -n ${ns} addr add ${ip}/24 dev nbs0 && ip -n ${ns} link set nbs0 up`);
    const h = new SshHost(this, `h${n}`, ns, ip, dir);
    this.hosts.push(h);

    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `host-${n}`, "-f", path.join(dir, "host_ed25519")]);
    h.hostKey = fs.readFileSync(path.join(dir, "host_ed25519.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    const cfg = path.join(dir, "sshd_config");
    fs.writeFileSync(cfg, [
      `ListenAddress ${ip}:22`,
      `HostKey ${path.join(dir, "host_ed25519")}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(this.dir, "authorized_keys")}`,
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "MaxStartups 50",
      "LogLevel VERBOSE",
      "",
    ].join("\n"));
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    run(["/usr/sbin/sshd", "-t", "-f", cfg]);

    const mounts: string[] = [
      `mount --bind ${this.dir}/passwd /etc/passwd`,
      `mount --bind ${this.dir}/group /etc/group`,
      `mount --bind ${this.dir}/shadow /etc/shadow`,
      // Its own /var/lib/netboot, as a second machine has: the intent journal there names the paths each stack
      // owns, and hosts sharing one would see each other's (private) /etc files as owned by another stack.
      `mkdir -p /var/lib/netboot '${dir}/var-lib-netboot' && mount --bind '${dir}/var-lib-netboot' /var/lib/netboot`,
    ];
    for (const [src, dst] of opts.binds ?? []) mounts.push(`mkdir -p '${src}' && mount --bind '${src}' '${dst}'`);
    if (opts.tmpfs) mounts.push(`mkdir -p '${opts.tmpfs.path}' && mount -t tmpfs -o size=${opts.tmpfs.sizeKb}k,mode=0755 nbsfull '${opts.tmpfs.path}'`);
    mounts.push(...(opts.setup ?? []));
    const log = fs.openSync(path.join(dir, "sshd.log"), "a");
    // `ip netns exec` execs `sh`, which execs sshd: the child's pid is sshd's.
    const p = spawn("ip", ["netns", "exec", ns, "sh", "-c", `set -e; ${mounts.join("; ")}; exec /usr/sbin/sshd -D -e -f '${cfg}'`], { stdio: ["ignore", log, log] });
    fs.closeSync(log);
    h.sshdPid = p.pid;
    await waitFor(`sshd on ${ns}`, () => {
      const r = run(["nsenter", `--net=/run/netns/${ns}`, "ss", "-ltn"], { allowFail: true });
      return r.out.includes(`${ip}:22`) || !pidAlive(p.pid!);
    }, 10000);
    if (!pidAlive(p.pid!)) throw new Error(`sshd on ${ns} exited: ${fs.readFileSync(path.join(dir, "sshd.log"), "utf8")}`);

    const sock = path.join(dir, "fwd.sock");
    const fwdLog = fs.openSync(path.join(dir, "fwd.log"), "a");
    h.fwdProc = spawn("nsenter", [`--net=/run/netns/${ns}`, process.execPath, path.join(REPO, "test/helpers/tcpForward.js"), `unix:${sock}`, `tcp:${ip}:22`], { stdio: ["ignore", fwdLog, fwdLog] });
    fs.closeSync(fwdLog);
    await waitFor(`forwarder for ${ns}`, () => fs.existsSync(sock), 10000);
    await h.listen(0);
    if (opts.glusterd) await h.startGlusterd();
    return h;
  }

  /**
   * A client namespace `nbs<tag>c<n>` on the hosts' bridge, with interface `nbc0` (no address: for DHCP) and a
   * default route through it (so broadcasts leave by it). Removed in `cleanup()`.
   */
  addClient(n: number): { ns: string; run: (cmd: string, allowFail?: boolean) => { code: number; out: string; err: string } } {
    const ns = this.nsName(`c${n}`);
    this.ns(ns);
    const leg = `nbsk${this.tag}${n}`.slice(0, 15);
    sh(`ip link add ${leg} netns ${this.bridgeNs} type veth peer name nbc0 netns ${ns}`);
    sh(`ip -n ${this.bridgeNs} link set ${leg} master br0 && ip -n ${this.bridgeNs} link set ${leg} up`);
    sh(`ip -n ${ns} link set nbc0 up && ip -n ${ns} route add default dev nbc0`);
    return { ns, run: (cmd: string, allowFail = false) => sh(`ip netns exec ${ns} ${cmd}`, { allowFail }) };
  }

  async cleanup(): Promise<void> {
    for (const h of [...this.hosts].reverse()) {
      for (const p of [...h.procs].reverse()) await killPid(p.pid);
      if (h.server) {
        for (const s of h.sockets) s.destroy();
        await new Promise((r) => h.server!.close(() => r(undefined)));
      }
      await h.stopGlusterd().catch(() => undefined);
      if (h.fwdProc?.pid) await killPid(h.fwdProc.pid);
      if (h.sshdPid) await killPid(h.sshdPid);
      // sshd's session children (if any are left) were started by our sshd; they are in its pid file's tree.
      const pidFile = readPid(path.join(h.dir, "sshd.pid"));
      if (pidFile && pidFile === h.sshdPid) await killPid(pidFile);
    }
    for (const n of [...this.namespaces].reverse()) sh(`ip netns del ${n}`, { allowFail: true });
    await sleep(100);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
