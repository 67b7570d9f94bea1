/**
 * Network namespaces for tests: made and removed by the test, addresses only inside them.
 * Processes are started in a namespace and ended by their own pid.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { requireRoot, requireTool, sh } from "./env";

export class Lab {
  readonly namespaces: string[] = [];
  readonly procs: ChildProcess[] = [];
  constructor(readonly prefix: string) {
    requireRoot("network namespace tests");
    requireTool("ip");
  }

  ns(name: string): string {
    const n = `${this.prefix}${name}`;
    sh(`ip netns del ${n} 2>/dev/null; ip netns add ${n} && ip -n ${n} link set lo up`);
    this.namespaces.push(n);
    return n;
  }

  /** A veth pair between two namespaces; addresses are optional CIDRs. */
  link(a: string, aIf: string, aAddr: string | undefined, b: string, bIf: string, bAddr: string | undefined): void {
    sh(`ip link add ${aIf} netns ${a} type veth peer name ${bIf} netns ${b}`);
    for (const [ns, ifc, addr] of [[a, aIf, aAddr], [b, bIf, bAddr]] as const) {
      if (addr) sh(`ip -n ${ns} addr add ${addr} dev ${ifc}`);
      sh(`ip -n ${ns} link set ${ifc} up`);
    }
  }

  /** A bridge in namespace `ns` with one veth leg per (namespace, interface, address). */
  bridge(ns: string, legs: [string, string, string | undefined][]): void {
    sh(`ip -n ${ns} link add br0 type bridge && ip -n ${ns} link set br0 up`);
    legs.forEach(([other, ifc, addr], i) => {
      sh(`ip link add p${i} netns ${ns} type veth peer name ${ifc} netns ${other}`);
      sh(`ip -n ${ns} link set p${i} master br0 && ip -n ${ns} link set p${i} up`);
      if (addr) sh(`ip -n ${other} addr add ${addr} dev ${ifc}`);
      sh(`ip -n ${other} link set ${ifc} up`);
    });
  }

  /** Starts a long-running process in a namespace; its output goes to `log`. */
  start(ns: string, argv: string[], log: string): ChildProcess {
    const fd = fs.openSync(log, "a");
    const p = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    this.procs.push(p);
    return p;
  }

  run(ns: string, cmd: string, allowFail = false) {
    return sh(`ip netns exec ${ns} ${cmd}`, { allowFail });
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null && p.pid) {
        try {
          process.kill(p.pid, "SIGTERM");
        } catch {
          /* already gone */
        }
        await new Promise((r) => {
          const t = setTimeout(r, 3000);
          p.once("exit", () => {
            clearTimeout(t);
            r(undefined);
          });
        });
        if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
      }
    }
    for (const n of this.namespaces.reverse()) sh(`ip netns del ${n}`, { allowFail: true });
  }
}

