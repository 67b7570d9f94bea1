/**
 * The day-2 view of a stack's cluster (docs/status.md):
 *
 *   npm run status -- <stack> [--cwd PROJECT] [--json] [--prometheus FILE] [--dnsmasq-log SERVER=FILE]...
 *
 * 1. reads the stack's state (`pulumi stack export --show-secrets --stack <stack>` in the project folder):
 *    every PxeServer (its host and the configs it rendered) and NodeGroup (nodes, MACs, addresses);
 * 2. over the provider's own transport for each server's host (local or SSH) reads dnsmasq's log and lease file,
 *    nginx's access log and the groups' iPXE scripts (provider/status/collect.ts); nothing is written there;
 * 3. prints each node's last boot stage and when, the image generation it fetched, and the MACs that asked for a
 *    lease but belong to no NodeGroup: a table, or JSON with --json; --prometheus also writes the node_exporter
 *    textfile (atomically: a temp file in the same folder, renamed over the old one).
 * Exit codes: 0 the report was made (also when nodes failed: the report says so); 2 bad usage or a stack that
 * cannot be read (nothing was read from a server).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { openTransport } from "../provider/context";
import { Host } from "../provider/schema-types";
import { collect } from "../provider/status/collect";
import { buildReport, formatJson, formatPrometheus, formatTable, inventoryFromDeployment } from "../provider/status/report";
import { parseCli, usageError } from "./_cli";

const USAGE = "usage: npm run status -- <stack> [--cwd PROJECT] [--json] [--prometheus FILE] [--dnsmasq-log SERVER=FILE]...";

export interface StatusOptions {
  stack: string;
  cwd: string;
  json: boolean;
  prometheus?: string;
  dnsmasqLogs: Record<string, string>;
}

export function statusOptions(argv: string[]): StatusOptions {
  const { values: v, positionals } = parseCli("status", USAGE, {
    options: { cwd: { type: "string" }, json: { type: "boolean" }, prometheus: { type: "string" }, "dnsmasq-log": { type: "string", multiple: true } },
    allowPositionals: true,
  }, argv);
  const problems: string[] = [];
  if (positionals.length !== 1) problems.push(positionals.length ? `one stack only (got ${positionals.join(" and ")})` : "give the stack name, e.g. dev");
  if (v.cwd === "" || v.prometheus === "") problems.push("--cwd and --prometheus need a value");
  const dnsmasqLogs: Record<string, string> = {};
  for (const s of v["dnsmasq-log"] ?? []) {
    const m = /^([^=]+)=(\/.+)$/.exec(s);
    if (!m) problems.push(`--dnsmasq-log takes SERVER=/absolute/file (got ${JSON.stringify(s)})`);
    else dnsmasqLogs[m[1]] = m[2];
  }
  const cwd = path.resolve(v.cwd ?? ".");
  if (!fs.existsSync(path.join(cwd, "Pulumi.yaml"))) problems.push(`${cwd} has no Pulumi.yaml (give the project folder with --cwd)`);
  if (v.prometheus && !fs.existsSync(path.dirname(path.resolve(v.prometheus)))) problems.push(`--prometheus: the folder ${path.dirname(path.resolve(v.prometheus))} does not exist`);
  if (problems.length) usageError("status", USAGE, problems.join("; "));
  return { stack: positionals[0], cwd, json: v.json ?? false, ...(v.prometheus ? { prometheus: path.resolve(v.prometheus) } : {}), dnsmasqLogs };
}

/** The stack's deployment, as `pulumi stack export --show-secrets` prints it. */
function exportStack(o: StatusOptions): unknown {
  const r = spawnSync("pulumi", ["stack", "export", "--show-secrets", "--stack", o.stack, "--non-interactive"], { cwd: o.cwd, encoding: "utf8", maxBuffer: 1 << 29 });
  if (r.error) throw new Error(`could not run pulumi: ${r.error.message} (put the engine on PATH: export PATH="$(bash scripts/toolchain.sh | tail -1):$PATH")`);
  if (r.status !== 0) throw new Error(`pulumi stack export --stack ${o.stack} failed (exit ${r.status}):\n${(r.stderr || r.stdout).trim()}`);
  return JSON.parse(r.stdout);
}

/** Writes the textfile the way node_exporter needs it: never half a file under the name it reads. */
export function writeAtomic(file: string, content: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(tmp, "w", 0o644);
    try {
      fs.writeSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export async function runStatus(o: StatusOptions, deployment: unknown, now = Math.floor(Date.now() / 1000)) {
  const { inventory, errors } = inventoryFromDeployment(deployment);
  if (errors.length) throw new Error(`the state of stack ${o.stack} cannot be read:\n  ${errors.join("\n  ")}`);
  for (const s of Object.keys(o.dnsmasqLogs)) if (!inventory.servers.some((x) => x.name === s)) throw new Error(`--dnsmasq-log: the stack has no PxeServer "${s}" (it has ${inventory.servers.map((x) => x.name).join(", ") || "none"})`);
  // A local target folder's configs name full paths already: they are read on this machine as they are.
  const data = await collect(inventory, (h) => openTransport((h.ssh ? { ssh: h.ssh } : {}) as Host), { dnsmasqLogs: o.dnsmasqLogs, now });
  return buildReport(o.stack, inventory, data, now);
}

async function main(): Promise<number> {
  const o = statusOptions(process.argv.slice(2));
  let report;
  try {
    report = await runStatus(o, exportStack(o));
  } catch (e) {
    console.error(`status: ${(e as Error).message}`);
    return 2;
  }
  process.stdout.write(o.json ? formatJson(report) : formatTable(report));
  if (o.prometheus) writeAtomic(o.prometheus, formatPrometheus(report));
  return 0;
}

if (require.main === module) main().then((c) => process.exit(c), (e) => {
  console.error(`status: ${(e as Error).stack ?? e}`);
  process.exit(2);
});
