/** The lab's machines mode, pure parts: lab-machines.json, the contract's `machines`, config leaves, snapshot diffs. */
import * as fs from "fs";
import * as path from "path";
import { parseContract } from "../../../scripts/lab/contract";
import { parseMachineSpec } from "../../../scripts/lab/machineLab";
import { snapshotDiff } from "../../../scripts/lab/machines";
import { configLeaves } from "../../../scripts/lab/main";

const spec = () => ({
  subnet: "10.97.0.0/24", labAddress: "10.97.0.254", interface: "nb0",
  machines: [{ name: "head", profile: "head", ip: "10.97.0.1" }, { name: "stor1", profile: "storage", ip: "10.97.0.2" }],
});

test("the example's lab-machines.json parses", () => {
  const { spec: s, errors } = parseMachineSpec(JSON.parse(fs.readFileSync(path.join(__dirname, "../../../examples/cluster-systemd/lab-machines.json"), "utf8")));
  expect(errors).toEqual([]);
  expect(s!.prefix).toBe(24);
  expect(s!.machines.map((m) => `${m.name}:${m.profile}`)).toEqual(["head:head", "stor1:storage", "stor2:storage", "stor3:storage", "head2:head"]);
});

test("lab-machines.json: every problem at once, each with its field and value", () => {
  const bad = spec();
  bad.subnet = "10.97.0.0/33";
  bad.interface = "an-interface-name-too-long";
  bad.machines.push({ name: "head", profile: "router", ip: "10.97.0.2" }, { name: "Bad_Name", profile: "storage", ip: "10.98.0.1" });
  const { spec: s, errors } = parseMachineSpec(bad);
  expect(s).toBeUndefined();
  expect(errors).toEqual([
    'lab-machines.json subnet: "10.97.0.0/33" must be an IPv4 network such as 10.97.0.0/24',
    'lab-machines.json interface: "an-interface-name-too-long" must be an interface name (each machine\'s end of its link to the bridge)',
    'lab-machines.json machines[2].name: "head" names two machines',
    'lab-machines.json machines[2].profile: "router" must be one of pxe, head, storage (scripts/lab/machineRoot.sh)',
    'lab-machines.json machines[2].ip: "10.97.0.2" is also the address of machines[1].ip',
    'lab-machines.json machines[3].name: "Bad_Name" must be a short host name (a-z, 0-9, -; 15 at most)',
  ]);
  // with a good subnet, an address outside it is named too
  const outside = spec();
  outside.machines[1].ip = "10.98.0.2";
  expect(parseMachineSpec(outside).errors).toEqual(['lab-machines.json machines[1].ip: "10.98.0.2" is not a host address of 10.97.0.0/24']);
});

const lab = () => ({
  machines: { pxeMachine: "head", interface: "nb0", subnet: "10.97.0.0/24", serverIp: "10.97.0.1", dnsmasqUnit: "dnsmasq@netboot-pxe", accessLog: "/srv/netboot/run/nginx-pxe.access.log" },
  nodes: [{ name: "node1", group: "compute", mac: "52:54:00:97:00:11", ip: "10.97.0.11" }],
  upMarker: "UP-MARKER",
});

test("a machines contract needs no target root, rendered files or volumes", () => {
  const { contract, errors } = parseContract({ lab: lab() });
  expect(errors).toEqual([]);
  expect(contract!.machines).toEqual({ pxeMachine: "head", dnsmasqUnit: "dnsmasq@netboot-pxe", accessLog: "/srv/netboot/run/nginx-pxe.access.log" });
  expect(contract!.server).toMatchObject({ interface: "nb0", prefix: 24, serverIp: "10.97.0.1" });
  expect(contract!.volumes).toEqual([]);
});

test("a machines contract refuses the daemons mode's fields and names its own bad ones", () => {
  const l: Record<string, unknown> = { ...lab(), targetRoot: "/t", volumeContent: [] };
  (l.machines as Record<string, unknown>).accessLog = "relative.log";
  (l.machines as Record<string, unknown>).serverIp = "10.98.0.1";
  expect(parseContract({ lab: l }).errors).toEqual([
    'lab.machines.accessLog: "relative.log" must be an absolute path (without ..)',
    'lab.targetRoot: "/t" is for the daemons mode: with machines, `pulumi up` set the servers up and the lab starts no daemon and copies nothing',
    "lab.volumeContent: [] is for the daemons mode: with machines, `pulumi up` set the servers up and the lab starts no daemon and copies nothing",
    'lab.machines.serverIp: "10.98.0.1" is not a host address of 10.97.0.0/24: the lab puts every server and node on one bridge in that subnet',
  ]);
});

test("structured stack config is set one `--path` leaf at a time", () => {
  expect(configLeaves("storage", [{ host: "10.97.0.2", port: 22 }, { host: "10.97.0.3", port: 22 }])).toEqual([
    ["storage[0].host", "10.97.0.2"], ["storage[0].port", 22], ["storage[1].host", "10.97.0.3"], ["storage[1].port", 22],
  ]);
  expect(configLeaves("head", { host: "h", hostKey: "ssh-ed25519 AAAA" })).toEqual([["head.host", "h"], ["head.hostKey", "ssh-ed25519 AAAA"]]);
});

test("snapshot differences: lines only before (-) and only after (+), by path", () => {
  expect(snapshotDiff("f 644 etc/a \nf 644 etc/b \n", "f 644 etc/b \nf 600 etc/a \nf 644 etc/c \n")).toEqual(["+ f 600 etc/a ", "- f 644 etc/a ", "+ f 644 etc/c "]);
  expect(snapshotDiff("x\ny\n", "x\ny\n")).toEqual([]);
});
