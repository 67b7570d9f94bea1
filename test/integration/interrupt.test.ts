/**
 * Interrupted applies converge (issue 18): `pulumi up` and `pulumi destroy` SIGKILLed (engine, language host and
 * plugins, as a power cut or an OOM kill would) at points the test chooses, then `pulumi cancel` and a plain
 * `pulumi up`, with the same or a reverted program: the host ends exactly as the program says, and
 * `preview --expect-no-changes` is only clean when it is. No netboot process outlives the killed engine.
 *
 * The points: inside the write window (some files new, some old), and just after the provider answered but
 * before the engine could save its checkpoint (the case state alone cannot tell: see provider/resources/journal.ts).
 * One FileSet of many files for the file lifecycle; one BootImage whose NetworkImage publishes onto a real
 * GlusterFS brick (glusterfsd -f on 127.0.0.1) for the image on a network file system.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { cliProject, CliProject } from "../helpers/engine";
import { REPO, requireRoot, requireTool, tmpDir } from "../helpers/env";
import { makeImage } from "../helpers/osImage";

jest.setTimeout(300_000);

const N = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function program(root: string): string {
  return `
import * as pulumi from "@pulumi/pulumi";
import * as netboot from "${REPO}/sdk/nodejs";
const gen = new pulumi.Config().require("gen");
const files: Record<string, { content: string; mode: string }> = {};
for (let i = 0; i < ${N}; i++) files["/srv/many/f" + String(i).padStart(5, "0")] = { content: "gen " + gen + " file " + i + "\\n", mode: "0644" };
new netboot.FileSet("many", { host: { root: "${root}" }, files });
`;
}

/** How many of the program's files hold generation `gen`; `missing` counts the absent ones. */
function census(root: string, gen: string): { gen: number; other: number; missing: number } {
  const c = { gen: 0, other: 0, missing: 0 };
  for (let i = 0; i < N; i++) {
    const p = path.join(root, "srv/many/f" + String(i).padStart(5, "0"));
    let text: string;
    try {
      text = fs.readFileSync(p, "utf8");
    } catch {
      c.missing++;
      continue;
    }
    if (text === `gen ${gen} file ${i}\n`) c.gen++;
    else c.other++;
  }
  return c;
}

