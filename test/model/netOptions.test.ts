import { Issues } from "../../provider/model/errors";
import { buildNodeGroupModel, buildPxeServerModel, serverInfo } from "../../provider/model/pxe";
import { dhcpOptionSpecs, parseNetworkOptions } from "../../provider/model/netOptions";
import { parseCidr } from "../../provider/model/net";

const base = { interface: "eth1", subnet: "10.0.0.0/24", serverIp: "10.0.0.1", dhcpMode: "static" };
const fields = (i: Issues) => i.list.map((x) => `${x.field}=${JSON.stringify(x.value)}: ${x.message}`);

describe("network options", () => {
  test("every bad value at once, each with its field; injection attempts never pass", () => {
    const issues = new Issues("t");
    const o = parseNetworkOptions(issues, "", {
      gateway: "10.0.1.1", dnsServers: ["10.0.0.2", "10.0.0.3\ndhcp-option=3,6.6.6.6"], ntpServers: "10.0.0.4",
      domainSearch: ["ok.lan", "bad domain,x"], mtu: 100000,
    }, parseCidr("10.0.0.0/24"), "10.0.0.0/24");
    expect(fields(issues)).toEqual([
      'gateway="10.0.1.1": is not on the boot network 10.0.0.0/24: a gateway must be reachable on the link',
      'dnsServers[1]="10.0.0.3\\ndhcp-option=3,6.6.6.6": must be an IPv4 address',
      'ntpServers="10.0.0.4": must be a list of IPv4 addresses of NTP servers',
      'domainSearch[1]="bad domain,x": must be a DNS domain such as cluster.lan',
      "mtu=100000: must be an integer from 576 to 9216",
    ]);
    // nothing invalid is kept
    expect(o).toEqual({ dnsServers: ["10.0.0.2"] });
  });

  test("empty lists, too many entries and a non-integer MTU are refused", () => {
    const issues = new Issues("t");
    parseNetworkOptions(issues, "network.", { dnsServers: [], domainSearch: ["a.b", "c.d", "e.f", "g.h", "i.j", "k.l", "m.n"], mtu: 1500.5 }, undefined);
    expect(issues.list.map((i) => i.field)).toEqual(["network.dnsServers", "network.domainSearch", "network.mtu"]);
  });

  test("dnsmasq option specs: router first, `none` as an empty router, tagged for a group", () => {
    expect(dhcpOptionSpecs({ gateway: "none", dnsServers: ["10.0.0.5"], mtu: 1500 }, "nbg-g")).toEqual(["tag:nbg-g,option:router", "tag:nbg-g,option:dns-server,10.0.0.5", "tag:nbg-g,option:mtu,1500"]);
    expect(dhcpOptionSpecs({ gateway: "10.0.0.254", ntpServers: ["10.0.0.4", "10.0.0.6"], domainSearch: ["a.lan"] })).toEqual(["option:router,10.0.0.254", "option:ntp-server,10.0.0.4,10.0.0.6", "option:domain-search,a.lan"]);
  });

  test("a proxy DHCP server takes no network options, nor do its groups", () => {
    const issues = new Issues("t");
    buildPxeServerModel("p", { ...base, dhcpMode: "proxy", dnsServers: ["10.0.0.2"], mtu: 9000 }, { root: "/t" }, issues);
    expect(issues.list.map((i) => i.field)).toEqual(["dnsServers", "mtu"]);
    const ok = new Issues("t");
    const proxy = buildPxeServerModel("p", { ...base, dhcpMode: "proxy" }, { root: "/t" }, ok)!;
    const gi = new Issues("t");
    buildNodeGroupModel("g", { server: serverInfo(proxy), nodes: [{ name: "c1", macs: ["52:54:00:00:00:01"], ip: "10.0.0.11" }], boot: { localDisk: true }, network: { mtu: 9000 } }, gi);
    expect(gi.list.map((i) => i.field)).toEqual(["network"]);
  });

  test("a group's options are checked against the server's subnet; an empty `network` sets no tag", () => {
    const s = buildPxeServerModel("p", base, { root: "/t" }, new Issues("t"))!;
    const gi = new Issues("t");
    buildNodeGroupModel("g", { server: serverInfo(s), nodes: [{ name: "c1", macs: ["52:54:00:00:00:01"], ip: "10.0.0.11" }], boot: { localDisk: true }, network: { gateway: "192.168.1.1" } }, gi);
    expect(gi.list.map((i) => i.field)).toEqual(["network.gateway"]);
    const g = buildNodeGroupModel("g", { server: serverInfo(s), nodes: [{ name: "c1", macs: ["52:54:00:00:00:01"], ip: "10.0.0.11" }], boot: { localDisk: true }, network: {} }, new Issues("t"))!;
    expect(g.network).toBeUndefined();
  });
});
