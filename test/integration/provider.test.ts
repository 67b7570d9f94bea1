/**
 * The provider process itself, under the real engine:
 * - detailed diffs reach the engine: a FileSet hand edit is named file by file (`files["/etc/a.conf"]`) in the
 *   preview's step metadata. @pulumi/pulumi's provider server drops `detailedDiff`; only the shim in
 *   provider/_server.ts (patching @pulumi/pulumi's own grpc-js) sends it, so this fails if the shim stops working.
 * - the provider and the language host exit when the engine goes away: `pulumi up` is SIGKILLed while the
 *   provider runs a consumer check; the provider, the language host and its program (the engine was the parent
 *   of the first two) must end by themselves.
 */
import * as fs from "fs";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import * as netboot from "../../sdk/nodejs";
import { cliProject, CliProject, testStack, TestStack } from "../helpers/engine";
import { REPO, tmpDir } from "../helpers/env";
import { killPid, pidAlive, readPid, waitFor } from "../helpers/gluster";

jest.setTimeout(300_000);

describe("detailed diffs reach the engine", () => {
  const root = tmpDir("detailed-diff");
  let t: TestStack;

  beforeAll(async () => {
    t = await testStack("detailed-diff", async () => {
      new netboot.FileSet("conf", {
        host: { root },
        files: { "/etc/a.conf": { content: "a = 1\n", mode: "0644" }, "/etc/b.conf": { content: "b = 1\n", mode: "0644" } },
      });
    });
    expect((await t.stack.up()).summary.result).toBe("succeeded");
  });
  afterAll(() => t?.destroy());

  test("a hand edit of one file of a FileSet is named per file in the preview's detailed diff", async () => {
    fs.writeFileSync(path.join(root, "etc/b.conf"), "b = 2\n");
    await t.stack.refresh();
    const events: EngineEvent[] = [];
    const out: string[] = [];
    const pre = await t.stack.preview({ diff: true, onEvent: (e) => events.push(e), onOutput: (s) => out.push(s) });
    expect(pre.changeSummary.update).toBe(1);
    const step = events.map((e) => e.resourcePreEvent?.metadata).find((m) => m?.type === "netboot:index:FileSet");
    expect(step?.detailedDiff).toEqual({ 'files["/etc/b.conf"]': { diffKind: "update", inputDiff: false } });
    // and the display shows the line diff of that file only
    expect(out.join("")).toMatch(/b = 2/);
    expect(out.join("")).not.toMatch(/a\.conf/);
  });
});

describe("the provider and the language host exit when the engine is killed", () => {
  let p: CliProject;
  const dir = tmpDir("engine-gone");
  const pidOf = (n: string) => readPid(path.join(dir, n));
  const stray: number[] = [];

  afterAll(async () => {
    // what this test started and may have left: the consumer check's sleep, and the engine's other children
    for (const pid of [pidOf("check.pid"), ...stray]) await killPid(pid);
    p?.remove();
  });

  test("SIGKILL of `pulumi up` mid-create: the provider, the language host and its program end by themselves", async () => {
    // the consumer check records its parent (the provider) and itself, then keeps the create busy
    const check = ["sh", "-c", `echo $PPID > ${dir}/provider.pid; echo $$ > ${dir}/check.pid; exec sleep 600`];
    p = cliProject("engine-gone", `
import * as netboot from "${REPO}/sdk/nodejs";
new netboot.FileSet("slow", {
  host: { root: ${JSON.stringify(path.join(dir, "target"))} },
  files: { "/etc/slow.conf": { content: "x\\n", mode: "0644" } },
  checks: [{ path: "/etc/slow.conf", command: ${JSON.stringify(check)} }],
});
`);
    const engine = p.start(["up", "--yes", "--skip-preview"]);
    await waitFor("the provider to run the consumer check", () => pidOf("check.pid") !== undefined && pidOf("provider.pid") !== undefined, 240_000);
    const provider = pidOf("provider.pid")!;
    expect(fs.readFileSync(`/proc/${provider}/cmdline`, "utf8")).toContain("dist/provider/index.js");
    expect(Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${provider}/status`, "utf8"))![1])).toBe(engine.pid);
    stray.push(...descendantsOf(engine.pid!).filter((c) => c !== provider && c !== pidOf("check.pid")));
    const langhost = stray.find((c) => cmdline(c).includes("pulumi-language-nodejs"));
    const program = stray.find((c) => cmdline(c).includes("@pulumi/pulumi/cmd/run"));
    expect(langhost && program).toBeDefined();

    engine.kill("SIGKILL");
    await waitFor("the provider to exit after the engine was killed", () => !pidAlive(provider), 60_000);
    // and the language host (toolchain/langhost-nodejs) with the program it runs
    await waitFor("the language host to exit after the engine was killed", () => !pidAlive(langhost!), 60_000);
    await waitFor("the program to exit after the engine was killed", () => !pidAlive(program!), 60_000);
    expect(pidAlive(pidOf("check.pid")!)).toBe(true); // the engine is gone, not everything was killed
  });
});

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** Every process below `pid` (from /proc), so the test can end what the engine it started left behind. */
function descendantsOf(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const n of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      parent.set(Number(n), Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${n}/status`, "utf8"))![1]));
    } catch {
      /* gone meanwhile */
    }
  }
  const below = (p: number): number[] => [...parent].filter(([, pp]) => pp === p).flatMap(([c]) => [c, ...below(c)]);
  return below(pid);
}
