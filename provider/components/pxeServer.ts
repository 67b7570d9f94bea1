import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ProviderContext } from "../context";
import * as schema from "../schema-types";
import { buildPxeServerModel, full, PxeServerModel, serverInfo } from "../model/pxe";
import { Issues } from "../model/errors";
import { normalizeHost } from "../model/host";
import { dnsmasqInstanceCheck, renderDnsmasq, renderDnsmasqDefaults, proxyBiosBasename } from "../render/dnsmasq";
import { renderNginx, renderNginxMain } from "../render/nginx";
import { renderBootScript } from "../render/ipxe";
import { asFiles, FileSet } from "../resources/clients";
import { checkBuildHostFile } from "../resources/fileSet";
import { validated } from "./_validate";

/** The arguments' rules (model/pxe.ts) plus the build host's iPXE binaries. Run before construct too. */
export async function checkPxeServer(ctx: ProviderContext, name: string, a: pulumi.Unwrap<schema.PxeServerArgs>, issues: Issues): Promise<PxeServerModel | undefined> {
  const m = buildPxeServerModel(name, a, normalizeHost(issues, "host", a.host), issues);
  // The iPXE binaries are copied from this machine: a missing one is named here, under the server and the
  // field that chose it, not later by the child FileSet that would read it.
  for (const [file, src] of Object.entries(m?.binaries ?? {}))
    await checkBuildHostFile(ctx.transport({}), issues, a.ipxeFiles?.[file] !== undefined ? `ipxeFiles["${file}"]` : `bootFiles (${file}: apt-get install ipxe)`, src);
  return issues.ok ? m : undefined;
}

/** netboot:index:PxeServer: wiring only. Rendering is in render/, rules in model/pxe.ts. */
export class PxeServer extends schema.PxeServer {
  constructor(ctx: ProviderContext, name: string, args: schema.PxeServerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    const model = validated(ctx, `netboot:index:PxeServer "${name}"`, args, (a, issues) => checkPxeServer(ctx, name, a, issues));

    const web = new FileSet(`${name}-web`, {
      host: model.host,
      files: model.apply((m) => {
        const files = asFiles([renderNginx(m), renderNginxMain(m), renderBootScript(m)]);
        for (const [file, src] of Object.entries(m.binaries)) {
          files[`${m.paths.tftpRoot}/${file}`] = { source: src, mode: "0644" };
          // UEFI HTTP boot fetches the iPXE binary over HTTP.
          files[`${m.paths.httpRoot}/${file}`] = { source: src, mode: "0644" };
        }
        // proxyDHCP asks BIOS clients for `<basename>.0`.
        if (m.mode === "proxy" && m.bootFiles.bios) files[`${m.paths.tftpRoot}/${proxyBiosBasename(m.bootFiles.bios)}.0`] = { source: m.binaries[m.bootFiles.bios], mode: "0644" };
        return files;
      }),
      // systemd hosts: the distribution's nginx (a shared unit) loads the server block from conf.d; `nginx -t`
      // checks everything it will load with the new block in place before the reload (docs/pxe.md).
      checks: model.apply((m) => (m.systemd ? [{ path: m.paths.nginxConf, command: ["nginx", "-t"] }] : [])),
      signal: model.apply((m) => (m.systemd ? { systemdUnit: "nginx", on: "change" as const, paths: [m.paths.nginxConf], activation: "shared" as const } : {})),
      // The server owns its folders; node groups and boot images write into them. On a systemd host nginx's
      // conf.d is the distribution's folder: written into, never owned (destroy must not remove it).
      dirs: model.apply((m) => [path.posix.dirname(m.paths.dnsmasqConf), ...(m.systemd ? [] : [path.posix.dirname(m.paths.nginxConf)]), m.paths.base, ...(m.mode === "proxy" ? [] : [m.paths.optsDir]), m.paths.tftpRoot, m.paths.httpRoot, `${m.paths.httpRoot}/ipxe`, m.paths.etcHostsDir, m.paths.runDir]),
      // dnsmasq serves every file in its hostsdir as leases: only node groups' files (netboot headers) belong there.
      exclusiveDirs: model.apply((m) => [m.paths.hostsDir]),
    }, { parent: this });

    // dnsmasq's config goes live only after `dnsmasq --test` accepts the staged file. On a systemd host the
    // config is the whole configuration of the server's own dnsmasq@ instance, checked with the unit's arguments.
    new FileSet(`${name}-dnsmasq`, {
      host: model.host,
      files: model.apply((m) => asFiles(m.dnsmasqInstance ? [renderDnsmasq(m), renderDnsmasqDefaults(m)] : [renderDnsmasq(m)])),
      checks: model.apply((m) => [{ path: m.paths.dnsmasqConf, command: m.dnsmasqInstance ? dnsmasqInstanceCheck("{}") : ["dnsmasq", "--test", "-C", "{}"] }]),
      // dnsmasq rereads its main config only when restarted (SIGHUP rereads hosts files only). The instance is
      // netboot's own: up enables and starts it, destroy stops and disables it.
      signal: model.apply((m) => (m.systemd ? { systemdUnit: m.dnsmasqUnit, on: "change" as const, restart: true, activation: "own" as const } : {})),
    }, { parent: this, dependsOn: [web] });

    this.info = model.apply(serverInfo);
    this.httpBaseUrl = model.httpBaseUrl;
    this.dnsmasqConfig = model.apply((m) => full(m, m.paths.dnsmasqConf));
    this.nginxConfig = model.apply((m) => full(m, m.paths.nginxConf));
    this.tftpRoot = model.apply((m) => full(m, m.paths.tftpRoot));
    this.httpRoot = model.apply((m) => full(m, m.paths.httpRoot));
    this.hostsDir = model.apply((m) => full(m, m.paths.hostsDir));
    // `info` depends on the arguments only (not on this server's file sets): a change to the server's own files
    // must not make its node groups unknown in a preview. Groups create missing folders themselves.
    this.registerOutputs({
      info: this.info,
      httpBaseUrl: this.httpBaseUrl,
      dnsmasqConfig: this.dnsmasqConfig,
      nginxConfig: this.nginxConfig,
      tftpRoot: this.tftpRoot,
      httpRoot: this.httpRoot,
      hostsDir: this.hostsDir,
    });
  }
}
