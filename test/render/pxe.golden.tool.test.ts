/** Golden files for the PXE renderers (dnsmasq, nginx, iPXE, hosts), and every dnsmasq config through `dnsmasq --test`. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Issues } from "../../provider/model/errors";
import { buildNodeGroupModel, buildPxeServerModel, serverInfo } from "../../provider/model/pxe";
import { dnsmasqInstanceCheck, renderDnsmasq, renderDnsmasqDefaults } from "../../provider/render/dnsmasq";
import { renderDhcpHosts, renderDhcpOpts, renderEtcHosts } from "../../provider/render/hosts";
import { renderBootScript, renderGroupScript, renderNodeScripts } from "../../provider/render/ipxe";
import { renderNginx, renderNginxMain } from "../../provider/render/nginx";
import { RenderedFile } from "../../provider/render/types";
import { compareGolden, goldenCases } from "../helpers/golden";
import { requireTool, tmpDir } from "../helpers/env";

function renderCase(input: any): RenderedFile[] {
  const issues = new Issues("test");
  const m = buildPxeServerModel(input.server.name, input.server, input.server.host, issues);
  expect(issues.list).toEqual([]);
  const files = [renderDnsmasq(m!), ...(m!.dnsmasqInstance ? [renderDnsmasqDefaults(m!)] : []), renderNginx(m!), renderNginxMain(m!), renderBootScript(m!)];
  for (const g of input.groups) {
    const gi = new Issues("test");
    const gm = buildNodeGroupModel(g.name, { ...g, server: serverInfo(m!) }, gi);
    expect(gi.list).toEqual([]);
    const opts = renderDhcpOpts(gm!);
    files.push(renderDhcpHosts(gm!), ...(opts ? [opts] : []), renderEtcHosts(gm!), renderGroupScript(gm!), ...renderNodeScripts(gm!));
  }
  return files;
}

describe.each(goldenCases("pxe"))("PXE renderers, case $name", ({ dir, input }) => {
  const files = renderCase(input);

  test("match the golden files byte for byte", () => {
    expect(compareGolden(dir, files)).toEqual([]);
  });

  test("render the same bytes twice (deterministic)", () => {
    expect(renderCase(input)).toEqual(files);
  });

  test("the dnsmasq config passes `dnsmasq --test` (systemd hosts: with the dnsmasq@ unit's arguments)", () => {
    const dnsmasq = requireTool("dnsmasq");
    const d = tmpDir("dnsmasq-test");
    const conf = path.join(d, "dnsmasq.conf");
    const issues = new Issues("test");
    const m = buildPxeServerModel(input.server.name, input.server, input.server.host, issues)!;
    fs.writeFileSync(conf, files.find((f) => f.path === m.paths.dnsmasqConf)!.content);
    const argv = m.dnsmasqInstance ? dnsmasqInstanceCheck(conf) : ["dnsmasq", "--test", "-C", conf];
    const r = spawnSync(dnsmasq, argv.slice(1), { encoding: "utf8" });
    expect(`${r.status} ${r.stderr.trim()}`).toBe("0 dnsmasq: syntax check OK.");
  });
});
