/**
 * SSH as sites use it, against real sshd hosts (network namespaces, Debian openssh-server, sudo, ssh-agent):
 * - a bastion: the target's own port is closed to the test, it is reached only through the bastion's sshd
 *   (`ProxyCommand ssh -W`), both host keys pinned; a wrong bastion pin or key is named as the bastion's;
 * - sudo: a non-root login whose every command runs through `sudo -n`; writes land as root, atomically, with
 *   their mode; a login that sudo asks for a password fails with an error naming the host and the fix;
 * - ssh-agent: no privateKey, the agent of SSH_AUTH_SOCK (or agentSocketPath) authenticates, also on the
 *   bastion; no key and no agent is refused before connecting; an agent without the key is named.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { sshTarget } from "../../provider/context";
import { SshTarget, SshTransport } from "../../provider/transport/ssh";
import { requireTool } from "../helpers/env";
import { killPid, run, waitFor } from "../helpers/gluster";
import { SshHost, SshLab, TEST_USER } from "../helpers/sshHosts";

jest.setTimeout(120_000);

describe("SSH: bastion, sudo, ssh-agent (real sshd)", () => {
  let lab: SshLab;
  let bastion: SshHost;
  let target: SshHost;
  let sudoHost: SshHost;
  let pwHost: SshHost;
  let agent: ChildProcess | undefined;
  let agentSock = "";
  let emptyAgent: ChildProcess | undefined;
  let emptySock = "";
  const open: SshTransport[] = [];
  const T = (t: SshTarget) => {
    const s = new SshTransport(t);
    open.push(s);
    return s;
  };
  /** An ssh-agent in the foreground (`-D`), stopped by pid in afterAll. */
  const startAgent = async (sock: string): Promise<ChildProcess> => {
    const p = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    await waitFor(`ssh-agent at ${sock}`, () => fs.existsSync(sock), 10000);
    return p;
  };
  /** A private /etc/sudoers.d for one host's sessions, with one line for the test user. */
  const sudoers = (dir: string, line: string): string[] => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(dir, "nbs"), line + "\n", { mode: 0o440 });
    return [`mount --bind '${dir}' /etc/sudoers.d`];
  };

  beforeAll(async () => {
    requireTool("sudo");
    requireTool("ssh-agent");
    requireTool("ssh-add");
    lab = new SshLab("a", "10.91.9");
    bastion = await lab.addHost(1);
    target = await lab.addHost(2);
    // The target is reachable only through the bastion: its forwarder to the test is closed.
    await target.unreachable();
    sudoHost = await lab.addHost(3, { setup: sudoers(`${lab.dir}/sudoers3`, `${TEST_USER} ALL=(root) NOPASSWD: ALL`) });
    pwHost = await lab.addHost(4, { setup: sudoers(`${lab.dir}/sudoers4`, `${TEST_USER} ALL=(root) ALL`) });
    agentSock = path.join(lab.dir, "agent.sock");
    agent = await startAgent(agentSock);
    const key = path.join(lab.dir, "agent_key");
    fs.writeFileSync(key, lab.privateKey, { mode: 0o600 });
    const add = run(["env", `SSH_AUTH_SOCK=${agentSock}`, "ssh-add", key], { allowFail: true });
    fs.rmSync(key);
    if (add.code !== 0) throw new Error(`ssh-add: ${add.err}`);
    emptySock = path.join(lab.dir, "empty.sock");
    emptyAgent = await startAgent(emptySock);
  }, 90000);

  afterAll(async () => {
    for (const t of open) await t.close();
    await killPid(agent?.pid);
    await killPid(emptyAgent?.pid);
    if (lab) await lab.cleanup();
  }, 60000);

  const viaBastion = (o: Partial<SshTarget["proxy"]> = {}): SshTarget => ({
    host: target.ip, port: 22, user: "root", privateKey: lab.privateKey, hostKey: target.hostKey,
    proxy: { host: "127.0.0.1", port: bastion.port, user: "root", privateKey: lab.privateKey, hostKey: bastion.hostKey, ...o },
  });

  test("through a bastion: the target is not reachable directly, through the bastion put/get/exec work", async () => {
    // directly: refused (the test has no route to the target's address, and its forwarder is closed)
    await expect(T({ ...target.ssh(), host: "127.0.0.1" }).exec(["true"])).rejects.toThrow(/host unreachable/);
    const t = T(viaBastion());
    expect((await t.exec(["ip", "-4", "-o", "addr", "show", "nbs0"])).stdout).toContain(target.ip);
    const file = `${lab.dir}/h2/files/app.conf`;
    await t.put(file, "via bastion\n", { mode: 0o640 });
    expect((await t.get(file))!.toString()).toBe("via bastion\n");
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    // only the control socket stays: neither key, nor known_hosts, nor the bastion's log
    expect(fs.readdirSync((t as any).dir)).toEqual(["c"]);
    // no key material in any ssh process's argv (the ProxyCommand names files that are gone by now)
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      let cmd: string;
      try {
        cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      expect(cmd).not.toContain("PRIVATE KEY");
    }
  });

  test("a bastion with a different host key, or refusing the key, is named as the bastion", async () => {
    await expect(T(viaBastion({ hostKey: target.hostKey })).exec(["true"])).rejects.toThrow(
      new RegExp(`connect : host key mismatch on the bastion root@127\\.0\\.0\\.1:${bastion.port}: .*proxy\\.hostKey pins SHA256:`),
    );
    await expect(T(viaBastion({ user: TEST_USER + "x" })).exec(["true"])).rejects.toThrow(/authentication failed on the bastion nbsuserx@127\.0\.0\.1:\d+ for user nbsuserx: it did not accept proxy\.privateKey/);
  });

  test("sudo: a non-root login writes as root, atomically and with its mode; without sudo it may not", async () => {
    const dir = `${lab.dir}/h3/rootonly`;
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const plain = T(sudoHost.ssh(TEST_USER));
    await expect(plain.put(`${dir}/a.conf`, "x\n", { mode: 0o644 })).rejects.toThrow(/write .*a\.conf: permission denied/);
    expect((await plain.exec(["id", "-u"])).stdout).toBe("4242\n");
    const t = T({ ...sudoHost.ssh(TEST_USER), sudo: true });
    expect((await t.exec(["id", "-u"])).stdout).toBe("0\n");
    // argv quoting survives the extra `sudo -n -- sh -c` layer
    expect((await t.exec(["echo", "$HOME;", "`id`", "it's"])).stdout).toBe("$HOME; `id` it's\n");
    const r = await t.put(`${dir}/a.conf`, "as root\n", { mode: 0o600 });
    expect(r.owner).toBe("0:0");
    const st = fs.statSync(`${dir}/a.conf`);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, 0, 0o600]);
    expect(fs.readFileSync(`${dir}/a.conf`, "utf8")).toBe("as root\n");
    // a check on the staged file runs as root as well, then the rename
    await t.put(`${dir}/a.conf`, "v2\n", { mode: 0o644, validate: async (staged) => expect((await t.exec(["stat", "-c", "%u %a", staged])).stdout).toBe("0 644\n") });
    expect(fs.readFileSync(`${dir}/a.conf`, "utf8")).toBe("v2\n");
    expect(fs.readdirSync(dir)).toEqual(["a.conf"]);
    expect(await t.remove(`${dir}/a.conf`)).toBe(true);
  });

  test("sudo that asks for a password fails at connect, naming the host, the user and the fix", async () => {
    const t = T({ ...pwHost.ssh(TEST_USER), sudo: true });
    await expect(t.exec(["true"])).rejects.toThrow(
      new RegExp(`^${TEST_USER}@127\\.0\\.0\\.1:${pwHost.port}: sudo : sudo asks ${TEST_USER} for a password: netboot runs \`sudo -n\` .*NOPASSWD`),
    );
    await expect(t.put(`${lab.dir}/h4/x`, "x", { mode: 0o644 })).rejects.toThrow(/sudo asks nbsuser for a password/);
    expect(fs.existsSync(`${lab.dir}/h4/x`)).toBe(false);
  });

  test("ssh-agent: SSH_AUTH_SOCK (or agentSocketPath) authenticates when no privateKey is given, also on the bastion", async () => {
    const { privateKey: _k, ...noKey } = sudoHost.ssh();
    const t = T(sshTarget({ ssh: noKey } as any, { SSH_AUTH_SOCK: agentSock }));
    expect(t.description).toBe(`root@127.0.0.1:${sudoHost.port}`);
    expect((await t.exec(["echo", "agent"])).stdout).toBe("agent\n");
    const explicit = T(sshTarget({ ssh: { ...noKey, agentSocketPath: agentSock } } as any, {}));
    expect((await explicit.exec(["echo", "explicit"])).stdout).toBe("explicit\n");
    // host and bastion both from the agent
    const jump = T(sshTarget({ ssh: { host: target.ip, hostKey: target.hostKey, proxy: { host: "127.0.0.1", port: bastion.port, hostKey: bastion.hostKey } } } as any, { SSH_AUTH_SOCK: agentSock }));
    expect((await jump.exec(["ip", "-4", "-o", "addr", "show", "nbs0"])).stdout).toContain(target.ip);
    // an agent without the key: named
    await expect(T(sshTarget({ ssh: noKey } as any, { SSH_AUTH_SOCK: emptySock })).exec(["true"])).rejects.toThrow(
      new RegExp(`connect : authentication failed for user root: the host did not accept the keys of the ssh-agent at ${emptySock.replace(/[.]/g, "\\.")}`),
    );
    // neither key nor agent: refused before anything connects
    expect(() => sshTarget({ ssh: noKey } as any, {})).toThrow(/no credentials for the host: give privateKey .*or run an ssh-agent \(SSH_AUTH_SOCK/);
  });
});
