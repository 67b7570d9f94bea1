/** Pure parts of the SSH transport and host checks: quoting, error classification, host validation. */
import { Issues } from "../../provider/model/errors";
import { isSecret } from "../../provider/values";
import { hostKey, normalizeHost, protectHost } from "../../provider/model/host";
import { bastionFailure, connectionFailure, fingerprint, fsCause, sudoFailure, walkCause } from "../../provider/transport/ssh";
import { shq } from "../../provider/util/shell";
import { confinedWalk } from "../../provider/transport/transport";

const target = { host: "10.91.0.11", port: 22, user: "root", privateKey: "k", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinned" };

describe("ssh transport helpers", () => {
  test("shq quotes every word for a POSIX shell", () => {
    expect(shq("a b")).toBe("'a b'");
    expect(shq("it's")).toBe(`'it'\\''s'`);
    expect(shq("$(id)`x`")).toBe("'$(id)`x`'");
  });

  test("connection failures become one clear cause; other text is not a connection failure", () => {
    expect(connectionFailure("ssh: connect to host 10.91.0.11 port 22: Connection refused", target)).toBe("host unreachable: connection refused on port 22");
    expect(connectionFailure("root@10.91.0.11: Permission denied (publickey).", target)).toBe("authentication failed for user root: the host did not accept privateKey");
    const changed = "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:abcDEF123.\nHost key verification failed.";
    expect(connectionFailure(changed, target)).toBe(`host key mismatch: the host offered SHA256:abcDEF123, but hostKey pins ${fingerprint(target.hostKey)}; refusing to connect (update hostKey only if the host was really reinstalled)`);
    expect(connectionFailure("cat: /x: No such file or directory", target)).toBeUndefined();
  });

  test("remote file errors are named", () => {
    expect(fsCause("cat: write error: No space left on device")).toBe("no space left on device");
    expect(fsCause("sh: 1: cannot create /etc/x: Permission denied")).toBe("permission denied");
    expect(fsCause("netboot: upload incomplete (10 of 20 bytes)")).toBe("the upload was cut short (10 of 20 bytes); the live file is unchanged");
  });

  test("ssh hosts are checked field by field, all errors at once, without echoing the key", () => {
    const issues = new Issues("r");
    normalizeHost(issues, "host", { ssh: { host: "a b", port: 70000, user: "x;y", privateKey: "SECRETSTUFF", hostKey: "nope" } });
    expect(issues.list.map((i) => i.field)).toEqual(["host.ssh.host", "host.ssh.port", "host.ssh.user", "host.ssh.privateKey", "host.ssh.hostKey"]);
    expect(JSON.stringify(issues.list)).not.toContain("SECRETSTUFF");
  });

  test("protectHost wraps only the private key; hostKey() ignores key material", () => {
    const issues = new Issues("r");
    const h = normalizeHost(issues, "host", { ssh: { host: "10.91.0.11", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n", hostKey: target.hostKey } });
    expect(issues.ok).toBe(true);
    const p = protectHost(h);
    expect(isSecret((p.ssh as any).privateKey)).toBe(true);
    expect(isSecret((p.ssh as any).hostKey)).toBe(false);
    expect(hostKey(p)).toBe("ssh:root@10.91.0.11:22");
  });

  test("the walker's words become causes naming the symlink or the non-folder", () => {
    expect(walkCause("netboot: symlink /srv/netboot/http/ipxe -> /tmp/x\n")).toBe("/srv/netboot/http/ipxe is a symlink (to /tmp/x); netboot does not follow symlinks in folders it owns");
    expect(walkCause("netboot: not a folder /srv/netboot/http\n")).toBe("/srv/netboot/http is not a folder");
    expect(walkCause("cat: write error: No space left on device")).toBeUndefined();
  });
});

describe("where symlinks stop being followed (confinedWalk)", () => {
  test("below a target root: nowhere", () => {
    expect(confinedWalk("/srv/netboot/http", true)).toEqual({ base: "/", rest: ["srv", "netboot", "http"] });
  });
  test("without a root: above `within` followed, `within` and below not; without it, only the folder itself", () => {
    expect(confinedWalk("/srv/netboot/http/ipxe", false, "/srv/netboot")).toEqual({ base: "/srv", rest: ["netboot", "http", "ipxe"] });
    expect(confinedWalk("/srv/netboot/http/ipxe", false)).toEqual({ base: "/srv/netboot/http", rest: ["ipxe"] });
    // a `within` that does not hold the folder is ignored
    expect(confinedWalk("/etc/dnsmasq.d", false, "/srv/netboot")).toEqual({ base: "/etc", rest: ["dnsmasq.d"] });
    expect(confinedWalk("/", false)).toEqual({ base: "/", rest: [] });
  });
});

describe("bastion and sudo failures (what the ssh client and sudo print, mapped)", () => {
  const bastion = { host: "jump.example", port: 22, user: "jump", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBastionBastionBastionBastionBastionBast", agentSocket: "/run/a.sock" };

  test("the bastion's own hop is named as the bastion's", () => {
    expect(bastionFailure("Host key verification failed.\n", bastion)).toMatch(/^host key mismatch on the bastion jump@jump\.example:22: .*proxy\.hostKey pins SHA256:/);
    expect(bastionFailure("jump@jump.example: Permission denied (publickey).\n", bastion)).toBe(
      "authentication failed on the bastion jump@jump.example:22 for user jump: it did not accept the keys of the ssh-agent at /run/a.sock",
    );
    expect(bastionFailure("channel 0: open failed: connect failed: Connection refused\nstdio forwarding failed\n", bastion)).toMatch(/^the bastion jump@jump\.example:22 could not reach the host: stdio forwarding failed/);
    expect(bastionFailure("ssh: connect to host jump.example port 22: Connection refused\n", bastion)).toMatch(/^the bastion jump@jump\.example:22 is unreachable: /);
    expect(bastionFailure("", bastion)).toBeUndefined();
  });

  test("sudo -n refusals name the user and the fix; other output is not a refusal", () => {
    expect(sudoFailure("sudo: a password is required\n", "admin")).toMatch(/^sudo asks admin for a password: netboot runs `sudo -n` .*`admin ALL=\(root\) NOPASSWD: ALL`/);
    expect(sudoFailure("admin is not in the sudoers file.  This incident will be reported.\n", "admin")).toMatch(/^admin may not use sudo on this host/);
    expect(sudoFailure("sh: 1: sudo: not found\n", "admin")).toMatch(/^sudo is not installed on this host/);
    expect(sudoFailure("cat: x: No such file or directory\n", "admin")).toBeUndefined();
  });
});
