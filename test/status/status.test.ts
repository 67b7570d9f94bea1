/**
 * The status view's pure core: real dnsmasq and nginx log excerpts in test/golden/status/<case>/ (dnsmasq.log,
 * dnsmasq.leases, access.log, input.json with the stack's groups) -> the report as JSON, table and node_exporter
 * textfile, compared byte for byte (`UPDATE_GOLDEN=1` rewrites them). Then the readers' edge cases one by one.
 */
import * as fs from "fs";
import * as path from "path";
import { dnsmasqFiles, groupScriptFiles, nginxAccessLogs, nodeBoot, parseAccessLog, parseDnsmasqLog, parseLeases } from "../../provider/status/boot";
import { buildReport, formatJson, formatPrometheus, formatTable, inventoryFromDeployment, reveal, ServerData } from "../../provider/status/report";
import { renderNginx } from "../../provider/render/nginx";
import { renderDnsmasq } from "../../provider/render/dnsmasq";
import { renderGroupScript } from "../../provider/render/ipxe";
import { buildNodeGroupModel, buildPxeServerModel, serverInfo } from "../../provider/model/pxe";
import { Issues } from "../../provider/model/errors";
import { compareGolden, goldenCases } from "../helpers/golden";

const read = (dir: string, f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");

describe("golden reports from real log excerpts", () => {
  for (const c of goldenCases("status")) {
    test(c.name, () => {
      const i = c.input;
      const data: ServerData = {
        server: i.groups[0].server,
        dnsmasqSource: i.dnsmasqSource,
        log: parseDnsmasqLog(read(c.dir, "dnsmasq.log"), { now: i.now, utcOffsetMinutes: i.utcOffsetMinutes }),
        leases: parseLeases(read(c.dir, "dnsmasq.leases")),
        access: parseAccessLog(read(c.dir, "access.log")),
        groupFiles: i.groupFiles,
        warnings: [],
      };
      const r = buildReport(i.stack, { servers: [], groups: i.groups }, [data], i.now);
      expect(compareGolden(c.dir, [
        { path: "status.json", mode: 0o644, content: formatJson(r) },
        { path: "status.txt", mode: 0o644, content: formatTable(r) },
        { path: "status.prom", mode: 0o644, content: formatPrometheus(r) },
      ])).toEqual([]);
    });
  }
});

describe("dnsmasq's log", () => {
  const line = (d: string) => `${d} dnsmasq-dhcp[1]: 7 DHCPACK(nbs0) 10.0.0.5 52:54:00:00:00:05 n1\n`;

  test("a log file's lines carry no year: the one that puts them before now, in the server's zone", () => {
    const now = Date.UTC(2027, 0, 1, 0, 30) / 1000;
    // Dec 31 23:10 is last year's; a line up to a day ahead of now is clock skew, not last year
    expect(parseDnsmasqLog(line("Dec 31 23:10:00"), { now }).dhcp[0].time).toBe(Date.UTC(2026, 11, 31, 23, 10) / 1000);
    expect(parseDnsmasqLog(line("Jan  1 12:00:00"), { now }).dhcp[0].time).toBe(Date.UTC(2027, 0, 1, 12) / 1000);
    expect(parseDnsmasqLog(line("Jan  1 01:30:00"), { now, utcOffsetMinutes: 60 }).dhcp[0].time).toBe(Date.UTC(2027, 0, 1, 0, 30) / 1000);
  });

  test("journal times in every short-iso spelling", () => {
    for (const t of ["2026-12-02T05:07:08+0000", "2026-12-02T05:07:08+00:00", "2026-12-02T06:07:08.123456+01:00", "2026-12-02T05:07:08Z"])
      expect(parseDnsmasqLog(line(`${t} head`), { now: 0 }).dhcp[0].time).toBe(Date.UTC(2026, 11, 2, 5, 7, 8) / 1000);
  });

  test("proxy mode's PXE lines count as the firmware asking", () => {
    const log = parseDnsmasqLog("Dec  2 05:07:08 dnsmasq-dhcp[1]: 12 PXE(eth0) 52:54:00:00:00:07 proxy\n", { now: Date.UTC(2026, 11, 3) / 1000 });
    expect(log.dhcp).toEqual([{ time: Date.UTC(2026, 11, 2, 5, 7, 8) / 1000, kind: "PXE", iface: "eth0", mac: "52:54:00:00:00:07" }]);
    expect(nodeBoot({ name: "n", group: "g", macs: ["52:54:00:00:00:07"], ip: "10.0.0.7" }, log, []).stage).toBe("DHCP");
  });

  test("a known node refused a lease is a failure; a later lease clears it", () => {
    const now = Date.UTC(2026, 11, 3) / 1000;
    const refused = "Dec  2 05:07:14 dnsmasq-dhcp[1]: 9 DHCPDISCOVER(nbs0) 52:54:00:00:00:05 no address available\n";
    const node = { name: "n1", group: "g", macs: ["52:54:00:00:00:05"], ip: "10.0.0.5" };
    expect(nodeBoot(node, parseDnsmasqLog(refused, { now }), []).failure).toBe("dnsmasq: DHCPDISCOVER no address available");
    expect(nodeBoot(node, parseDnsmasqLog(refused + line("Dec  2 05:07:15"), { now }), []).failure).toBeUndefined();
  });
});

test("stages within one logged second keep their order (the initramfs's DHCP after the kernel's download)", () => {
  const log = parseDnsmasqLog([
    "2026-12-02T05:18:02Z h dnsmasq-dhcp[1]: 5 vendor class: udhcp 1.36.1",
    "2026-12-02T05:18:02Z h dnsmasq-dhcp[1]: 5 DHCPDISCOVER(nbs0) 52:54:00:00:00:05 ",
    "2026-12-02T05:18:01Z h dnsmasq-dhcp[1]: 4 DHCPACK(nbs0) 10.0.0.5 52:54:00:00:00:05 n1",
  ].join("\n"), { now: 0 });
  const access = parseAccessLog(`10.0.0.5 - - [02/Dec/2026:05:18:02 +0000] "GET /ipxe/group-g.ipxe HTTP/1.1" 200 1 "-" "iPXE"\n`);
  expect(nodeBoot({ name: "n1", group: "g", macs: ["52:54:00:00:00:05"], ip: "10.0.0.5" }, log, access)).toMatchObject({ stage: "initramfs" });
});

test("lease files: IPv4 lines, `*` as no name, DHCPv6 lines skipped", () => {
  expect(parseLeases("0 52:54:00:AA:00:01 10.0.0.9 * *\nduid 00:01:00:01\n1796229600 52:54:00:80:00:01 10.80.0.11 c1 01:52\n")).toEqual([
    { expires: 0, mac: "52:54:00:aa:00:01", ip: "10.0.0.9" },
    { expires: 1796229600, mac: "52:54:00:80:00:01", ip: "10.80.0.11", hostname: "c1" },
  ]);
});

test("nginx times with their zone; a line without a readable time keeps its place after the timed ones", () => {
  const [e] = parseAccessLog(`10.0.0.5 - - [02/Dec/2026:06:07:08 +0100] "GET /x HTTP/1.1" 200 1 "-" "-"\n`);
  expect(e.time).toBe(Date.UTC(2026, 11, 2, 5, 7, 8) / 1000);
  const odd = parseAccessLog(`10.0.0.5 - - [yesterday] "GET /ipxe/group-g.ipxe HTTP/1.1" 200 1 "-" "-"\n`);
  expect(nodeBoot({ name: "n", group: "g", macs: [], ip: "10.0.0.5" }, { dhcp: [], tftp: [] }, odd)).toMatchObject({ stage: "kernel", stages: {} });
});

describe("what the servers' own files name, as netboot renders them", () => {
  const issues = new Issues("test");
  const m = buildPxeServerModel("pxe", { interface: "nbs0", subnet: "10.70.0.0/24", serverIp: "10.70.0.1", dhcpMode: "static" }, { root: "/t" }, issues)!;
  const g = buildNodeGroupModel("compute", { server: serverInfo(m), nodes: [{ name: "c1", macs: ["52:54:00:70:00:01"], ip: "10.70.0.11" }], boot: { kernelUrl: `${m.httpBaseUrl}images/compute/vmlinuz-6.1-abc`, initrdUrl: `${m.httpBaseUrl}images/compute/initrd-0123456789ab.img` } }, issues)!;

  test("the rendered configs name the lease file and the access log; the group script the kernel and initrd", () => {
    expect(issues.list).toEqual([]);
    expect(dnsmasqFiles(renderDnsmasq(m).content)).toEqual({ interface: "nbs0", leaseFile: "/t/srv/netboot/run/dnsmasq-pxe.leases", pidFile: "/t/srv/netboot/run/dnsmasq-pxe.pid" });
    expect(nginxAccessLogs(renderNginx(m).content)).toEqual(["/t/srv/netboot/run/nginx-pxe.access.log"]);
    expect(groupScriptFiles(renderGroupScript(g).content)).toEqual({ kernelPath: "/images/compute/vmlinuz-6.1-abc", initrdPath: "/images/compute/initrd-0123456789ab.img" });
  });

  test("a log-facility file is read; a facility name or stderr is not a file", () => {
    expect(dnsmasqFiles("log-facility=/var/log/dnsmasq.log\n").logFile).toBe("/var/log/dnsmasq.log");
    expect(dnsmasqFiles("log-facility=LOCAL0\n").logFile).toBeUndefined();
    expect(dnsmasqFiles("log-facility=-\n").logFile).toBeUndefined();
  });
});

describe("the stack's state", () => {
  const secret = (v: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(v) });
  const info = { name: "pxe", host: { ssh: secret({ host: "head", privateKey: "KEY" }), systemd: true }, httpRoot: "/srv/netboot/http", dnsmasqUnit: "dnsmasq@netboot-pxe" };
  const deployment = {
    version: 3,
    deployment: {
      resources: [
        { urn: "urn:pulumi:dev::p::netboot:index:NodeGroup::compute", type: "netboot:index:NodeGroup", inputs: { server: info }, outputs: { nodeTable: [{ name: "c1", group: "compute", mac: "52:54:00:70:00:01", macs: ["52:54:00:70:00:01", "52:54:00:70:00:0A"], ip: "10.70.0.11" }] } },
        { urn: "urn:pulumi:dev::p::netboot:index:PxeServer::pxe", type: "netboot:index:PxeServer", inputs: { interface: "nbs0" }, outputs: { info, httpRoot: "/srv/netboot/http", dnsmasqConfig: "/etc/netboot/dnsmasq/netboot-pxe.conf", nginxConfig: "/etc/nginx/conf.d/netboot-pxe.conf" } },
      ],
    },
  };

  test("servers and groups from the components' outputs, secrets revealed", () => {
    const { inventory, errors } = inventoryFromDeployment(deployment);
    expect(errors).toEqual([]);
    expect(inventory).toEqual({
      servers: [{ name: "pxe", host: { ssh: { host: "head", privateKey: "KEY" }, systemd: true }, httpRoot: "/srv/netboot/http", dnsmasqConfig: "/etc/netboot/dnsmasq/netboot-pxe.conf", nginxConfig: "/etc/nginx/conf.d/netboot-pxe.conf", dnsmasqUnit: "dnsmasq@netboot-pxe", interface: "nbs0" }],
      groups: [{ name: "compute", server: "pxe", nodes: [{ name: "c1", ip: "10.70.0.11", macs: ["52:54:00:70:00:01", "52:54:00:70:00:0a"] }] }],
    });
  });

  test("every problem at once, each with the resource; encrypted secrets are refused", () => {
    const bad = { deployment: { resources: [
      { urn: "urn:pulumi:dev::p::netboot:index:PxeServer::a", type: "netboot:index:PxeServer", outputs: {} },
      { urn: "urn:pulumi:dev::p::netboot:index:NodeGroup::g", type: "netboot:index:NodeGroup", inputs: { server: { name: "zz" } }, outputs: { nodeTable: [] } },
    ] } };
    expect(inventoryFromDeployment(bad).errors).toEqual([
      "urn:pulumi:dev::p::netboot:index:PxeServer::a: outputs info (name, host), httpRoot, dnsmasqConfig and nginxConfig are missing (run `pulumi up` first)",
      "NodeGroup \"g\": its server \"zz\" is not a PxeServer of this stack",
    ]);
    expect(() => reveal({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "v1:abc" })).toThrow(/--show-secrets/);
  });
});

