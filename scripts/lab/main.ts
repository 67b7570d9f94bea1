/**
 * The lab: boots the nodes of an example in VMs against exactly what `pulumi up` rendered into the example's
 * local target root.
 *
 *   npm run lab -- <example folder> [--groups a,b] [--nodes n1,n2] [--up] [--destroy] [--stack S]
 *                                   [--timeout SECONDS] [--out DIR]
 *
 * 1. reads the stack outputs (`pulumi stack output --json` in the example folder) and their `lab` contract;
 *    checks everything (files, tools, names) and reports every problem at once before starting anything;
 * 2. creates one network namespace (`nbl<pid>`) with a bridge named as dnsmasq's interface, the server's
 *    address and one address per brick host, and one tap per node;
 * 3. runs the real dnsmasq (`-C` the rendered config), nginx (`-c` the rendered nginx.conf) and one
 *    glusterfsd per brick (`-f` the rendered brick volfile), each checked first by its own test mode;
 * 4. copies the example's volume content onto the volume through a FUSE mount of the rendered client volfile;
 * 5. boots every chosen node in QEMU (TCG; SeaBIOS or OVMF; `-boot n`, virtio-net with the node's MAC and
 *    Debian's iPXE ROM) and shows one live line per node: DHCP -> iPXE -> kernel -> initramfs -> image -> up;
 * 6. ends with a table (node, group, IP, seconds to up, result), keeps every console log in the lab folder,
 *    and removes the namespace, every process it started (by pid) and every file the daemons made in the
 *    target root; also on Ctrl-C, SIGTERM and errors. Exit code 1 when a node failed.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { debianPackage } from "../../provider/util/debian";
import { numberFlag, parseCli, usageError } from "../_cli";
import { LabCheck, LabContract, LabNode, LabSsh, parseContract, selectNodes, serverAddresses } from "./contract";
import { dnsmasqFacts, nginxFacts } from "./configs";
import { BRIDGE, MachineLab, parseMachineSpec } from "./machineLab";
import { Proc, Procs, run, sleep } from "./procs";
import { lastLines, observe, Observation, Step, STEPS } from "./status";

const REPO = path.resolve(__dirname, "..", "..", "..");
const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd";
const IPXE_ROM = "/usr/lib/ipxe/qemu/efi-virtio.rom";

interface Options {
  example: string;
  groups: string[];
  nodes: string[];
  stack?: string;
  timeoutS: number;
  out?: string;
  up: boolean;
  destroy: boolean;
  /** machines mode: `pulumi destroy`, compare the machines with before `up`, stop them */
  down: boolean;
  /** machines mode: the machine powered off once a node reaches the kernel step (a fault the cluster must ride out) */
  poweroff?: string;
  /** when: `kernel` (the first node at its kernel step, the default) or `start` (before any node boots: a head node lost) */
  poweroffAt: "kernel" | "start";
  /** machines mode: the second head machine of lab-machines.json is the stack's `head2` (NodeGroup mirrors) */
  twoHeads: boolean;
  /** machines mode: the PXE machine's dnsmasq unit restarted once a node's first DHCP request is logged */
  restartDnsmasq: boolean;
}

const USAGE = "usage: npm run lab -- <example folder> [--groups a,b] [--nodes n1,n2] [--up] [--destroy] [--down] [--poweroff MACHINE[@start]] [--restart-dnsmasq] [--two-heads] [--stack NAME] [--timeout SECONDS] [--out DIR]";

export function labOptions(argv: string[]): Options {
  const { values: v, positionals } = parseCli("lab", USAGE, {
    options: {
      groups: { type: "string", multiple: true }, nodes: { type: "string", multiple: true }, stack: { type: "string" },
      out: { type: "string" }, timeout: { type: "string" }, up: { type: "boolean" }, destroy: { type: "boolean" }, down: { type: "boolean" }, poweroff: { type: "string" },
      "restart-dnsmasq": { type: "boolean" }, "two-heads": { type: "boolean" },
    },
    allowPositionals: true,
  }, argv);
  const list = (vs: string[] | undefined) => (vs ?? []).flatMap((s) => s.split(",")).filter(Boolean);
  if (positionals.length > 1) usageError("lab", USAGE, `one example folder only (got ${positionals.join(" and ")})`);
  if (!positionals.length) usageError("lab", USAGE, "give the example folder, e.g. examples/stateless-gluster");
  for (const k of ["stack", "out"] as const) if (v[k] === "") usageError("lab", USAGE, `--${k} needs a value`);
  const o: Options = {
    example: path.resolve(positionals[0]), groups: list(v.groups), nodes: list(v.nodes), stack: v.stack,
    out: v.out === undefined ? undefined : path.resolve(v.out),
    timeoutS: numberFlag("lab", USAGE, "timeout", v.timeout, 300, 10),
    up: v.up ?? false, destroy: v.destroy ?? false, down: v.down ?? false,
    poweroff: v.poweroff?.replace(/@start$/, ""), poweroffAt: v.poweroff?.endsWith("@start") ? "start" : "kernel",
    restartDnsmasq: v["restart-dnsmasq"] ?? false, twoHeads: v["two-heads"] ?? false,
  };
  const machines = fs.existsSync(path.join(o.example, "lab-machines.json"));
  if (o.down && !machines) usageError("lab", USAGE, `--down is for an example with lab machines (lab-machines.json); ${o.example} has none: use --destroy`);
  if (o.down && (o.up || o.destroy)) usageError("lab", USAGE, "--down runs pulumi destroy and stops the machines: give it alone");
  if (o.poweroff !== undefined && !machines) usageError("lab", USAGE, "--poweroff is for an example with lab machines (lab-machines.json)");
  if (o.restartDnsmasq && !machines) usageError("lab", USAGE, "--restart-dnsmasq is for an example with lab machines (lab-machines.json)");
  if (o.twoHeads && !machines) usageError("lab", USAGE, "--two-heads is for an example with lab machines (lab-machines.json)");
  if (o.restartDnsmasq && o.poweroff !== undefined) usageError("lab", USAGE, "one fault per run: --poweroff or --restart-dnsmasq");
  if (o.destroy && machines) usageError("lab", USAGE, "with lab machines, --down destroys the stack and then stops the machines");
  if (!fs.existsSync(path.join(o.example, "Pulumi.yaml"))) usageError("lab", USAGE, `${o.example} has no Pulumi.yaml`);
  return o;
}

// ------------------------------------------------------------------ the engine

