import { Issues, ValidationError } from "../../provider/model/errors";
import { buildNodeGroupModel, buildPxeServerModel, checkMirrors, claimsOf, findConflicts, parseHostsFile, rebaseBoot, serverInfo } from "../../provider/model/pxe";
import { parseCidr, parseIPv4, inSubnet, normalizeMac } from "../../provider/model/net";

const goodServer = { interface: "eth1", subnet: "10.0.0.0/24", serverIp: "10.0.0.1", dhcpMode: "authoritative", dynamicRange: { start: "10.0.0.200", end: "10.0.0.250" } };

function server(args: any = goodServer) {
  const issues = new Issues('netboot:index:PxeServer "pxe"');
  return { m: buildPxeServerModel("pxe", args, { root: "/t" }, issues), issues };
}
function group(nodes: any[], extra: any = {}) {
  const issues = new Issues('netboot:index:NodeGroup "g"');
  const info = serverInfo(server().m!);
  const m = buildNodeGroupModel("g", { server: info, nodes, boot: { kernelUrl: "http://10.0.0.1/k", initrdUrl: "http://10.0.0.1/i" }, ...extra }, issues);
  return { m, issues, messages: issues.list.map((i) => `${i.field}: ${i.message}`) };
}

describe("IPv4 helpers", () => {
  test.each([["10.0.0.1", 0x0a000001], ["255.255.255.255", 0xffffffff], ["1.2.3", undefined], ["1.2.3.256", undefined], ["01.2.3.4", undefined], ["a.b.c.d", undefined]])("parseIPv4(%s)", (s, n) => {
    expect(parseIPv4(s)).toBe(n);
  });
  test("a subnet's network and broadcast addresses are not host addresses", () => {
    const c = parseCidr("10.0.0.0/24")!;
    expect(inSubnet(c, parseIPv4("10.0.0.0")!)).toBe(false);
    expect(inSubnet(c, parseIPv4("10.0.0.255")!)).toBe(false);
    expect(inSubnet(c, parseIPv4("10.0.0.254")!)).toBe(true);
    expect(inSubnet(c, parseIPv4("10.0.1.1")!)).toBe(false);
  });
  test("CIDR with host bits set is refused rather than guessed", () => {
    expect(parseCidr("10.0.0.1/24")).toBeUndefined();
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
  });
  test("MACs are normalised to lower-case colon form", () => {
    expect(normalizeMac("52-54-00-AA-BB-CC")).toBe("52:54:00:aa:bb:cc");
    expect(normalizeMac("52:54:00:aa:bb")).toBeUndefined();
  });
  test("property: every address of a /24 except network and broadcast is inside it", () => {
    const c = parseCidr("192.168.7.0/24")!;
    let n = 0;
    for (let i = 0; i < 256; i++) if (inSubnet(c, parseIPv4(`192.168.7.${i}`)!)) n++;
    expect(n).toBe(254);
  });
});