test("a node that booted another initrd than its group names now is marked (old); the image mark names what it unpacked", () => {
  const access = parseAccessLog([
    `10.0.0.5 - - [02/Dec/2026:05:00:01 +0000] "GET /images/g/initrd-aaaaaaaaaaaa.img HTTP/1.1" 200 1 "-" "iPXE"`,
    `10.0.0.5 - - [02/Dec/2026:05:00:09 +0000] "GET /netboot/stage/image?image=image-0123456789ab.tar.gz&root=../x HTTP/1.1" 204 0 "-" "Wget"`,
  ].join("\n"));
  const data: ServerData = { server: "p", dnsmasqSource: "file:/x", log: { dhcp: [], tftp: [] }, leases: [], access, groupFiles: { g: { initrdPath: "/images/g/initrd-cccccccccccc.img" } }, warnings: [] };
  const r = buildReport("s", { servers: [], groups: [{ name: "g", server: "p", nodes: [{ name: "n1", macs: [], ip: "10.0.0.5" }] }] }, [data], 1796188800);
  // a value that is not a plain name (`../x`) is not taken
  expect(r.nodes[0].image).toEqual({ initrd: "/images/g/initrd-aaaaaaaaaaaa.img", generation: "aaaaaaaaaaaa", current: false, osImage: "image-0123456789ab.tar.gz" });
  expect(formatTable(r)).toMatch(/^n1 +g +10\.0\.0\.5 +image .* 0123456789ab \(old\)$/m);
});