function pulumi(o: Options, args: string[], opts: { show?: boolean; input?: string } = {}): string {
  const argv = ["pulumi", ...args, ...(o.stack ? ["--stack", o.stack] : []), "--non-interactive"];
  const r = spawnSync(argv[0], argv.slice(1), { cwd: o.example, encoding: "utf8", input: opts.input, stdio: opts.show ? ["ignore", "inherit", "inherit"] : "pipe", maxBuffer: 1 << 28 });
  if (r.error) throw new Error(`could not run pulumi: ${r.error.message} (run the lab through scripts/lab.sh or npm run lab, which put the engine on PATH)`);
  if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} failed (exit ${r.status})${opts.show ? "" : `:\n${(r.stderr || r.stdout || "").trim()}`}`);
  return r.stdout ?? "";
}

/** `key.a`, `key[0].b`, ... with their values: how `pulumi config set --path` spells each leaf of a value. */
export function configLeaves(key: string, v: unknown): [string, string | number | boolean][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => configLeaves(`${key}[${i}]`, x));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => configLeaves(`${key}.${k}`, x));
  return [[key, v as string | number | boolean]];
}

function readOutputs(o: Options): Record<string, unknown> {
  const text = pulumi(o, ["stack", "output", "--json", "--show-secrets"]);
  return JSON.parse(text || "{}");
}

// ------------------------------------------------------------------ checks before anything starts

function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])) {
    const p = path.join(d, cmd);
    if (d && fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Every problem with the host and the rendered files, at once. */
function preflight(c: LabContract, nodes: LabNode[]): string[] {
  const errors: string[] = [];
  if (process.getuid && process.getuid() !== 0) errors.push("the lab needs root (network namespaces, tap devices, FUSE, daemons)");
  const daemons = c.machines ? [] : ["dnsmasq", "nginx", ...(c.volumes.length ? ["glusterfsd", "glusterfs"] : [])];
  for (const t of ["ip", "ss", "nsenter", "qemu-system-x86_64", ...daemons])
    if (!which(t)) errors.push(`${t} is not installed: apt-get install -y ${debianPackage(t)} (or bash scripts/deps.sh)`);
  const files: [string, string][] = [[IPXE_ROM, "the iPXE ROM of virtio-net"]];
  if (nodes.some((n) => n.firmware === "efi-x86_64")) files.push([OVMF_CODE, "UEFI firmware"], [OVMF_VARS, "UEFI variables template"]);
  for (const [f, what] of files) if (!fs.existsSync(f)) errors.push(`${f} (${what}) is missing: apt-get install -y ${debianPackage(f)}`);
  // machines mode: `pulumi up` set the servers up; there is nothing rendered here to check
  if (c.machines) return errors;
  const rendered: [string, string][] = [[c.server.dnsmasqConfig, "lab.server.dnsmasqConfig"], [c.server.nginxMainConfig, "lab.server.nginxMainConfig"]];
  for (const v of c.volumes) {
    rendered.push([v.clientVolfile, `volume ${v.name} client volfile`]);
    for (const b of v.bricks) rendered.push([b.volfile, `volume ${v.name} brick ${b.host}:${b.path}`]);
  }
  for (const [f, what] of rendered) if (!fs.existsSync(f)) errors.push(`${f} (${what}) does not exist: run \`pulumi up\` in the example first`);
  for (const s of c.volumeContent) if (!fs.existsSync(s.source)) errors.push(`${s.source} (volume content for ${s.volume}) does not exist: run \`pulumi up\` in the example first`);
  if (fs.existsSync(c.server.dnsmasqConfig)) {
    const d = dnsmasqFacts(fs.readFileSync(c.server.dnsmasqConfig, "utf8"));
    if (d.interface !== c.server.interface) errors.push(`${c.server.dnsmasqConfig} serves interface=${d.interface}, but lab.server.interface is ${c.server.interface}`);
  }
  const addrs = serverAddresses(c);
  for (const n of nodes) if (addrs.includes(n.ip)) errors.push(`node ${n.name}: ${n.ip} is also a server address of the lab`);
  return errors;
}

// ------------------------------------------------------------------ files the daemons make in the target root

/** Every path below `dir` (recursive), or [] when it does not exist. */
function walk(dir: string): string[] {
  const out: string[] = [];
  const rec = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(p);
      if (e.isDirectory()) rec(p);
    }
  };
  if (fs.existsSync(dir) && fs.statSync(dir).isDirectory()) rec(dir);
  return out;
}

/** What a TargetGuard keeps in the lab's ledger (JSON): read back by `restore` after a lab killed hard. */
export interface GuardState {
  root: string;
  before?: [string, string[]][];
  createdDirs?: string[];
}

/**
 * Remembers what exists in the daemons' run folders (only below the target root) before the lab starts them,
 * so `sweep()` removes exactly what the daemons (and the lab's brick folders) added.
 */
export class TargetGuard {
  private before = new Map<string, Set<string>>();
  private createdDirs: string[] = [];
  constructor(readonly root: string) {}
  /** For the ledger: enough to sweep after a lab that was killed hard. */
  state(): GuardState {
    return { root: this.root, before: [...this.before].map(([d, had]) => [d, [...had]]), createdDirs: this.createdDirs };
  }
  static restore(s: GuardState): TargetGuard {
    const g = new TargetGuard(s.root);
    for (const [d, had] of s.before ?? []) if (g.inside(d)) g.before.set(d, new Set(had));
    g.createdDirs = (s.createdDirs ?? []).filter((d: string) => g.inside(d));
    return g;
  }
  inside(p: string): boolean {
    const rel = path.relative(this.root, p);
    return !!rel && !rel.startsWith("..") && !path.isAbsolute(rel);
  }
  watch(dir: string): void {
    if (!this.inside(dir) || this.before.has(dir)) return;
    this.before.set(dir, new Set(walk(dir)));
  }
  /** mkdir -p that remembers the first folder it created, to remove it later. */
  mkdirp(dir: string): void {
    const first = fs.mkdirSync(dir, { recursive: true });
    if (first) this.createdDirs.push(first);
  }
  /** Copies daemon logs into the lab folder, then removes what was added. Returns the removed paths. */
  sweep(keep: (p: string) => void): string[] {
    const removed: string[] = [];
    for (const [dir, had] of this.before) {
      for (const p of walk(dir).reverse()) {
        if (had.has(p)) continue;
        if (/\.log$/.test(p)) keep(p);
        fs.rmSync(p, { recursive: true, force: true });
        removed.push(p);
      }
    }
    for (const d of this.createdDirs.reverse()) {
      if (fs.existsSync(d)) {
        fs.rmSync(d, { recursive: true, force: true });
        removed.push(d);
      }
    }
    return removed;
  }
}

// ------------------------------------------------------------------ the run

interface NodeRun {
  node: LabNode;
  tap: string;
  console: string;
  proc?: Proc;
  started?: number;
  upAfterS?: number;
  endedAt?: number;
  obs: Observation;
  done: boolean;
  failedAt?: Step;
  failure?: string;
  /** after the first up: the contract's checks over SSH, then (for reboot groups) a reboot from inside */
  phase: "boot" | "checking" | "rebooting";
  /** where the current boot's console text starts (after a reboot, the second boot is judged on its own) */
  consoleFrom: number;
  checks: { name: string; ok: boolean; out: string }[];
  rebootedAt?: number;
  rebootUpAfterS?: number;
}

