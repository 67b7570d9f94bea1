/**
 * A private boot lab for BootImage tests: a network namespace (name starts with `nbi`) holding a bridge with
 * 10.89.N.1/24, a tap for QEMU, dnsmasq as DHCP server, and whatever servers a test starts in it (a
 * standalone glusterfsd brick, busybox httpd). QEMU runs inside the namespace under TCG (never KVM) with the
 * serial console in a log file. Every process is started here and stopped by its pid in `close()`.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { requireRoot, requireTool, sh, tmpDir } from "./env";

export interface Lab {
  ns: string;
  dir: string;
  /** 10.89.N.1: the servers' address */
  serverIp: string;
  /** runs a long-lived process inside the namespace and remembers its pid */
  start(name: string, argv: string[]): ChildProcess;
  /** boots QEMU until `until` appears in the console log (or the VM stops / times out); returns the log */
  boot(opts: { kernel: string; initrd: string; append: string; mac: string; until: RegExp; timeoutMs?: number; name: string }): Promise<string>;
  close(): Promise<void>;
}

export function createLab(subnet: number): Lab {
  requireRoot("the boot lab");
  for (const t of ["ip", "dnsmasq", "qemu-system-x86_64"]) requireTool(t);
  const ns = `nbi${process.pid % 100000}s${subnet}`;
  const dir = tmpDir(`bootlab-${subnet}`);
  const ip = `10.89.${subnet}`;
  const procs: { name: string; child: ChildProcess }[] = [];
  sh(`ip netns del ${ns} 2>/dev/null; ip netns add ${ns}`, { allowFail: false });
  sh([
    `ip -n ${ns} link set lo up`,
    `ip -n ${ns} link add br0 type bridge`,
    `ip -n ${ns} addr add ${ip}.1/24 dev br0`,
    `ip -n ${ns} link set br0 up`,
    `ip -n ${ns} tuntap add dev tap0 mode tap`,
    `ip -n ${ns} link set tap0 master br0`,
    `ip -n ${ns} link set tap0 up`,
  ].join(" && "));

  const start = (name: string, argv: string[]): ChildProcess => {
    const log = fs.openSync(path.join(dir, `${name}.log`), "a");
    const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", log, log] });
    procs.push({ name, child });
    return child;
  };
  start("dnsmasq", ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--interface=br0", "--bind-interfaces",
    `--dhcp-range=${ip}.50,${ip}.99,255.255.255.0,1h`, `--dhcp-leasefile=${path.join(dir, "leases")}`, `--pid-file=${path.join(dir, "dnsmasq.pid")}`, "--log-dhcp"]);

  return {
    ns, dir, serverIp: `${ip}.1`, start,
    async boot(o) {
      const log = path.join(dir, `${o.name}.console.log`);
      fs.writeFileSync(log, "");
      const child = start(`qemu-${o.name}`, ["qemu-system-x86_64", "-M", "pc", "-m", "512", "-smp", "1", "-accel", "tcg",
        "-display", "none", "-monitor", "none", "-no-reboot", "-serial", `file:${log}`,
        "-kernel", o.kernel, "-initrd", o.initrd, "-append", o.append,
        "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no", "-device", `virtio-net-pci,netdev=n0,mac=${o.mac}`]);
      const deadline = Date.now() + (o.timeoutMs ?? 180_000);
      let exited = false;
      child.on("exit", () => (exited = true));
      for (;;) {
        const text = fs.readFileSync(log, "utf8");
        if (o.until.test(text) || exited || Date.now() > deadline) {
          if (!exited) {
            child.kill("SIGTERM");
            await new Promise((r) => setTimeout(r, 500));
          }
          return fs.readFileSync(log, "utf8");
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    async close() {
      for (const { child } of procs.reverse()) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          await new Promise((r) => setTimeout(r, 200));
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        }
      }
      sh(`ip netns del ${ns}`, { allowFail: true });
    },
  };
}