/** Processes this project's runs started (they all carry its PULUMI_HOME), with their command lines. */
function processesOf(home: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (env.includes(`PULUMI_HOME=${home}`)) out.push(`${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim()}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

async function until(cond: () => boolean, exited: () => boolean, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (exited()) throw new Error(`the run ended before ${what}`);
    if (Date.now() - t0 > 120_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(3);
  }
}

/**
 * SIGKILLs the run's whole process group as soon as `when()` holds (polled every few ms). With `thenAfter`,
 * the engine is first frozen (SIGSTOP) at `when()`: the provider goes on and answers into a socket nobody
 * reads, and the kill comes once `thenAfter()` holds, so the engine can never have saved that answer.
 */
async function killWhen(child: ChildProcess, when: () => boolean, what: string, thenAfter?: { cond: () => boolean; what: string }): Promise<void> {
  let exited = false;
  child.on("exit", () => (exited = true));
  await until(when, () => exited, what);
  if (thenAfter) {
    process.kill(child.pid!, "SIGSTOP");
    await until(thenAfter.cond, () => exited, thenAfter.what);
  }
  process.kill(-child.pid!, "SIGKILL");
  while (!exited) await sleep(10);
}

/** Waits (bounded) for every process of the killed run to exit; returns the ones still there, then ends them. */
async function leftovers(home: string): Promise<string[]> {
  const t0 = Date.now();
  let left = processesOf(home);
  while (left.length && Date.now() - t0 < 15_000) {
    await sleep(250);
    left = processesOf(home);
  }
  for (const l of left) process.kill(Number(l.split(" ")[0]), "SIGKILL"); // ours: started by this test's run
  return left;
}

function traceHas(trace: string, re: RegExp): boolean {
  return fs.existsSync(trace) && re.test(fs.readFileSync(trace, "utf8"));
}

describe("interrupted up and destroy converge", () => {
  let p: CliProject;
  let root: string;
  let trace: string;

  beforeEach(() => {
    root = tmpDir("interrupt");
    trace = path.join(tmpDir("interrupt-trace"), "trace.log");
    process.env.NETBOOT_TRACE = trace; // the provider appends one line per finished call: the kill points
    p = cliProject("interrupt", program(root));
    delete process.env.NETBOOT_TRACE;
    expect(p.run(["config", "set", "gen", "v1"]).code).toBe(0);
    const up = p.run(["up", "--yes", "--skip-preview"]);
    expect(up.out).toMatch(/created/);
    expect(census(root, "v1")).toEqual({ gen: N, other: 0, missing: 0 });
  });

  afterEach(() => {
    p.run(["cancel", "--yes"]);
    p.run(["destroy", "--yes", "--skip-preview"]);
    p.remove();
  });

  /** cancel (a no-op on a file backend, but what a user runs), then `up` with generation `gen`. */
  function recover(gen: string): string {
    p.run(["cancel", "--yes"]);
    expect(p.run(["config", "set", "gen", gen]).code).toBe(0);
    const up = p.run(["up", "--yes", "--skip-preview"]);
    expect(up.code).toBe(0);
    return up.out;
  }

  test("killed inside the write window of an update, then the program reverted: every file is old again", async () => {
    expect(p.run(["config", "set", "gen", "v2"]).code).toBe(0);
    const run = p.start(["up", "--yes", "--skip-preview"]);
    await killWhen(run, () => census(root, "v2").gen > 10, "the first new files");
    const mid = census(root, "v2");
    expect(mid.gen).toBeGreaterThan(0);
    expect(mid.missing).toBe(0); // old or new, never partial or absent
    expect(await leftovers(p.home)).toEqual([]);
    recover("v1");
    expect(census(root, "v1")).toEqual({ gen: N, other: 0, missing: 0 });
    expect(p.run(["preview", "--expect-no-changes"]).code).toBe(0);
  });

  test("killed after the provider answered an update, before the engine saved it, then reverted", async () => {
    expect(p.run(["config", "set", "gen", "v2"]).code).toBe(0);
    const run = p.start(["up", "--yes", "--skip-preview"]);
    await killWhen(run, () => census(root, "v2").gen > 10, "the first new files", { cond: () => traceHas(trace, /^\S+ update many \d+ ms$/m), what: "the provider's answer to update" });
    expect(census(root, "v2")).toEqual({ gen: N, other: 0, missing: 0 });
    expect(await leftovers(p.home)).toEqual([]);
    // state still says v1 and so does the program: only the host knows better
    expect(p.run(["preview", "--expect-no-changes"]).code).not.toBe(0);
    recover("v1");
    expect(census(root, "v1")).toEqual({ gen: N, other: 0, missing: 0 });
    expect(p.run(["preview", "--expect-no-changes"]).code).toBe(0);
  });

  test("killed in the middle of destroy, then up: every file is back", async () => {
    const run = p.start(["destroy", "--yes", "--skip-preview"]);
    await killWhen(run, () => census(root, "v1").missing > 10, "the first removed files");
    expect(await leftovers(p.home)).toEqual([]);
    recover("v1");
    expect(census(root, "v1")).toEqual({ gen: N, other: 0, missing: 0 });
    expect(p.run(["preview", "--expect-no-changes"]).code).toBe(0);
  });

  test("killed after the provider finished a delete, before the engine saved it, then up: every file is back", async () => {
    const run = p.start(["destroy", "--yes", "--skip-preview"]);
    await killWhen(run, () => census(root, "v1").missing > 10, "the first removed files", { cond: () => traceHas(trace, /^\S+ delete many \d+ ms$/m), what: "the provider's answer to delete" });
    expect(census(root, "v1").missing).toBe(N);
    expect(await leftovers(p.home)).toEqual([]);
    expect(p.run(["preview", "--expect-no-changes"]).code).not.toBe(0);
    recover("v1");
    expect(census(root, "v1")).toEqual({ gen: N, other: 0, missing: 0 });
    expect(p.run(["preview", "--expect-no-changes"]).code).toBe(0);
  });
});

const KVER = fs.readdirSync("/lib/modules").filter((v) => fs.existsSync(`/boot/vmlinuz-${v}`)).sort().pop()!;
const FIX = path.join(__dirname, "..", "build", "fixtures");
const BRICK_PORT = 24953;

describe("an interrupted destroy of a NetworkImage converges (journal on the publish host)", () => {
  let p: CliProject;
  let dir: string;
  let brick: string;
  let trace: string;
  let glusterfsd: ChildProcess | undefined;
  const onVolume = () => path.join(brick, "images/gl");
  const listVolume = () => (fs.existsSync(onVolume()) ? fs.readdirSync(onVolume()).filter((n) => !n.startsWith(".")).sort() : []);
  const ok = (...args: string[]) => {
    const r = p.run(args);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed:\n${r.out}`);
    return r.out;
  };

  beforeAll(async () => {
    requireRoot("the NetworkImage interrupt test (a glusterfs mount)");
    requireTool("glusterfsd");
    requireTool("glusterfs");
    dir = tmpDir("interrupt-netimg");
    brick = path.join(dir, "brick");
    fs.mkdirSync(brick);
    const image = makeImage(dir);
    const sub = (t: string) => t.replace(/@BRICK@/g, brick).replace(/@PORT@/g, String(BRICK_PORT)).replace(/@HOST@/g, "127.0.0.1");
    fs.writeFileSync(path.join(dir, "brick.vol"), sub(fs.readFileSync(path.join(FIX, "brick.vol"), "utf8")));
    const log = fs.openSync(path.join(dir, "brick.out"), "a");
    glusterfsd = spawn("glusterfsd", ["-N", "-f", path.join(dir, "brick.vol"), "-l", path.join(dir, "brick.log"), "--brick-port", String(BRICK_PORT)], { stdio: ["ignore", log, log] });
    const cfg = { root: path.join(dir, "target"), image, kver: KVER, volfile: sub(fs.readFileSync(path.join(FIX, "client.vol"), "utf8")) };
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(cfg));
    trace = path.join(tmpDir("interrupt-netimg-trace"), "trace.log");
    process.env.NETBOOT_TRACE = trace;
    p = cliProject("interrupt-netimg", `
import * as fs from "fs";
import * as netboot from "${REPO}/sdk/nodejs";
const cfg = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, "config.json"))}, "utf8"));
const img = new netboot.BootImage("gl", {
  server: { host: { root: cfg.root }, httpRoot: "/srv/http", httpBaseUrl: "http://127.0.0.1:8089/" } as any,
  kernelVersion: cfg.kver, imageSource: cfg.image, transport: "glusterfs", glusterVolfile: cfg.volfile,
  imagePath: "/images/gl", compression: "gzip",
});
export const imageFile = img.imageFile;
`);
    delete process.env.NETBOOT_TRACE;
  });

  afterAll(async () => {
    if (p) {
      p.run(["cancel", "--yes"]);
      p.run(["destroy", "--yes", "--skip-preview"]);
      p.remove();
    }
    if (glusterfsd && glusterfsd.exitCode === null) {
      glusterfsd.kill("SIGTERM"); // ours, by its pid
      await new Promise((r) => glusterfsd!.once("exit", r));
    }
  });

  test("killed after the provider removed the image, before the engine saved it, then up: the image is back", async () => {
    ok("up", "--yes", "--skip-preview");
    const imageFile: string = JSON.parse(ok("stack", "output", "--json")).imageFile;
    expect(listVolume()).toEqual([imageFile]);
    const good = fs.readFileSync(path.join(onVolume(), imageFile));
    ok("preview", "--expect-no-changes");

    const run = p.start(["destroy", "--yes", "--skip-preview"]);
    await killWhen(run, () => !listVolume().includes(imageFile), "the tarball removed from the volume",
      { cond: () => traceHas(trace, /^\S+ delete gl-image \d+ ms$/m), what: "the provider's answer to the NetworkImage delete" });
    expect(listVolume()).toEqual([]);
    expect(await leftovers(p.home)).toEqual([]);
    // state still holds the NetworkImage and the program wants it: only the publish host's journal knows it is gone
    expect(p.run(["preview", "--expect-no-changes"]).code).not.toBe(0);
    p.run(["cancel", "--yes"]);
    ok("up", "--yes", "--skip-preview");
    expect(fs.readFileSync(path.join(onVolume(), imageFile))).toEqual(good);
    ok("preview", "--expect-no-changes");
  });
});
