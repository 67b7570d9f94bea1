/** The lab contract (the `lab` stack output): every problem at once, node selection, server addresses. */
import { parseContract, selectNodes, serverAddresses } from "../../../scripts/lab/contract";
import { dnsmasqFacts, nginxFacts } from "../../../scripts/lab/configs";
import { table } from "../../../scripts/lab/main";

const good = () => ({
  lab: {
    targetRoot: "/t",
    server: { interface: "nblbr0", subnet: "10.90.0.0/24", serverIp: "10.90.0.1", dnsmasqConfig: "/t/etc/d.conf", nginxMainConfig: "/t/srv/nginx.conf" },
    volumes: [{ name: "images", clientVolfile: "/t/c.vol", bricks: [{ host: "10.90.0.2", port: 49152, path: "/t/b1", volfile: "/t/b1.vol" }, { host: "10.90.0.3", port: 49152, path: "/t/b2", volfile: "/t/b2.vol" }] }],
    volumeContent: [{ volume: "images", source: "/b/volume", path: "/" }],
    nodes: [
      { name: "ram1", group: "ram", mac: "52:54:00:90:00:11", ip: "10.90.0.11" },
      { name: "hyb1", group: "hybrid", mac: "52:54:00:90:00:21", ip: "10.90.0.21", firmware: "efi-x86_64" },
    ],
    upMarker: "UP-MARKER",
  },
});

test("a good contract parses; firmware defaults to bios; server addresses are the server's then each brick host once", () => {
  const { contract, errors } = parseContract(good());
  expect(errors).toEqual([]);
  expect(contract!.server.prefix).toBe(24);
  expect(contract!.nodes.map((n) => n.firmware)).toEqual(["bios", "efi-x86_64"]);
  expect(serverAddresses(contract!)).toEqual(["10.90.0.1", "10.90.0.2", "10.90.0.3"]);
});

test("no lab output: says to run pulumi up", () => {
  expect(parseContract({}).errors[0]).toMatch(/no `lab` output: run `pulumi up`/);
});

test("every problem is reported at once, each with its field and value", () => {
  const o: any = good();
  o.lab.server.interface = "this-name-is-far-too-long";
  o.lab.server.serverIp = "10.91.0.1";
  o.lab.volumes[0].bricks[1].host = "10.90.0.2";
  o.lab.volumeContent[0].volume = "other";
  o.lab.nodes[1].mac = "52:54:00:90:00:11";
  o.lab.nodes[1].firmware = "efi-arm64";
  o.lab.nodes[0].ip = "10.90.0.255";
  o.lab.upMarker = "";
  o.lab.nodeMemoryMb = 100;
  expect(parseContract(o).errors).toEqual([
    'lab.server.interface: "this-name-is-far-too-long" must be an interface name (1-15 of A-Z a-z 0-9 _ . -)',
    'lab.server.serverIp: "10.91.0.1" is not a host address of 10.90.0.0/24: the lab puts every server and node on one bridge in that subnet',
    "lab.volumes[0].bricks[1].port: 49152 is also used by volumes[0].bricks[0] on 10.90.0.2",
    'lab.volumeContent[0].volume: "other" names no volume of lab.volumes (images)',
    'lab.nodes[0].ip: "10.90.0.255" is not a host address of 10.90.0.0/24: the lab puts every server and node on one bridge in that subnet',
    'lab.nodes[1].mac: "52:54:00:90:00:11" is also the MAC of nodes[0].mac',
    'lab.nodes[1].firmware: "efi-arm64" is not one the lab can boot (bios, efi-x86_64: SeaBIOS or OVMF on x86_64)',
    'lab.upMarker: "" must be the text the image prints when the node is up (4 characters or more)',
    "lab.nodeMemoryMb: 100 must be a whole number of MB from 256 to 16384",
  ]);
});

test("--groups and --nodes choose their union; unknown names are errors naming what exists", () => {
  const nodes = parseContract(good()).contract!.nodes;
  expect(selectNodes(nodes, [], []).nodes.map((n) => n.name)).toEqual(["ram1", "hyb1"]);
  expect(selectNodes(nodes, ["hybrid"], []).nodes.map((n) => n.name)).toEqual(["hyb1"]);
  expect(selectNodes(nodes, ["hybrid"], ["ram1"]).nodes.map((n) => n.name)).toEqual(["ram1", "hyb1"]);
  expect(selectNodes(nodes, ["gpu"], ["x9"]).errors).toEqual([
    '--groups: no group "gpu" (the example has ram, hybrid)',
    '--nodes: no node "x9" (the example has ram1, hyb1)',
  ]);
});