/**
 * One command on a node over SSH, from the lab's namespace (where the servers are). With `knownHosts` (a node
 * whose host key is in state) the key is pinned: ssh refuses a node that presents any other.
 */
function sshRun(where: (argv: string[]) => string[], ssh: LabSsh, ip: string, command: string, timeoutMs: number, knownHosts?: string): Promise<{ code: number; out: string }> {
  const hostKeyOpts = knownHosts ? ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`] : ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"];
  return runIn(where(["ssh", "-i", ssh.privateKeyFile, "-o", "BatchMode=yes", ...hostKeyOpts, "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", `${ssh.user}@${ip}`, command]), timeoutMs);
}

function runIn(argv: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 255, out: out.trim() });
    });
  });
}

/**
 * The contract's checks on a node that is up, in order; the first that fails fails the node. sshd may still be
 * starting when the image reports up, so a refused connection (ssh exit 255) is retried for a while.
 */
async function runChecks(where: (argv: string[]) => string[], ssh: LabSsh, r: NodeRun, checks: LabCheck[], knownHosts?: string): Promise<string | undefined> {
  if (r.node.hostKey) {
    const failed = await checkHostKey(where, r);
    if (failed) return failed;
  }
  for (const ch of checks) {
    let res = { code: 255, out: "" };
    for (let i = 0; i < 12 && res.code === 255; i++) {
      res = await sshRun(where, ssh, r.node.ip, ch.command, 120_000, knownHosts);
      if (res.code === 255) await sleep(5000);
    }
    const ok = res.code === 0 && (ch.expect === undefined || res.out.includes(ch.expect));
    r.checks.push({ name: ch.name, ok, out: res.out.split("\n").slice(-3).join(" | ") });
    console.log(`lab: ${r.node.name}: check "${ch.name}" ${ok ? "passed" : "FAILED"}: ${res.out.split("\n").slice(-1)[0] ?? ""}`);
    if (!ok) return `check "${ch.name}" failed (exit ${res.code}${ch.expect !== undefined && res.code === 0 ? `, expected "${ch.expect}"` : ""}): ${res.out.split("\n").slice(-2).join(" | ") || "no output"}`;
  }
  return undefined;
}

/**
 * The node's sshd presents the host key in state (delivered by its overlay), as `ssh-keyscan` from the servers'
 * network sees it: the check an admin makes before trusting a stateless node's key. Retried while sshd starts.
 */
async function checkHostKey(where: (argv: string[]) => string[], r: NodeRun, name = "the host key is the one in state (ssh-keyscan)"): Promise<string | undefined> {
  const [type, blob] = r.node.hostKey!.split(" ");
  let seen = "";
  for (let i = 0; i < 12 && !seen; i++) {
    const res = await runIn(where(["ssh-keyscan", "-T", "10", "-t", type.replace(/^ssh-/, ""), r.node.ip]), 30_000);
    seen = res.out.split("\n").find((l) => l.startsWith(`${r.node.ip} ${type} `)) ?? "";
    if (!seen) await sleep(5000);
  }
  const got = seen.split(" ")[2] ?? "";
  const ok = got === blob;
  r.checks.push({ name, ok, out: seen || "no key" });
  console.log(`lab: ${r.node.name}: check "${name}" ${ok ? "passed" : "FAILED"}: ${type} ${got ? got.slice(0, 24) + "..." : "none"}`);
  return ok ? undefined : `check "${name}" failed: the node presents ${got ? `${type} ${got}` : "no key"}, state has ${type} ${blob}`;
}

/** known_hosts for the nodes whose host keys are in state (the lab's SSH then pins them). */
function writeKnownHosts(out: string, nodes: LabNode[]): string | undefined {
  const lines = nodes.filter((n) => n.hostKey).map((n) => `${n.ip} ${n.hostKey!.split(" ").slice(0, 2).join(" ")}`);
  if (lines.length === 0) return undefined;
  const file = path.join(out, "known_hosts");
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

const fmtS = (s?: number) => (s === undefined ? "-" : s.toFixed(1));

function stepLine(r: NodeRun, now: number): string {
  const idx = STEPS.indexOf(r.failedAt ?? r.obs.step);
  const parts = STEPS.slice(0, idx).map((s) => s);
  let tail: string;
  if (r.failedAt) tail = `FAILED at ${r.failedAt}: ${r.failure}`;
  else if (r.phase === "checking") tail = `up (${fmtS(r.upAfterS)} s) > checks...`;
  else if (r.phase === "rebooting") {
    // the first boot, then the second one's steps
    const first = `${STEPS.slice(0, -1).join(" > ")} > up (${fmtS(r.upAfterS)} s) > reboot`;
    tail = r.done ? `${first} > up again (${fmtS(r.rebootUpAfterS)} s)` : `${first} > ${[...parts, `${r.obs.step}...`].join(" > ")}`;
    parts.length = 0;
  }
  else if (r.obs.step === "up") tail = `up (${fmtS(r.upAfterS)} s)${r.checks.length ? ` > ${r.checks.length} checks passed` : ""}`;
  else tail = `${r.obs.step}...`;
  const t = r.started ? `${Math.round(((r.endedAt ?? now) - r.started) / 1000)}s`.padStart(5) : "     ";
  const ip = r.obs.leasedIp ?? r.node.ip;
  return `${r.node.name.padEnd(10)} ${r.node.group.padEnd(10)} ${r.node.firmware.padEnd(10)} ${ip.padEnd(15)} ${t}  ${[...parts, tail].join(" > ")}`;
}

class Display {
  private lines = 0;
  private last = new Map<string, string>();
  constructor(private readonly tty: boolean) {}
  show(runs: NodeRun[]): void {
    const now = Date.now();
    if (this.tty) {
      if (this.lines) process.stdout.write(`\x1b[${this.lines}A`);
      for (const r of runs) process.stdout.write(`\x1b[2K${stepLine(r, now)}\n`);
      this.lines = runs.length;
    } else {
      // Not a terminal (CI, a test): one line per change of step, without the ticking clock.
      for (const r of runs) {
        const key = `${r.obs.step}|${r.failedAt}|${r.done}`;
        if (this.last.get(r.node.name) !== key) {
          this.last.set(r.node.name, key);
          console.log(stepLine(r, now));
        }
      }
    }
  }
}

async function waitUntil(what: string, cond: () => boolean, timeoutMs: number, hint: () => string = () => ""): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cond()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${hint()}`);
}

const readText = (f: string) => {
  try {
    return fs.readFileSync(f, "utf8");
  } catch {
    return "";
  }
};
const tail = (f: string, n = 12) => {
  const l = lastLines(readText(f), n);
  return l.length ? `\n--- last lines of ${f}\n${l.join("\n")}` : "";
};

function listening(p: Procs, port: number): boolean {
  const r = run(p.inNs(["ss", "-Hltn"]), { allowFail: true });
  return new RegExp(`:${port}\\b`).test(r.out);
}

function isMounted(mnt: string): boolean {
  return readText("/proc/mounts").split("\n").some((l) => l.split(" ")[1] === mnt && l.includes("fuse"));
}

let interrupted: NodeJS.Signals | undefined;

/**
 * Exit codes, so a script can tell a cluster that did not boot from a lab that could not start:
 * 0 every node up; 1 a node failed; 2 bad usage or stack outputs (nothing started); 3 set-up failed
 * (pulumi up, a daemon, the network, the volume: no node was judged); 4 `--down` left a machine changed;
 * 128+N interrupted by signal N.
 */
export const EXIT = { up: 0, nodeFailed: 1, usage: 2, setupFailed: 3, notRestored: 4 } as const;

/** A daemon of the lab (dnsmasq, nginx, a brick) that exited while the nodes were booting. */
interface DaemonExit { daemon: string; pid: number; exitCode: number | null; afterS: number }
/** A fault the lab caused while the nodes booted (result.json `faults`): `pids` are the unit's main pid before and after a restart. */
interface Fault { action: "poweroff" | "restart"; machine: string; unit?: string; afterS: number; node: string; pids?: [string, string] }

/** Earlier runs' logs move to `runs/<time>/` instead of being deleted; the newest KEEP_RUNS stay. */
const KEEP_RUNS = 10;

function archivePreviousRun(out: string): string | undefined {
  const files = fs.readdirSync(out).filter((f) => /\.(log|fd|json)$/.test(f) && f !== "lab.json" && f !== "machines.json");
  if (!files.length) return undefined;
  const when = fs.existsSync(path.join(out, "result.json")) ? fs.statSync(path.join(out, "result.json")).mtime : new Date();
  const runs = path.join(out, "runs");
  let dest = path.join(runs, when.toISOString().replace(/[:.]/g, "-"));
  for (let i = 1; fs.existsSync(dest); i++) dest = `${dest.replace(/-\d+$/, "")}-${i}`;
  fs.mkdirSync(dest, { recursive: true });
  for (const f of files) fs.renameSync(path.join(out, f), path.join(dest, f));
  for (const old of fs.readdirSync(runs).sort().slice(0, -KEEP_RUNS)) fs.rmSync(path.join(runs, old), { recursive: true, force: true });
  return dest;
}
/**
 * `--down` (machines mode): `pulumi destroy`, then each machine's /etc and units compared with what they were
 * before the first `up`, then the machines stopped. Exit 4 when a machine is not as it was (the differences are
 * printed and kept in machines-diff.json); the machines are stopped either way.
 */
async function down(o: Options, ml: MachineLab): Promise<number> {
  // a machine powered off by a fault is powered on first: destroy must reach it, and it is compared too
  if (!ml.running() && ml.intact()) await ml.powerOn((l) => console.log(`lab: ${l}`));
  if (!ml.running()) {
    console.log("lab: the lab machines are not running; nothing to destroy on them");
    await ml.stop();
    return EXIT.up;
  }
  console.log(`lab: pulumi destroy in ${o.example}`);
  let destroyed = true;
  try {
    pulumi(o, ["destroy", "--yes", "--skip-preview"], { show: true });
  } catch (e) {
    destroyed = false;
    console.error(`lab: ${(e as Error).message}`);
  }
  const diffs = ml.compare();
  fs.writeFileSync(path.join(ml.out, "machines-diff.json"), JSON.stringify(diffs, null, 2) + "\n");
  const changed = Object.entries(diffs).filter(([, d]) => d.length);
  for (const [name, d] of changed) console.log(`lab: machine ${name} is not as it was before up:\n  ${d.slice(0, 40).join("\n  ")}`);
  if (!changed.length) console.log(`lab: every machine's /etc and units are as they were before up (${Object.keys(diffs).join(", ")})`);
  await ml.stop();
  console.log("lab: stopped the machines, removed their folders and namespaces");
  if (!destroyed) return EXIT.setupFailed;
  return changed.length ? EXIT.notRestored : EXIT.up;
}

const signalExit = (sig: NodeJS.Signals) => 128 + (sig === "SIGINT" ? 2 : sig === "SIGHUP" ? 1 : 15);

async function main(): Promise<number> {
  const o = labOptions(process.argv.slice(2));
  const name = path.basename(o.example);
  const out = o.out ?? path.join(REPO, ".lab", name);
  fs.mkdirSync(out, { recursive: true });
  const procs = new Procs(out);
  for (const line of await procs.reclaim((st) => TargetGuard.restore(st as GuardState).sweep(() => undefined))) console.log(`lab: ${line}`);

  // machines mode (lab-machines.json): the servers are systemd machines that outlive this run (MachineLab)
  let ml: MachineLab | undefined;
  const specFile = path.join(o.example, "lab-machines.json");
  if (fs.existsSync(specFile)) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(specFile, "utf8"));
    } catch (e) {
      console.error(`lab: ${specFile} is not JSON: ${(e as Error).message}`);
      return EXIT.usage;
    }
    const spec = parseMachineSpec(json);
    if (!spec.spec) {
      console.error(`lab: cannot start (nothing was started):\n  ${spec.errors.join("\n  ")}`);
      return EXIT.usage;
    }
    const missing = ["systemd-nspawn", "unshare", "nsenter", "ip", "ssh-keygen", "mmdebstrap"].filter((t) => !which(t));
    if (missing.length) {
      console.error(`lab: cannot start (nothing was started):\n  ${missing.map((t) => `${t} is not installed: apt-get install -y ${debianPackage(t)}`).join("\n  ")}`);
      return EXIT.usage;
    }
    ml = new MachineLab(out, spec.spec);
    if (o.poweroff !== undefined && !spec.spec.machines.some((m) => m.name === o.poweroff)) {
      console.error(`lab: --poweroff: no machine "${o.poweroff}" in ${specFile} (${spec.spec.machines.map((m) => m.name).join(", ")})`);
      return EXIT.usage;
    }
    if (o.down) return down(o, ml);
    if (!ml.running() && ml.intact() && ml.stopped().length) {
      // a machine powered off (a fault, --poweroff): --up boots it again on its own root, and `pulumi up` converges
      if (!o.up) {
        console.error(`lab: lab machine(s) ${ml.stopped().join(", ")} of ${o.example} are powered off: --up powers them on again`);
        return EXIT.usage;
      }
      await ml.powerOn((l) => console.log(`lab: ${l}`));
    } else if (!ml.running()) {
      if (!o.up) {
        console.error(`lab: the lab machines of ${o.example} are not running: start them (and set them up) with --up`);
        return EXIT.usage;
      }
      console.log(`lab: starting ${spec.spec.machines.length} systemd machines (${spec.spec.machines.map((m) => `${m.name} ${m.ip}`).join(", ")}); this machine is ${spec.spec.labAddress} on their bridge`);
      await ml.start((l) => console.log(`lab: ${l}`));
    } else console.log(`lab: the lab machines are running (${[...ml.machines.keys()].join(", ")})`);
  }

  if (o.up) {
    // the named stack, or the selected one, or a new `dev` stack
    let current = "";
    try {
      current = pulumi({ ...o, stack: undefined }, ["stack", "--show-name"]).trim();
    } catch {
      /* no stack selected */
    }
    const stack = o.stack ?? (current || "dev");
    if (stack !== current) pulumi({ ...o, stack: undefined }, ["stack", "select", stack, "--create"]);
    if (ml) {
      // the servers' addresses and host keys, as a site's stack config would hold them (the private key a secret)
      const cfg = ml.config(o.twoHeads);
      if (o.twoHeads && cfg.head2 === undefined) {
        console.error("lab: --two-heads needs a second machine of profile head in lab-machines.json");
        return EXIT.usage;
      }
      // without --two-heads the program runs one head node: a head2 left from an earlier run is taken out
      if (!o.twoHeads) {
        try {
          pulumi({ ...o, stack }, ["config", "rm", "head2"]);
        } catch {
          /* not set */
        }
      }
      for (const [k, v] of Object.entries(cfg)) {
        if (k === "privateKey") pulumi({ ...o, stack }, ["config", "set", "--secret", k], { input: String(v) });
        else if (typeof v === "string") pulumi({ ...o, stack }, ["config", "set", k, v]);
        else if (v !== undefined) {
          // structured config (the project declares objects and lists): one `--path` per leaf, numbers as int
          try {
            pulumi({ ...o, stack }, ["config", "rm", k]);
          } catch {
            /* not set yet */
          }
          for (const [p, leaf] of configLeaves(k, v)) pulumi({ ...o, stack }, ["config", "set", "--path", p, String(leaf), ...(typeof leaf === "number" ? ["--type", "int"] : [])]);
        }
      }
    }
    console.log(`lab: pulumi up in ${o.example} (stack ${stack})`);
    // --refresh: files changed or removed by hand since the last up are put back, so the lab runs what up renders
    pulumi({ ...o, stack }, ["up", "--yes", "--skip-preview", "--refresh"], { show: true });
  }

  const parsed = parseContract(readOutputs(o));
  if (!parsed.contract) {
    console.error(`lab: the stack outputs of ${o.example} are not a usable lab contract:\n  ${parsed.errors.join("\n  ")}`);
    return EXIT.usage;
  }
  const c = parsed.contract;
  const sel = selectNodes(c.nodes, o.groups, o.nodes);
  const errors = [...sel.errors, ...preflight(c, sel.nodes)];
  if (ml && !c.machines) errors.push(`${o.example} has lab-machines.json, but its \`lab\` output has no \`machines\` (docs/lab.md, machines mode)`);
  if (!ml && c.machines) errors.push(`the \`lab\` output has \`machines\`, but ${o.example} has no lab-machines.json that says which machines to start`);
  for (const [f, x] of c.machines ? [["lab.machines", c.machines] as const, ...(c.machines.mirrors ?? []).map((x, i) => [`lab.machines.mirrors[${i}]`, x] as const)] : [])
    if (ml && !ml.machines.has(x.pxeMachine)) errors.push(`${f}.pxeMachine: "${x.pxeMachine}" is no machine of lab-machines.json (${[...ml.machines.keys()].join(", ")})`);
  if (!sel.nodes.length && !sel.errors.length) errors.push("no node chosen");
  if (errors.length) {
    console.error(`lab: cannot start (nothing was started):\n  ${errors.join("\n  ")}`);
    return EXIT.usage;
  }
  // Fresh logs for this run; the previous run's are kept under runs/ (the ledger was handled by reclaim()).
  const archived = archivePreviousRun(out);
  if (archived) console.log(`lab: the previous run's logs are in ${archived}`);

  const guard = new TargetGuard(c.targetRoot);
  const dm = dnsmasqFacts(readText(c.server.dnsmasqConfig));
  const ngMain = nginxFacts(readText(c.server.nginxMainConfig));
  const ngServer = ngMain.includes.filter((i) => !i.endsWith("mime.types")).map((i) => nginxFacts(readText(i)));
  // machines mode: no rendered file here (the facts above are empty), the PXE machine's own log instead
  const pxeMachine = c.machines ? ml!.machine(c.machines.pxeMachine) : undefined;
  const accessLog = pxeMachine ? path.join(pxeMachine.root, c.machines!.accessLog) : ngServer.flatMap((s) => s.accessLogs)[0];
  for (const f of [dm.pidFile, dm.leaseFile, ngMain.pidFile, ngMain.errorLog, accessLog]) if (f) guard.watch(path.dirname(f));
  for (const d of ngMain.tempDirs) guard.watch(path.dirname(d));
  procs.targetState = () => guard.state();

  const knownHosts = writeKnownHosts(out, sel.nodes);
  const runs: NodeRun[] = sel.nodes.map((node, i) => ({
    node, tap: `nbltap${i}`, console: path.join(out, `${node.name}.console.log`), obs: { step: "DHCP" }, done: false,
    phase: "boot", consoleFrom: 0, checks: [],
  }));

  let cleaning: Promise<void> | undefined;
  const mounts: { mnt: string; proc: Proc }[] = [];
  const cleanup = () => (cleaning ??= (async () => {
    for (const r of runs) if (r.proc) await procs.stop(r.proc, 2000);
    for (const m of mounts) {
      if (isMounted(m.mnt)) run(["umount", "-l", m.mnt], { allowFail: true });
      await procs.stop(m.proc);
    }
    await procs.stopAll();
    for (const m of mounts) fs.rmSync(m.mnt, { recursive: true, force: true });
    fs.rmSync(path.join(out, "OVMF_VARS"), { recursive: true, force: true });
    for (const f of fs.readdirSync(out)) if (f.endsWith(".pid")) fs.rmSync(path.join(out, f), { force: true });
    // the machines' namespace stays (until --down): only the taps are the run's
    if (ml?.ns) for (const r of runs) run(["ip", "-n", ml.ns, "link", "del", r.tap], { allowFail: true });
    guard.sweep((p) => fs.copyFileSync(p, path.join(out, `daemon-${path.basename(p)}`)));
  })());
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    console.error(`\nlab: ${sig}: stopping every VM and daemon`);
    // main() may be waiting for a daemon; exit as soon as everything is stopped
    cleanup().finally(() => process.exit(signalExit(sig)));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);

  try {
    // --- network: the lab's own namespace and bridge, or (machines mode) the machines' bridge
    const ns = ml?.ns ?? `nbl${process.pid.toString(36)}`;
    const br = ml ? BRIDGE : c.server.interface;
    if (ml) procs.useNamespace(ns);
    else {
    procs.createNamespace(ns);
    procs.ip(["link", "add", br, "type", "bridge"]);
    for (const a of serverAddresses(c)) procs.ip(["addr", "add", `${a}/${c.server.prefix}`, "dev", br]);
    procs.ip(["link", "set", br, "up"]);
    }
    for (const r of runs) {
      procs.ip(["tuntap", "add", "dev", r.tap, "mode", "tap"]);
      procs.ip(["link", "set", r.tap, "master", br]);
      procs.ip(["link", "set", r.tap, "up"]);
    }
    if (ml) console.log(`lab: the nodes join bridge ${br} of the lab machines (namespace ${ns}); logs in ${out}`);
    else console.log(`lab: namespace ${ns}, bridge ${br} with ${serverAddresses(c).join(", ")} (/${c.server.prefix}); logs in ${out}`);

    const dnsLog = path.join(out, "dnsmasq.log");
    // machines mode: `pulumi up` started and set up every daemon and published the image; the lab starts none
    if (!c.machines) {
    // --- daemons, each checked by its own test mode first
    const t = run(procs.inNs(["dnsmasq", "--test", "-C", c.server.dnsmasqConfig]), { allowFail: true });
    if (t.code !== 0) throw new Error(`dnsmasq --test rejects ${c.server.dnsmasqConfig}:\n${t.out.trim()}`);
    procs.start("dnsmasq", ["dnsmasq", "-k", "-C", c.server.dnsmasqConfig, `--log-facility=${dnsLog}`], path.join(out, "dnsmasq.out"));
    const n = run(procs.inNs(["nginx", "-t", "-q", "-c", c.server.nginxMainConfig]), { allowFail: true });
    if (n.code !== 0) throw new Error(`nginx -t rejects ${c.server.nginxMainConfig}:\n${n.out.trim()}`);
    const ngLog = path.join(out, "nginx.log");
    procs.start("nginx", ["nginx", "-c", c.server.nginxMainConfig, "-g", "daemon off;"], ngLog);
    const bricks: { port: number; log: string; proc: Proc }[] = [];
    for (const v of c.volumes) {
      for (const [i, b] of v.bricks.entries()) {
        guard.mkdirp(path.join(b.path, ".glusterfs")); // as the brick unit's ExecStartPre does
        const log = path.join(out, `brick-${v.name}-${i}.log`);
        bricks.push({ port: b.port, log, proc: procs.start(`brick ${v.name}/${i}`, ["glusterfsd", "-N", "-f", b.volfile, "-l", log, "-p", path.join(out, `brick-${v.name}-${i}.pid`)], log) });
      }
    }
    const dnsPid = () => !!dm.pidFile && fs.existsSync(dm.pidFile);
    await waitUntil("dnsmasq", () => dnsPid() || procs.procs[0].exited, 10_000, () => tail(dnsLog));
    if (procs.procs[0].exited) throw new Error(`dnsmasq exited${tail(dnsLog)}`);
    const port = Number(/:(\d+)$/.exec(ngServer.flatMap((s) => s.listens)[0] ?? "")?.[1] ?? 80);
    await waitUntil(`nginx on port ${port}`, () => listening(procs, port), 10_000, () => tail(ngLog) + (ngMain.errorLog ? tail(ngMain.errorLog) : ""));
    for (const b of bricks) {
      await waitUntil(`brick on port ${b.port}`, () => listening(procs, b.port) || b.proc.exited, 20_000, () => tail(b.log));
      if (b.proc.exited) throw new Error(`glusterfsd for port ${b.port} exited${tail(b.log)}`);
    }
    console.log(`lab: dnsmasq, nginx and ${bricks.length} glusterfsd brick(s) are running`);

    // --- the volume's content, through a FUSE mount of the rendered client volfile
    for (const s of c.volumeContent) {
      const v = c.volumes.find((x) => x.name === s.volume)!;
      const mnt = path.join(out, `mnt-${v.name}`);
      fs.mkdirSync(mnt, { recursive: true });
      const log = path.join(out, `client-${v.name}.log`);
      const proc = procs.start(`glusterfs ${v.name}`, ["glusterfs", "-N", "-f", v.clientVolfile, "-l", log, mnt], log);
      mounts.push({ mnt, proc });
      await waitUntil(`FUSE mount of ${v.name}`, () => isMounted(mnt) || proc.exited, 20_000, () => tail(log));
      if (proc.exited) throw new Error(`the glusterfs client of ${v.name} exited${tail(log)}`);
      const dest = path.join(mnt, s.path);
      // the first operations may meet "Transport endpoint is not connected" until the client reaches quorum
      let ready = false;
      for (let i = 0; i < 20 && !ready; i++) {
        ready = run(["mkdir", "-p", dest], { allowFail: true }).code === 0;
        if (!ready) await sleep(500);
      }
      if (!ready) throw new Error(`could not create ${s.path} on volume ${v.name}${tail(log)}`);
      // once: a real OS image is thousands of files, each a replicated create (minutes, not seconds)
      const copy = run(["cp", "-a", `${s.source}/.`, `${dest}/`], { allowFail: true, timeoutMs: 30 * 60_000 });
      if (copy.code !== 0) throw new Error(`could not copy ${s.source} onto volume ${v.name}: ${copy.out.trim().split("\n").slice(-3).join("; ")}${tail(log)}`);
      const files = walk(s.source).length;
      run(["umount", mnt], { allowFail: true });
      await waitUntil(`unmount of ${mnt}`, () => !isMounted(mnt), 10_000);
      await procs.stop(proc);
      console.log(`lab: volume ${v.name}: copied ${files} entries from ${s.source} to ${s.path}`);
    }
    }

    // --- the VMs
    const disp = new Display(!!process.stdout.isTTY);
    console.log(`lab: booting ${runs.length} node(s) in QEMU (TCG): ${runs.map((r) => r.node.name).join(", ")}`);
    console.log(`${"node".padEnd(10)} ${"group".padEnd(10)} ${"firmware".padEnd(10)} ${"IP".padEnd(15)} ${"time".padStart(5)}  steps`);
    // machines mode: the head's journal and access log outlive a run (its daemons are not the run's), so only
    // what follows this point counts; the second before it too, as journalctl's --since has whole seconds
    // Two head nodes (lab.machines.mirrors): every PXE machine's journal and access log, as one text each.
    const pxeSources = c.machines ? [c.machines, ...(c.machines.mirrors ?? [])].map((x) => {
      const m = ml!.machine(x.pxeMachine);
      const log = path.join(m.root, x.accessLog);
      return { machine: m, unit: x.dnsmasqUnit, accessLog: log, accessFrom: readText(log).length, journal: "" };
    }) : [];
    const logsFrom = { at: Math.floor(Date.now() / 1000) - 1 };
    // --poweroff MACHINE@start: the machine is off before any node boots (a head node lost: its mirror serves)
    const startFault: Fault[] = [];
    if (ml && o.poweroff && o.poweroffAt === "start") {
      console.log(`lab: FAULT: powering machine ${o.poweroff} off before the nodes boot`);
      await ml.powerOff(o.poweroff);
      console.log(`lab: machine ${o.poweroff} is off`);
      startFault.push({ action: "poweroff", machine: o.poweroff, afterS: 0, node: "(before the boot)" });
    }
    for (const r of runs) {
      fs.writeFileSync(r.console, "");
      r.proc = procs.start(`qemu ${r.node.name}`, qemuArgv(r, out, c.nodeMemoryMb, c.reboot.includes(r.node.group)), path.join(out, `${r.node.name}.qemu.log`));
      r.started = Date.now();
    }
    const accessText = () => (pxeSources.length ? pxeSources.map((x) => readText(x.accessLog).slice(x.accessFrom)).join("") : accessLog ? readText(accessLog) : "");
    // machines mode: dnsmasq logs to the PXE machine's journal; read (and kept in dnsmasq.log) every 2 s
    let journal = "";
    let journalAt = 0;
    const dnsText = () => {
      if (!pxeMachine) return readText(dnsLog);
      // faster while a --restart-dnsmasq waits for the first DHCP request, so it lands inside the exchange
      if (Date.now() - journalAt > (o.restartDnsmasq && !faults.length ? 250 : 2000)) {
        journalAt = Date.now();
        // a machine powered off keeps the journal last read from it
        for (const x of pxeSources) if (x.machine.alive()) x.journal = x.machine.exec(`journalctl -u ${x.unit} --since @${logsFrom.at} -o short --no-pager`, true).out;
        journal = pxeSources.map((x) => x.journal).join("");
        fs.writeFileSync(dnsLog, journal);
      }
      return journal;
    };
    const sshWhere = (argv: string[]) => (ml ? argv : procs.inNs(argv));
    // Daemons are watched while the nodes boot: one that dies is reported where the nodes are (live, in the
    // final table and in result.json), whether or not the nodes survive it (a replica 3 volume should).
    const daemons = procs.procs.filter((p) => !p.exited && !runs.some((r) => r.proc === p));
    const daemonExits: DaemonExit[] = [];
    const bootStart = Date.now();
    const watchDaemons = () => {
      for (const d of daemons) {
        if (!d.exited || daemonExits.some((x) => x.pid === d.pid)) continue;
        const e = { daemon: d.name, pid: d.pid, exitCode: d.exitCode, afterS: Number(((Date.now() - bootStart) / 1000).toFixed(1)) };
        daemonExits.push(e);
        console.log(`lab: DAEMON EXITED: ${e.daemon} (pid ${e.pid}, exit ${e.exitCode ?? "by signal"}) ${e.afterS} s into the boot`);
      }
    };
    // --poweroff: one machine goes down while the nodes boot (once the first asks for its kernel: the
    // initramfs then mounts the volume with that machine's brick gone or going)
    // --restart-dnsmasq: the head's dnsmasq unit restarted as soon as its journal shows a node's first DHCP
    // request (the exchange then finishes, or is retried, against the new process; the initramfs asks again later)
    const faults: Fault[] = startFault;
    const fault = (dns: string) => {
      if (!ml || faults.length) return;
      const afterS = () => Number(((Date.now() - bootStart) / 1000).toFixed(1));
      if (o.poweroff) {
        const r = runs.find((x) => STEPS.indexOf(x.obs.step) >= STEPS.indexOf("kernel"));
        if (!r) return;
        const f: Fault = { action: "poweroff", machine: o.poweroff, afterS: afterS(), node: r.node.name };
        faults.push(f);
        console.log(`lab: FAULT: powering machine ${f.machine} off (${r.node.name} is at ${r.obs.step}, ${f.afterS} s into the boot)`);
        void ml.powerOff(f.machine).then(() => console.log(`lab: machine ${f.machine} is off`));
      } else if (o.restartDnsmasq && pxeMachine) {
        const r = runs.find((x) => new RegExp(`DHCPDISCOVER\\([^)]*\\) ${x.node.mac}`, "i").test(dns));
        if (!r) return;
        const unit = c.machines!.dnsmasqUnit;
        const pid = () => pxeMachine.exec(`systemctl show -p MainPID --value ${unit}`, true).out.trim();
        const before = pid();
        const f: Fault = { action: "restart", machine: c.machines!.pxeMachine, unit, afterS: afterS(), node: r.node.name };
        faults.push(f);
        console.log(`lab: FAULT: restarting ${unit} on ${f.machine} (${r.node.name} sent its first DHCP request, ${f.afterS} s into the boot)`);
        const res = pxeMachine.exec(`systemctl restart ${unit}`, true);
        f.pids = [before, pid()];
        console.log(`lab: ${unit} ${res.code === 0 ? `restarted (pid ${f.pids[0]} -> ${f.pids[1]})` : `restart FAILED (exit ${res.code}): ${res.out.trim()}`}`);
      }
    };
    while (runs.some((r) => !r.done) && !interrupted) {
      watchDaemons();
      const dns = dnsText();
      fault(dns);
      const acc = accessText();
      for (const r of runs.filter((x) => !x.done && x.phase !== "checking")) {
        const text = readText(r.console);
        r.obs = observe(r.node, { console: text.slice(r.consoleFrom), dnsmasq: dns, access: acc }, c.upMarker);
        const elapsedS = (Date.now() - (r.rebootedAt ?? r.started!)) / 1000;
        const checks = c.checks.filter((ch) => ch.groups.includes(r.node.group));
        if (r.obs.step === "up" && !r.obs.failure && r.phase === "rebooting") {
          r.rebootUpAfterS = elapsedS;
          if (!r.node.hostKey) r.done = true;
          else {
            // a stateless node keeps its identity: the overlay gives it the same key on every boot
            r.phase = "checking";
            void checkHostKey(sshWhere, r, "the host key is the same after the reboot (ssh-keyscan)").then(async (failed) => {
              if (failed) [r.failedAt, r.failure] = ["up", failed];
              [r.done, r.endedAt] = [true, Date.now()];
              await procs.stop(r.proc!, 2000);
            });
          }
        } else if (r.obs.step === "up" && !r.obs.failure && (checks.length || c.reboot.includes(r.node.group) || r.node.hostKey)) {
          r.upAfterS = elapsedS;
          r.phase = "checking";
          void (async () => {
            const failed = await runChecks(sshWhere, c.ssh!, r, checks, knownHosts);
            if (failed) {
              [r.failedAt, r.failure, r.done, r.endedAt] = ["up", failed, true, Date.now()];
              await procs.stop(r.proc!, 2000);
            } else if (c.reboot.includes(r.node.group)) {
              // the next boot is judged on the console text that follows
              r.consoleFrom = readText(r.console).length;
              r.rebootedAt = Date.now();
              r.phase = "rebooting";
              console.log(`lab: ${r.node.name}: rebooting it from inside (systemctl reboot)`);
              await sshRun(sshWhere, c.ssh!, r.node.ip, "systemctl reboot", 20_000, knownHosts);
            } else {
              [r.done, r.endedAt] = [true, Date.now()];
              await procs.stop(r.proc!, 2000);
            }
          })();
        } else if (r.obs.step === "up" && !r.obs.failure) {
          r.upAfterS = elapsedS;
          r.done = true;
        } else if (r.obs.failure) {
          [r.failedAt, r.failure, r.done] = [r.obs.step === "up" ? "image" : r.obs.step, r.obs.failure, true];
        } else if (r.proc!.exited) {
          [r.failedAt, r.failure, r.done] = [r.obs.step, `the VM stopped (qemu exit ${r.proc!.exitCode})${tail(path.join(out, `${r.node.name}.qemu.log`), 3).split("\n").slice(2).join(" ")}`, true];
        } else if (elapsedS > o.timeoutS) {
          [r.failedAt, r.failure, r.done] = [r.obs.step, `timed out after ${o.timeoutS} s${r.obs.step === "DHCP" ? " (no DHCP answer: is the MAC in a NodeGroup, is dnsmasq serving the bridge?)" : ""}`, true];
        }
        if (r.done) {
          r.endedAt = Date.now();
          // An image that is up powers itself off; give it a moment, then stop the VM by its pid.
          const p = r.proc!;
          void (async () => {
            const until = Date.now() + (r.failedAt ? 0 : 5000);
            while (!p.exited && Date.now() < until) await sleep(100);
            await procs.stop(p, 2000);
          })();
        }
      }
      disp.show(runs);
      if (runs.some((r) => !r.done)) await sleep(250);
    }
    if (interrupted) return signalExit(interrupted);
    watchDaemons();
    for (const r of runs) if (r.proc) await procs.stop(r.proc, 3000);

    // --- report
    for (const r of runs.filter((x) => x.failedAt)) {
      console.log(`\n${r.node.name}: failed at ${r.failedAt}: ${r.failure}\n--- last console lines (${r.console})`);
      console.log(lastLines(readText(r.console), 15).map((l) => `  ${l}`).join("\n") || "  (the console is empty)");
    }
    const rows = runs.map((r) => ({
      node: r.node.name, group: r.node.group, firmware: r.node.firmware, ip: r.obs.leasedIp ?? r.node.ip,
      secondsToUp: r.upAfterS === undefined ? null : Number(r.upAfterS.toFixed(1)),
      result: r.failedAt ? `failed at ${r.failedAt}: ${r.failure!.split("\n")[0]}` : "up",
      marker: r.obs.marker ?? null, console: r.console,
      checks: r.checks, secondsToUpAfterReboot: r.rebootUpAfterS === undefined ? null : Number(r.rebootUpAfterS.toFixed(1)),
    }));
    fs.writeFileSync(path.join(out, "result.json"), JSON.stringify({ example: o.example, nodes: rows, daemonsExited: daemonExits, faults }, null, 2) + "\n");
    console.log("\n" + table(rows));
    for (const e of daemonExits) console.log(`daemon exited during the run: ${e.daemon} (pid ${e.pid}, exit ${e.exitCode ?? "by signal"}) after ${e.afterS} s`);
    return rows.every((r) => r.result === "up") ? EXIT.up : EXIT.nodeFailed;
  } finally {
    await cleanup();
    if (!interrupted) {
      if (ml) console.log(`lab: stopped every VM; the lab machines run on (stop them with --down); console logs in ${out}`);
      else console.log(`lab: stopped every VM and daemon, removed namespace and run files; console logs in ${out}`);
      if (o.destroy) {
        console.log(`lab: pulumi destroy in ${o.example}`);
        pulumi(o, ["destroy", "--yes", "--skip-preview"], { show: true });
      }
    }
  }
}

