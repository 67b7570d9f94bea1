/**
 * provider/model/host.ts: SSH connections (key or agent, bastion, sudo, the fields of @pulumi/command's
 * connection that netboot refuses), the provider config (`netboot:hosts`, `netboot:ssh`) and how it is merged
 * under each resource's host. Every issue at once, each naming field and value, never a key.
 */
import { checkSshConfig, normalizeHost, protectHost, resolveHosts, withSshConfig } from "../../provider/model/host";
import { Issues } from "../../provider/model/errors";
import { sshTarget } from "../../provider/context";
import { isSecret, reveal, secret } from "../../provider/values";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
const PIN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake";
const BASTION_PIN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBastionBastionBastionBastionBastionBast";

function issuesOf(host: unknown, env: Record<string, string | undefined> = {}): string[] {
  const saved = process.env.SSH_AUTH_SOCK;
  if (env.SSH_AUTH_SOCK === undefined) delete process.env.SSH_AUTH_SOCK;
  else process.env.SSH_AUTH_SOCK = env.SSH_AUTH_SOCK;
  try {
    const issues = new Issues("netboot:index:FileSet \"f\"");
    normalizeHost(issues, "host", host);
    return issues.list.map((i) => `${i.field}=${JSON.stringify(i.value)}: ${i.message}`);
  } finally {
    if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = saved;
  }
}

