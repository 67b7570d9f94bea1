/**
 * The README's main command, `npm run quickstart` (scripts/quickstart.sh), on its embedded defaults but with its
 * state and target folder moved to temp folders: it must succeed, print the summary, and leave a stack that
 * previews with no changes.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO, tmpDir, toolchainBin } from "../helpers/env";

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
    const penv = { ...env, PATH: `${toolchainBin()}:${process.env.PATH}`, PULUMI_CONFIG_PASSPHRASE: "netboot-demo-passphrase", PULUMI_SKIP_UPDATE_CHECK: "true" };
    const pre = spawnSync("pulumi", ["preview", "--expect-no-changes", "--stack", stack, "--non-interactive"], { cwd: REPO, env: penv, encoding: "utf8" });
    expect(pre.status).toBe(0);
    const d = spawnSync("pulumi", ["destroy", "--yes", "--stack", stack, "--non-interactive"], { cwd: REPO, env: penv, encoding: "utf8" });
    expect(d.status).toBe(0);
    expect(fs.readdirSync(target)).toEqual([]);
    spawnSync("pulumi", ["stack", "rm", "--yes", "--stack", stack, "--non-interactive"], { cwd: REPO, env: penv });
  } finally {
    fs.rmSync(path.join(REPO, `Pulumi.${stack}.yaml`), { force: true });
  }
});