describe("PxeServer validation", () => {
  test("a good server has a model and no issues", () => {
    const { m, issues } = server();
    expect(issues.list).toEqual([]);
    expect(m!.httpBaseUrl).toBe("http://10.0.0.1/");
    expect(Object.keys(m!.bootFiles).sort()).toEqual(["bios", "efi-x86_64", "http-x86_64"]);
  });

  test("reports every error at once, naming field and value", () => {
    const { m, issues } = server({ interface: "eth1\nx", subnet: "10.0.0.0/24", serverIp: "10.0.1.1", dhcpMode: "dhcp", dynamicRange: { start: "10.0.0.250", end: "10.0.0.200" }, bootFiles: { bios: "../undionly.kpxe" } });
    expect(m).toBeUndefined();
    const fields = issues.list.map((i) => i.field);
    expect(fields).toEqual(expect.arrayContaining(["interface", "serverIp", "dhcpMode", "dynamicRange", "bootFiles.bios"]));
    expect(issues.list.find((i) => i.field === "serverIp")!.value).toBe("10.0.1.1");
    expect(new ValidationError(issues.list).message).toMatch(/netboot:index:PxeServer "pxe": serverIp = "10.0.1.1": is not a host address of subnet 10.0.0.0\/24/);
  });

  test("the dynamic range may not hold the server's address and is only for authoritative mode", () => {
    expect(server({ ...goodServer, dynamicRange: { start: "10.0.0.1", end: "10.0.0.9" } }).issues.list.map((i) => i.message)).toContain("contains the server's own address 10.0.0.1");
    expect(server({ ...goodServer, dhcpMode: "proxy" }).issues.list.map((i) => i.field)).toContain("dynamicRange");
  });

  test("proxy mode refuses UEFI HTTP boot (proxyDHCP cannot send a URL)", () => {
    const { issues } = server({ ...goodServer, dynamicRange: undefined, dhcpMode: "proxy", bootFiles: { httpX64: "ipxe.efi" } });
    expect(issues.list.map((i) => i.field)).toEqual(["bootFiles.httpX64"]);
  });

  test("a boot file outside Debian's ipxe package needs a path", () => {
    const { issues } = server({ ...goodServer, bootFiles: { efiArm64: "ipxe-arm64.efi" } });
    expect(issues.list.map((i) => i.field)).toEqual(['ipxeFiles["ipxe-arm64.efi"]']);
  });
});

describe("NodeGroup validation", () => {
  test("malformed MAC, IP and host name, all at once", () => {
    const { m, messages } = group([{ name: "bad_name", macs: ["zz:00:00:00:00:01"], ip: "10.0.0.300" }]);
    expect(m).toBeUndefined();
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^nodes\[0\]\.name: must be a host name/),
        expect.stringMatching(/^nodes\[0\]\.macs\[0\]: is not a MAC address/),
        expect.stringMatching(/^nodes\[0\]\.ip: is not an IPv4 address/),
      ]),
    );
  });

  test("MAC, IP and name claimed twice within a group", () => {
    const { messages } = group([
      { name: "n1", macs: ["52:54:00:00:00:01"], ip: "10.0.0.11" },
      { name: "N1", macs: ["52:54:00:00:00:01"], ip: "10.0.0.11" },
    ]);
    expect(messages).toEqual([
      "nodes[1].name: host name is also claimed by nodes[0].name",
      "nodes[1].macs[0]: MAC is also claimed by nodes[0].macs[0]",
      "nodes[1].ip: IP is also claimed by nodes[0].ip",
    ]);
  });

  test("static IP outside the subnet, inside the dynamic range, or the server's own", () => {
    const { messages } = group([
      { name: "a", macs: ["52:54:00:00:00:01"], ip: "10.0.1.5" },
      { name: "b", macs: ["52:54:00:00:00:02"], ip: "10.0.0.210" },
      { name: "c", macs: ["52:54:00:00:00:03"], ip: "10.0.0.1" },
    ]);
    expect(messages).toEqual([
      "nodes[0].ip: is outside the server's subnet 10.0.0.0/24",
      "nodes[1].ip: is inside the server's dynamic range 10.0.0.200-10.0.0.250",
      "nodes[2].ip: is the PXE server's own address",
    ]);
  });

  test("a firmware without a boot file on the server", () => {
    const { messages } = group([{ name: "a", macs: ["52:54:00:00:00:01"], ip: "10.0.0.5", firmware: "efi-arm64" }]);
    expect(messages).toEqual(["nodes[0].firmware: server pxe has no boot file for this firmware"]);
  });

  test.each([
    ["newline", "quiet\nkernel http://evil/"],
    ["quote", 'quiet"'],
    ["backtick", "quiet `reboot`"],
    ["${", "quiet ${net0/ip}"],
  ])("kernel arguments with a %s are refused (injection into the iPXE script)", (_what, args) => {
    const { messages } = group([{ name: "a", macs: ["52:54:00:00:00:01"], ip: "10.0.0.5", kernelArgs: args }]);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages[0]).toMatch(/^nodes\[0\]\.kernelArgs: contains/);
  });

  test("names with commas, slashes or .. are refused", () => {
    for (const name of ["a,b", "a/b", ".."]) expect(group([{ name, macs: ["52:54:00:00:00:01"], ip: "10.0.0.5" }]).m).toBeUndefined();
  });

  test("claims already in the hostsdir (another stack's group) conflict", () => {
    const { m } = group([{ name: "n1", macs: ["52:54:00:00:00:01"], ip: "10.0.0.11" }]);
    const others = parseHostsFile("/srv/netboot/dhcp-hosts.d/rack9", "# other stack\n52:54:00:00:00:01,10.0.0.99,other,infinite\nde:ad:be:ef:00:01,10.0.0.11,n1\n");
    const issues = new Issues("g");
    findConflicts(claimsOf(m!), others, issues);
    expect(issues.list.map((i) => `${i.field}=${i.value}: ${i.message}`)).toEqual([
      "nodes[0].name=n1: host name is already claimed by /srv/netboot/dhcp-hosts.d/rack9 (line 3)",
      "nodes[0].ip=10.0.0.11: IP is already claimed by /srv/netboot/dhcp-hosts.d/rack9 (line 3)",
      "nodes[0].macs[0]=52:54:00:00:00:01: MAC is already claimed by /srv/netboot/dhcp-hosts.d/rack9 (line 2)",
    ]);
  });
});

