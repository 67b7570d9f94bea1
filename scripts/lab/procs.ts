/**
 * The lab's I/O shell: its network namespace and every process it starts. Each process is started by the
 * lab and stopped by its pid (TERM, then KILL after a grace period); nothing is ever matched by name.
 * A ledger (`lab.json` in the lab folder) records the namespace and each pid with its command line, so a
 * lab that was killed hard (SIGKILL) is cleaned up by the next run: a recorded pid is only ended when /proc
 * still shows the recorded start time for it (the same process, not a reused pid).
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export { pidAlive, sleep } from "../../provider/util/wait";
import { pidAlive, sleep } from "../../provider/util/wait";

export function run(argv: string[], opts: { allowFail?: boolean; input?: string; timeoutMs?: number } = {}): { code: number; out: string } {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", input: opts.input, timeout: opts.timeoutMs ?? 60_000 });
  const code = r.status ?? 1;
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`;
  if (code !== 0 && !opts.allowFail) throw new Error(`command failed (${code}): ${argv.join(" ")}\n${out.trim()}`);
  return { code, out };
}


function cmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return undefined;
  }
}

/** The kernel's start time of a pid (clock ticks since boot): with the pid, it names one process for good. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export interface Proc {
  name: string;
  pid: number;
  argv: string[];
  child?: ChildProcess;
  exited: boolean;
  exitCode: number | null;
}

interface Ledger {
  owner?: number;
  ownerCmdline?: string;
  ownerStarted?: string;
  ns?: string;
  procs: { name: string; pid: number; cmdline: string; started?: string }[];
  /** what the lab must undo in the target root (TargetGuard state) */
  target?: unknown;
}

export class Procs {
  readonly procs: Proc[] = [];
  ns?: string;
  /** the namespace is the machines' (machines mode): used, never recorded or deleted */
  private borrowed = false;
  /** returns what to record for undoing changes in the target root (saved with the ledger) */
  targetState?: () => unknown;
  constructor(readonly dir: string) {}

  private get ledgerPath(): string {
    return path.join(this.dir, "lab.json");
  }

  private save(): void {
    const l: Ledger = { owner: process.pid, ownerCmdline: cmdline(process.pid), ownerStarted: startTime(process.pid), ns: this.borrowed ? undefined : this.ns, procs: this.procs.filter((p) => !p.exited).map((p) => ({ name: p.name, pid: p.pid, cmdline: p.argv.join(" "), started: startTime(p.pid) })), target: this.targetState?.() };
    fs.writeFileSync(this.ledgerPath, JSON.stringify(l, null, 2) + "\n");
  }

  /**
   * Cleans what a previous lab in this folder left when it was killed hard: its processes (same pid and start
   * time), its namespace, and (through `undoTarget`) the files its
   * daemons made in the target root. Returns what it did.
   */
  async reclaim(undoTarget: (state: unknown) => string[] = () => []): Promise<string[]> {
    if (!fs.existsSync(this.ledgerPath)) return [];
    const done: string[] = [];
    let l: Ledger;
    try {
      l = JSON.parse(fs.readFileSync(this.ledgerPath, "utf8"));
    } catch {
      return [];
    }
    if (l.owner && l.owner !== process.pid && pidAlive(l.owner) && cmdline(l.owner) === l.ownerCmdline && startTime(l.owner) === l.ownerStarted)
      throw new Error(`another lab (pid ${l.owner}) is running with the folder ${this.dir}; stop it first or use --out`);
    for (const p of (l.procs ?? []).reverse()) {
      // the same process: same pid and same start time (nginx rewrites its command line, so that is no proof)
      if (pidAlive(p.pid) && p.started && startTime(p.pid) === p.started) {
        await stopPid(p.pid);
        done.push(`stopped ${p.name} (pid ${p.pid}) left by an earlier lab run`);
      }
    }
    if (l.ns && /^nbl[a-z0-9]+$/.test(l.ns) && fs.existsSync(`/run/netns/${l.ns}`)) {
      run(["ip", "netns", "del", l.ns], { allowFail: true });
      done.push(`removed namespace ${l.ns} left by an earlier lab run`);
    }
    if (l.target) for (const p of undoTarget(l.target)) done.push(`removed ${p} left by an earlier lab run`);
    fs.rmSync(this.ledgerPath, { force: true });
    return done;
  }

  /** Creates the namespace (name starts with `nbl`). */
  createNamespace(ns: string): void {
    if (!/^nbl[a-z0-9]{1,12}$/.test(ns)) throw new Error(`bad namespace name ${ns}`);
    if (fs.existsSync(`/run/netns/${ns}`)) throw new Error(`network namespace ${ns} exists already`);
    run(["ip", "netns", "add", ns]);
    this.ns = ns;
    this.save();
    this.ip(["link", "set", "lo", "up"]);
  }

  /** Runs in a namespace that outlives the lab run (the machines' bridge, MachineLab): stopAll leaves it. */
  useNamespace(ns: string): void {
    this.ns = ns;
    this.borrowed = true;
  }

  ip(args: string[]): void {
    run(["ip", "-n", this.ns!, ...args]);
  }

  /** argv run inside the namespace's network only: the lab still sees FUSE mounts made there. */
  inNs(argv: string[]): string[] {
    return ["nsenter", `--net=/run/netns/${this.ns}`, ...argv];
  }

  /**
   * Starts a long-running process in the namespace, output to `log`. nsenter execs the command, so the
   * child's pid is the daemon's. Own process group: Ctrl-C reaches only the lab, which stops things in order.
   */
  start(name: string, argv: string[], log: string): Proc {
    const fd = fs.openSync(log, "a");
    const child = spawn(this.inNs(argv)[0], this.inNs(argv).slice(1), { stdio: ["ignore", fd, fd], detached: true });
    fs.closeSync(fd);
    if (!child.pid) throw new Error(`could not start ${name}: ${argv.join(" ")}`);
    const p: Proc = { name, pid: child.pid, argv, child, exited: false, exitCode: null };
    child.on("exit", (code, sig) => {
      p.exited = true;
      p.exitCode = code ?? (sig ? 128 : null);
    });
    child.on("error", () => (p.exited = true));
    this.procs.push(p);
    this.save();
    return p;
  }

  async stop(p: Proc, graceMs = 3000): Promise<void> {
    if (!p.exited) await stopPid(p.pid, graceMs, () => p.exited);
    p.exited = true;
    this.save();
  }

  /** Stops every process (newest first) and removes the namespace. Idempotent. */
  async stopAll(): Promise<void> {
    for (const p of [...this.procs].reverse()) await this.stop(p);
    if (this.ns && !this.borrowed) {
      run(["ip", "netns", "del", this.ns], { allowFail: true });
      this.ns = undefined;
    }
    fs.rmSync(this.ledgerPath, { force: true });
  }
}

/** TERM, wait up to `graceMs`, then KILL; waits until the pid is gone. */
export async function stopPid(pid: number, graceMs = 3000, gone: () => boolean = () => !pidAlive(pid)): Promise<void> {
  const dead = () => gone() || !pidAlive(pid);
  if (dead()) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until && !dead()) await sleep(50);
  if (!dead()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
    const until2 = Date.now() + 3000;
    while (Date.now() < until2 && !dead()) await sleep(50);
  }
}
