/**
 * Benchmark (issues 3 and 16): 10,000 nodes in 50 groups on one PXE server.
 *   netboot:   one PxeServer + 50 NodeGroups (one NodeGroupFiles per group, which carries the node list and
 *              renders the files in the provider: engine work grows with groups, its payload with nodes only)
 *   per-file:  the same files as one netboot:index:File resource per file, the way a plain Pulumi program
 *              (or a Terraform local_file per node) would model it - the peer a user would write instead
 * Both run in this one process on the same machine; times are wall clock, reported with their ratio, and beside
 * each the CPU seconds it took (this process, which runs the inline program, plus the engine, the provider and
 * the language host, which are its children): on a shared machine the wall clock grows with the load, the CPU
 * seconds much less. State size is the exported deployment's JSON. dnsmasq runs on the rendered config in a
 * network namespace so we can see whether its pid changes.
 *
 *   npm run bench:pxe -- [--nodes 10000] [--groups 50] [--cap-minutes 12] [--only-netboot]
 */
import { execSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import * as netboot from "../../sdk/nodejs";
import { numberFlag, parseCli } from "../../scripts/_cli";

const REPO = path.resolve(__dirname, "../..");
const USAGE = "usage: npm run bench:pxe -- [--nodes 10000] [--groups 50] [--cap-minutes 12] [--only-netboot]";
const { values: flags } = parseCli("bench:pxe", USAGE, {
  options: { nodes: { type: "string" }, groups: { type: "string" }, "cap-minutes": { type: "string" }, "only-netboot": { type: "boolean" } },
});
const arg = (k: "nodes" | "groups" | "cap-minutes", d: number) => numberFlag("bench:pxe", USAGE, k, flags[k], d, 1);
const NODES = arg("nodes", 10000);
const GROUPS = arg("groups", 50);
const PER = NODES / GROUPS;
const CHANGED = Math.floor(NODES / 2) + 7; // the one node whose kernel arguments change
const CAP_MIN = arg("cap-minutes", 12); // the per-file peer is stopped after this long

function mac(i: number) {
  return `52:54:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, "0")).join(":")}`;
}
function ip(i: number) {
  return `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${(i & 255) + 0}`;
}
function nodesOf(g: number, changed: boolean) {
  return Array.from({ length: PER }, (_, k) => {
    const i = g * PER + k + 1;
    return { name: `n${String(i).padStart(5, "0")}`, macs: [mac(i)], ip: ip(i + 256), kernelArgs: changed && i === CHANGED ? "nb.debug=1" : undefined };
  });
}

function walk(d: string): string[] {
  return fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)])) : [];
}
function mtimes(root: string): Map<string, number> {
  return new Map(walk(root).map((f) => [f, fs.statSync(f).mtimeMs]));
}
/** The intent journal (provider/resources/journal.ts) is rewritten by every apply on purpose: counted apart. */
const isJournal = (f: string) => f.includes("/var/lib/netboot/journal/");
function rewritten(a: Map<string, number>, b: Map<string, number>, journal = false): number {
  let n = 0;
  for (const [f, t] of b) if (a.get(f) !== t && isJournal(f) === journal) n++;
  return n;
}

async function stack(name: string, program: () => Promise<any>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `netboot-bench-${name}-`));
  fs.mkdirSync(path.join(dir, "state"));
  return LocalWorkspace.createOrSelectStack(
    { stackName: "bench", projectName: `bench-${name}`, program },
    {
      workDir: dir,
      envVars: {
        PULUMI_BACKEND_URL: `file://${dir}/state`,
        PULUMI_CONFIG_PASSPHRASE: "bench",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_HOME: path.join(dir, "home"),
        // the same for both sides: no intermediate state snapshots (they grow with the resource count)
        PULUMI_SKIP_CHECKPOINTS: "true",
      },
      projectSettings: { name: `bench-${name}`, runtime: "nodejs", plugins: { providers: [{ name: "netboot", path: path.join(REPO, "bin") }] } } as any,
    },
  );
}

/** CPU seconds of this process and of its waited-for children (utime, stime, cutime, cstime of /proc/self/stat). */
const CLK_TCK = Number(execSync("getconf CLK_TCK", { encoding: "utf8" }).trim());
function cpuSeconds(): number {
  const stat = fs.readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] is field 3 (state)
  return [11, 12, 13, 14].reduce((a, i) => a + Number(f[i]), 0) / CLK_TCK;
}

const cpu: Record<string, number> = {};
async function timed<T>(label: string, f: () => Promise<T>): Promise<[T, number]> {
  const t0 = Date.now();
  const c0 = cpuSeconds();
  const r = await f();
  cpu[label] = Number((cpuSeconds() - c0).toFixed(1));
  return [r, (Date.now() - t0) / 1000];
}

async function stateBytes(s: { exportStack(): Promise<{ deployment: unknown }> }): Promise<number> {
  return Buffer.byteLength(JSON.stringify((await s.exportStack()).deployment));
}

const load = () => os.loadavg()[0].toFixed(1);