describe("SSH connections", () => {
  test("a key, or an agent: no key and no agent is an error naming both ways", () => {
    expect(issuesOf({ ssh: { host: "h", privateKey: KEY, hostKey: PIN } })).toEqual([]);
    expect(issuesOf({ ssh: { host: "h", hostKey: PIN } }, { SSH_AUTH_SOCK: "/run/agent.sock" })).toEqual([]);
    expect(issuesOf({ ssh: { host: "h", hostKey: PIN, agentSocketPath: "/run/a.sock" } })).toEqual([]);
    expect(issuesOf({ ssh: { host: "h", hostKey: PIN } })).toEqual([
      expect.stringMatching(/^host\.ssh\.privateKey="\(missing\)": no credentials: give privateKey .*or run an ssh-agent \(SSH_AUTH_SOCK .*agentSocketPath\)/),
    ]);
  });

  test("every bad field at once: proxy, sudo without a user, password, encrypted keys, agent path, limits", () => {
    const got = issuesOf({
      ssh: {
        host: "h", hostKey: PIN, privateKey: KEY, sudo: true, password: "hunter2", privateKeyPassword: "pw",
        agentSocketPath: "relative.sock", dialErrorLimit: 0, perDialTimeout: -1,
        proxy: { host: "bad host", port: 70000, hostKey: "nope", sudo: true },
      },
    });
    expect(got).toEqual([
      `host.ssh.password="(secret)": password authentication is not supported: use privateKey, or an ssh-agent (SSH_AUTH_SOCK or agentSocketPath)`,
      expect.stringMatching(/^host\.ssh\.privateKeyPassword="\(secret\)": encrypted keys are not supported: load the key into an ssh-agent with `ssh-add`/),
      `host.ssh.agentSocketPath="relative.sock": must be the absolute path of an ssh-agent socket`,
      `host.ssh.dialErrorLimit=0: must be a number of attempts 1-100 (or -1: 10)`,
      `host.ssh.perDialTimeout=-1: must be seconds 0-3600 (0: the default, 10)`,
      expect.stringMatching(/^host\.ssh\.sudo=true: needs a non-root `user`/),
      `host.ssh.proxy.host="bad host": must be a host name or address`,
      `host.ssh.proxy.port=70000: must be a TCP port 1-65535`,
      expect.stringMatching(/^host\.ssh\.proxy\.hostKey="nope": must be the bastion's public key line .*netboot never connects unpinned/),
      expect.stringMatching(/^host\.ssh\.proxy\.sudo=true: is not supported on a bastion/),
    ]);
    // no secret is ever echoed
    expect(got.join("\n")).not.toMatch(/hunter2|"pw"|BEGIN OPENSSH/);
  });

  test("a missing hostKey, on the host or the bastion, is refused (never unpinned)", () => {
    expect(issuesOf({ ssh: { host: "h", privateKey: KEY, proxy: { host: "b", privateKey: KEY } } })).toEqual([
      expect.stringMatching(/^host\.ssh\.hostKey="\(missing\)": must be the host's public key line/),
      expect.stringMatching(/^host\.ssh\.proxy\.hostKey="\(missing\)": must be the bastion's public key line/),
    ]);
  });

  test("sudo with a non-root user, and a bastion with a key, are fine; protectHost makes both keys secrets", () => {
    const h = { ssh: { host: "h", user: "admin", sudo: true, privateKey: KEY, hostKey: PIN, proxy: { host: "b", user: "jump", privateKey: KEY, hostKey: BASTION_PIN } } };
    expect(issuesOf(h)).toEqual([]);
    const p = protectHost(h as any) as any;
    expect(isSecret(p.ssh.privateKey)).toBe(true);
    expect(isSecret(p.ssh.proxy.privateKey)).toBe(true);
    expect(reveal(p)).toEqual(h);
  });

  test("sshTarget: the agent of SSH_AUTH_SOCK, the bastion inheriting user and agent, dial limits", () => {
    const t = sshTarget({ ssh: { host: "h", user: "admin", sudo: true, hostKey: PIN, perDialTimeout: 4, dialErrorLimit: -1, proxy: { host: "b", hostKey: BASTION_PIN } } } as any, { SSH_AUTH_SOCK: "/run/a.sock" });
    expect(t).toEqual({
      host: "h", port: 22, user: "admin", privateKey: undefined, agentSocket: "/run/a.sock", hostKey: PIN, connectTimeout: 4, attempts: 10, sudo: true,
      proxy: { host: "b", port: 22, user: "admin", privateKey: undefined, agentSocket: "/run/a.sock", hostKey: BASTION_PIN, connectTimeout: undefined, attempts: undefined },
    });
    expect(() => sshTarget({ ssh: { host: "h", hostKey: PIN, proxy: { host: "b", hostKey: BASTION_PIN } } } as any, {})).toThrow(/no credentials for the host/);
    expect(() => sshTarget({ ssh: { host: "h", hostKey: PIN, privateKey: KEY, proxy: { host: "b", hostKey: BASTION_PIN } } } as any, {})).toThrow(/no credentials for the bastion b: give proxy\.privateKey/);
  });
});

describe("provider config: netboot:hosts and netboot:ssh", () => {
  const cfg = {
    ssh: { user: "admin", sudo: true, privateKey: secret(KEY) as string, proxy: { host: "bastion.example", hostKey: BASTION_PIN } },
    hosts: { head: { host: "10.0.0.5", hostKey: PIN }, store1: { host: "10.0.0.6", hostKey: PIN, user: "root", sudo: false } },
  };

  test("a resource naming a host gets the entry over the defaults, its own fields over both; keys stay secret", () => {
    const m = withSshConfig({ host: "head" }, cfg) as any;
    expect(reveal(m)).toEqual({ host: "10.0.0.5", hostKey: PIN, user: "admin", sudo: true, privateKey: KEY, proxy: { host: "bastion.example", hostKey: BASTION_PIN } });
    expect(isSecret(m.privateKey)).toBe(true);
    expect(reveal(withSshConfig({ host: "store1", port: 2222 }, cfg))).toMatchObject({ host: "10.0.0.6", port: 2222, user: "root", sudo: false });
    // a host not in the map takes the defaults only
    expect(reveal(withSshConfig({ host: "10.9.9.9", hostKey: PIN }, cfg))).toMatchObject({ host: "10.9.9.9", user: "admin", hostKey: PIN });
  });

  test("resolveHosts finds every host in inputs of any shape (host, server.host, a whole secret host)", () => {
    const inputs = { host: { ssh: { host: "head" } }, server: { host: secret({ ssh: { host: "store1" } }) }, files: { "/a": { content: "ssh" } } };
    const r = resolveHosts(inputs, cfg) as any;
    expect(reveal<any>(r.host.ssh).host).toBe("10.0.0.5");
    expect(isSecret(r.server.host)).toBe(true);
    expect(reveal<any>(r.server.host).ssh.host).toBe("10.0.0.6");
    expect(r.files).toBe(inputs.files);
    // without config nothing changes, not even identity
    expect(resolveHosts(inputs, {})).toBe(inputs);
  });

  test("checkSshConfig: every issue at once, named by config key; host and hostKey are not defaults", () => {
    const issues = new Issues("provider netboot");
    checkSshConfig(issues, { ssh: { host: "x", hostKey: PIN, sudo: "yes" as any, password: "pw" }, hosts: { head: { host: "10.0.0.5" }, "bad name": { hostKey: PIN } } as any });
    expect(issues.list.map((i) => `${i.field}: ${i.message}`)).toEqual([
      expect.stringMatching(/^netboot:ssh\.host: is per host/),
      expect.stringMatching(/^netboot:ssh\.hostKey: is per host/),
      expect.stringMatching(/^netboot:ssh\.password: password authentication is not supported/),
      "netboot:ssh.sudo: must be true or false",
      expect.stringMatching(/^netboot:hosts\.head\.password: password authentication is not supported/),
      expect.stringMatching(/^netboot:hosts\.head\.hostKey: must be the host's public key line/),
      expect.stringMatching(/^netboot:hosts\.head\.sudo: must be true or false/),
      "netboot:hosts.bad name: must be a host name (what resources give as host.ssh.host)",
      expect.stringMatching(/^netboot:hosts\.bad name\.host: must be a host name or address/),
      expect.stringMatching(/^netboot:hosts\.bad name\.password: password authentication is not supported/),
      expect.stringMatching(/^netboot:hosts\.bad name\.sudo: must be true or false/),
    ]);
  });
});