function qemuArgv(r: NodeRun, out: string, memoryMb: number, mayReboot: boolean): string[] {
  const fw: string[] = [];
  if (r.node.firmware === "efi-x86_64") {
    const vars = path.join(out, "OVMF_VARS", `${r.node.name}.fd`);
    fs.mkdirSync(path.dirname(vars), { recursive: true });
    fs.copyFileSync(OVMF_VARS, vars);
    fw.push("-M", "q35", "-drive", `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, "-drive", `if=pflash,format=raw,file=${vars}`);
  } else {
    // graphics=off: SeaBIOS mirrors the screen (and so iPXE's messages) to the serial console
    fw.push("-M", "pc,graphics=off");
  }
  return ["qemu-system-x86_64", "-name", r.node.name, ...fw, "-m", String(memoryMb), "-smp", "1", "-accel", "tcg",
    // -no-reboot: a node that reboots stops the VM (judged as stopped), unless the lab reboots it on purpose
    "-display", "none", "-monitor", "none", ...(mayReboot ? [] : ["-no-reboot"]), "-serial", `file:${r.console}`,
    "-netdev", `tap,id=n0,ifname=${r.tap},script=no,downscript=no`,
    // QEMU's default ROM for virtio-net-pci is ipxe-qemu's efi-virtio.rom (BIOS and UEFI iPXE in one file).
    // Naming it with romfile= makes SeaBIOS skip it ("No bootable device"), so it is left to the default.
    "-device", `virtio-net-pci,netdev=n0,mac=${r.node.mac}`, "-boot", "n"];
}

export function table(rows: { node: string; group: string; ip: string; secondsToUp: number | null; result: string }[]): string {
  const head = ["node", "group", "IP", "seconds to up", "result"];
  const body = rows.map((r) => [r.node, r.group, r.ip, r.secondsToUp === null ? "-" : r.secondsToUp.toFixed(1), r.result]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((x, i) => (i === cells.length - 1 ? x : x.padEnd(w[i]))).join("  ");
  return [line(head), line(w.map((n) => "-".repeat(n))), ...body.map(line)].join("\n");
}

if (require.main === module) {
  main().then(
    (code) => process.exit(interrupted ? signalExit(interrupted) : code),
    (e) => {
      if (!interrupted) console.error(`lab: set-up failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(interrupted ? signalExit(interrupted) : EXIT.setupFailed);
    },
  );
}