test("Prometheus label values are escaped", () => {
  const r = buildReport("s", { servers: [], groups: [{ name: "g\"x", server: "p", nodes: [{ name: "a\\b", macs: ["52:54:00:00:00:01"], ip: "10.0.0.1" }] }] }, [{
    server: "p", dnsmasqSource: "file:/x", leases: [], access: [], groupFiles: {}, warnings: [],
    log: parseDnsmasqLog("2026-12-02T05:07:08Z h dnsmasq-dhcp[1]: 1 DHCPDISCOVER(nbs0) 52:54:00:00:00:01 \n", { now: 0 }),
  }], 1796188800);
  expect(formatPrometheus(r)).toContain(`netboot_node_stage_timestamp_seconds{node="a\\\\b",group="g\\"x",stage="DHCP"} 1796188028`);
});

test("two head nodes: a group's node is reported from the server that saw its latest boot (NodeGroup mirrors)", () => {
  const server = (name: string, line: string): ServerData => ({
    server: name, dnsmasqSource: "file:/x", leases: [], access: [], groupFiles: {}, warnings: [],
    log: parseDnsmasqLog(line, { now: 0 }),
  });
  const groups = [{ name: "g", server: "pxe", mirrors: ["pxe2"], nodes: [{ name: "n1", macs: ["52:54:00:00:00:01"], ip: "10.0.0.11" }] }];
  // pxe saw an earlier boot; pxe2 (the first head was off) the last one
  const data = [
    server("pxe", "2026-12-02T05:00:00Z h dnsmasq-dhcp[1]: 1 DHCPDISCOVER(nb0) 52:54:00:00:00:01 \n"),
    server("pxe2", "2026-12-02T06:00:00Z h dnsmasq-dhcp[1]: 1 DHCPDISCOVER(nb0) 52:54:00:00:00:01 \n"),
  ];
  const r = buildReport("s", { servers: [], groups }, data, 1796188800);
  expect([r.nodes[0].server, r.nodes[0].stages.DHCP]).toEqual(["pxe2", Date.parse("2026-12-02T06:00:00Z") / 1000]);
  // seen by none: the group's own server
  expect(buildReport("s", { servers: [], groups }, [], 1796188800).nodes[0].server).toBe("pxe");
});
