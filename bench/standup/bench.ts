/**
 * Benchmark (issue 14): standing up a whole cluster on running systemd servers, and a one-node change on it.
 *
 *   stand-up     `npm run lab -- examples/cluster-systemd --up` from nothing: five systemd-nspawn machines started
 *                (roots from the cache), `pulumi up` over SSH (the replica-3 glusterd volume, the PxeServer with
 *                systemd activation, the Debian image built or taken from the cache and published onto the
 *                volume through the head), then node1 boots Debian in QEMU (TCG) until it is up. Wall clock, with
 *                the share of `pulumi up` and of the boot.
 *   one node     node2 added to the stack's `nodes`, then `pulumi up`: the new lease reaches the running dnsmasq
 *                through its hostsdir (inotify), so dnsmasq is neither restarted nor told; node2 then boots
 *                (`npm run lab -- --nodes node2`), which proves its lease is served.
 *   instead      what a tool that regenerates the DHCP configuration does instead (Warewulf's `wwctl configure
 *                dhcp` restarts dhcpd): `systemctl restart` of the head's dnsmasq unit, timed until the unit is
 *                active again, and the lease-less window it opens. Side by side with netboot's window (none).
 *
 * Needs root and what the lab needs (docs/lab.md, machines mode). The machines are stopped at the end (`--down`).
 *
 *   npm run bench:standup
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Machine, MachineState } from "../../scripts/lab/machines";

const REPO = path.resolve(__dirname, "../..");
const EXAMPLE = path.join(REPO, "examples/cluster-systemd");
const STACK = `bench-standup-${process.pid}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-bench-standup-"));
const out = path.join(work, "out");
const toolchain = spawnSync("bash", [path.join(REPO, "scripts/toolchain.sh")], { encoding: "utf8" }).stdout.trim().split("\n").pop()!;
const env = {
  ...process.env,
  PATH: `${toolchain}:${path.join(REPO, "bin")}:${process.env.PATH}`,
  PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
  PULUMI_CONFIG_PASSPHRASE: "netboot-bench-only",
  PULUMI_SKIP_UPDATE_CHECK: "true",
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  PULUMI_HOME: path.join(work, "home"),
};
fs.mkdirSync(path.join(work, "state"), { recursive: true });

const now = () => Number(process.hrtime.bigint() / 1_000_000n) / 1000;
function lab(args: string[]): { seconds: number; stdout: string } {
  const t0 = now();
  const r = spawnSync("bash", [path.join(REPO, "scripts/lab.sh"), EXAMPLE, "--stack", STACK, "--out", out, ...args], { env, encoding: "utf8", maxBuffer: 64 << 20 });
  const seconds = now() - t0;
  if (r.status !== 0) throw new Error(`lab ${args.join(" ")} exited ${r.status}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
  return { seconds, stdout: r.stdout };
}
function pulumi(args: string[]): { seconds: number; stdout: string } {
  const t0 = now();
  const r = spawnSync("pulumi", [...args, "--stack", STACK, "--non-interactive", "--color=never"], { cwd: EXAMPLE, env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.status}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
  return { seconds: now() - t0, stdout: r.stdout };
}
const head = () => Machine.fromState((JSON.parse(fs.readFileSync(path.join(out, "machines.json"), "utf8")) as { machines: MachineState[] }).machines.find((m) => m.name === "head")!);
const result = () => JSON.parse(fs.readFileSync(path.join(out, "result.json"), "utf8")) as { nodes: { node: string; result: string; secondsToUp: number | null }[] };
const UNIT = "dnsmasq@netboot-pxe";
const mainPid = () => head().exec(`systemctl show -p MainPID --value ${UNIT}`).out.trim();
const f1 = (n: number) => n.toFixed(1);

let up = false;
try {
  // --- stand-up from nothing
  const stand = lab(["--up", "--timeout", "900"]);
  up = true;
  const d = /Duration: (?:(\d+)m)?(\d+)s/.exec(stand.stdout);
  const pulumiUp = d ? Number(d[1] ?? 0) * 60 + Number(d[2]) : NaN;
  const node1 = result().nodes.find((n) => n.node === "node1")!;
  if (node1.result !== "up") throw new Error(`node1: ${node1.result}`);

  // --- one node added on the running cluster
  const pidBefore = mainPid();
  const nodes = [{ name: "node1", mac: "52:54:00:97:00:11", ip: "10.97.0.11" }, { name: "node2", mac: "52:54:00:97:00:12", ip: "10.97.0.12" }];
  for (const [i, n] of nodes.entries()) {
    pulumi(["config", "set", "--path", `nodes[${i}].name`, n.name]);
    pulumi(["config", "set", "--path", `nodes[${i}].macs[0]`, n.mac]);
    pulumi(["config", "set", "--path", `nodes[${i}].ip`, n.ip]);
  }
  const change = pulumi(["up", "--yes", "--skip-preview"]);
  const pidAfter = mainPid();
  const leases = head().exec("cat /srv/netboot/dhcp-hosts.d/compute").out;
  if (!leases.includes("52:54:00:97:00:12,10.97.0.12,node2")) throw new Error(`node2's lease is not in the hostsdir file:\n${leases}`);
  const boot2 = lab(["--nodes", "node2", "--timeout", "900"]);
  const node2 = result().nodes.find((n) => n.node === "node2")!;
  if (node2.result !== "up") throw new Error(`node2: ${node2.result}`);
  const leasedWithoutRestart = mainPid() === pidBefore && pidAfter === pidBefore;

  // --- instead: a restart of the DHCP server, as tools that regenerate its configuration do
  const restarts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = now();
    head().exec(`systemctl restart ${UNIT} && until systemctl is-active --quiet ${UNIT}; do sleep 0.05; done`);
    restarts.push(now() - t0);
  }
  restarts.sort((a, b) => a - b);
  const restart = restarts[Math.floor(restarts.length / 2)];

  const rows = [
    ["stand-up from nothing (5 machines, pulumi up over SSH, node1 up)", `${f1(stand.seconds)} s`],
    ["  of which pulumi up", `${f1(pulumiUp)} s`],
    ["  of which node1's boot to up (QEMU TCG)", `${f1(node1.secondsToUp ?? NaN)} s`],
    ["one node added: pulumi up", `${f1(change.seconds)} s`],
    ["  dnsmasq restarted or told?", leasedWithoutRestart ? `no (pid ${pidBefore} throughout)` : `YES (pid ${pidBefore} -> ${pidAfter})`],
    ["  node2's boot to up (its lease served)", `${f1(node2.secondsToUp ?? NaN)} s (lab run ${f1(boot2.seconds)} s)`],
    ["instead: dnsmasq restart until active (median of 5)", `${f1(restart * 1000)} ms without DHCP (netboot: 0 ms)`],
    ["one-node change / stand-up", `${(change.seconds / stand.seconds).toFixed(2)}x`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`\nbench:standup (${new Date().toISOString()}, ${os.cpus().length} cores)\n`);
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  if (!leasedWithoutRestart) process.exitCode = 1;
} finally {
  if (up || fs.existsSync(path.join(out, "machines.json"))) {
    try {
      lab(["--down"]);
    } catch (e) {
      console.error(String(e));
      process.exitCode = 1;
    }
  }
  spawnSync("pulumi", ["stack", "rm", "--yes", "--force", "--stack", STACK, "--non-interactive"], { cwd: EXAMPLE, env });
  fs.rmSync(path.join(EXAMPLE, `Pulumi.${STACK}.yaml`), { force: true });
  fs.rmSync(work, { recursive: true, force: true });
}
