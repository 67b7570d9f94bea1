/**
 * Regressions of issue 14 point 1 ("Real servers") in the rendered files, checked by Debian's dnsmasq the way
 * its units load them. Both failed on the code before systemd activation (see the test names):
 * - a PxeServer on a systemd host wrote `pid-file=`, which overrides the `-x /run/dnsmasq/...pid` that Debian's
 *   units pass, so systemd (Type=forking, PIDFile=) waited for a pid file that never came;
 * - two PxeServers on one host both wrote `port=0` into /etc/dnsmasq.d, and Debian's dnsmasq.service, which
 *   reads that whole folder (/etc/default/dnsmasq: CONFIG_DIR=/etc/dnsmasq.d,...), refused it.
 * The engine test on a booted Debian machine is test/integration/systemdPxe.test.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Issues } from "../../provider/model/errors";
import { buildPxeServerModel, PxeServerModel } from "../../provider/model/pxe";
import { renderDnsmasq } from "../../provider/render/dnsmasq";
import { requireTool, tmpDir } from "../helpers/env";

const HOST = { ssh: { host: "head", user: "root" }, systemd: true };

function server(name: string, net: string, iface: string): PxeServerModel {
  const issues = new Issues(`PxeServer "${name}"`);
  const m = buildPxeServerModel(name, {
    interface: iface, subnet: `${net}.0/24`, serverIp: `${net}.1`, dhcpMode: "authoritative",
    dynamicRange: { start: `${net}.200`, end: `${net}.250` }, baseDir: `/srv/netboot/${name}`,
  }, HOST as any, issues);
  expect(issues.list).toEqual([]);
  return m!;
}

/** `dnsmasq --test` with these arguments; `0 ...` when it passes. */
function dnsmasqTest(args: string[]): string {
  const r = spawnSync(requireTool("dnsmasq"), ["--test", ...args], { encoding: "utf8" });
  return `${r.status} ${(r.stderr + r.stdout).trim()}`;
}

test("a systemd host's dnsmasq config has no pid-file= line: the unit's -x names the pid file systemd waits for", () => {
  const m = server("pxe", "10.94.1", "eno1");
  expect(renderDnsmasq(m).content).not.toMatch(/^pid-file=/m);
  expect(m.paths.pidFile).toBe(`/run/dnsmasq/dnsmasq.netboot-pxe.pid`);
});

test("two PxeServers on one systemd host: the folder Debian's dnsmasq.service reads still passes dnsmasq --test, and so does each server's whole configuration", () => {
  const root = tmpDir("two-servers");
  // Debian ships /etc/dnsmasq.d with a README only.
  fs.mkdirSync(path.join(root, "etc/dnsmasq.d"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/dnsmasq.d/README"), "# dnsmasq reads *.conf here (Debian's README)\n");
  const servers = [server("pxe-a", "10.94.1", "eno1"), server("pxe-b", "10.94.2", "eno2")];
  for (const m of servers) {
    const f = renderDnsmasq(m);
    fs.mkdirSync(path.join(root, path.dirname(f.path)), { recursive: true });
    fs.writeFileSync(path.join(root, f.path), f.content);
  }
  // Debian's dnsmasq.service: `-7 ${CONFIG_DIR}` from /etc/default/dnsmasq (and /etc/dnsmasq.conf, all comments).
  expect(dnsmasqTest(["-C", "/dev/null", "-7", `${root}/etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new`])).toBe("0 dnsmasq: syntax check OK.");
  // Each server's own unit loads its config file and nothing else (the helper's checkconfig arguments).
  for (const m of servers) expect(dnsmasqTest([`--conf-file=${path.join(root, m.paths.dnsmasqConf)}`, "--local-service"])).toBe("0 dnsmasq: syntax check OK.");
  fs.rmSync(root, { recursive: true, force: true });
});
