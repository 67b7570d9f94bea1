import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as schema from "../schema-types";
import { buildPxeServerModel, full, serverInfo } from "../model/pxe";
import { normalizeHost } from "../transport";
import { renderDnsmasq, proxyBiosBasename } from "../render/dnsmasq";
import { renderNginx, renderNginxMain } from "../render/nginx";
import { renderBootScript } from "../render/ipxe";
import { asFiles, FileSet } from "../resources/clients";
import { validated } from "./_validate";

/** netboot:index:PxeServer: wiring only. Rendering is in render/, rules in model/pxe.ts. */
export class PxeServer extends schema.PxeServer {
  constructor(name: string, args: schema.PxeServerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(name, args, opts);
    const model = validated(`netboot:index:PxeServer "${name}"`, args, (a, issues) =>
      buildPxeServerModel(name, a, normalizeHost(issues, "host", a.host), issues),
    );

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
      signal: model.apply((m) => (m.systemd ? { systemdUnit: "nginx", on: "change" } : {})),
      // The server owns its folders; node groups and boot images write into them.
      dirs: model.apply((m) => [path.posix.dirname(m.paths.dnsmasqConf), path.posix.dirname(m.paths.nginxConf), m.paths.base, m.paths.tftpRoot, m.paths.httpRoot, `${m.paths.httpRoot}/ipxe`, m.paths.etcHostsDir, m.paths.runDir]),
      // dnsmasq serves every file in its hostsdir as leases: only node groups' files (netboot headers) belong there.
      exclusiveDirs: model.apply((m) => [m.paths.hostsDir]),
    }, { parent: this });

    // dnsmasq's config goes live only after `dnsmasq --test` accepts the staged file.
    const dnsmasq = new FileSet(`${name}-dnsmasq`, {
      host: model.host,
      files: model.apply((m) => asFiles([renderDnsmasq(m)])),
      checks: model.apply((m) => [{ path: m.paths.dnsmasqConf, command: ["dnsmasq", "--test", "-C", "{}"] }]),
      // dnsmasq rereads its main config only when restarted (SIGHUP rereads hosts files only).
      signal: model.apply((m) => (m.systemd ? { systemdUnit: m.dnsmasqUnit, on: "change", restart: true } : {})),
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
