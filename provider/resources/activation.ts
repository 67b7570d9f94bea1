/**
 * systemd activation of the daemons a FileSet configures (docs/pxe.md, "systemd activation").
 *
 * The plan is pure: from what the apply changed and what `systemctl` reports about the unit, it returns the
 * `systemctl` commands to run, in order. `activate`/`deactivate` only ask the host and run the plan through its
 * transport (local or SSH). The consumer's check of the whole configuration has already passed by then
 * (lifecycle.ts), so a plan never starts or reloads a daemon on a configuration its own check refused.
 *
 * Two kinds of unit (schema `Activation`):
 * - `own`: netboot's own unit, such as the template instance `dnsmasq@netboot-pxe`. `up` enables and starts it;
 *   starting reads the new files, so a unit that was not running is never restarted as well. `destroy` stops and
 *   disables it before its files are removed (its ExecStop may still read them).
 * - `shared`: the distribution's unit, which other sites may use (nginx). `up` enables and starts it only when it
 *   is not, and records that in state (FileSet `started`); `destroy` reloads it when it is running, and stops and
 *   disables it only when this set started it and no other netboot file is left for it.
 * Without an activation the unit is only reloaded or restarted when its files change (the behaviour before
 * activations existed); it is never started.
 *
 * Retry rules: every command is idempotent (`enable --now` of an enabled, running unit does nothing), and the
 * state is asked again on every apply, so a rerun after a failure converges. A failing command stops the apply
 * with the unit, the command and systemctl's message.
 */
import { Activation } from "../schema-enums";
import { Transport, TransportError } from "../transport";

/** What systemctl says about a unit (`is-enabled`, `is-active`). */
export interface UnitState {
  enabled: boolean;
  active: boolean;
}

export interface ApplyActivation {
  unit: string;
  activation?: Activation;
  /** restart instead of reload (dnsmasq rereads its main config only when it starts) */
  restart: boolean;
  /** the unit's files changed in a way the running daemon must hear about */
  needed: boolean;
  /** unit files of this set (below /etc/systemd/system) were written or removed: systemd must reread them */
  unitFilesChanged: boolean;
  state: UnitState;
}

export interface ActivationPlan {
  commands: string[][];
  /** this apply enabled or started the unit (a shared unit is recorded so destroy may stop it again) */
  started: boolean;
}

const ctl = (...args: string[]) => ["systemctl", ...args];

/** The commands one apply runs for one unit. Pure. */
export function applyPlan(a: ApplyActivation): ActivationPlan {
  const commands: string[][] = [];
  if (a.unitFilesChanged) commands.push(ctl("daemon-reload"));
  const tell = a.restart ? ctl("restart", a.unit) : ctl("reload-or-restart", a.unit);
  if (!a.activation) {
    if (a.needed) commands.push(tell);
    return { commands, started: false };
  }
  if (!a.state.active) {
    // Starting reads the files as they are now: no reload on top.
    commands.push(ctl("enable", "--now", a.unit));
    return { commands, started: true };
  }
  if (!a.state.enabled) commands.push(ctl("enable", a.unit));
  if (a.needed) commands.push(tell);
  return { commands, started: !a.state.enabled };
}

export interface DestroyActivation {
  unit: string;
  activation?: Activation;
  restart: boolean;
  /** an apply of this set enabled or started the unit (FileSet `started`) */
  startedByNetboot: boolean;
  /** other netboot files are left for the unit (another PxeServer's server block in nginx's conf.d) */
  othersLeft: boolean;
  /** files of this set were removed */
  removedAny: boolean;
  unitFilesRemoved: boolean;
}

/** The commands a destroy runs, before and after the files are removed. Pure. */
export function destroyPlan(d: DestroyActivation): { before: string[][]; after: string[][] } {
  const before: string[][] = [];
  const after: string[][] = [];
  switch (d.activation) {
    case "own":
      before.push(ctl("disable", "--now", d.unit));
      break;
    case "shared":
      if (d.startedByNetboot && !d.othersLeft) after.push(ctl("disable", "--now", d.unit));
      // A stopped daemon is left stopped: try-... does nothing to a unit that is not running.
      else if (d.removedAny) after.push(ctl(d.restart ? "try-restart" : "try-reload-or-restart", d.unit));
      break;
    case undefined:
      if (d.removedAny) after.push(d.restart ? ctl("restart", d.unit) : ctl("reload-or-restart", d.unit));
      break;
    default: {
      const never: never = d.activation;
      throw new Error(`unknown activation ${never}`);
    }
  }
  if (d.unitFilesRemoved) after.push(ctl("daemon-reload"));
  return { before, after };
}

/** Asks the host's systemd about a unit. `is-enabled`/`is-active` exit non-zero for "no": that is an answer. */
export async function unitState(t: Transport, unit: string): Promise<UnitState> {
  const enabled = await t.exec(ctl("is-enabled", "--quiet", unit));
  const active = await t.exec(ctl("is-active", "--quiet", unit));
  return { enabled: enabled.code === 0, active: active.code === 0 };
}

/** Runs commands in order; the first failure stops with the unit, the command and what systemctl said. */
export async function runPlan(t: Transport, unit: string, commands: string[][]): Promise<void> {
  for (const c of commands) {
    const r = await t.exec(c);
    if (r.code !== 0) {
      // `systemctl` names the failed job; the unit's own log says why.
      const status = await t.exec(["journalctl", "--no-pager", "-n", "20", "-u", unit]);
      throw new TransportError(t.description, `systemctl ${c.slice(1).filter((a) => a !== unit).join(" ")}`, unit, `${(r.stderr + r.stdout).trim()}${status.code === 0 ? `\n${status.stdout.trim()}` : ""}`);
    }
  }
}

/** One line for `lastApply.signalled`: what was run, or that nothing was needed. */
export function describePlan(commands: string[][]): string {
  return commands.length ? commands.map((c) => c.join(" ")).join("; ") : "not needed";
}

/**
 * One apply at a time per host and shared unit (the provider context holds one). Two PxeServers' nginx blocks go
 * to one nginx: if their applies overlapped, one server's `nginx -t` could pass on the other's unchecked block,
 * and a reload (Debian's nginx reload is a signal, which nginx answers by keeping its old configuration when the
 * new one is bad) would report success without loading anything. Another stack's provider on the same host is
 * not covered: it is another process.
 */
export class UnitQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = next.then(() => undefined, () => undefined);
    this.tails.set(key, tail);
    // Forget a key once nothing waits behind it, so the map does not grow with every host and unit seen.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
