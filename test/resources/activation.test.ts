/**
 * The activation plan (provider/resources/activation.ts): which systemctl command runs when which file changed
 * and what state the unit was found in; then the same through the FileSet lifecycle over an in-memory host
 * whose `systemctl` answers like a real one, including the in-place check that puts the old file back.
 */
import { applyPlan, destroyPlan, UnitState } from "../../provider/resources/activation";
import { fileSetHandler } from "../../provider/resources/fileSet";
import * as fs from "fs";
import * as path from "path";
import { LocalTransport } from "../../provider/transport/local";
import { MemoryTransport } from "../../provider/transport/memory";
import { testContext } from "../helpers/context";
import { tmpDir } from "../helpers/env";

const UNIT = "dnsmasq@netboot-pxe";
const up: UnitState = { enabled: true, active: true };
const down: UnitState = { enabled: false, active: false };
const base = { unit: UNIT, restart: true, needed: false, unitFilesChanged: false, state: up };

describe("applyPlan", () => {
  test.each([
    // [case, input, commands, started]
    ["own unit, first apply: enable and start (no restart on top)", { activation: "own", needed: true, state: down }, [["systemctl", "enable", "--now", UNIT]], true],
    ["own unit, running and enabled, files unchanged: nothing", { activation: "own" }, [], false],
    ["own unit, running, config changed: restart", { activation: "own", needed: true }, [["systemctl", "restart", UNIT]], false],
    ["own unit, enabled but stopped (someone stopped it): start", { activation: "own", state: { enabled: true, active: false } }, [["systemctl", "enable", "--now", UNIT]], true],
    ["own unit, running but disabled: enable, and restart only if changed", { activation: "own", needed: true, state: { enabled: false, active: true } }, [["systemctl", "enable", UNIT], ["systemctl", "restart", UNIT]], true],
    ["shared unit, running: reload when its file changed", { activation: "shared", restart: false, needed: true }, [["systemctl", "reload-or-restart", UNIT]], false],
    ["shared unit, not running: enable and start, recorded", { activation: "shared", restart: false, state: down }, [["systemctl", "enable", "--now", UNIT]], true],
    ["no activation: restart on change, never start", { needed: true, state: down }, [["systemctl", "restart", UNIT]], false],
    ["no activation, nothing changed: nothing", {}, [], false],
    ["a unit file changed: daemon-reload first", { activation: "own", needed: true, unitFilesChanged: true }, [["systemctl", "daemon-reload"], ["systemctl", "restart", UNIT]], false],
  ] as const)("%s", (_name, over, commands, started) => {
    expect(applyPlan({ ...base, ...(over as any) })).toEqual({ commands, started });
  });
});

describe("destroyPlan", () => {
  const d = { unit: UNIT, restart: false, startedByNetboot: false, othersLeft: false, removedAny: true, unitFilesRemoved: false };
  test("own unit: stopped and disabled before its files go", () => {
    expect(destroyPlan({ ...d, activation: "own" })).toEqual({ before: [["systemctl", "disable", "--now", UNIT]], after: [] });
  });
  test("shared unit netboot did not start: told, only if running", () => {
    expect(destroyPlan({ ...d, activation: "shared" })).toEqual({ before: [], after: [["systemctl", "try-reload-or-restart", UNIT]] });
  });
  test("shared unit netboot started, another netboot file left: told, not stopped", () => {
    expect(destroyPlan({ ...d, activation: "shared", startedByNetboot: true, othersLeft: true }).after).toEqual([["systemctl", "try-reload-or-restart", UNIT]]);
  });
  test("shared unit netboot started, nothing of netboot's left: stopped and disabled", () => {
    expect(destroyPlan({ ...d, activation: "shared", startedByNetboot: true }).after).toEqual([["systemctl", "disable", "--now", UNIT]]);
  });
  test("unit files removed: daemon-reload last", () => {
    expect(destroyPlan({ ...d, activation: "own", unitFilesRemoved: true }).after).toEqual([["systemctl", "daemon-reload"]]);
  });
  test("no activation: told as before activations existed", () => {
    expect(destroyPlan({ ...d, activation: undefined })).toEqual({ before: [], after: [["systemctl", "reload-or-restart", UNIT]] });
  });
});