test("the daemons' run-time files are read from the rendered configs", () => {
  expect(dnsmasqFacts("port=0\ninterface=nblbr0\npid-file=/t/run/d.pid\ndhcp-leasefile=/t/run/d.leases\n")).toEqual({ interface: "nblbr0", pidFile: "/t/run/d.pid", leaseFile: "/t/run/d.leases" });
  const main = nginxFacts("# x\nworker_processes 1;\npid /t/run/n.pid;\nerror_log /t/run/e.log;\nhttp {\n  include /etc/nginx/mime.types;\n  client_body_temp_path /t/run/tmp;\n  include /t/etc/nginx/conf.d/s.conf;\n}\n");
  expect(main).toMatchObject({ pidFile: "/t/run/n.pid", errorLog: "/t/run/e.log", tempDirs: ["/t/run/tmp"], includes: ["/etc/nginx/mime.types", "/t/etc/nginx/conf.d/s.conf"] });
  expect(nginxFacts("server {\n    listen 10.90.0.1:80;\n    access_log /t/run/a.log;\n}\n")).toMatchObject({ listens: ["10.90.0.1:80"], accessLogs: ["/t/run/a.log"] });
});

test("the final table has node, group, IP, seconds to up and result", () => {
  expect(table([
    { node: "ram1", group: "ram", ip: "10.90.0.11", secondsToUp: 43.8, result: "up" },
    { node: "hyb1", group: "hybrid", ip: "10.90.0.21", secondsToUp: null, result: "failed at kernel: HTTP 404 for /x" },
  ])).toBe([
    "node  group   IP          seconds to up  result",
    "----  ------  ----------  -------------  ---------------------------------",
    "ram1  ram     10.90.0.11  43.8           up",
    "hyb1  hybrid  10.90.0.21  -              failed at kernel: HTTP 404 for /x",
  ].join("\n"));
});

test("a node's host key from state is kept for the lab's check; a malformed one is an error naming the node's field", () => {
  const o: any = good();
  o.lab.nodes[0].hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBVtsKvV2fEp3bcf0QvdN7qXs3W0FoVbjaNdt6L1G6oG ram1";
  const { contract, errors } = parseContract(o);
  expect(errors).toEqual([]);
  expect(contract!.nodes.map((n) => n.hostKey)).toEqual([o.lab.nodes[0].hostKey, undefined]);
  o.lab.nodes[1].hostKey = "ssh-ed25519 !not-base64";
  expect(parseContract(o).errors).toEqual(['lab.nodes[1].hostKey: "ssh-ed25519 !not-base64" must be an SSH public key line such as "ssh-ed25519 AAAA... name"']);
});

test("machines mode: the PXE machine and its mirrors (two head nodes), each checked field by field", () => {
  const machines = (mirrors: unknown) => ({
    lab: {
      machines: { pxeMachine: "head", interface: "nb0", subnet: "10.97.0.0/24", serverIp: "10.97.0.1", dnsmasqUnit: "dnsmasq@netboot-pxe", accessLog: "/srv/netboot/run/nginx-pxe.access.log", mirrors },
      nodes: [{ name: "node1", group: "compute", mac: "52:54:00:97:00:11", ip: "10.97.0.11" }],
      upMarker: "UP-MARKER",
    },
  });
  const ok = parseContract(machines([{ pxeMachine: "head2", dnsmasqUnit: "dnsmasq@netboot-pxe2", accessLog: "/srv/netboot/run/nginx-pxe2.access.log" }]));
  expect(ok.errors).toEqual([]);
  expect(ok.contract!.machines!.mirrors).toEqual([{ pxeMachine: "head2", dnsmasqUnit: "dnsmasq@netboot-pxe2", accessLog: "/srv/netboot/run/nginx-pxe2.access.log" }]);
  expect(parseContract(machines(undefined)).contract!.machines!.mirrors).toBeUndefined();
  const bad = parseContract(machines([{ pxeMachine: "head 2", dnsmasqUnit: "dnsmasq pxe2", accessLog: "run/x.log" }]));
  expect(bad.errors.map((e) => e.split(":")[0])).toEqual(["lab.machines.mirrors[0].pxeMachine", "lab.machines.mirrors[0].dnsmasqUnit", "lab.machines.mirrors[0].accessLog"]);
  expect(parseContract(machines("head2")).errors[0]).toMatch(/^lab\.machines\.mirrors: /);
});
