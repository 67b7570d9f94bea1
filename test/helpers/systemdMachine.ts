/**
 * A real systemd machine for tests: a Debian 12 root with systemd, sshd and the stock dnsmasq and nginx (profile
 * `pxe` of scripts/lab/machineRoot.sh, built once and cached) or glusterfs-server (`storage`) booted with `systemd-nspawn --boot` by
 * scripts/lab/machines.ts (the lab's servers are the same machines: what nspawn needs on a host without systemd
 * is written there) in a network namespace the test creates (`nbm<tag>`, private addresses only). Each boot
 * network is an interface `nbs<i>` of the machine on a veth pair whose other end `nbc0` is in a client namespace
 * of its own (`nbm<tag>c<i>`, no address, default route through it: a DHCP client's broadcasts leave by it). The
 * provider reaches its sshd the way SshLab reaches its hosts: a forwarder inside the namespace on a unix socket,
 * and a listener on 127.0.0.1 in the test process.
 *
 * The machine's files are a plain folder (`dir`): the test reads /etc there directly. `stop()` powers the
 * machine off by nspawn's pid (SIGTERM: an orderly shutdown), then removes the namespaces and the folder.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { Machine } from "../../scripts/lab/machines";
import { REPO, requireRoot, requireTool, sh, tmpDir } from "./env";
import { killPid, run, waitFor } from "./gluster";

export class SystemdMachine {
  readonly dir: string;
  readonly root: string;
  readonly ns: string;
  readonly clientNs: string[];
  privateKey = "";
  hostKey = "";
  port = 0;
  private machine: Machine;
  private fwd?: ChildProcess;
  private server?: net.Server;
  private sockets = new Set<net.Socket>();

  /**
   * `tag` keeps names unique per test file; the machine has `ips[i]`/24 on `nbs<i>`. `profile`: the root's
   * packages (scripts/lab/machineRoot.sh: `pxe` dnsmasq and nginx, `storage` glusterfs-server).
   */
  constructor(readonly tag: string, readonly ips: string[], readonly profile: "pxe" | "storage" = "pxe") {
    requireRoot("a systemd-nspawn machine");
    for (const t of ["systemd-nspawn", "unshare", "nsenter", "ip", "ssh-keygen", "mmdebstrap"]) requireTool(t);
    this.dir = tmpDir(`machine-${tag}`);
    this.ns = `nbm${tag}`.slice(0, 15);
    this.clientNs = ips.map((_, i) => `nbm${tag}c${i}`.slice(0, 15));
    this.machine = new Machine(tag, path.join(this.dir, "machine"), this.ns);
    this.root = this.machine.root;
  }

  /** Builds (or takes from the cache) the root, copies it, sets up SSH and the network, boots, waits for sshd. */
  async start(): Promise<this> {
    const key = path.join(this.dir, "client_ed25519");
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "netboot-machine-test", "-f", key]);
    this.privateKey = fs.readFileSync(key, "utf8");
    this.hostKey = this.machine.prepare(this.profile, fs.readFileSync(key + ".pub", "utf8"));

    for (const n of [this.ns, ...this.clientNs]) sh(`ip netns del ${n} 2>/dev/null; ip netns add ${n} && ip -n ${n} link set lo up`);
    this.ips.forEach((ip, i) => {
      const c = this.clientNs[i];
      sh(`ip link add nbs${i} netns ${this.ns} type veth peer name nbc0 netns ${c}`);
      sh(`ip -n ${this.ns} addr add ${ip}/24 dev nbs${i} && ip -n ${this.ns} link set nbs${i} up`);
      sh(`ip -n ${c} link set nbc0 up && ip -n ${c} route add default dev nbc0`);
    });
    this.machine.boot();
    await this.machine.waitBooted();

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

  /** A shell command inside the machine (its mounts, network, pid namespace). */
  exec(cmd: string, allowFail = false): { code: number; out: string; err: string } {
    return { err: "", ...this.machine.exec(cmd, allowFail) };
  }

  /** A shell command in the client namespace of boot network `i` (no address unless the command adds one). */
  client(i: number, cmd: string, allowFail = false): { code: number; out: string; err: string } {
    return sh(`ip netns exec ${this.clientNs[i]} ${cmd}`, { allowFail });
  }

  /** The machine's /etc and units (Machine.snapshot): destroy must leave both as it found them. */
  snapshot(): { etc: string; units: string } {
    return this.machine.snapshot();
  }

  async stop(): Promise<void> {
    if (this.server) {
      for (const s of this.sockets) s.destroy();
      await new Promise((r) => this.server!.close(() => r(undefined)));
    }
    if (this.fwd?.pid) await killPid(this.fwd.pid);
    await this.machine.stop();
    for (const n of [...this.clientNs, this.ns]) sh(`ip netns del ${n}`, { allowFail: true });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
