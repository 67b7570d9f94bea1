/**
 * The lab's machines mode (docs/lab.md): the cluster's servers as real systemd machines (scripts/lab/machines.ts)
 * on one bridge, started before `pulumi up` and left running until `--down`, so `pulumi up` sets them up over SSH
 * exactly as on a real cluster. An example asks for it with `lab-machines.json` beside its Pulumi.yaml: the
 * machines must exist before the first `up`, so they cannot come from a stack output.
 *
 * The network: a namespace `nbl<id>` holds the bridge `nblbr0`, with one veth per machine (the machine's end,
 * named as the spec's `interface`, in the machine's own namespace `nbl<id>m<i>` with its address) and one veth
 * to the root namespace with `labAddress`: the engine, and the provider in it, reach each machine's sshd at its
 * address as it would reach a server on the site's network. The VMs' taps join the same bridge.
 *
 * What the machines are before `up` (each one's /etc and units, Machine.snapshot) is kept in the ledger
 * (`<out>/machines.json`); `--down` compares after `pulumi destroy`. The ledger also names every namespace and
 * nspawn pid with its start time, so `--down` (or a later `--up` that finds a machine gone) stops exactly those.
 */
import * as fs from "fs";
import * as path from "path";
import { Machine, MACHINE_PROFILES, MachineProfile, MachineState, snapshotDiff } from "./machines";
import { inSubnet } from "./contract";
import { run } from "./procs";

export interface MachineSpecEntry { name: string; profile: MachineProfile; ip: string }
export interface MachineSpec { subnet: string; prefix: number; labAddress: string; interface: string; machines: MachineSpecEntry[] }

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const NAME = /^[a-z][a-z0-9-]{0,14}$/;

/** Checks a parsed lab-machines.json; every problem at once, each with its field and value. */
export function parseMachineSpec(j: unknown): { spec?: MachineSpec; errors: string[] } {
  const errors: string[] = [];
  const add = (field: string, v: unknown, why: string) => errors.push(`lab-machines.json ${field}: ${JSON.stringify(v)} ${why}`);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON, checked field by field below
  const o = (j ?? {}) as any;
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(String(o.subnet ?? ""));
  let net = "";
  let prefix = 0;
  if (!m || !IPV4.test(m[1]) || Number(m[2]) < 8 || Number(m[2]) > 30) add("subnet", o.subnet, "must be an IPv4 network such as 10.97.0.0/24");
  else [net, prefix] = [m[1], Number(m[2])];
  const seen = new Map<string, string>();
  const addr = (field: string, ip: unknown): void => {
    if (typeof ip !== "string" || !IPV4.test(ip)) add(field, ip, "must be an IPv4 address");
    else if (prefix && !inSubnet(ip, net, prefix)) add(field, ip, `is not a host address of ${o.subnet}`);
    else if (seen.has(ip)) add(field, ip, `is also the address of ${seen.get(ip)}`);
    else seen.set(ip, field);
  };
  addr("labAddress", o.labAddress);
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(String(o.interface ?? ""))) add("interface", o.interface, "must be an interface name (each machine's end of its link to the bridge)");
  const machines: MachineSpecEntry[] = [];
  const names = new Set<string>();
  for (const [i, e] of (Array.isArray(o.machines) ? o.machines : []).entries()) {
    const f = `machines[${i}]`;
    if (!NAME.test(String(e?.name ?? ""))) add(`${f}.name`, e?.name, "must be a short host name (a-z, 0-9, -; 15 at most)");
    else if (names.has(e.name)) add(`${f}.name`, e.name, "names two machines");
    else names.add(e.name);
    if (!MACHINE_PROFILES.includes(e?.profile)) add(`${f}.profile`, e?.profile, `must be one of ${MACHINE_PROFILES.join(", ")} (scripts/lab/machineRoot.sh)`);
    addr(`${f}.ip`, e?.ip);
    machines.push({ name: e?.name, profile: e?.profile, ip: e?.ip });
  }
  if (!machines.length) add("machines", o.machines, "must list the machines ({ name, profile, ip })");
  if (machines.length > 9) add("machines", machines.length, "is more machines than the lab names (9 at most)");
  if (errors.length) return { errors };
  return { spec: { subnet: o.subnet, prefix, labAddress: o.labAddress, interface: o.interface, machines }, errors };
}

interface Ledger {
  id: string;
  ns: string;
  machines: (MachineState & { ip: string; profile: MachineProfile })[];
  /** each machine's snapshot right after it first booted, before any `pulumi up` */
  before: Record<string, { etc: string; units: string }>;
}