describe("PxeServer on a systemd host (docs/pxe.md, systemd activation)", () => {
  const build = (args: any, host: any) => {
    const issues = new Issues('netboot:index:PxeServer "pxe"');
    const m = buildPxeServerModel("pxe", args, host, issues);
    return { m, messages: issues.list.map((i) => `${i.field}=${JSON.stringify(i.value)}: ${i.message}`) };
  };
  const ssh = { ssh: { host: "head" }, systemd: true };

  test("is its own dnsmasq@netboot-<name> instance: config outside /etc/dnsmasq.d, the unit's pid file", () => {
    const { m, messages } = build(goodServer, ssh);
    expect(messages).toEqual([]);
    expect([m!.dnsmasqUnit, m!.dnsmasqInstance, m!.paths.dnsmasqConf, m!.paths.dnsmasqDefaults, m!.paths.pidFile]).toEqual([
      "dnsmasq@netboot-pxe", "netboot-pxe", "/etc/netboot/dnsmasq/netboot-pxe.conf", "/etc/default/dnsmasq.netboot-pxe", "/run/dnsmasq/dnsmasq.netboot-pxe.pid",
    ]);
    expect(serverInfo(m!)).toMatchObject({ dnsmasqUnit: "dnsmasq@netboot-pxe", pidFile: "/run/dnsmasq/dnsmasq.netboot-pxe.pid" });
  });

  test("a given dnsmasq@ instance is used as given", () => {
    const { m } = build({ ...goodServer, dnsmasqUnit: "dnsmasq@boot-net.service" }, ssh);
    expect([m!.dnsmasqInstance, m!.paths.dnsmasqDefaults]).toEqual(["boot-net", "/etc/default/dnsmasq.boot-net"]);
  });

  test("refused, all at once: the distribution's plain dnsmasq unit, and systemd on a local folder", () => {
    const { m, messages } = build({ ...goodServer, dnsmasqUnit: "dnsmasq" }, { root: "/t", systemd: true });
    expect(m).toBeUndefined();
    expect(messages).toEqual([
      expect.stringMatching(/^dnsmasqUnit="dnsmasq": with systemd: true, netboot runs its own instance of Debian's dnsmasq@\.service: give `dnsmasq@<instance>`/),
      expect.stringMatching(/^host\.systemd=true: activates units of the host's own systemd: give `ssh` or `\{\}`/),
    ]);
  });

  test("without systemd nothing changes: the config in /etc/dnsmasq.d with its pid-file", () => {
    const { m } = build(goodServer, { root: "/t" });
    expect([m!.dnsmasqUnit, m!.dnsmasqInstance, m!.paths.dnsmasqConf, m!.paths.pidFile]).toEqual(["dnsmasq", undefined, "/etc/dnsmasq.d/netboot-pxe.conf", "/srv/netboot/run/dnsmasq-pxe.pid"]);
  });
});

describe("two head nodes: NodeGroup mirrors", () => {
  const staticServer = (name: string, ip: string, root: string, extra: any = {}) => {
    const issues = new Issues(`netboot:index:PxeServer "${name}"`);
    const m = buildPxeServerModel(name, { interface: "eth1", subnet: "10.0.0.0/24", serverIp: ip, dhcpMode: "static", ...extra }, { root }, issues);
    expect(issues.list).toEqual([]);
    return serverInfo(m!);
  };
  const a = staticServer("pxe", "10.0.0.1", "/a");
  const b = staticServer("pxe2", "10.0.0.2", "/b");
  const boot = { kernelUrl: "http://10.0.0.1/images/debian/vmlinuz-1", initrdUrl: "http://10.0.0.1/images/debian/initrd-1.img", args: "netboot.image=http://10.0.0.1/images/debian/image.tar.gz quiet" };
  const check = (mirrors: unknown, bootTarget: any = boot, server = a) => {
    const issues = new Issues('netboot:index:NodeGroup "g"');
    const out = checkMirrors(server, mirrors, bootTarget, issues);
    return { out, messages: issues.list.map((i) => `${i.field}: ${i.message}`) };
  };

  test("rebaseBoot moves every URL below the server's base to the mirror's, leaves others, and drops servedBy", () => {
    expect(rebaseBoot({ ...boot, args: `${boot.args} netboot.volfile=http://10.0.5.9/v.vol`, servedBy: ["http://10.0.0.1/"] }, a.httpBaseUrl, b.httpBaseUrl)).toEqual({
      kernelUrl: "http://10.0.0.2/images/debian/vmlinuz-1",
      initrdUrl: "http://10.0.0.2/images/debian/initrd-1.img",
      args: "netboot.image=http://10.0.0.2/images/debian/image.tar.gz quiet netboot.volfile=http://10.0.5.9/v.vol",
    });
    expect(rebaseBoot({ localDisk: true }, a.httpBaseUrl, b.httpBaseUrl)).toEqual({ localDisk: true });
  });

  test("a static mirror on the same subnet whose BootImage is published there passes", () => {
    expect(check([b], { ...boot, servedBy: [a.httpBaseUrl, b.httpBaseUrl] })).toEqual({ out: [b], messages: [] });
    expect(check(undefined).out).toEqual([]);
  });

  test("refused, every one at once: a dynamic range, another subnet, the same server twice, an image not on the mirror, not a list", () => {
    const dyn = serverInfo(buildPxeServerModel("pxe3", { interface: "eth1", subnet: "10.0.0.0/24", serverIp: "10.0.0.3", dhcpMode: "authoritative", dynamicRange: { start: "10.0.0.200", end: "10.0.0.250" } }, { root: "/c" }, new Issues("x"))!);
    const other = staticServer("pxe4", "10.0.1.4", "/d", { subnet: "10.0.1.0/24" });
    expect(check([dyn, other, a, b], { ...boot, servedBy: [a.httpBaseUrl] }).messages).toEqual([
      "mirrors[0].dhcpMode: a group with mirrors needs dhcpMode `static` on every server (static leases only: each hands out the same fixed address, so neither needs to know the other)",
      "mirrors[0]: does not serve the group's boot image (published on http://10.0.0.1/): give the BootImage the same `mirrors`",
      "mirrors[1].subnet: must be the server's subnet 10.0.0.0/24: the nodes keep their static addresses on either",
      "mirrors[1]: does not serve the group's boot image (published on http://10.0.0.1/): give the BootImage the same `mirrors`",
      "mirrors[2]: is the same server (host and hostsdir) as server",
      "mirrors[3]: does not serve the group's boot image (published on http://10.0.0.1/): give the BootImage the same `mirrors`",
    ]);
    expect(check("pxe2").messages).toEqual(["mirrors: must be a list of PxeServer `info` outputs"]);
    const authoritative = serverInfo(server().m!);
    expect(check([b], boot, authoritative).messages).toEqual(["server.dhcpMode: a group with mirrors needs dhcpMode `static` on every server (static leases only: each hands out the same fixed address, so neither needs to know the other)"]);
  });
});
