/**
 * Runs the real Pulumi engine (Automation API, inline programs) against the netboot plugin in ./bin,
 * with a file:// backend in a temp folder. No mocks: every resource goes through the provider process.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { REPO, tmpDir, toolchainBin } from "./env";

export interface TestStack {
  stack: Stack;
  dir: string;
  /** Output lines of every engine call, to assert on what preview/refresh printed. */
  log: string[];
  destroy(): Promise<void>;
}

let envReady = false;
function prepareEnv(): void {
  if (envReady) return;
  const bin = toolchainBin();
  process.env.PATH = `${bin}:${path.join(REPO, "bin")}:${process.env.PATH}`;
  if (!fs.existsSync(path.join(REPO, "dist/provider/index.js")))
    throw new Error("the provider is not built: run 'npm run build' (npm test does it)");
  envReady = true;
}

/**
 * When an `up` of an inline program fails on purpose (a construct or a check refused), the engine stops and every
 * output of the program's components rejects with "resource monitor shut down". The engine has already reported
 * the real error, and the up's promise rejects with it; but under jest the rejections of the outputs' internal
 * value, `isKnown` and `isSecret` promises reach jest's unhandled-rejection handler (the Pulumi runtime's own handler is
 * registered on jest's sandboxed `process`) and fail the suite after its tests passed. Mark them handled.
 */
export function settleOutputs(...resources: pulumi.Resource[]): void {
  for (const r of resources) {
    for (const v of Object.values(r)) {
      if (!pulumi.Output.isInstance(v)) continue;
      const o = v as any;
      for (const p of [o.isKnown, o.isSecret, typeof o.promise === "function" ? o.promise(true) : undefined]) if (p && typeof p.catch === "function") p.catch(() => undefined);
    }
  }
}

export async function testStack(name: string, program: PulumiFn): Promise<TestStack> {
  prepareEnv();
  const dir = tmpDir(`stack-${name}`);
  fs.mkdirSync(path.join(dir, "state"));
  const envVars = {
    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "netboot-tests-only",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_HOME: path.join(dir, "home"),
  };
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: "test", projectName: `netboot-${name}`, program },
    {
      workDir: dir,
      envVars,
      projectSettings: {
        name: `netboot-${name}`,
        runtime: "nodejs",
        plugins: { providers: [{ name: "netboot", path: path.join(REPO, "bin") }] },
      } as any,
    },
  );
  const log: string[] = [];
  return {
    stack,
    dir,
    log,
    async destroy() {
      await stack.destroy({ onOutput: (s) => log.push(s) });
      await stack.workspace.removeStack("test");
    },
  };
}

/** Resources whose step is not "same" in a preview/refresh summary. */
export function changed(summary: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(summary ?? {})) if (k !== "same" && v) out[k] = v;
  return out;
}

/**
 * A Pulumi.yaml project (runtime nodejs, TypeScript) run through the `pulumi` CLI and netboot's language host,
 * as a user runs it. Lives under test/.work so it resolves the repo's node_modules. Used where a failing
 * program must fail the way it fails for users (the CLI reports the error; inline programs cannot).
 */
export interface CliProject {
  dir: string;
  run(args: string[]): { code: number; out: string };
  /**
   * Starts `pulumi args...` without waiting (output to `<dir>/cli.log`), in its own process group, so a test can
   * stop or SIGKILL the engine and everything it started (`process.kill(-child.pid)`).
   */
  start(args: string[]): ChildProcess;
  /** PULUMI_HOME of this project: every process the run starts (engine, language host, plugins) inherits it. */
  home: string;
  remove(): void;
}

export function cliProject(name: string, program: string, opts: { netns?: string } = {}): CliProject {
  const bin = (prepareEnv(), process.env.PATH);
  const work = path.join(REPO, "test", ".work");
  fs.mkdirSync(work, { recursive: true });
  const dir = fs.mkdtempSync(path.join(work, `${name}-`));
  fs.mkdirSync(path.join(dir, "state"));
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\nplugins:\n  providers:\n    - name: netboot\n      path: ${path.join(REPO, "bin")}\n`,
  );
  fs.writeFileSync(path.join(dir, "index.ts"), program);
  const env = {
    ...process.env,
    PATH: bin,
    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "netboot-tests-only",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_HOME: path.join(dir, "home"),
  };
  const run = (args: string[]) => {
    // with `netns`, the engine and the provider run inside that network namespace (to reach its servers)
    const argv = [...args, "--non-interactive", "--color=never"];
    const r = opts.netns
      ? spawnSync("ip", ["netns", "exec", opts.netns, "pulumi", ...argv], { cwd: dir, env, encoding: "utf8" })
      : spawnSync("pulumi", argv, { cwd: dir, env, encoding: "utf8" });
    return { code: r.status ?? 1, out: r.stdout + r.stderr };
  };
  const start = (args: string[]) => {
    const log = fs.openSync(path.join(dir, "cli.log"), "a");
    const child = spawn("pulumi", [...args, "--non-interactive", "--color=never"], { cwd: dir, env, detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    return child;
  };
  run(["stack", "init", "test"]);
  return { dir, run, start, home: env.PULUMI_HOME, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The Automation API's view of a cliProject's stack `test` (its file backend, the test-only passphrase, its
 * PULUMI_HOME), for a test that runs the program as a user would and asserts on the engine's results.
 * `destroy` destroys the stack and removes it.
 */
export async function cliTestStack(project: CliProject, log: string[]): Promise<TestStack> {
  const stack = await LocalWorkspace.createOrSelectStack({ stackName: "test", workDir: project.dir }, {
    envVars: {
      PULUMI_BACKEND_URL: `file://${path.join(project.dir, "state")}`, PULUMI_CONFIG_PASSPHRASE: "netboot-tests-only",
      PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PULUMI_HOME: project.home,
    },
  });
  const onOutput = (s: string) => log.push(s);
  return { stack, dir: project.dir, log, destroy: async () => { await stack.destroy({ onOutput }); await stack.workspace.removeStack("test"); } };
}