export const BRIDGE = "nblbr0";

export class MachineLab {
  private ledger?: Ledger;
  readonly machines = new Map<string, Machine>();
  constructor(readonly out: string, readonly spec: MachineSpec) {
    const p = this.ledgerPath;
    if (fs.existsSync(p)) {
      this.ledger = JSON.parse(fs.readFileSync(p, "utf8"));
      for (const s of this.ledger!.machines) this.machines.set(s.name, Machine.fromState(s));
    }
  }

  get ledgerPath(): string {
    return path.join(this.out, "machines.json");
  }
  get keyFile(): string {
    return path.join(this.out, "machines-ssh", "id_ed25519");
  }
  /** The namespace of the bridge (the VMs' taps go there). */
  get ns(): string | undefined {
    return this.ledger?.ns;
  }
  machine(name: string): Machine {
    const m = this.machines.get(name);
    if (!m) throw new Error(`no lab machine named ${name} (lab-machines.json has ${[...this.machines.keys()].join(", ")})`);
    return m;
  }

  /** True when the ledger's machines all still run (the same nspawn processes). */
  running(): boolean {
    return !!this.ledger && this.ledger.machines.length === this.spec.machines.length && [...this.machines.values()].every((m) => m.alive());
  }

  /** Machines of the ledger whose folder is there but whose nspawn is not running (powered off, `powerOff`). */
  stopped(): string[] {
    if (!this.ledger) return [];
    return [...this.machines.values()].filter((m) => !m.alive() && fs.existsSync(path.join(m.root, "etc"))).map((m) => m.name);
  }

  /** True when every machine is either running or powered off with its folder kept: `powerOn` brings it back. */
  intact(): boolean {
    return !!this.ledger && this.ledger.machines.length === this.spec.machines.length && [...this.machines.values()].every((m) => m.alive() || this.stopped().includes(m.name));
  }

  /** Powers one machine off in order (SIGTERM to nspawn), keeping its folder, network and ledger entry. */
  async powerOff(name: string): Promise<void> {
    await this.machine(name).stop(false);
    this.save();
  }

  /** Boots the powered-off machines again on their own roots (the state `pulumi up` left on them is kept). */
  async powerOn(log: (s: string) => void): Promise<string[]> {
    const names = this.stopped();
    for (const n of names) this.machine(n).boot({ binds: ["/dev/fuse"], detached: true });
    this.save();
    for (const n of names) {
      await this.machine(n).waitBooted();
      log(`machine ${n}: powered on again (systemd ${this.machine(n).exec("systemctl is-system-running", true).out.trim()})`);
    }
    this.save();
    return names;
  }

  private save(): void {
    if (!this.ledger) return;
    this.ledger.machines = this.ledger.machines.map((s) => ({ ...s, ...this.machines.get(s.name)!.state() }));
    fs.writeFileSync(this.ledgerPath + ".tmp", JSON.stringify(this.ledger, null, 2) + "\n");
    fs.renameSync(this.ledgerPath + ".tmp", this.ledgerPath);
  }

