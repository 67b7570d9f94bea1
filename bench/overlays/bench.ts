/**
 * Benchmark (issue 13): what overlays cost. 10,000 nodes in 50 groups on one PXE server (a local target
 * folder, the real engine), the same stack twice:
 *   plain:    NodeGroups without overlays
 *   overlays: every group with `overlay: { hostKeys: true }` (the built-in hostname and /etc/hosts on), so every
 *             node gets an archive with its hostname, /etc/hosts and its own ed25519 host key (kept in state)
 * Phases: up from empty; one node changed (plain: its kernel arguments; overlays: one file of its own overlay);
 * a preview with no change. Wall clock and CPU seconds (this process and its children: engine, provider,
 * language host), as bench/pxe does. Aim: overlays cost at most 1.5x.
 *
 *   npm run bench:overlays -- [--nodes 10000] [--groups 50]
 */
import { execSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, ProjectSettings } from "@pulumi/pulumi/automation";
import * as netboot from "../../sdk/nodejs";
import { numberFlag, parseCli } from "../../scripts/_cli";

const REPO = path.resolve(__dirname, "../..");
const USAGE = "usage: npm run bench:overlays -- [--nodes 10000] [--groups 50]";
const { values: flags } = parseCli("bench:overlays", USAGE, { options: { nodes: { type: "string" }, groups: { type: "string" } } });
const NODES = numberFlag("bench:overlays", USAGE, "nodes", flags.nodes, 10000, 1);
const GROUPS = numberFlag("bench:overlays", USAGE, "groups", flags.groups, 50, 1);
const PER = Math.floor(NODES / GROUPS);
const CHANGED = Math.floor(NODES / 2) + 7;

const mac = (i: number) => `52:54:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, "0")).join(":")}`;
const ip = (i: number) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

function nodesOf(g: number, changed: boolean, overlays: boolean) {
  return Array.from({ length: PER }, (_, k) => {
    const i = g * PER + k + 1;
    const hit = changed && i === CHANGED;
    return {
      name: `n${String(i).padStart(5, "0")}`,
      macs: [mac(i)],
      ip: ip(i + 256),
      ...(!overlays && hit ? { kernelArgs: "nb.debug=1" } : {}),
      ...(overlays && hit ? { overlay: { files: [{ path: "/etc/motd", content: "changed\n" }] } } : {}),
    };
  });
}

const walk = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)])) : []);
const mtimes = (root: string) => new Map(walk(root).map((f) => [f, fs.statSync(f).mtimeMs]));

const CLK_TCK = Number(execSync("getconf CLK_TCK", { encoding: "utf8" }).trim());
function cpuSeconds(): number {
  const stat = fs.readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return [11, 12, 13, 14].reduce((a, i) => a + Number(f[i]), 0) / CLK_TCK;
}
async function timed(f: () => Promise<unknown>): Promise<{ s: number; cpu: number }> {
  const t0 = Date.now();
  const c0 = cpuSeconds();
  await f();
  return { s: (Date.now() - t0) / 1000, cpu: Number((cpuSeconds() - c0).toFixed(1)) };
}

async function run(overlays: boolean) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `netboot-bench-ov-${overlays}-`));
  fs.mkdirSync(path.join(dir, "state"));
  const root = path.join(dir, "target");
  fs.mkdirSync(root, { mode: 0o755 });
  let changed = false;
  const name = overlays ? "overlays" : "plain";
  const stack = await LocalWorkspace.createOrSelectStack(
    {
      stackName: "bench",
      projectName: `bench-ov-${name}`,
      program: async () => {
        const pxe = new netboot.PxeServer("pxe", { host: { root }, interface: "nbb0", subnet: "10.96.0.0/11", serverIp: "10.96.0.1", dhcpMode: "static" });
        const boot = { kernelUrl: "http://10.96.0.1/images/vmlinuz", initrdUrl: "http://10.96.0.1/images/initrd.img" };
        for (let g = 0; g < GROUPS; g++)
          new netboot.NodeGroup(`g${g}`, { server: pxe.info, nodes: nodesOf(g, changed, overlays), boot, ...(overlays ? { overlay: { hostKeys: true } } : {}) });
      },
    },
    {
      workDir: dir,
      envVars: {
        PULUMI_BACKEND_URL: `file://${dir}/state`, PULUMI_CONFIG_PASSPHRASE: "bench", PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PULUMI_HOME: path.join(dir, "home"), PULUMI_SKIP_CHECKPOINTS: "true",
      },
      projectSettings: { name: `bench-ov-${name}`, runtime: "nodejs", plugins: { providers: [{ name: "netboot", path: path.join(REPO, "bin") }] } } as unknown as ProjectSettings,
    },
  );
  console.error(`[bench] ${name}: up from empty (${PER * GROUPS} nodes, ${GROUPS} groups)`);
  const load0 = os.loadavg()[0].toFixed(1);
  const upEmpty = await timed(() => stack.up());
  const files = walk(root).length;
  const before = mtimes(root);
  changed = true;
  console.error(`[bench] ${name}: one node changed`);
  const upOne = await timed(() => stack.up());
  const after = mtimes(root);
  let rewritten = 0;
  for (const [f, t] of after) if (before.get(f) !== t) rewritten++;
  const preview = await timed(() => stack.preview());
  const state = Buffer.byteLength(JSON.stringify((await stack.exportStack()).deployment));
  await stack.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
  return { upEmpty, upOne, preview, files, rewritten, stateBytes: state, loadAverage: [load0, os.loadavg()[0].toFixed(1)] };
}

async function main() {
  process.env.PATH = `${execSync(`bash ${REPO}/scripts/toolchain.sh`, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").pop()}:${process.env.PATH}`;
  const plain = await run(false);
  console.error(`[bench] plain: ${JSON.stringify(plain)}`);
  const ov = await run(true);
  console.error(`[bench] overlays: ${JSON.stringify(ov)}`);
  const r = (a: number, b: number) => (a / b).toFixed(2);
  const row = (label: string, a: { s: number; cpu: number }, b: { s: number; cpu: number }) =>
    `| ${label} | ${a.s.toFixed(1)} s (${a.cpu} CPU s) | ${b.s.toFixed(1)} s (${b.cpu} CPU s) | ${r(b.s, a.s)} (CPU ${r(b.cpu, a.cpu)}) |`;
  console.log(`${PER * GROUPS} nodes / ${GROUPS} groups\n\n| | plain | overlays | overlays / plain |\n| --- | --- | --- | --- |`);
  console.log(row("up from empty", plain.upEmpty, ov.upEmpty));
  console.log(row("one node changed", plain.upOne, ov.upOne));
  console.log(row("no-change preview", plain.preview, ov.preview));
  console.log(`| files | ${plain.files} | ${ov.files} | |\n| files rewritten by the change | ${plain.rewritten} | ${ov.rewritten} | |`);
  console.log(`| state | ${(plain.stateBytes / 1e6).toFixed(2)} MB | ${(ov.stateBytes / 1e6).toFixed(2)} MB | ${r(ov.stateBytes, plain.stateBytes)} |`);
  console.log(`| load average (start, end) | ${plain.loadAverage.join(", ")} | ${ov.loadAverage.join(", ")} | |`);
  fs.mkdirSync(path.join(REPO, "bench/out"), { recursive: true });
  fs.writeFileSync(path.join(REPO, "bench/out/overlays.json"), JSON.stringify({ nodes: PER * GROUPS, groups: GROUPS, plain, overlays: ov }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