// ---------------------------------------------------------------- through the FileSet lifecycle

const URN = "urn:pulumi:test::p::netboot:index:FileSet::pxe-web";
const SSH = { host: "head", port: 22, user: "root", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq" };
const CONF = "/etc/nginx/conf.d/netboot-pxe.conf";
const SCRIPT = "/srv/netboot/http/ipxe/boot.ipxe";

/** A host whose systemctl keeps unit state, and whose `nginx -t` fails while `broken` is set. */
function systemdHost() {
  const host = new MemoryTransport();
  const units = new Map<string, UnitState>([["nginx", { enabled: true, active: true }]]);
  const state = { broken: false };
  host.execHandler = (argv) => {
    const ok = { code: 0, stdout: "", stderr: "" };
    if (argv[0] === "nginx") return state.broken ? { code: 1, stdout: "", stderr: "nginx: [emerg] unknown directive" } : ok;
    if (argv[0] !== "systemctl") return ok;
    const u = argv[argv.length - 1];
    const s = units.get(u) ?? { enabled: false, active: false };
    switch (argv[1]) {
      case "is-enabled": return { ...ok, code: s.enabled ? 0 : 1 };
      case "is-active": return { ...ok, code: s.active ? 0 : 3 };
      case "enable": units.set(u, { enabled: true, active: s.active || argv[2] === "--now" }); return ok;
      case "disable": units.set(u, { enabled: false, active: argv[2] === "--now" ? false : s.active }); return ok;
      default: return ok;
    }
  };
  const { ctx } = testContext({ transports: { "ssh:root@head:22": host, "local:/": new MemoryTransport() } });
  return { host, units, state, h: fileSetHandler(ctx) };
}

const webArgs = (conf: string) => ({
  host: { ssh: SSH, systemd: true },
  files: { [CONF]: { content: `# Rendered by netboot for PxeServer "pxe". Do not edit.\n${conf}`, mode: "0644" }, [SCRIPT]: { content: "#!ipxe\n", mode: "0644" } },
  checks: [{ path: CONF, command: ["nginx", "-t"] }],
  signal: { systemdUnit: "nginx", on: "change", paths: [CONF], activation: "shared" },
});
const systemctl = (host: { execLog: string[][] }) => host.execLog.filter((a) => a[0] === "systemctl" && !a[1].startsWith("is-"));

test("shared nginx: checked with the file in place, reloaded only when its file changed; a refused file is put back and nginx not told", async () => {
  const { host, state, h } = systemdHost();
  const inputs = (await h.check(URN, {}, webArgs("server { listen 80; }\n"))).inputs;
  const created = await h.create(URN, inputs);
  // nginx -t ran after the file was in place (not on a staged copy), then the reload
  expect(host.execLog.filter((a) => a[0] === "nginx" || (a[0] === "systemctl" && !a[1].startsWith("is-")))).toEqual([["nginx", "-t"], ["systemctl", "reload-or-restart", "nginx"]]);
  expect((created.outs as any).started).toBeUndefined();

  // Only the boot script changes: no reload.
  host.execLog.length = 0;
  const scriptOnly = { ...webArgs("server { listen 80; }\n"), files: { ...webArgs("server { listen 80; }\n").files, [SCRIPT]: { content: "#!ipxe\necho new\n", mode: "0644" } } };
  const u1 = await h.update("id", URN, created.outs, (await h.check(URN, {}, scriptOnly)).inputs);
  expect(systemctl(host)).toEqual([]);
  expect((u1.outs as any).lastApply.signalled).toBe("not needed");

  // The whole configuration is refused: the old file is back, nothing was told.
  host.execLog.length = 0;
  state.broken = true;
  const old = host.files.get(CONF)!.data.toString();
  await expect(h.update("id", URN, u1.outs, (await h.check(URN, {}, webArgs("server { listen 8080; }\n"))).inputs)).rejects.toThrow(/`nginx -t` rejected the configuration with the new file in place .*the old file is back[^]*unknown directive/);
  expect(host.files.get(CONF)!.data.toString()).toBe(old);
  expect(systemctl(host)).toEqual([]);
});

test("shared nginx that was stopped: up enables and starts it and records it; destroy stops it again when nothing of netboot's is left", async () => {
  const { host, units, h } = systemdHost();
  units.set("nginx", { enabled: false, active: false });
  const created = await h.create(URN, (await h.check(URN, {}, webArgs("server { listen 80; }\n"))).inputs);
  expect(systemctl(host)).toEqual([["systemctl", "enable", "--now", "nginx"]]);
  expect((created.outs as any).started).toEqual(["nginx"]);
  host.execLog.length = 0;
  await h.delete("id", URN, created.outs);
  expect(systemctl(host)).toEqual([["systemctl", "disable", "--now", "nginx"]]);
  expect(units.get("nginx")).toEqual({ enabled: false, active: false });
});

test("shared nginx started by netboot but serving another server's block: destroy reloads it and leaves it running", async () => {
  const { host, units, h } = systemdHost();
  units.set("nginx", { enabled: false, active: false });
  const created = await h.create(URN, (await h.check(URN, {}, webArgs("server { listen 80; }\n"))).inputs);
  host.files.set("/etc/nginx/conf.d/netboot-other.conf", { data: Buffer.from('# Rendered by netboot for PxeServer "other". Do not edit.\nserver {}\n'), mode: 0o644 });
  host.execLog.length = 0;
  await h.delete("id", URN, created.outs);
  expect(systemctl(host)).toEqual([["systemctl", "try-reload-or-restart", "nginx"]]);
  expect(units.get("nginx")).toEqual({ enabled: true, active: true });
});

test("own dnsmasq@ instance: enabled and started by create, restarted on a change, stopped and disabled before delete removes its files", async () => {
  const { host, units, h } = systemdHost();
  const conf = "/etc/netboot/dnsmasq/netboot-pxe.conf";
  const args = (c: string) => ({
    host: { ssh: SSH, systemd: true },
    files: { [conf]: { content: c, mode: "0644" }, "/etc/default/dnsmasq.netboot-pxe": { content: `DNSMASQ_OPTS="--conf-file=${conf}"\n`, mode: "0644" } },
    checks: [{ path: conf, command: ["dnsmasq", "--test", "--conf-file={}", "--local-service"] }],
    signal: { systemdUnit: UNIT, on: "change", restart: true, activation: "own" },
  });
  const created = await h.create(URN, (await h.check(URN, {}, args("port=0\n"))).inputs);
  expect(systemctl(host)).toEqual([["systemctl", "enable", "--now", UNIT]]);
  expect(units.get(UNIT)).toEqual({ enabled: true, active: true });
  host.execLog.length = 0;
  const updated = await h.update("id", URN, created.outs, (await h.check(URN, {}, args("port=0\nlog-dhcp\n"))).inputs);
  expect(systemctl(host)).toEqual([["systemctl", "restart", UNIT]]);
  host.execLog.length = 0;
  let filesAtStop = -1;
  const answer = host.execHandler;
  host.execHandler = (argv) => {
    if (argv[1] === "disable") filesAtStop = [...host.files.keys()].filter((p) => p.includes("netboot-pxe")).length;
    return answer(argv);
  };
  await h.delete("id", URN, updated.outs);
  expect(systemctl(host)).toEqual([["systemctl", "disable", "--now", UNIT]]);
  expect(filesAtStop).toBe(2);
  expect(host.files.has(conf)).toBe(false);
  expect(units.get(UNIT)).toEqual({ enabled: false, active: false });
});

test("check: an activation needs a unit, and must be one of the Activation values", async () => {
  const { h } = systemdHost();
  const r = await h.check(URN, {}, { host: { ssh: SSH, systemd: true }, files: {}, signal: { activation: "always" } });
  expect(r.failures!.map((f) => f.property)).toEqual(["signal.activation", "signal.activation"]);
});

test("UnitQueue: runs of one key one at a time, in order, a failure does not block the next; other keys do not wait", async () => {
  const { UnitQueue } = await import("../../provider/resources/activation");
  const q = new UnitQueue();
  const events: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const first = q.run("h nginx", async () => {
    events.push("a start");
    await gate;
    events.push("a end");
    throw new Error("a failed");
  });
  const second = q.run("h nginx", async () => {
    events.push("b");
    return 2;
  });
  const other = await q.run("h dnsmasq@x", async () => {
    events.push("other");
    return 3;
  });
  expect(other).toBe(3);
  expect(events).toEqual(["a start", "other"]);
  release();
  await expect(first).rejects.toThrow("a failed");
  expect(await second).toBe(2);
  expect(events).toEqual(["a start", "other", "a end", "b"]);
});

/** This machine as a systemd host (no root: paths are real, as on an SSH host), with a systemctl that keeps unit state. */
class LocalSystemdHost extends LocalTransport {
  readonly execLog: string[][] = [];
  readonly units = new Map<string, UnitState>();
  override async exec(argv: string[]) {
    this.execLog.push(argv);
    const ok = { code: 0, stdout: "", stderr: "" };
    if (argv[0] !== "systemctl") return ok;
    const u = argv[argv.length - 1];
    const s = this.units.get(u) ?? { enabled: false, active: false };
    switch (argv[1]) {
      case "is-enabled": return { ...ok, code: s.enabled ? 0 : 1 };
      case "is-active": return { ...ok, code: s.active ? 0 : 3 };
      case "enable": this.units.set(u, { enabled: true, active: s.active || argv[2] === "--now" }); return ok;
      case "disable": this.units.set(u, { enabled: false, active: argv[2] === "--now" ? false : s.active }); return ok;
      default: return ok;
    }
  }
}

test("destroy does not look through a symlinked folder for other netboot files: a copy behind the link keeps no unit running", async () => {
  const base = tmpDir("activation-link");
  const outside = tmpDir("activation-outside");
  const confDir = `${base}/etc/nginx/conf.d`;
  const conf = `${confDir}/netboot-pxe.conf`;
  const host = new LocalSystemdHost();
  const { ctx } = testContext({ transports: { "local:/": host } });
  const h = fileSetHandler(ctx);
  const args = { host: { systemd: true }, files: { [conf]: { content: '# Rendered by netboot for PxeServer "pxe". Do not edit.\nserver {}\n', mode: "0644" } }, signal: { systemdUnit: "nginx", on: "change", paths: [conf], activation: "shared" } };
  const created = await h.create(URN, (await h.check(URN, {}, args)).inputs);
  expect((created.outs as any).started).toEqual(["nginx"]);
  // conf.d replaced by a symlink to a folder holding another server's block (a copy, or anyone's file)
  fs.writeFileSync(path.join(outside, "netboot-other.conf"), '# Rendered by netboot for PxeServer "other". Do not edit.\nserver {}\n');
  fs.rmSync(confDir, { recursive: true });
  fs.symlinkSync(outside, confDir);
  host.execLog.length = 0;
  await h.delete("id", URN, created.outs);
  // nothing of netboot's is left for nginx (what is behind the link is not netboot's): the unit it started is stopped
  expect(systemctl(host)).toEqual([["systemctl", "disable", "--now", "nginx"]]);
  expect(fs.readdirSync(outside)).toEqual(["netboot-other.conf"]);
});
