/**
 * SSH credentials given once, in the provider config, through the real engine: `netboot:ssh` holds the
 * defaults (a non-root user with sudo, the key, a bastion with its own key and pin, all secrets) and
 * `netboot:hosts` names the target (address and host key). A File says only `host: { ssh: { host: "head" } }`;
 * the target is reachable only through the bastion. The file (and a PxeServer's files) land as root; no key is in the engine output or
 * the state; a second up changes nothing. A bad config value fails the run with every issue, naming the key.
 */
import * as fs from "fs";
import * as path from "path";
import * as netboot from "../../sdk/nodejs";
import { changed, settleOutputs, testStack, TestStack } from "../helpers/engine";
import { SshHost, SshLab, TEST_USER } from "../helpers/sshHosts";

jest.setTimeout(300_000);

describe("provider-level SSH config (netboot:ssh, netboot:hosts) through the engine", () => {
  let lab: SshLab;
  let bastion: SshHost;
  let target: SshHost;
  let t: TestStack;
  let dir = "";
  let etcDnsmasq = "";
  const out: string[] = [];
  const log = (s: string) => out.push(s);

  const program = async () => {
    const f = new netboot.File("motd", { host: { ssh: { host: "head" } }, path: `${dir}/motd`, content: "from config\n", mode: "0640" });
    // A component: its host is resolved in construct, and its children (FileSets) get the merged host.
    const pxe = new netboot.PxeServer("pxe", {
      host: { ssh: { host: "head" } }, interface: "nbs0", subnet: "10.91.10.0/24", serverIp: target.ip, dhcpMode: "authoritative",
      dynamicRange: { start: "10.91.10.200", end: "10.91.10.250" }, baseDir: path.join(target.dir, "srv"),
    });
    settleOutputs(pxe);
    return { sha: f.sha256 };
  };

  beforeAll(async () => {
    lab = new SshLab("c", "10.91.10");
    bastion = await lab.addHost(1);
    const sudoers = path.join(lab.dir, "sudoers");
    fs.mkdirSync(sudoers, { mode: 0o755 });
    fs.writeFileSync(path.join(sudoers, "nbs"), `${TEST_USER} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
    etcDnsmasq = path.join(lab.dir, "h2-etc-dnsmasq.d");
    target = await lab.addHost(2, {
      binds: [[etcDnsmasq, "/etc/dnsmasq.d"], [path.join(lab.dir, "h2-etc-nginx-conf.d"), "/etc/nginx/conf.d"]],
      setup: [`mount --bind '${sudoers}' /etc/sudoers.d`],
    });
    await target.unreachable();
    dir = path.join(target.dir, "root", "etc");
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    t = await testStack("ssh-config", program);
    await t.stack.setAllConfig({
      "netboot:ssh.user": { value: TEST_USER },
      "netboot:ssh.sudo": { value: "true" },
      "netboot:ssh.privateKey": { value: lab.privateKey, secret: true },
      "netboot:ssh.proxy.host": { value: "127.0.0.1" },
      "netboot:ssh.proxy.port": { value: String(bastion.port) },
      "netboot:ssh.proxy.user": { value: "root" },
      "netboot:ssh.proxy.privateKey": { value: lab.privateKey, secret: true },
      "netboot:ssh.proxy.hostKey": { value: bastion.hostKey },
      "netboot:hosts.head.host": { value: target.ip },
      "netboot:hosts.head.hostKey": { value: target.hostKey },
    }, true);
  }, 120000);

  afterAll(async () => {
    if (t) await t.destroy().catch(() => undefined);
    if (lab) await lab.cleanup();
  }, 120000);

  test("a File naming `head` is written through the bastion, as root by sudo; nothing changes on the next preview", async () => {
    const up = await t.stack.up({ onOutput: log });
    expect(up.summary.result).toBe("succeeded");
    const st = fs.statSync(`${dir}/motd`);
    expect(fs.readFileSync(`${dir}/motd`, "utf8")).toBe("from config\n");
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o640]);
    // the PxeServer's dnsmasq config, checked by `dnsmasq --test` on the host (as root, by sudo) and written there
    expect(fs.readFileSync(`${etcDnsmasq}/netboot-pxe.conf`, "utf8")).toContain("10.91.10.200");
    expect(fs.statSync(`${etcDnsmasq}/netboot-pxe.conf`).uid).toBe(0);
    expect(changed((await t.stack.preview({ expectNoChanges: true, onOutput: log })).changeSummary)).toEqual({});
  });

  test("the key is nowhere in the engine output or the state", async () => {
    const body = lab.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"));
    // the state files as the backend keeps them (exportStack would decrypt the secrets)
    const files: string[] = [];
    const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
    walk(path.join(t.dir, "state"));
    const stateText = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
    const text = stateText + out.join("");
    for (const line of body) expect(text).not.toContain(line);
    // the resource's host as stored: the address from netboot:hosts, the user from netboot:ssh, the key a secret
    const state = (await t.stack.exportStack()).deployment;
    const res = state.resources.find((r: any) => r.type === "netboot:index:File");
    expect(res.inputs.host.ssh.host).toBe(target.ip);
    expect(res.inputs.host.ssh.user).toBe(TEST_USER);
    expect(res.inputs.host.ssh.privateKey["4dabf18193072939515e22adb298388d"]).toBeDefined();
    expect(res.inputs.host.ssh.proxy.privateKey["4dabf18193072939515e22adb298388d"]).toBeDefined();
  });

  test("bad config values fail the run before anything is written, every issue named by its config key", async () => {
    await t.stack.setAllConfig({ "netboot:ssh.password": { value: "hunter2", secret: true }, "netboot:hosts.head.port": { value: "70000" } }, true);
    fs.rmSync(`${dir}/motd`);
    const err = String(await t.stack.up({ onOutput: log }).catch((e) => e));
    expect(err).toMatch(/netboot:ssh\.password.*password authentication is not supported: use privateKey, or an ssh-agent/);
    expect(err).toMatch(/netboot:hosts\.head\.port.*must be a TCP port 1-65535/);
    expect(err).not.toContain("hunter2");
    expect(fs.existsSync(`${dir}/motd`)).toBe(false);
    await t.stack.removeConfig("netboot:ssh.password", true);
    await t.stack.removeConfig("netboot:hosts.head.port", true);
  });
});