  /** Starts every machine of the spec (see the header), waits until each has booted, snapshots each. */
  async start(log: (s: string) => void): Promise<void> {
    if (this.ledger) await this.stop();
    const id = process.pid.toString(36);
    const ns = `nbl${id}`;
    const mns = (i: number) => `nbl${id}m${i}`;
    const hostEnd = `nbl${id}h`;
    for (const n of [ns, ...this.spec.machines.map((_, i) => mns(i))]) if (fs.existsSync(`/run/netns/${n}`)) throw new Error(`network namespace ${n} exists already`);
    fs.mkdirSync(path.dirname(this.keyFile), { recursive: true });
    if (!fs.existsSync(this.keyFile)) run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "netboot-lab-machines", "-f", this.keyFile]);
    const pub = fs.readFileSync(this.keyFile + ".pub", "utf8");
    this.ledger = { id, ns, machines: [], before: {} };
    const ip = (args: string[]) => run(["ip", ...args]);
    // recorded first: a failure below still leaves a ledger that --down (or the next start) cleans up
    this.ledger.machines = this.spec.machines.map((e, i) => ({ name: e.name, profile: e.profile, ip: e.ip, dir: path.join(this.out, "machines", e.name), ns: mns(i), pid: 0, hostKey: "" }));
    for (const s of this.ledger.machines) this.machines.set(s.name, Machine.fromState(s));
    fs.writeFileSync(this.ledgerPath, JSON.stringify(this.ledger, null, 2) + "\n");
    ip(["netns", "add", ns]);
    ip(["-n", ns, "link", "set", "lo", "up"]);
    ip(["-n", ns, "link", "add", BRIDGE, "type", "bridge"]);
    ip(["-n", ns, "link", "set", BRIDGE, "up"]);
    ip(["link", "add", hostEnd, "type", "veth", "peer", "name", "nblhost", "netns", ns]);
    ip(["-n", ns, "link", "set", "nblhost", "master", BRIDGE, "up"]);
    ip(["addr", "add", `${this.spec.labAddress}/${this.spec.prefix}`, "dev", hostEnd]);
    ip(["link", "set", hostEnd, "up"]);
    for (const [i, e] of this.spec.machines.entries()) {
      ip(["netns", "add", mns(i)]);
      ip(["-n", mns(i), "link", "set", "lo", "up"]);
      ip(["link", "add", `nblv${i}`, "netns", ns, "type", "veth", "peer", "name", this.spec.interface, "netns", mns(i)]);
      ip(["-n", ns, "link", "set", `nblv${i}`, "master", BRIDGE, "up"]);
      ip(["-n", mns(i), "addr", "add", `${e.ip}/${this.spec.prefix}`, "dev", this.spec.interface]);
      ip(["-n", mns(i), "link", "set", this.spec.interface, "up"]);
    }
    for (const e of this.spec.machines) {
      const m = this.machine(e.name);
      log(`machine ${e.name} (${e.profile}, ${e.ip}): preparing its root`);
      m.prepare(e.profile, pub, e.name);
      // /dev/fuse: the head publishes the OS image through a glusterfs FUSE mount; glusterd's own mounts too
      m.boot({ binds: ["/dev/fuse"], detached: true });
      this.save();
    }
    for (const e of this.spec.machines) {
      await this.machine(e.name).waitBooted();
      this.ledger.before[e.name] = this.machine(e.name).snapshot();
      log(`machine ${e.name}: booted (systemd ${this.machine(e.name).exec("systemctl is-system-running", true).out.trim()}), sshd on ${e.ip}:22`);
    }
    this.save();
  }

  /**
   * The stack config the example's program reads (Pulumi.yaml of examples/cluster-systemd). `twoHeads`: the
   * second head machine is `head2` (the example's NodeGroup and BootImage mirrors); otherwise it is left idle.
   */
  config(twoHeads = false): { head: unknown; head2: unknown; storage: unknown[]; privateKey: string; subnet: string; bootInterface: string } {
    const server = (e: MachineSpecEntry) => ({ host: e.ip, port: 22, user: "root", hostKey: this.machine(e.name).hostKey });
    const heads = this.spec.machines.filter((e) => e.profile === "head");
    return {
      head: heads.length ? server(heads[0]) : undefined,
      head2: twoHeads && heads.length > 1 ? server(heads[1]) : undefined,
      storage: this.spec.machines.filter((e) => e.profile === "storage").map(server),
      privateKey: fs.readFileSync(this.keyFile, "utf8"),
      subnet: this.spec.subnet,
      bootInterface: this.spec.interface,
    };
  }

  /** Per machine, what differs from its snapshot before the first `up` (empty: as it was). */
  compare(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [name, before] of Object.entries(this.ledger?.before ?? {})) {
      const m = this.machine(name);
      if (!m.alive()) {
        out[name] = ["(the machine is not running)"];
        continue;
      }
      const now = m.snapshot();
      out[name] = [...snapshotDiff(before.etc, now.etc).map((l) => `/etc ${l}`), ...snapshotDiff(before.units, now.units).map((l) => `units ${l}`)];
    }
    return out;
  }

  /** Powers every machine off, removes their folders and the namespaces, the root's veth and the ledger. */
  async stop(): Promise<void> {
    if (!this.ledger) return;
    await Promise.all([...this.machines.values()].map((m) => m.stop()));
    for (const s of this.ledger.machines) if (/^nbl[a-z0-9]+m\d$/.test(s.ns)) run(["ip", "netns", "del", s.ns], { allowFail: true });
    if (/^nbl[a-z0-9]+$/.test(this.ledger.ns)) run(["ip", "netns", "del", this.ledger.ns], { allowFail: true });
    // deleting the namespace deletes the veth's peer, and with it the root's end; this is for a half-made set-up
    run(["ip", "link", "del", `nbl${this.ledger.id}h`], { allowFail: true });
    fs.rmSync(path.join(this.out, "machines"), { recursive: true, force: true });
    fs.rmSync(this.ledgerPath, { force: true });
    this.ledger = undefined;
    this.machines.clear();
  }
}
