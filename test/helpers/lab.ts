/**
 * Shared by the lab's acceptance tests: running `scripts/lab.sh` on an example, and proving a run left nothing.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO, toolchainBin } from "./env";

/**
 * The engine's environment for a lab test whose state lives in `state` (a file backend, the test-only
 * passphrase, no plugin downloads). The Automation API runs `pulumi` from this process's PATH, so that is set too.
 */
export function labEnv(state: string): Record<string, string> {
  const env = {
    PATH: `${toolchainBin()}:${path.join(REPO, "bin")}:${process.env.PATH}`,
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE: "netboot-tests-only",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_HOME: path.join(state, ".home"),
  };
  process.env.PATH = env.PATH;
  return env;
}

/** Every path below `dir`, relative, sorted. */
export function tree(dir: string): string[] {
  const out: string[] = [];
  const rec = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(dir, p));
      if (e.isDirectory()) rec(p);
    }
  };
  if (fs.existsSync(dir)) rec(dir);
  return out.sort();
}

/** pids whose command line mentions `needle` (to prove the lab left none of its processes behind). */
export function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, "utf8").includes(needle)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

export interface LabRun { code: number | null; stdout: string; stderr: string; seconds: number }

/**
 * `npm run lab`'s script on `example` (lab.sh execs node: its pid is the lab's). `onStart` gets the pid (for a
 * kill on cleanup), `onOut` the stdout so far.
 */
export function runLab(example: string, stack: string, out: string, env: Record<string, string>, args: string[],
  hooks: { onStart?: (pid: number | undefined) => void; onOut?: (stdout: string, pid: number) => void } = {}): Promise<LabRun> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn("bash", [path.join(REPO, "scripts/lab.sh"), example, "--stack", stack, "--out", out, ...args],
      { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    hooks.onStart?.(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      hooks.onOut?.(stdout, child.pid!);
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code, sig) => {
      hooks.onStart?.(undefined);
      resolve({ code: code ?? (sig ? -1 : null), stdout, stderr, seconds: (Date.now() - t0) / 1000 });
    });
  });
}
