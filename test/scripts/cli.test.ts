/**
 * The scripts' command lines (scripts/_cli.ts over node:util parseArgs, and the generators' one flag): a bad
 * flag is a usage error (exit 2, the problem and the usage on stderr) before the script does anything; --help
 * prints the usage and exits 0. Runs the compiled scripts the way a user does (`npm run build` first).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO } from "../helpers/env";

function run(script: string, args: string[]) {
  const file = path.join(REPO, script);
  if (!fs.existsSync(file)) throw new Error(`${script} is missing: run 'npm run build' first (npm test does it)`);
  const r = spawnSync(process.execPath, [file, ...args], { encoding: "utf8", cwd: REPO });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.each([
  ["dist/scripts/import-warewulf.js", "import-warewulf", "usage: import-warewulf <nodes.conf>"],
  ["dist/scripts/lab/main.js", "lab", "usage: npm run lab -- <example folder>"],
])("%s", (script, prog, usage) => {
  test("an unknown flag is a usage error", () => {
    const r = run(script, ["examples/stateless-gluster", "--bogus", "x"]);
    expect([r.code, r.err.split("\n")[0]]).toEqual([2, `${prog}: Unknown option '--bogus'`]);
    expect(r.err).toContain(usage);
  });
  test("a flag without its value is a usage error", () => {
    const r = run(script, ["examples/stateless-gluster", "--out"]);
    expect([r.code, r.err.split("\n")[0]]).toEqual([2, `${prog}: Option '--out <value>' argument missing`]);
  });
  test("--help prints the usage and exits 0", () => {
    const r = run(script, ["--help"]);
    expect([r.code, r.out.trim()]).toEqual([0, expect.stringContaining(usage)]);
  });
});

test("lab: --timeout below 10 s is a usage error naming the value", () => {
  const r = run("dist/scripts/lab/main.js", ["examples/stateless-gluster", "--timeout", "5"]);
  expect([r.code, r.err.split("\n")[0]]).toEqual([2, 'lab: --timeout must be a number, 10 or more (got "5")']);
});

test.each(["scripts/gen-docs.js", "scripts/gen-types.js"])("%s: only --check is a flag", (script) => {
  const prog = path.basename(script, ".js");
  const r = run(script, ["--chek"]);
  expect([r.code, r.err]).toEqual([2, `${prog}: Unknown option '--chek'\nusage: node ${script} [--check]\n`]);
});
