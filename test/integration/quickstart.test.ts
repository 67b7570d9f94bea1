/**
 * The README's main command, `npm run quickstart` (scripts/quickstart.sh), on its embedded defaults but with its
 * state and target folder moved to temp folders: it must succeed, print the summary, and leave a stack that
 * previews with no changes.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO, tmpDir } from "../helpers/env";

jest.setTimeout(300_000);

test("npm run quickstart renders the PXE server and prints where things went", () => {
  const state = tmpDir("qs-state");
  const target = tmpDir("qs-target");
  const stack = `qs${process.pid}`;
  const env = { ...process.env, PULUMI_BACKEND_URL: `file://${state}`, NETBOOT_STACK: stack, NETBOOT_TARGET_ROOT: target, PULUMI_HOME: path.join(state, ".home") };
  try {
    const r = spawnSync("bash", [path.join(REPO, "scripts/quickstart.sh")], { cwd: REPO, env, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("== netboot quickstart: done");
    expect(r.stdout).toContain(`dnsmasq:  ${target}/etc/dnsmasq.d/netboot-pxe.conf`);
    expect(r.stdout).toMatch(/compute\s+c01\s+52:54:00:77:00:11\s+10\.77\.0\.11/);
    expect(fs.existsSync(path.join(target, "srv/netboot/http/ipxe/node-52-54-00-77-00-21.ipxe"))).toBe(true);
    // The closing lines name commands that work in the user's shell as printed: run them so.
    expect(r.stdout).toContain("npm run pulumi -- preview --diff");
    const npmRun = (args: string[]) => spawnSync("npm", ["run", "--silent", "pulumi", "--", ...args], { cwd: REPO, env, encoding: "utf8" });
    const diff = npmRun(["preview", "--diff", "--non-interactive"]);
    expect(diff.stderr + diff.stdout).toMatch(/unchanged/);
    expect(diff.status).toBe(0);
    expect(npmRun(["preview", "--expect-no-changes", "--non-interactive"]).status).toBe(0);
    const d = npmRun(["destroy", "--yes", "--non-interactive"]);
    expect(d.status).toBe(0);
    expect(fs.readdirSync(target)).toEqual([]);
    npmRun(["stack", "rm", "--yes", "--non-interactive"]);
  } finally {
    fs.rmSync(path.join(REPO, `Pulumi.${stack}.yaml`), { force: true });
  }
});