async function main() {
  process.env.PATH = `${execSync(`bash ${REPO}/scripts/toolchain.sh`, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").pop()}:${process.env.PATH}`;
  const results: Record<string, any> = {};

  // ---------------------------------------------------------------- netboot
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-bench-target-"));
  fs.chmodSync(root, 0o755);
  let changed = false;
  const nb = await stack("netboot", async () => {
    const pxe = new netboot.PxeServer("pxe", { host: { root }, interface: "nbb0", subnet: "10.96.0.0/11", serverIp: "10.96.0.1", dhcpMode: "static" });
    for (let g = 0; g < GROUPS; g++) new netboot.NodeGroup(`g${g}`, { server: pxe.info, nodes: nodesOf(g, changed), boot: { localDisk: true } });
  });
  console.error(`[bench] netboot: up from empty (${NODES} nodes, ${GROUPS} groups)`);
  const loadStart = load();
  const [, upEmpty] = await timed("netboot.upEmpty", () => nb.up());
  const state = await stateBytes(nb);
  const files = walk(root).length;
  // dnsmasq on the rendered config, in a namespace with the interface it names
  const ns = `nbbench${process.pid}`;
  execSync(`ip netns add ${ns} && ip -n ${ns} link add nbb0 type veth peer name nbb1 && ip -n ${ns} addr add 10.96.0.1/11 dev nbb0 && ip -n ${ns} link set nbb0 up`);
  const conf = path.join(root, "etc/dnsmasq.d/netboot-pxe.conf");
  const dnsmasq = spawn("ip", ["netns", "exec", ns, "dnsmasq", "-k", "-C", conf, "--log-facility=/dev/null"], { stdio: "ignore" });
  const pidFile = path.join(root, "srv/netboot/run/dnsmasq-pxe.pid");
  for (let i = 0; i < 50 && !fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
  const pid0 = fs.readFileSync(pidFile, "utf8").trim();
  const before = mtimes(root);
  await new Promise((r) => setTimeout(r, 20));
  changed = true;
  console.error("[bench] netboot: one node changed");
  const [, upOne] = await timed("netboot.upOne", () => nb.up());
  const after = mtimes(root);
  const pid1 = fs.readFileSync(pidFile, "utf8").trim();
  const [, noop] = await timed("netboot.previewNoChange", () => nb.preview());
  // Issue 18: what trusting state through the journal saves. Without it, every operation would need a refresh
  // first (`refresh: always`); with it, diff reads one small entry per resource (the journal's own share of the
  // preview above: 51 reads of ~100 bytes).
  const [, refresh] = await timed("netboot.refresh", () => nb.refresh());
  const journal = walk(root).filter(isJournal);
  const t0 = process.hrtime.bigint();
  for (const f of journal) fs.readFileSync(f);
  const journalReadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  results.netboot = {
    upEmpty, upOne, previewNoChange: noop, refresh, journalEntries: journal.length, journalReadMs, files, rewritten: rewritten(before, after), journalRewritten: rewritten(before, after, true), dnsmasqPidChanged: pid0 !== pid1, dnsmasqAlive: dnsmasq.exitCode === null,
    stateBytes: state, cpuSeconds: { upEmpty: cpu["netboot.upEmpty"], upOne: cpu["netboot.upOne"], previewNoChange: cpu["netboot.previewNoChange"], refresh: cpu["netboot.refresh"] }, loadAverage: [loadStart, load()],
  };
  console.error(`[bench] netboot: ${JSON.stringify(results.netboot)}`);
  dnsmasq.kill("SIGTERM");
  execSync(`ip netns del ${ns}`);
  await nb.destroy();

  const journalLine = `intent journal: ${results.netboot.journalEntries} entries read in ${results.netboot.journalReadMs.toFixed(1)} ms per operation; refresh (what \`refresh: always\` adds to every operation instead) ${refresh.toFixed(1)} s: ratio ${(results.netboot.journalReadMs / 1000 / refresh).toFixed(5)}`;
  if (flags["only-netboot"]) {
    console.log(JSON.stringify(results, null, 2));
    console.log(journalLine);
    return;
  }
  // ---------------------------------------------------------------- per-file resources
  const root2 = fs.mkdtempSync(path.join(os.tmpdir(), "netboot-bench-perfile-"));
  // the same node scripts and hosts lines, each file its own resource
  const { renderNodeScripts, renderGroupScript } = await import("../../provider/render/ipxe");
  const { renderDhcpHosts } = await import("../../provider/render/hosts");
  const server = { name: "pxe", host: { root: root2 }, subnet: "10.96.0.0/11", serverIp: "10.96.0.1", dhcpMode: "static", hostsDir: "/srv/netboot/dhcp-hosts.d", httpRoot: "/srv/netboot/http", httpBaseUrl: "http://10.96.0.1/", pidFile: "/x", firmwares: ["bios"] };
  changed = false;
  const pf = await stack("perfile", async () => {
    for (let g = 0; g < GROUPS; g++) {
      const model: any = { name: `g${g}`, server, prefix: root2, nodes: nodesOf(g, changed).map((n) => ({ ...n })), boot: { kind: "localDisk" } };
      for (const f of [renderDhcpHosts(model), renderGroupScript(model), ...renderNodeScripts(model)])
        new netboot.File(f.path.replace(/\W/g, "_"), { host: { root: root2 }, path: f.path, content: f.content });
    }
  });
  console.error(`[bench] per-file: up from empty (${NODES + 2 * GROUPS} File resources), at most ${CAP_MIN} min`);
  let capped = false;
  const cap = setTimeout(() => {
    capped = true;
    pf.cancel().catch(() => undefined);
  }, CAP_MIN * 60_000);
  const pfLoad = load();
  const [, pfEmpty] = await timed("perFile.upEmpty", () => pf.up({ parallel: 64 }).catch((e) => (capped ? undefined : Promise.reject(e))));
  clearTimeout(cap);
  if (capped) {
    const done = walk(root2).length;
    results.perFile = { upEmpty: `> ${pfEmpty.toFixed(0)} (cancelled after ${CAP_MIN} min with ${done} of ${NODES + 2 * GROUPS} files written)`, filesWritten: done, cpuSeconds: { upEmpty: cpu["perFile.upEmpty"] }, loadAverage: [pfLoad, load()] };
    console.log(JSON.stringify(results, null, 2));
    console.log(`\nnetboot up from empty ${results.netboot.upEmpty.toFixed(1)} s; per-file did not finish in ${pfEmpty.toFixed(0)} s (${done} files): ratio < ${(results.netboot.upEmpty / pfEmpty).toFixed(3)}`);
    console.log(`netboot one-node change ${results.netboot.upOne.toFixed(1)} s, ${results.netboot.rewritten} file(s) rewritten, dnsmasq pid changed: ${results.netboot.dnsmasqPidChanged}`);
    console.log(`netboot no-change preview ${results.netboot.previewNoChange.toFixed(1)} s; state ${(results.netboot.stateBytes / 1e6).toFixed(2)} MB`);
    fs.mkdirSync(path.join(REPO, "bench/out"), { recursive: true });
    fs.writeFileSync(path.join(REPO, "bench/out/pxe.json"), JSON.stringify({ nodes: NODES, groups: GROUPS, ...results }, null, 2));
    await pf.cancel().catch(() => undefined);
    await pf.refresh().catch(() => undefined);
    await pf.destroy({ parallel: 64 }).catch(() => undefined);
    return;
  }
  const b2 = mtimes(root2);
  await new Promise((r) => setTimeout(r, 20));
  changed = true;
  console.error("[bench] per-file: one node changed");
  const pfState = await stateBytes(pf);
  const [, pfOne] = await timed("perFile.upOne", () => pf.up({ parallel: 64 }));
  const [, pfNoop] = await timed("perFile.previewNoChange", () => pf.preview({ parallel: 64 }));
  results.perFile = {
    upEmpty: pfEmpty, upOne: pfOne, previewNoChange: pfNoop, files: walk(root2).length, rewritten: rewritten(b2, mtimes(root2)), stateBytes: pfState,
    cpuSeconds: { upEmpty: cpu["perFile.upEmpty"], upOne: cpu["perFile.upOne"], previewNoChange: cpu["perFile.previewNoChange"] }, loadAverage: [pfLoad, load()],
  };
  await pf.destroy({ parallel: 64 });

  const r = (a: number, b: number) => (a / b).toFixed(3);
  console.log(JSON.stringify(results, null, 2));
  console.log(`\n${NODES} nodes / ${GROUPS} groups         netboot    per-file   ratio (netboot/per-file)`);
  console.log(`up from empty (s)              ${results.netboot.upEmpty.toFixed(1).padStart(7)}    ${pfEmpty.toFixed(1).padStart(7)}    ${r(results.netboot.upEmpty, pfEmpty)}`);
  console.log(`one node changed (s)           ${results.netboot.upOne.toFixed(1).padStart(7)}    ${pfOne.toFixed(1).padStart(7)}    ${r(results.netboot.upOne, pfOne)}`);
  console.log(`no-change preview (s)          ${results.netboot.previewNoChange.toFixed(1).padStart(7)}    ${pfNoop.toFixed(1).padStart(7)}    ${r(results.netboot.previewNoChange, pfNoop)}`);
  console.log(`state (MB)                     ${(results.netboot.stateBytes / 1e6).toFixed(2).padStart(7)}    ${(pfState / 1e6).toFixed(2).padStart(7)}    ${r(results.netboot.stateBytes, pfState)}`);
  console.log(`files rewritten by the change  ${String(results.netboot.rewritten).padStart(7)}    ${String(results.perFile.rewritten).padStart(7)}`);
  console.log(`dnsmasq pid changed            ${String(results.netboot.dnsmasqPidChanged).padStart(7)}`);
  console.log(journalLine);
  fs.mkdirSync(path.join(REPO, "bench/out"), { recursive: true });
  fs.writeFileSync(path.join(REPO, "bench/out/pxe.json"), JSON.stringify({ nodes: NODES, groups: GROUPS, ...results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
